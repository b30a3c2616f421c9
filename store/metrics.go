package store

import (
	"context"

	"github.com/signoff-app/signoff/approvals"
)

var _ approvals.OutboxStatter = (*DB)(nil)

const outboxStatsSQL = `
	SELECT channel, state, count(*), min(created_at) FROM outbox
	WHERE state = 'pending' OR state = 'dead'
	GROUP BY channel, state
	ORDER BY channel, state`

// OutboxStats returns the depth and the oldest creation time of the
// outbox's pending and dead messages by channel, on the pool (outside any
// transaction); metrics scrapes call it with a short deadline. Sent rows
// are not counted: they only grow. The two states are ORed, not listed
// with IN, so that each is read by its index (pending rows are only in
// outbox_due_idx), not by a scan of the whole table, sent rows included
// (TestOutboxStatsPlan).
func (db *DB) OutboxStats(ctx context.Context) ([]approvals.OutboxStat, error) {
	rows, err := db.pool.Query(ctx, outboxStatsSQL)
	if err != nil {
		return nil, dbError(err, nil)
	}
	defer rows.Close()
	var out []approvals.OutboxStat
	for rows.Next() {
		var s approvals.OutboxStat
		if err := rows.Scan(&s.Channel, &s.State, &s.Count, &s.Oldest); err != nil {
			return nil, dbError(err, nil)
		}
		s.Oldest = s.Oldest.UTC()
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, nil)
	}
	return out, nil
}
