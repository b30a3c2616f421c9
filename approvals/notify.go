package approvals

import (
	"context"
	"fmt"
)

// enterState writes the outbox messages owed when a draft arrives in its
// current state: approval requests for a tier, or the verdict to the author
// (and, for an approval, the hand-off to publishers).
func (s *Service) enterState(ctx context.Context, tx Tx, p *principal, acc *Account, d *Draft, via Channel, rejected ...*Decision) error {
	n := Notification{WorkspaceID: d.WorkspaceID, DraftID: d.ID, Revision: d.Revision, ActorID: p.memberID(), Channel: via}
	switch d.State {
	case StatePendingInternal, StatePendingClient:
		tier, _ := d.State.Tier()
		if err := s.startClock(ctx, tx, acc, d, tier); err != nil { // reminders and deadline
			return err
		}
		approvers, err := s.eligible(ctx, tx, acc, tier, d)
		if err != nil {
			return err
		}
		n.Event, n.Tier = EventApprovalRequested, tier
		return s.enqueue(ctx, tx, s.toApprovers(p.ws, acc, n, approvers, true))
	case StateApproved, StateRejected:
		author, err := tx.MemberByID(ctx, d.WorkspaceID, d.AuthorID)
		if err != nil {
			return err
		}
		n.Event = EventApproved
		if d.State == StateApproved {
			if err := s.handOff(ctx, tx, p.ws, d); err != nil {
				return err
			}
		}
		if d.State == StateRejected {
			n.Event = EventRejected
			if len(rejected) > 0 && rejected[0] != nil {
				n.Tier, n.Comment, n.ActorID, n.Channel = rejected[0].Tier, rejected[0].Comment, rejected[0].ApproverID, rejected[0].Channel
			}
		}
		return s.enqueue(ctx, tx, s.toMember(p.ws, n, author))
	}
	return nil
}

// notifyDecision asks channels that showed the request to show the decision
// in place (the Slack message loses its buttons), wherever it was made.
func (s *Service) notifyDecision(ctx context.Context, tx Tx, p *principal, acc *Account, d *Draft, dec *Decision) error {
	if !slackOn(p.ws) {
		return nil
	}
	n := Notification{Event: EventDecisionRecorded, WorkspaceID: d.WorkspaceID, DraftID: d.ID, Revision: dec.Revision, Tier: dec.Tier,
		ActorID: dec.ApproverID, Channel: dec.Channel, Comment: dec.Comment}
	approvers, err := s.eligible(ctx, tx, acc, dec.Tier, d)
	if err != nil {
		return err
	}
	msgs := s.toApprovers(p.ws, acc, n, approvers, false)
	for _, m := range msgs {
		m.IdempotencyKey += fmt.Sprintf("/a%d", dec.ApproverID)
	}
	return s.enqueue(ctx, tx, msgs)
}

// notifySuperseded tells channels that the open request of a tier is void
// (the draft was revised or withdrawn).
func (s *Service) notifySuperseded(ctx context.Context, tx Tx, p *principal, acc *Account, d *Draft, tier Tier, ev Event) error {
	if !slackOn(p.ws) {
		return nil
	}
	approvers, err := s.eligible(ctx, tx, acc, tier, d)
	if err != nil {
		return err
	}
	n := Notification{Event: ev, WorkspaceID: d.WorkspaceID, DraftID: d.ID, Revision: d.Revision, Tier: tier, ActorID: p.memberID()}
	return s.enqueue(ctx, tx, s.toApprovers(p.ws, acc, n, approvers, false))
}

// toApprovers routes a tier's notification: Slack to the account's bound
// channel (client tier), the workspace's internal channel (internal tier) or
// each linked approver's DM, when the workspace uses Slack; email to each
// approver (withEmail).
func (s *Service) toApprovers(ws *Workspace, acc *Account, n Notification, approvers []*Member, withEmail bool) []*OutboxMessage {
	sortMembers(approvers)
	var msgs []*OutboxMessage
	if slackOn(ws) {
		target := ""
		if n.Tier == TierClient {
			target = acc.SlackChannel
		} else {
			target = ws.InternalChannel
		}
		if target != "" {
			msgs = append(msgs, s.message(ChannelSlack, n, 0, target))
		} else {
			for _, m := range approvers {
				if m.SlackUserID != "" {
					msgs = s.appendTo(msgs, ws, ChannelSlack, n, m, m.SlackUserID)
				}
			}
		}
	}
	if withEmail {
		for _, m := range approvers {
			msgs = s.appendTo(msgs, ws, ChannelEmail, n, m, m.Email)
		}
	}
	return msgs
}

// toMember routes a notification to one member: email, and a Slack DM when
// the member is linked.
func (s *Service) toMember(ws *Workspace, n Notification, m *Member) []*OutboxMessage {
	msgs := s.appendTo(nil, ws, ChannelEmail, n, m, m.Email)
	if slackOn(ws) && m.SlackUserID != "" {
		msgs = s.appendTo(msgs, ws, ChannelSlack, n, m, m.SlackUserID)
	}
	return msgs
}

// slackOn reports whether the workspace uses Slack: whether to queue Slack
// messages is a fact of the workspace in the database, never of the
// configuration of whichever process made the change (a CLI without Slack
// settings queues them all the same, for serve to deliver).
func slackOn(ws *Workspace) bool { return ws != nil && ws.SlackTeamID != "" }

func (s *Service) message(ch Channel, n Notification, recipientID int64, target string) *OutboxMessage {
	n.RecipientID, n.Target = recipientID, target
	key := fmt.Sprintf("%s/d%d/r%d/%s/%s/", n.Event, n.DraftID, n.Revision, n.Tier, ch)
	if recipientID != 0 {
		key += fmt.Sprintf("m%d", recipientID)
	} else {
		key += target
	}
	if n.Event == EventReminder {
		key += fmt.Sprintf("/n%d", n.Reminder) // each reminder is sent once
	}
	return &OutboxMessage{WorkspaceID: n.WorkspaceID, Channel: ch, IdempotencyKey: key, Payload: n, State: OutboxPending, NextAttemptAt: s.now(), CreatedAt: s.now()}
}

func (s *Service) enqueue(ctx context.Context, tx Tx, msgs []*OutboxMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	return tx.EnqueueOutbox(ctx, msgs)
}
