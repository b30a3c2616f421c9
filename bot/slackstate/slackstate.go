// Package slackstate holds the records the Slack channel keeps of its own
// work: the approval requests it posted and the clicks it queued. They are
// the bot's state, not rules of the core, and live apart from package bot so
// that store can persist them without importing slack-go.
package slackstate

import (
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// Message is a Slack message the bot posted for an approval request:
// where it is, so that later events (a decision, a revision) update it in
// place with chat.update.
type Message struct {
	WorkspaceID int64          `json:"workspace_id"`
	DraftID     int64          `json:"draft_id"`
	Revision    int            `json:"revision"`
	Tier        approvals.Tier `json:"tier"`
	Target      string         `json:"target"`  // the outbox target: a channel ID or a user ID (DM)
	Channel     string         `json:"channel"` // the conversation ID Slack returned
	TS          string         `json:"ts"`
	CreatedAt   time.Time      `json:"created_at"`
}

// Action is a Slack click acknowledged before it was acted on (an Approve,
// a reject modal's submission), queued in Postgres for the bot's worker.
// Payload is the bot's own encoding of the click.
type Action struct {
	ID        int64
	Key       string // the inbound delivery it came with
	Payload   []byte
	Attempts  int // leases taken, this one included
	CreatedAt time.Time
}
