package outbox

import (
	"context"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// Store is what the dispatcher needs of the database. Each method runs in a
// transaction of its own, committed when it returns.
type Store interface {
	// ClaimOutbox leases up to limit due pending messages until now+lease,
	// counting the attempt; concurrent claimers never get the same row.
	ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*approvals.OutboxMessage, error)
	// MarkOutboxBatch applies the outcomes of claimed messages, each
	// claimed with the lease ending at its Lease (the message's LeaseUntil),
	// and releases them; a sent one gets SentAt at. A retry or dead outcome
	// applies only while the message is still pending under that very
	// lease: a message whose lease ran out and that another claim took is
	// left to that claim. A sent
	// outcome applies to any pending message, whoever holds it — the
	// delivery happened, and recording it keeps another claim's later
	// failure from sending it again. It returns the IDs whose lease was no
	// longer this claim's (a sign that outbox.lease is shorter than a batch
	// takes to deliver). Run alone, the statement commits in one round trip
	// to the database, where BEGIN, the statement and COMMIT take three: the
	// recorder's commits are the dispatcher's critical path.
	MarkOutboxBatch(ctx context.Context, at time.Time, outcomes []approvals.OutboxOutcome) (stale []int64, err error)
}

// Views reads, for a claimed batch, the drafts its senders show
// (*approvals.Service).
type Views interface {
	PreloadBatch(ctx context.Context, b *approvals.Batch)
}

// Metrics counts deliveries by channel; package metrics implements it for
// Prometheus. Implementations must be safe for concurrent use and must not
// block.
type Metrics interface {
	// Sent counts one delivery attempt of an outbox message of the channel;
	// err is the sender's error, nil when it was delivered.
	Sent(ch approvals.Channel, err error)
}
