package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/bot/slackstate"
	"github.com/signoff-app/signoff/outbox"
)

// sender delivers the outbox messages of approvals.ChannelSlack.
type sender struct{ b *Bot }

// Send posts or updates the Slack message an outbox message asks for:
//   - approval_requested: the request with Approve and Reject buttons, to
//     the target (a channel, or a user's DM); its channel and ts are stored;
//   - decision_recorded, revised, withdrawn: the stored request message is
//     updated in place (chat.update), and a decision is also posted in its
//     thread;
//   - approved, rejected: a DM to the author, with the comment exactly;
//   - reminder, escalated, expired, auto_approved: see deadline.
//
// A 429 becomes a RetryAfterError; errors Slack will answer the same way
// again (channel_not_found, not_in_channel, invalid_auth…) are Permanent.
func (s *sender) Send(ctx context.Context, b *approvals.Batch, m *approvals.OutboxMessage) error {
	n := m.Payload
	v, _, err := s.b.svc.NotificationView(ctx, b, n)
	if err != nil {
		if approvals.ErrorCode(err) == approvals.ENOTFOUND {
			return outbox.Permanent(err)
		}
		return err
	}
	switch n.Event {
	case approvals.EventApprovalRequested:
		err = s.request(ctx, v, n)
	case approvals.EventDecisionRecorded, approvals.EventRevised, approvals.EventWithdrawn:
		err = s.update(ctx, v, n)
	case approvals.EventReminder, approvals.EventEscalated, approvals.EventExpired, approvals.EventAutoApproved:
		err = s.deadline(ctx, v, n) // reminder.go
	case approvals.EventApproved, approvals.EventRejected:
		text, blocks := verdictBlocks(v, n)
		_, _, err = s.b.api.PostMessageContext(ctx, n.Target, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		if err != nil {
			err = fmt.Errorf("chat.postMessage %s: %w", n.Event, err)
		}
	default:
		return nil // nothing to show in Slack
	}
	return slackError(err)
}

// request posts an approval request, once per (draft, revision, tier,
// target): a redelivery after a crash finds the stored message and stops.
func (s *sender) request(ctx context.Context, v *approvals.DraftView, n approvals.Notification) error {
	if n.Target == "" {
		return outbox.Permanent(errors.New("approval request without a Slack target"))
	}
	have, err := s.b.store.SlackMessages(ctx, n.DraftID, n.Revision, n.Tier, n.Target)
	if err != nil {
		return err
	}
	if len(have) > 0 {
		return nil
	}
	if !v.Awaits(n.Revision, n.Tier) {
		return nil // the draft moved on before delivery; nothing to ask
	}
	blocks := requestBlocks(v, n.Revision, n.Tier, s.b.MediaURL)
	channel, ts, err := s.b.api.PostMessageContext(ctx, n.Target,
		slack.MsgOptionText(requestText(v, n.Tier), false), slack.MsgOptionBlocks(blocks...))
	if bare, ok := withoutImages(blocks); ok && refusedBlocks(err) {
		// Slack fetches each picture itself and refuses the whole message
		// when it cannot: a request without its thumbnails beats none.
		channel, ts, err = s.b.api.PostMessageContext(ctx, n.Target,
			slack.MsgOptionText(requestText(v, n.Tier), false), slack.MsgOptionBlocks(bare...))
	}
	if err != nil {
		return fmt.Errorf("chat.postMessage request: %w", err)
	}
	return s.b.store.SaveSlackMessages(ctx, &slackstate.Message{WorkspaceID: n.WorkspaceID, DraftID: n.DraftID,
		Revision: n.Revision, Tier: n.Tier, Target: n.Target, Channel: channel, TS: ts})
}

// update redraws the stored request messages of the notification's
// revision and tier as the draft stands now, and posts a decision in the
// message's thread.
func (s *sender) update(ctx context.Context, v *approvals.DraftView, n approvals.Notification) error {
	msgs, err := s.b.store.SlackMessages(ctx, n.DraftID, n.Revision, n.Tier, n.Target)
	if err != nil {
		return err
	}
	blocks := requestBlocks(v, n.Revision, n.Tier, s.b.MediaURL)
	for _, msg := range msgs {
		shared, err := s.b.store.SlackMessagesAt(ctx, msg.Channel, msg.TS)
		if err != nil {
			return err
		}
		if len(shared) > 1 { // a grouped DM (group.go): redraw every draft of it
			if err := s.redraw(ctx, shared, n.RecipientID, nil); err != nil {
				return err
			}
		} else {
			_, _, _, err := s.b.api.UpdateMessageContext(ctx, msg.Channel, msg.TS,
				slack.MsgOptionText(requestText(v, n.Tier), false), slack.MsgOptionBlocks(blocks...))
			if bare, ok := withoutImages(blocks); ok && refusedBlocks(err) {
				_, _, _, err = s.b.api.UpdateMessageContext(ctx, msg.Channel, msg.TS,
					slack.MsgOptionText(requestText(v, n.Tier), false), slack.MsgOptionBlocks(bare...))
			}
			if err != nil {
				return fmt.Errorf("chat.update: %w", err)
			}
		}
		if n.Event != approvals.EventDecisionRecorded {
			continue
		}
		dec := v.Cause(n)
		if dec == nil {
			continue
		}
		thread := []slack.Block{slack.NewSectionBlock(mrkdwn(decisionLine(v, dec)), nil, nil)}
		if dec.Comment != "" {
			for _, c := range chunks(dec.Comment, maxSection) {
				thread = append(thread, slack.NewSectionBlock(plain(c), nil, nil))
			}
		}
		if _, _, err := s.b.api.PostMessageContext(ctx, msg.Channel, slack.MsgOptionTS(msg.TS),
			slack.MsgOptionText(decisionLine(v, dec), false), slack.MsgOptionBlocks(thread...)); err != nil {
			return fmt.Errorf("chat.postMessage thread: %w", err)
		}
	}
	return nil
}

// withoutImages returns blocks without their image blocks, and whether
// there were any.
func withoutImages(blocks []slack.Block) ([]slack.Block, bool) {
	var out []slack.Block
	for _, b := range blocks {
		if b.BlockType() != slack.MBTImage {
			out = append(out, b)
		}
	}
	return out, len(out) < len(blocks)
}

// refusedBlocks reports whether Slack refused a message's blocks, as it
// does when it cannot download a picture of an image block.
func refusedBlocks(err error) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && se.Err == "invalid_blocks"
}

// permanentErrors are Slack errors a retry cannot fix.
var permanentErrors = map[string]bool{
	"channel_not_found": true, "not_in_channel": true, "is_archived": true, "invalid_auth": true,
	"account_inactive": true, "token_revoked": true, "no_permission": true, "missing_scope": true,
	"user_not_found": true, "cannot_dm_bot": true, "invalid_blocks": true, "msg_too_long": true,
	"message_not_found": true, "cant_update_message": true, "edit_window_closed": true,
	"restricted_action": true, "ekm_access_denied": true, "not_authed": true, "team_access_not_granted": true,
}

// slackError maps a Slack API failure onto the outbox's retry policy.
func slackError(err error) error {
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &outbox.RetryAfterError{After: rl.RetryAfter, Err: err}
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && permanentErrors[se.Err] {
		return outbox.Permanent(err)
	}
	return err
}
