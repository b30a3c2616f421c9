package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/bot/slackstate"
)

// The Slack channel's state (package bot/slackstate, table definitions in
// migrations/00003_slack.sql). These methods run on the pool, outside the
// core's transactions: they are the bot's, not the core's.

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

// RecordDelivery inserts the delivery's key with the transaction's next
// statement or its COMMIT; a key recorded before makes that statement
// fail, and with it the transaction (see dbError, slack_deliveries_pkey).
func (t *tx) RecordDelivery(_ context.Context, key string) error {
	t.tx.hold(`INSERT INTO slack_deliveries (key) VALUES ($1)`, nil, key)
	return nil
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

// SaveSlackMessages records posted approval requests (a grouped DM's in
// one statement), setting each one's CreatedAt. Saving the same (draft,
// revision, tier, target) again replaces the channel and ts; ms must not
// hold one twice.
func (db *DB) SaveSlackMessages(ctx context.Context, ms ...*slackstate.Message) error {
	n := len(ms)
	ws, drafts, revs := make([]int64, n), make([]int64, n), make([]int32, n)
	tiers, targets, channels, tss := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, m := range ms {
		ws[i], drafts[i], revs[i] = m.WorkspaceID, m.DraftID, int32(m.Revision)
		tiers[i], targets[i], channels[i], tss[i] = string(m.Tier), m.Target, m.Channel, m.TS
	}
	rows, err := db.pool.Query(ctx, `
		WITH v AS (
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[])
				WITH ORDINALITY AS v (w, d, r, tier, target, channel, ts, i)),
		saved AS (
			INSERT INTO slack_messages (workspace_id, draft_id, revision, tier, target, channel, ts)
			SELECT w, d, r, tier, target, channel, ts FROM v ORDER BY i
			ON CONFLICT (draft_id, revision, tier, target)
			DO UPDATE SET channel = EXCLUDED.channel, ts = EXCLUDED.ts
			RETURNING draft_id, revision, tier, target, created_at)
		SELECT s.created_at FROM saved s
		JOIN v ON v.d = s.draft_id AND v.r = s.revision AND v.tier = s.tier AND v.target = s.target
		ORDER BY v.i`,
		ws, drafts, revs, tiers, targets, channels, tss)
	if err != nil {
		return dbError(err, nil)
	}
	at, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return dbError(err, nil)
	}
	if len(at) != n {
		return fmt.Errorf("save slack messages: %d of %d saved", len(at), n)
	}
	for i, m := range ms {
		m.CreatedAt = at[i]
	}
	return nil
}

// SlackMessages returns the posted requests of a draft's revision, oldest
// first; tier "" and target "" match any.
func (db *DB) SlackMessages(ctx context.Context, draftID int64, revision int, tier approvals.Tier, target string) ([]*slackstate.Message, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT workspace_id, draft_id, revision, tier, target, channel, ts, created_at
		FROM slack_messages
		WHERE draft_id = $1 AND revision = $2
		  AND ($3 = '' OR tier = $3) AND ($4 = '' OR target = $4)
		ORDER BY created_at, channel, ts`, draftID, revision, string(tier), target)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return scanSlackMessages(rows)
}

func scanSlackMessages(rows pgx.Rows) ([]*slackstate.Message, error) {
	defer rows.Close()
	out := []*slackstate.Message{}
	for rows.Next() {
		m := &slackstate.Message{}
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

// SlackMessagesTo returns the requests posted to target for the drafts,
// in one statement (a grouped DM checks its drafts at once), oldest first.
func (db *DB) SlackMessagesTo(ctx context.Context, target string, draftIDs []int64) ([]*slackstate.Message, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT workspace_id, draft_id, revision, tier, target, channel, ts, created_at
		FROM slack_messages
		WHERE draft_id = ANY ($1) AND target = $2
		ORDER BY created_at, draft_id`, draftIDs, target)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return scanSlackMessages(rows)
}

// SlackMessagesAt returns the requests posted in one Slack message, oldest
// first: more than one for a grouped DM.
func (db *DB) SlackMessagesAt(ctx context.Context, channel, ts string) ([]*slackstate.Message, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT workspace_id, draft_id, revision, tier, target, channel, ts, created_at
		FROM slack_messages WHERE channel = $1 AND ts = $2
		ORDER BY created_at, draft_id`, channel, ts)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return scanSlackMessages(rows)
}

// EnqueueSlackAction claims the inbound delivery named by key and queues
// the click it carries, in one statement: either both are written or
// neither. It returns false when key was claimed before (a retry or a
// duplicate delivery), in which case nothing is queued.
func (db *DB) EnqueueSlackAction(ctx context.Context, key string, payload []byte) (bool, error) {
	tag, err := db.pool.Exec(ctx, `
		WITH claim AS (
			INSERT INTO slack_deliveries (key) VALUES ($1) ON CONFLICT (key) DO NOTHING RETURNING key)
		INSERT INTO slack_actions (delivery_key, payload) SELECT key, $2::jsonb FROM claim`, key, payload)
	if err != nil {
		return false, dbError(err, nil)
	}
	return tag.RowsAffected() == 1, nil
}

// ClaimSlackActions leases up to limit due queued clicks until now+lease
// and counts the attempt, oldest first. SKIP LOCKED lets several workers
// (serve replicas) take disjoint rows; a click whose lease ran out (its
// worker died) is due again.
func (db *DB) ClaimSlackActions(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*slackstate.Action, error) {
	rows, err := db.pool.Query(ctx, `
		WITH claimed AS (
			UPDATE slack_actions SET lease_until = $1::timestamptz + $3::interval, attempts = attempts + 1
			WHERE id IN (
				SELECT id FROM slack_actions
				WHERE due_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
				ORDER BY due_at, id
				LIMIT $2
				FOR UPDATE SKIP LOCKED)
			RETURNING id, delivery_key, payload, attempts, created_at)
		SELECT * FROM claimed ORDER BY id`, now, limit, lease)
	if err != nil {
		return nil, dbError(err, nil)
	}
	defer rows.Close()
	out := []*slackstate.Action{}
	for rows.Next() {
		a := &slackstate.Action{}
		if err := rows.Scan(&a.ID, &a.Key, &a.Payload, &a.Attempts, &a.CreatedAt); err != nil {
			return nil, dbError(err, nil)
		}
		a.CreatedAt = a.CreatedAt.UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, nil)
	}
	return out, nil
}

// DeleteSlackActions removes clicks that were acted on. Their deliveries'
// claims stay, so a late retry of one still does nothing.
func (db *DB) DeleteSlackActions(ctx context.Context, ids []int64) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM slack_actions WHERE id = ANY ($1)`, ids); err != nil {
		return dbError(err, nil)
	}
	return nil
}

// RetrySlackAction releases a click whose action failed for now, due again
// at next.
func (db *DB) RetrySlackAction(ctx context.Context, id int64, next time.Time, lastErr string) error {
	if _, err := db.pool.Exec(ctx, `
		UPDATE slack_actions SET due_at = $2, lease_until = NULL, last_error = left($3, 1000) WHERE id = $1`,
		id, next, lastErr); err != nil {
		return dbError(err, nil)
	}
	return nil
}
