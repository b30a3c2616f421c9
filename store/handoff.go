package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// Hand-offs of approved drafts (migrations/00005_handoff.sql).

const handoffColumns = `h.workspace_id, h.draft_id, h.account_id, h.seq, h.revision, h.approved_at,
	h.published_at, h.published_url, h.published_by`

func scanHandoff(row pgx.Row) (*approvals.HandoffRecord, error) {
	var h approvals.HandoffRecord
	if err := row.Scan(&h.WorkspaceID, &h.DraftID, &h.AccountID, &h.Seq, &h.Revision, &h.ApprovedAt,
		&h.PublishedAt, &h.PublishedURL, &h.PublishedBy); err != nil {
		return nil, err
	}
	h.ApprovedAt, h.PublishedAt = h.ApprovedAt.UTC(), utcPtr(h.PublishedAt)
	return &h, nil
}

// CreateHandoff inserts h with the workspace's next number. The upsert on
// handoff_seq locks the workspace's counter row until commit: a concurrent
// approval waits for it and takes the next number, so a reader never sees
// number n+1 before n (what makes the API's cursor safe).
func (t *tx) CreateHandoff(ctx context.Context, h *approvals.HandoffRecord) error {
	existing, err := t.HandoffByDraft(ctx, h.WorkspaceID, h.DraftID)
	switch {
	case err == nil:
		*h = *existing
		return nil
	case approvals.ErrorCode(err) != approvals.ENOTFOUND:
		return err
	}
	var seq int64
	if err := t.tx.QueryRow(ctx, `
		INSERT INTO handoff_seq AS s (workspace_id, last) VALUES ($1, 1)
		ON CONFLICT (workspace_id) DO UPDATE SET last = s.last + 1
		RETURNING last`, h.WorkspaceID).Scan(&seq); err != nil {
		return dbError(err, nil)
	}
	got, err := scanHandoff(t.tx.QueryRow(ctx, `
		INSERT INTO handoffs AS h (workspace_id, draft_id, account_id, seq, revision, approved_at)
		VALUES ($1, $2, $3, $4, $5, coalesce($6, now()))
		RETURNING `+handoffColumns,
		h.WorkspaceID, h.DraftID, h.AccountID, seq, h.Revision, nullTime(h.ApprovedAt)))
	if err != nil {
		return dbError(err, nil)
	}
	*h = *got
	return nil
}

// Handoffs returns up to limit hand-offs of the accounts after the number.
func (t *tx) Handoffs(ctx context.Context, workspaceID int64, accountIDs []int64, after int64, limit int) ([]*approvals.HandoffRecord, error) {
	if len(accountIDs) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `
		SELECT `+handoffColumns+` FROM handoffs h
		WHERE h.workspace_id = $1 AND h.account_id = ANY ($2) AND h.seq > $3
		ORDER BY h.seq
		LIMIT $4`,
		workspaceID, accountIDs, after, limit)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return collect(rows, scanHandoff)
}

// HandoffByDraft returns the draft's hand-off.
func (t *tx) HandoffByDraft(ctx context.Context, workspaceID, draftID int64) (*approvals.HandoffRecord, error) {
	h, err := scanHandoff(t.tx.QueryRow(ctx, `
		SELECT `+handoffColumns+` FROM handoffs h WHERE h.workspace_id = $1 AND h.draft_id = $2`,
		workspaceID, draftID))
	if err != nil {
		return nil, notFound(err, "draft #%d was not handed off", draftID)
	}
	return h, nil
}

// MarkPublished records the publication unless one is recorded. The
// conditional UPDATE decides: of two concurrent calls one records, the
// other finds it recorded.
func (t *tx) MarkPublished(ctx context.Context, workspaceID, draftID int64, at time.Time, url, by string) (*approvals.HandoffRecord, bool, error) {
	h, err := scanHandoff(t.tx.QueryRow(ctx, `
		UPDATE handoffs AS h SET published_at = $3, published_url = $4, published_by = $5
		WHERE h.workspace_id = $1 AND h.draft_id = $2 AND h.published_at IS NULL
		RETURNING `+handoffColumns,
		workspaceID, draftID, at, url, by))
	if err == nil {
		return h, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, false, dbError(err, nil)
	}
	h, err = t.HandoffByDraft(ctx, workspaceID, draftID)
	if err != nil {
		return nil, false, err
	}
	return h, false, nil
}
