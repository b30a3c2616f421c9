package approvals

import (
	"context"
	"errors"
	"fmt"
)

// What a member is asked to decide reaches them in one of three ways:
//
//   - at once, one email per request, when the workspace's grouping window
//     is 0;
//   - grouped: a request or reminder email waits for the window, and every
//     request and reminder to the same member queued meanwhile goes out
//     with it, as one email (the outbox claims a group's messages
//     together: OutboxMessage.GroupKey);
//   - in their daily digest, when they chose one (digest.go): nothing is
//     sent on its own, by email or Slack DM, and their digest lists
//     everything waiting on them.
//
// Slack DMs to an approver are grouped the same way (requests only: a
// reminder DM goes out at once), as one message with each draft's buttons,
// redrawn in place as each is decided. Posts to a channel (an account's
// client channel, the internal channel) are never grouped: each is one
// draft's, with buttons updated in place.

// asks reports whether ev asks its recipient to decide.
func asks(ev Event) bool {
	return ev == EventApprovalRequested || ev == EventReminder || ev == EventEscalated
}

// groups reports whether ev waits for the grouping window. An escalation
// goes out at once: the deadline it is about is near.
func groups(ev Event) bool { return ev == EventApprovalRequested || ev == EventReminder }

// appendTo appends to msgs the message of n to member m of workspace ws
// by channel ch, routed by m's choice (see above): a digest member's
// request becomes their next digest and their DM is dropped; a request
// email or DM to anyone else waits for the grouping window.
func (s *Service) appendTo(msgs []*OutboxMessage, ws *Workspace, ch Channel, n Notification, m *Member, target string) []*OutboxMessage {
	msg := s.message(ch, n, m.ID, target)
	switch {
	case !asks(n.Event):
	case m.Digest() && ch == ChannelEmail:
		msg = s.digestMessage(ws, m)
	case m.Digest():
		return msgs // the digest is an email; Slack stays quiet until then
	case ws.GroupWindow > 0 && (ch == ChannelEmail && groups(n.Event) || ch == ChannelSlack && n.Event == EventApprovalRequested):
		msg.GroupKey = GroupKey(ws.ID, m.ID, ch)
		msg.NextAttemptAt = msg.CreatedAt.Add(ws.GroupWindow)
	}
	return append(msgs, msg)
}

// GroupKey names the group of the requests to member memberID of the
// workspace by channel ch.
func GroupKey(workspaceID, memberID int64, ch Channel) string {
	return fmt.Sprintf("requests/w%d/m%d/%s", workspaceID, memberID, ch)
}

// GroupItem is one draft of a grouped message: the notification that
// asked about it and the draft as its reader sees it now.
type GroupItem struct {
	Notification Notification
	View         *DraftView
}

// GroupViews loads what a grouped message to one member says (msgs share
// a GroupKey): each draft that still waits on the member, on the revision
// and tier its notification asked about, once, in the order queued. A
// draft decided, revised or withdrawn since is left out; when none is
// left, nothing is owed. Within batch b (nil outside any) the views are
// shared with the batch's other messages. Senders are trusted parts of the
// service; no actor check applies.
// Errors: ErrRecipientGone when the recipient was removed.
func (s *Service) GroupViews(ctx context.Context, b *Batch, msgs []*OutboxMessage) (*Member, []GroupItem, error) {
	var recipient *Member
	var items []GroupItem
	seen := map[int64]bool{}
	for _, m := range msgs {
		n := m.Payload
		if !asks(n.Event) || n.RecipientID == 0 || seen[n.DraftID] {
			continue
		}
		view, r, err := s.fullNotificationView(ctx, b, n)
		if ErrorCode(err) == ENOTFOUND && !errors.Is(err, ErrRecipientGone) {
			continue // the draft is gone: nothing waits
		}
		if err != nil {
			return nil, nil, err
		}
		recipient = r
		if !view.Awaits(n.Revision, n.Tier) || !view.AwaitsMember(r.ID) {
			continue
		}
		seen[n.DraftID] = true
		items = append(items, GroupItem{Notification: n, View: view.For(NotificationReader(n, r))})
	}
	return recipient, items, nil
}
