package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// Retention says how long rows are kept that only served delivery or
// deduplication; 0 keeps them for ever. Outbox counts from a message's
// sending (pending and dead messages are kept: one is work, the other an
// operator's to look at); SlackDeliveries from a Slack delivery's arrival;
// IdempotencyKeys from a key's first use, and never less than
// approvals.IdempotencyTTL; Audit from an entry's time.
type Retention struct {
	Outbox          time.Duration
	SlackDeliveries time.Duration
	IdempotencyKeys time.Duration
	Audit           time.Duration
}

// Pruned is what Prune removed (or, in a dry run, would remove) from one
// table: the rows older than Before.
type Pruned struct {
	Table  string    `json:"table"`
	Before time.Time `json:"before"`
	Rows   int64     `json:"rows"`
}

// pruneStatements are the deletes of Prune, in order, by table: $1 is the
// cutoff. The audit log's trigger lets a delete through only for rows
// older than signoff.audit_prune_before, set in the same transaction.
var pruneStatements = []struct {
	table string
	keep  func(Retention) time.Duration
	sql   string
}{
	{"outbox", func(r Retention) time.Duration { return r.Outbox },
		`DELETE FROM outbox WHERE state = 'sent' AND sent_at < $1`},
	{"slack_deliveries", func(r Retention) time.Duration { return r.SlackDeliveries },
		`DELETE FROM slack_deliveries WHERE created_at < $1`},
	{"idempotency_keys", func(r Retention) time.Duration {
		if r.IdempotencyKeys == 0 {
			return 0
		}
		return max(r.IdempotencyKeys, approvals.IdempotencyTTL)
	}, `DELETE FROM idempotency_keys WHERE created_at < $1`},
	{"audit_log", func(r Retention) time.Duration { return r.Audit },
		`DELETE FROM audit_log WHERE at < $1`},
}

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("dry run")

// Prune deletes, in one transaction, the rows r no longer keeps at now,
// and returns the count per table (tables r keeps for ever are left out).
// With dryRun it deletes nothing and returns what it would delete.
// Errors: EUNAVAILABLE, EINTERNAL.
func (db *DB) Prune(ctx context.Context, r Retention, now time.Time, dryRun bool) ([]Pruned, error) {
	var out []Pruned
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		for _, st := range pruneStatements {
			keep := st.keep(r)
			if keep <= 0 {
				continue
			}
			before := now.Add(-keep).UTC()
			if st.table == "audit_log" {
				if _, err := tx.Exec(ctx, `SELECT set_config('signoff.audit_prune_before', $1, true)`, before.Format(time.RFC3339Nano)); err != nil {
					return fmt.Errorf("prune %s: %w", st.table, err)
				}
			}
			tag, err := tx.Exec(ctx, st.sql, before)
			if err != nil {
				return fmt.Errorf("prune %s: %w", st.table, err)
			}
			out = append(out, Pruned{Table: st.table, Before: before, Rows: tag.RowsAffected()})
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return nil, dbError(err, nil)
	}
	return out, nil
}
