package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
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
	if err != nil || len(items) == 0 {
		return err
	}
	target := group[0].Payload.Target
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.Notification.DraftID
	}
	have, err := s.b.store.SlackMessagesTo(ctx, target, ids)
	if err != nil {
		return err
	}
	posted := map[requestKey]bool{}
	for _, m := range have {
		posted[requestKey{m.DraftID, m.Revision, m.Tier}] = true
	}
	// A request posted already is a redelivery after a crash: skipped.
	var fresh []approvals.GroupItem
	for _, it := range items {
		n := it.Notification
		if !posted[requestKey{n.DraftID, n.Revision, n.Tier}] {
			fresh = append(fresh, it)
		}
	}
	// In draft order, as a redraw reads them back (SlackMessagesAt).
	slices.SortFunc(fresh, func(x, y approvals.GroupItem) int {
		return cmp.Compare(x.Notification.DraftID, y.Notification.DraftID)
	})
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

// requestKey names an approval request: a draft's revision and tier.
type requestKey struct {
	draftID  int64
	revision int
	tier     approvals.Tier
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
	stored := make([]*slackstate.Message, len(items))
	for i, it := range items {
		n := it.Notification
		stored[i] = &slackstate.Message{WorkspaceID: n.WorkspaceID, DraftID: n.DraftID,
			Revision: n.Revision, Tier: n.Tier, Target: target, Channel: channel, TS: ts}
	}
	if err := s.b.store.SaveSlackMessages(ctx, stored...); err != nil {
		return err
	}
	// The message is new: what it holds is what was just stored, in the
	// order it shows them.
	posted := make(map[int64]bool, len(entries))
	for _, e := range entries {
		posted[e.v.ID] = e.v.Awaits(e.rev, e.tier)
	}
	return s.redraw(ctx, stored, items[0].Notification.RecipientID, func(now []groupEntry) bool {
		if len(now) != len(entries) {
			return true // a draft is gone since
		}
		for _, e := range now {
			if e.v.Awaits(e.rev, e.tier) != posted[e.v.ID] {
				return true
			}
		}
		return false
	})
}

// redraw updates the grouped message that holds the requests stored (all
// in one message, in the order it shows them) to show their drafts as
// they stand now, for recipientID, when changed (nil: always) says it
// changed. The drafts' views are read together, as a dispatcher's batch.
func (s *sender) redraw(ctx context.Context, stored []*slackstate.Message, recipientID int64, changed func([]groupEntry) bool) error {
	if len(stored) == 0 {
		return nil
	}
	msgs := make([]*approvals.OutboxMessage, len(stored))
	for i, m := range stored {
		msgs[i] = &approvals.OutboxMessage{WorkspaceID: m.WorkspaceID, Channel: approvals.ChannelSlack,
			Payload: approvals.Notification{Event: approvals.EventApprovalRequested, WorkspaceID: m.WorkspaceID,
				DraftID: m.DraftID, Revision: m.Revision, Tier: m.Tier, RecipientID: recipientID}}
	}
	b := approvals.NewBatch(msgs)
	var entries []groupEntry
	for _, m := range msgs {
		n := m.Payload
		v, _, err := s.b.svc.NotificationView(ctx, b, n)
		if err != nil {
			if approvals.ErrorCode(err) == approvals.ENOTFOUND || errors.Is(err, approvals.ErrRecipientGone) {
				continue
			}
			return err
		}
		entries = append(entries, groupEntry{v: v, rev: n.Revision, tier: n.Tier})
	}
	if len(entries) == 0 || (changed != nil && !changed(entries)) {
		return nil
	}
	channel, ts := stored[0].Channel, stored[0].TS
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
