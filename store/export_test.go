package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// MarkOutboxSQL is MarkOutboxBatch's statement, whose plan a test checks.
const MarkOutboxSQL = markOutboxSQL

// Hold holds sql back in tx, as the audit entry and the outbox rows are.
func Hold(t approvals.Tx, sql string) { t.(*tx).tx.hold(sql, nil) }

// OutboxTx is the delivery side of the outbox on one transaction: the core
// never calls it (package outbox claims and records through DB), so it is
// not in approvals.Tx.
type OutboxTx interface {
	ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*approvals.OutboxMessage, error)
	MarkOutboxBatch(ctx context.Context, at time.Time, outcomes []approvals.OutboxOutcome) ([]int64, error)
}

// OutboxOf returns t's outbox delivery methods.
func OutboxOf(t approvals.Tx) OutboxTx { return t.(*tx) }

// ClaimOutboxSQL is the outbox claim, for its plan test.
const ClaimOutboxSQL = claimOutboxSQL

// OutboxStatsSQL is the metrics' count of the outbox, for its plan test.
const OutboxStatsSQL = outboxStatsSQL

// DecisionLookups returns the statements, with their arguments, of
// LockForDecision (d nil: the lock, then the lookups naming the draft by
// draftID) or of DecisionRows (the lookups keyed by d's values), for a test
// of their plans.
func DecisionLookups(workspaceID int64, d *approvals.Draft, draftID, memberID int64) []*pgx.QueuedQuery {
	b := &pgx.Batch{}
	if d == nil {
		b.Queue(lockDraftSQL, workspaceID, draftID)
	}
	r := decisionDraft{ws: workspaceID, id: draftID, byRow: true}
	if d != nil {
		r = draftValues(workspaceID, d)
	}
	queueDecisionLookups(b, r, memberID)
	return b.QueuedQueries
}
