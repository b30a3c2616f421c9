package approvals

import (
	"context"
	"encoding/json"
	"time"
)

// Event names what happened that someone must be told of.
type Event string

const (
	EventApprovalRequested Event = "approval_requested" // a draft entered a tier; to each approver
	EventApproved          Event = "approved"           // to the author
	EventRejected          Event = "rejected"           // to the author, with the comment
	EventRevised           Event = "revised"            // supersedes open requests
	EventWithdrawn         Event = "withdrawn"          // to approvers with an open request
	EventDecisionRecorded  Event = "decision_recorded"  // a decision was made: update messages in place
	// Reminders and deadline policies (reminder.go, deadline.go).
	EventReminder     Event = "reminder"      // to each approver who has not decided; Reminder numbers it
	EventExpired      Event = "expired"       // the deadline expired the draft: to the author; supersedes open requests
	EventAutoApproved Event = "auto_approved" // the deadline policy approved: to approvers who had not decided
	EventEscalated    Event = "escalated"     // the backup approver was added to the tier: to them, like a request
	// Slack identity (slacklink.go).
	EventSlackLinkRequested Event = "slack_link_requested" // a guest or Slack Connect user asked to be linked: a confirmation link to the member
)

// OutboxState is the delivery state of an outbox message.
type OutboxState string

const (
	OutboxPending OutboxState = "pending"
	OutboxSent    OutboxState = "sent"
	OutboxDead    OutboxState = "dead"
)

// Notification is the payload of an outbox message: enough for a sender to
// load what it shows through the Service.
type Notification struct {
	Event       Event   `json:"event"`
	WorkspaceID int64   `json:"workspace_id"`
	DraftID     int64   `json:"draft_id"`
	Revision    int     `json:"revision"`
	Tier        Tier    `json:"tier,omitempty"`
	RecipientID int64   `json:"recipient_id,omitempty"` // a member, when the target is one
	Target      string  `json:"target,omitempty"`       // channel-specific address (email, Slack channel)
	ActorID     int64   `json:"actor_id,omitempty"`     // who caused the event
	Channel     Channel `json:"via,omitempty"`          // where the causing action came from
	Comment     string  `json:"comment,omitempty"`
	// Reminder is the number of a reminder (EventReminder), from 1.
	Reminder int `json:"reminder,omitempty"`
	// Mentions are channel-specific addresses (Slack user IDs) of the
	// members a message to a shared channel names: the approvers a
	// reminder in a request's thread is for.
	Mentions []string `json:"mentions,omitempty"`
	// LinkRequestID is the SlackLinkRequest an EventSlackLinkRequested
	// email asks the member to confirm.
	LinkRequestID int64 `json:"link_request_id,omitempty"`
}

// OutboxMessage is one (event, recipient, channel) delivery.
type OutboxMessage struct {
	ID             int64        `json:"id"`
	WorkspaceID    int64        `json:"workspace_id"`
	Channel        Channel      `json:"channel"` // the sender that delivers it: "email", "slack", "log", "webhook"
	IdempotencyKey string       `json:"idempotency_key"`
	Payload        Notification `json:"payload"`
	State          OutboxState  `json:"state"`
	Attempts       int          `json:"attempts"`
	NextAttemptAt  time.Time    `json:"next_attempt_at"`
	LastError      string       `json:"last_error,omitempty"`
	CreatedAt      time.Time    `json:"created_at"`
	SentAt         *time.Time   `json:"sent_at,omitempty"`
	// LeaseUntil is the end of the lease of the claim that holds the
	// message (nil when none ever did or it was released). A dispatcher
	// hands it back with the outcome, so that only its own claim is acted on.
	LeaseUntil *time.Time `json:"lease_until,omitempty"`
	// GroupKey, when set, names the group the message goes out in: the
	// messages of one key are claimed together and delivered as one (see
	// grouping.go).
	GroupKey string `json:"group_key,omitempty"`
}

// PayloadJSON returns the payload encoded for storage.
func (m *OutboxMessage) PayloadJSON() ([]byte, error) { return json.Marshal(m.Payload) }

// OutboxOutcome is the result of one delivery attempt of a claimed message:
// State OutboxSent, OutboxDead (with Error), or OutboxPending for another
// attempt at NextAttemptAt (with Error). Lease is the message's LeaseUntil
// as its claim set it: the outcome of a retry or a dead message applies
// only while that claim still holds it.
type OutboxOutcome struct {
	ID            int64
	State         OutboxState
	NextAttemptAt time.Time
	Error         string
	Lease         time.Time
}

// Outbox lists outbox messages for operators ("" state for all).
// Errors: EINVALID.
func (s *Service) Outbox(ctx context.Context, state OutboxState, limit int) ([]*OutboxMessage, error) {
	switch state {
	case "", OutboxPending, OutboxSent, OutboxDead:
	default:
		return nil, Errorf(EINVALID, "unknown outbox state %q (want pending, sent or dead)", state)
	}
	if limit <= 0 {
		limit = 100
	}
	var out []*OutboxMessage
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		out, err = tx.Outbox(ctx, state, limit)
		return err
	})
	return out, err
}
