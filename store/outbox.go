package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

const outboxColumns = `id, coalesce(workspace_id, 0), channel, idempotency_key, payload, state, attempts,
	next_attempt_at, last_error, created_at, sent_at, lease_until, coalesce(group_key, '')`

func scanOutbox(row pgx.Row) (*approvals.OutboxMessage, error) {
	var m approvals.OutboxMessage
	var payload []byte
	if err := row.Scan(&m.ID, &m.WorkspaceID, &m.Channel, &m.IdempotencyKey, &payload, &m.State, &m.Attempts,
		&m.NextAttemptAt, &m.LastError, &m.CreatedAt, &m.SentAt, &m.LeaseUntil, &m.GroupKey); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(payload, &m.Payload); err != nil {
		return nil, fmt.Errorf("outbox message %d: decode payload: %w", m.ID, err)
	}
	m.NextAttemptAt, m.CreatedAt, m.SentAt, m.LeaseUntil = m.NextAttemptAt.UTC(), m.CreatedAt.UTC(), utcPtr(m.SentAt), utcPtr(m.LeaseUntil)
	return &m, nil
}

func scanOutboxes(rows pgx.Rows) ([]*approvals.OutboxMessage, error) {
	return collect(rows, scanOutbox)
}

// EnqueueOutbox inserts the messages as pending, skipping any whose
// idempotency key exists already (so a retried action sends nothing twice).
// Inserted messages get their ID, State and times set once the statement
// has run: it is held back until the transaction's next statement or its
// commit. Skipped ones keep ID 0. A zero NextAttemptAt or CreatedAt means
// now().
func (t *tx) EnqueueOutbox(ctx context.Context, msgs []*approvals.OutboxMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	// One statement for the lot, rows inserted in the order given.
	n := len(msgs)
	workspaces, channels, keys, payloads := make([]*int64, n), make([]string, n), make([]string, n), make([]string, n)
	nexts, createds, groups := make([]*time.Time, n), make([]*time.Time, n), make([]*string, n)
	for i, m := range msgs {
		payload, err := m.PayloadJSON()
		if err != nil {
			return fmt.Errorf("outbox %q: encode payload: %w", m.IdempotencyKey, err)
		}
		workspaces[i], channels[i], keys[i], payloads[i] = nullID(m.WorkspaceID), string(m.Channel), m.IdempotencyKey, string(payload)
		nexts[i], createds[i] = nullTime(m.NextAttemptAt), nullTime(m.CreatedAt)
		if m.GroupKey != "" {
			groups[i] = &m.GroupKey
		}
	}
	// Held back (see txConn): the rows go out with the next statement or
	// the commit, which sets the messages' fields.
	t.tx.hold(`
		INSERT INTO outbox (workspace_id, channel, idempotency_key, payload, next_attempt_at, created_at, group_key)
		SELECT u.w, u.c, u.k, u.p::jsonb, coalesce(u.n, u.cr, now()), coalesce(u.cr, now()), u.g
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[])
			WITH ORDINALITY AS u (w, c, k, p, n, cr, g, ord)
		ORDER BY u.ord
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING idempotency_key, id, state, attempts, next_attempt_at, created_at`,
		// Only what the insert set: the rest is the message as given (its
		// payload read back would cost a jsonb output and a decode).
		func(rows pgx.Rows) error {
			type row struct {
				id            int64
				state         approvals.OutboxState
				attempts      int
				next, created time.Time
			}
			got := make(map[string]row, len(msgs))
			for rows.Next() {
				var k string
				var r row
				if err := rows.Scan(&k, &r.id, &r.state, &r.attempts, &r.next, &r.created); err != nil {
					return err
				}
				got[k] = r
			}
			if err := rows.Err(); err != nil {
				return err
			}
			// Skipped rows (duplicates, within msgs too: the first one
			// wins) are not returned and keep their fields.
			for _, m := range msgs {
				r, ok := got[m.IdempotencyKey]
				if !ok {
					continue
				}
				delete(got, m.IdempotencyKey)
				m.ID, m.State, m.Attempts = r.id, r.state, r.attempts
				m.NextAttemptAt, m.CreatedAt = r.next.UTC(), r.created.UTC()
				m.LastError, m.SentAt, m.LeaseUntil = "", nil, nil
				t.enqueued = true
			}
			return nil
		},
		workspaces, channels, keys, payloads, nexts, createds, groups)
	return nil
}

// ClaimOutbox leases up to limit due pending messages until now+lease and
// counts the attempt. SKIP LOCKED lets concurrent claimers take disjoint
// rows; a message whose lease ran out (its worker died) is due again. A
// due message of a group brings the group's other pending messages along,
// due or not (beyond limit): they go out together, as one.
func (t *tx) ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*approvals.OutboxMessage, error) {
	// RETURNING follows no order; hand the messages out oldest first.
	rows, err := t.tx.Query(ctx, claimOutboxSQL, now, limit, lease)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return scanOutboxes(rows)
}

// claimOutboxSQL leases up to $2 due messages and their groups' other
// pending messages at $1 for $3. The mates and the rows to update are
// looked up by key, not joined: the planner would size a join by the whole
// pending set and, with a backlog or a day of grouped requests waiting,
// scan all of it on every claim. The mates are read key by key (LATERAL):
// after a burst of enqueues that the statistics do not know of, the
// planner takes the pending set for nearly empty, and one lookup of all
// the keys at once (= ANY of an array) then cost more to it than walking
// the whole of outbox_due_idx, which it did on every claim
// (TestOutboxClaimPlan).
const claimOutboxSQL = `
	WITH due AS (
		SELECT id, group_key FROM outbox
		WHERE state = 'pending' AND next_attempt_at <= $1
		  AND (lease_until IS NULL OR lease_until <= $1)
		ORDER BY next_attempt_at, id
		LIMIT $2
		FOR UPDATE SKIP LOCKED),
	mates AS (
		SELECT m.id
		FROM unnest(ARRAY(SELECT DISTINCT group_key FROM due WHERE group_key IS NOT NULL)) AS k (key),
		LATERAL (
			SELECT id FROM outbox
			WHERE state = 'pending' AND group_key IS NOT NULL AND group_key = k.key
			  AND (lease_until IS NULL OR lease_until <= $1)
			FOR UPDATE SKIP LOCKED) m),
	claimed AS (
		UPDATE outbox SET lease_until = $1::timestamptz + $3::interval, attempts = attempts + 1
		WHERE id = ANY (ARRAY(SELECT id FROM due UNION SELECT id FROM mates))
		RETURNING *)
	SELECT ` + outboxColumns + ` FROM claimed ORDER BY id`

// MarkOutboxBatch applies a claimed batch's outcomes in one statement, as
// outbox.Store describes, inside t.
func (t *tx) MarkOutboxBatch(ctx context.Context, at time.Time, outcomes []approvals.OutboxOutcome) ([]int64, error) {
	return markOutboxBatch(ctx, t.tx, at, outcomes)
}

// MarkOutboxBatch applies outcomes as tx.MarkOutboxBatch does, in a
// transaction of their own that is committed when it returns
// (outbox.Store). The statement runs alone, so it commits
// implicitly: one round trip to the server where BEGIN, the statement and
// COMMIT take three, with the same durability.
func (db *DB) MarkOutboxBatch(ctx context.Context, at time.Time, outcomes []approvals.OutboxOutcome) ([]int64, error) {
	return markOutboxBatch(ctx, db.pool, at, outcomes)
}

// ClaimOutbox claims as tx.ClaimOutbox does, in a transaction of its own
// (outbox.Store).
func (db *DB) ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*approvals.OutboxMessage, error) {
	var msgs []*approvals.OutboxMessage
	err := db.InTx(ctx, func(ctx context.Context, t approvals.Tx) error {
		var err error
		msgs, err = t.(*tx).ClaimOutbox(ctx, now, limit, lease)
		return err
	})
	return msgs, err
}

// markOutboxSQL applies outcomes ($1 IDs, $2 states, $3 next attempts, $4
// errors, $5 the leases of their claims) at $6, returning the IDs that were
// still their claim's. The outcomes may be of several claims (one recorder
// serves a dispatcher's batches), hence a lease per row. The row locks are taken first, so the state and lease
// compared are the row's latest, not the statement's snapshot. The rows are
// locked by ID alone and their state checked after: with "state =
// 'pending'" in that WHERE the planner may walk the partial index
// outbox_due_idx instead of the primary key, every entry of which is
// pending and whose size it underrates after a burst of enqueues
// (statistics taken while the outbox was drained), reading every pending
// row for each call (~1 ms each with 2,000 pending, measured by `make bench`).
const markOutboxSQL = `
	WITH v AS (
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::timestamptz[]) AS v(id, state, next_at, err, lease)),
	old AS (
		SELECT o.id, o.state, o.lease_until FROM outbox o
		WHERE o.id = ANY ($1::bigint[])
		FOR UPDATE),
	upd AS (
		UPDATE outbox o SET state = v.state, lease_until = NULL,
			sent_at = CASE WHEN v.state = 'sent' THEN $6 ELSE o.sent_at END,
			next_attempt_at = coalesce(v.next_at, o.next_attempt_at),
			last_error = coalesce(v.err, o.last_error)
		FROM v JOIN old USING (id)
		WHERE o.id = v.id AND old.state = 'pending' AND (v.state = 'sent' OR old.lease_until = v.lease)
		RETURNING o.id, old.lease_until IS NOT DISTINCT FROM v.lease AS ours)
	SELECT id FROM upd WHERE ours`

// markOutboxBatch runs markOutboxSQL on q.
func markOutboxBatch(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, at time.Time, outcomes []approvals.OutboxOutcome) ([]int64, error) {
	if len(outcomes) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(outcomes))
	states := make([]string, len(outcomes))
	nexts := make([]*time.Time, len(outcomes))
	errs := make([]*string, len(outcomes))
	leases := make([]time.Time, len(outcomes))
	for i, o := range outcomes {
		switch o.State {
		case approvals.OutboxSent, approvals.OutboxDead:
		case approvals.OutboxPending:
			nexts[i] = &outcomes[i].NextAttemptAt
		default:
			return nil, approvals.Errorf(approvals.EINVALID, "outbox message #%d: unknown outcome %q", o.ID, o.State)
		}
		ids[i], states[i], leases[i] = o.ID, string(o.State), o.Lease
		if o.State != approvals.OutboxSent {
			errs[i] = &outcomes[i].Error
		}
	}
	rows, err := q.Query(ctx, markOutboxSQL, ids, states, nexts, errs, leases, at)
	if err != nil {
		return nil, dbError(err, nil)
	}
	// CollectRows reads to the end of the answer: for a statement run
	// alone, past its commit.
	ours, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, dbError(err, nil)
	}
	held := make(map[int64]bool, len(ours))
	for _, id := range ours {
		held[id] = true
	}
	var stale []int64
	for _, id := range ids {
		if !held[id] {
			stale = append(stale, id)
		}
	}
	return stale, nil
}

// Outbox lists messages in state ("" for all), newest first; limit <= 0
// means no limit.
func (t *tx) Outbox(ctx context.Context, state approvals.OutboxState, limit int) ([]*approvals.OutboxMessage, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := t.tx.Query(ctx, `
		SELECT `+outboxColumns+` FROM outbox
		WHERE ($1 = '' OR state = $1)
		ORDER BY id DESC
		LIMIT $2`, string(state), lim)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return scanOutboxes(rows)
}

// DropPendingDigests deletes the member's digest messages that are pending
// and held by no claim (approvals.DigestTx).
func (t *tx) DropPendingDigests(ctx context.Context, workspaceID, memberID int64) error {
	_, err := t.tx.Exec(ctx, `
		DELETE FROM outbox
		WHERE workspace_id = $1 AND state = 'pending' AND payload->>'event' = $3
		  AND (payload->>'recipient_id')::bigint = $2
		  AND (lease_until IS NULL OR lease_until <= now())`,
		workspaceID, memberID, string(approvals.EventDigest))
	return dbError(err, nil)
}
