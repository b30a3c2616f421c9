package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/bot/slackstate"
	"github.com/signoff-app/signoff/outbox"
)

var _ outbox.GroupSender = (*sender)(nil)

// groupedPerMessage is how many drafts one grouped DM holds: each takes up
// to five blocks, and a message holds at most 50.
const groupedPerMessage = 9

// groupEntry is one request of a grouped DM as it stands now.
type groupEntry struct {
	v    *approvals.DraftView
	rev  int
	tier approvals.Tier
}

// SendGroup posts the approval requests of one group (an approver's DMs
// within the workspace's grouping window) as one message, each draft with
// its own buttons; a group left with one draft is that draft's ordinary
// request, one left with none posts nothing (outbox.GroupSender). Each
// draft's request is stored against the message, so that a decision
// redraws it in place.
func (s *sender) SendGroup(ctx context.Context, b *approvals.Batch, group []*approvals.OutboxMessage) error {
	_, items, err := s.b.svc.GroupViews(ctx, b, group)
	if err != nil {
		return err
	}
	target := group[0].Payload.Target
	var fresh []approvals.GroupItem
	for _, it := range items {
		n := it.Notification
		have, err := s.b.store.SlackMessages(ctx, n.DraftID, n.Revision, n.Tier, target)
		if err != nil {
			return err
		}
		if len(have) == 0 { // posted already: a redelivery after a crash
			fresh = append(fresh, it)
		}
	}
	if len(fresh) == 1 {
		return slackError(s.request(ctx, fresh[0].View, fresh[0].Notification))
	}
	for len(fresh) > 0 {
		chunk := fresh[:min(len(fresh), groupedPerMessage)]
		fresh = fresh[len(chunk):]
		if err := s.postGroup(ctx, target, chunk); err != nil {
			return slackError(err)
		}
	}
	return nil
}

// postGroup posts one grouped DM, stores its requests and, should one of
// them have been decided meanwhile (whose update found no message to
// redraw yet), redraws it.
func (s *sender) postGroup(ctx context.Context, target string, items []approvals.GroupItem) error {
	entries := make([]groupEntry, len(items))
	for i, it := range items {
		entries[i] = groupEntry{v: it.View, rev: it.Notification.Revision, tier: it.Notification.Tier}
	}
	channel, ts, err := s.b.api.PostMessageContext(ctx, target,
		slack.MsgOptionText(groupText(entries), false), slack.MsgOptionBlocks(groupBlocks(entries)...))
	if err != nil {
		return fmt.Errorf("chat.postMessage grouped request: %w", err)
	}
	for _, it := range items {
		n := it.Notification
		if err := s.b.store.SaveSlackMessage(ctx, &slackstate.Message{WorkspaceID: n.WorkspaceID, DraftID: n.DraftID,
			Revision: n.Revision, Tier: n.Tier, Target: target, Channel: channel, TS: ts}); err != nil {
			return err
		}
	}
	return s.redraw(ctx, channel, ts, items[0].Notification.RecipientID, func(now []groupEntry) bool {
		for i, e := range now {
			if e.v.Awaits(e.rev, e.tier) != entries[i].v.Awaits(e.rev, e.tier) {
				return true
			}
		}
		return false
	})
}

// redraw updates grouped message (channel, ts) to show its drafts as they
// stand now, for recipientID, when changed (nil: always) says it changed.
func (s *sender) redraw(ctx context.Context, channel, ts string, recipientID int64, changed func([]groupEntry) bool) error {
	stored, err := s.b.store.SlackMessagesAt(ctx, channel, ts)
	if err != nil {
		return err
	}
	var entries []groupEntry
	for _, m := range stored {
		v, _, err := s.b.svc.NotificationView(ctx, nil, approvals.Notification{Event: approvals.EventApprovalRequested,
			WorkspaceID: m.WorkspaceID, DraftID: m.DraftID, Revision: m.Revision, Tier: m.Tier, RecipientID: recipientID})
		if err != nil {
			if approvals.ErrorCode(err) == approvals.ENOTFOUND || errors.Is(err, approvals.ErrRecipientGone) {
				continue
			}
			return err
		}
		entries = append(entries, groupEntry{v: v, rev: m.Revision, tier: m.Tier})
	}
	if len(entries) == 0 || (changed != nil && !changed(entries)) {
		return nil
	}
	if _, _, _, err := s.b.api.UpdateMessageContext(ctx, channel, ts,
		slack.MsgOptionText(groupText(entries), false), slack.MsgOptionBlocks(groupBlocks(entries)...)); err != nil {
		return fmt.Errorf("chat.update grouped request: %w", err)
	}
	return nil
}

// groupText is a grouped DM's notification text.
func groupText(entries []groupEntry) string {
	return fmt.Sprintf("%d drafts need your approval", len(entries))
}

// groupBlocks is the Block Kit of a grouped DM: for each draft its facts,
// the start of its text, its decisions so far and, while it takes
// decisions, its own buttons (decideButtons, as a single request's).
func groupBlocks(entries []groupEntry) []slack.Block {
	blocks := []slack.Block{slack.NewHeaderBlock(plain(fmt.Sprintf("%d drafts for your approval", len(entries))))}
	for i, e := range entries {
		v := e.v
		if i > 0 {
			blocks = append(blocks, slack.NewDividerBlock())
		}
		facts := []string{fmt.Sprintf("*Draft #%d* for %s approval", v.ID, e.tier), escape(v.Account.Name) + " (" + escape(v.Account.Handle) + ")",
			"by " + escape(v.Author.DisplayName())}
		if nw := v.Account.Network.Label(); nw != "" {
			facts = append(facts, nw)
		}
		if at := v.Current.ScheduledAt; at != nil {
			facts = append(facts, "scheduled "+approvals.Stamp(*at))
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(strings.Join(facts, " · ")), nil, nil))
		st := v.Request(e.rev, e.tier)
		if st.ShowsContent() && strings.TrimSpace(v.Current.Text) != "" {
			blocks = append(blocks, slack.NewSectionBlock(plain(truncate(v.Current.Text, 300)), nil, nil))
		}
		lines, open := requestStatus(v, st)
		if len(lines) > 0 {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(strings.Join(lines, "\n"), maxSection)), nil, nil,
				slack.SectionBlockOptionBlockID(fmt.Sprintf("status_%d_%d_%s", v.ID, e.rev, e.tier))))
		}
		if open {
			blocks = append(blocks, decideButtons(v.ID, e.rev, e.tier))
		}
	}
	return blocks
}
