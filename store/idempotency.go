package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// Idempotency keys of API submissions (migrations/00012_idempotency_webhooks.sql).

// ClaimIdempotencyKey inserts r, or takes over the token's row for the key
// when it was created at or before since. The upsert waits on a concurrent
// claim's uncommitted row, so of two claims of one key one inserts and the
// other, once the first committed, reads its row.
func (t *tx) ClaimIdempotencyKey(ctx context.Context, r *approvals.IdempotencyRecord, since time.Time) (*approvals.IdempotencyRecord, error) {
	var claimed bool
	err := t.tx.QueryRow(ctx, `
		INSERT INTO idempotency_keys AS k (token_id, key, request_hash, created_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (token_id, key) DO UPDATE
			SET request_hash = excluded.request_hash, created_at = excluded.created_at, draft_id = NULL, response = NULL
			WHERE k.created_at <= $5
		RETURNING true`,
		r.TokenID, r.Key, r.RequestHash, r.CreatedAt, since).Scan(&claimed)
	if err == nil {
		return nil, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, dbError(err, nil)
	}
	prev := approvals.IdempotencyRecord{TokenID: r.TokenID, Key: r.Key}
	var draftID *int64
	err = t.tx.QueryRow(ctx, `
		SELECT request_hash, draft_id, coalesce(response::text, ''), created_at
		FROM idempotency_keys WHERE token_id = $1 AND key = $2`,
		r.TokenID, r.Key).Scan(&prev.RequestHash, &draftID, &prev.Response, &prev.CreatedAt)
	if err != nil {
		return nil, dbError(err, nil)
	}
	if draftID == nil {
		// Claimed rows get their draft in the claiming transaction.
		return nil, &approvals.Error{Code: approvals.EINTERNAL, Message: "internal error", Err: fmt.Errorf("idempotency key %q of token %d has no draft", r.Key, r.TokenID)}
	}
	prev.DraftID, prev.CreatedAt = *draftID, prev.CreatedAt.UTC()
	return &prev, nil
}

// SaveIdempotencyKey records the draft and response of a claimed key.
func (t *tx) SaveIdempotencyKey(ctx context.Context, r *approvals.IdempotencyRecord) error {
	tag, err := t.tx.Exec(ctx, `UPDATE idempotency_keys SET draft_id = $3, response = $4 WHERE token_id = $1 AND key = $2`,
		r.TokenID, r.Key, r.DraftID, string(r.Response))
	if err != nil {
		return dbError(err, nil)
	}
	if tag.RowsAffected() != 1 {
		return &approvals.Error{Code: approvals.EINTERNAL, Message: "internal error", Err: fmt.Errorf("idempotency key %q of token %d was not claimed", r.Key, r.TokenID)}
	}
	return nil
}
