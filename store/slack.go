package store

import (
	"context"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// The Slack channel's state (migrations/00003_slack.sql). These methods run
// on the pool, outside the core's transactions: they are the bot's, not the
// core's.

// ClaimSlackDelivery records that the inbound Slack delivery named by key is
// being acted on. It returns false when key was claimed before (a retry or a
// duplicate delivery), in which case the caller must not act again.
func (db *DB) ClaimSlackDelivery(ctx context.Context, key string) (bool, error) {
	tag, err := db.pool.Exec(ctx,
		`INSERT INTO slack_deliveries (key) VALUES ($1) ON CONFLICT (key) DO NOTHING`, key)
	if err != nil {
		return false, dbError(err, nil)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseSlackDelivery forgets a claim whose action failed, so that Slack's
// retry of the delivery may act.
func (db *DB) ReleaseSlackDelivery(ctx context.Context, key string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM slack_deliveries WHERE key = $1`, key); err != nil {
		return dbError(err, nil)
	}
	return nil
}

// PruneSlackDeliveries deletes claims older than before; Slack retries for
// minutes, not days.
func (db *DB) PruneSlackDeliveries(ctx context.Context, before time.Time) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM slack_deliveries WHERE created_at < $1`, before); err != nil {
		return dbError(err, nil)
	}
	return nil
}

// SaveSlackMessage records a posted approval request. Saving the same
// (draft, revision, tier, target) again replaces the channel and ts.
func (db *DB) SaveSlackMessage(ctx context.Context, m *approvals.SlackMessage) error {
	err := db.pool.QueryRow(ctx, `
		INSERT INTO slack_messages (workspace_id, draft_id, revision, tier, target, channel, ts)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (draft_id, revision, tier, target)
		DO UPDATE SET channel = EXCLUDED.channel, ts = EXCLUDED.ts
		RETURNING created_at`,
		m.WorkspaceID, m.DraftID, m.Revision, string(m.Tier), m.Target, m.Channel, m.TS).Scan(&m.CreatedAt)
	if err != nil {
		return dbError(err, nil)
	}
	return nil
}

// SlackMessages returns the posted requests of a draft's revision, oldest
// first; tier "" and target "" match any.
func (db *DB) SlackMessages(ctx context.Context, draftID int64, revision int, tier approvals.Tier, target string) ([]*approvals.SlackMessage, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT workspace_id, draft_id, revision, tier, target, channel, ts, created_at
		FROM slack_messages
		WHERE draft_id = $1 AND revision = $2
		  AND ($3 = '' OR tier = $3) AND ($4 = '' OR target = $4)
		ORDER BY created_at, channel, ts`, draftID, revision, string(tier), target)
	if err != nil {
		return nil, dbError(err, nil)
	}
	defer rows.Close()
	out := []*approvals.SlackMessage{}
	for rows.Next() {
		m := &approvals.SlackMessage{}
		var tier string
		if err := rows.Scan(&m.WorkspaceID, &m.DraftID, &m.Revision, &tier, &m.Target, &m.Channel, &m.TS, &m.CreatedAt); err != nil {
			return nil, dbError(err, nil)
		}
		m.Tier = approvals.Tier(tier)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, nil)
	}
	return out, nil
}
