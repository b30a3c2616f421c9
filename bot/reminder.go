package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/signoff-app/signoff/approvals"
)

// deadline delivers the Slack messages of reminders and deadline policies:
//   - reminder to a channel: a reply in the request's thread mentioning the
//     approvers who have not decided (a plain message when the request is
//     not found there); to a user: a DM with the request and its buttons;
//   - escalated: the request, with its buttons, to the backup approver;
//   - expired: to the author, a DM; to a request's target, the request
//     redrawn in place (buttons gone);
//   - auto_approved: a DM to an approver who had not decided.
//
// A reminder or request the draft has moved past is not sent.
func (s *sender) deadline(ctx context.Context, v *approvals.DraftView, n approvals.Notification) error {
	open := v.Awaits(n.Revision, n.Tier)
	switch n.Event {
	case approvals.EventReminder:
		if !open {
			return nil
		}
		if n.RecipientID == 0 {
			return s.remindThread(ctx, v, n)
		}
		text := fmt.Sprintf(":bell: Reminder: %s", requestText(v, n.Tier))
		blocks := append([]slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil)}, requestBlocks(v, n.Revision, n.Tier, s.b.MediaURL)...)
		if _, _, err := s.b.api.PostMessageContext(ctx, n.Target, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)); err != nil {
			return fmt.Errorf("chat.postMessage reminder: %w", err)
		}
		return nil
	case approvals.EventEscalated:
		if !open {
			return nil
		}
		return s.request(ctx, v, n)
	case approvals.EventExpired:
		if n.RecipientID != 0 && n.RecipientID == v.AuthorID {
			text := fmt.Sprintf(":hourglass: Your draft #%d on %s (revision %d) expired: nobody decided by its deadline.", v.ID, escape(v.Account.Handle), n.Revision)
			return s.post(ctx, n.Target, text, "expired")
		}
		return s.update(ctx, v, n)
	case approvals.EventAutoApproved:
		text := fmt.Sprintf(":white_check_mark: Draft #%d on %s (revision %d) was approved by the account's deadline policy; nothing is left for you to do.", v.ID, escape(v.Account.Handle), n.Revision)
		return s.post(ctx, n.Target, text, "auto-approved")
	}
	return nil
}

// remindThread mentions the waiting approvers in the thread of each stored
// request message of (revision, tier) in the target channel.
func (s *sender) remindThread(ctx context.Context, v *approvals.DraftView, n approvals.Notification) error {
	if len(n.Mentions) == 0 {
		return nil
	}
	var who []string
	for _, u := range n.Mentions {
		who = append(who, mention(u))
	}
	text := fmt.Sprintf(":bell: Reminder %d: %s, draft #%d is waiting for your %s approval.", n.Reminder, strings.Join(who, " "), v.ID, n.Tier)
	msgs, err := s.b.store.SlackMessages(ctx, n.DraftID, n.Revision, n.Tier, n.Target)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return s.post(ctx, n.Target, text, "reminder")
	}
	for _, m := range msgs {
		if _, _, err := s.b.api.PostMessageContext(ctx, m.Channel, slack.MsgOptionTS(m.TS), slack.MsgOptionText(text, false)); err != nil {
			return fmt.Errorf("chat.postMessage reminder thread: %w", err)
		}
	}
	return nil
}

func (s *sender) post(ctx context.Context, target, text, what string) error {
	_, _, err := s.b.api.PostMessageContext(ctx, target, slack.MsgOptionText(text, false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(mrkdwn(text), nil, nil)))
	if err != nil {
		return fmt.Errorf("chat.postMessage %s: %w", what, err)
	}
	return nil
}
