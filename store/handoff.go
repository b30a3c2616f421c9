package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// Hand-offs of approved drafts (migrations/00005_handoff.sql).

// seq is NULL until a reader numbers the row (numberHandoffs); 0 stands
// for that in HandoffRecord.Seq.
const handoffColumns = `h.workspace_id, h.draft_id, h.account_id, coalesce(h.seq, 0), h.revision, h.approved_at,
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

// CreateHandoff inserts h unnumbered: approvals in a workspace take no
// shared lock, so they commit side by side (see migration 00007). A
// draft's hand-off exists once: creating it again returns the existing row.
func (t *tx) CreateHandoff(ctx context.Context, h *approvals.HandoffRecord) error {
	got, err := scanHandoff(t.tx.QueryRow(ctx, createHandoffSQL+`
		RETURNING `+handoffColumns,
		h.WorkspaceID, h.DraftID, h.AccountID, h.Revision, nullTime(h.ApprovedAt)))
	if errors.Is(err, pgx.ErrNoRows) {
		// Numbering here would hold the workspace's counter lock to commit:
		// the existing row is returned as it is.
		if got, err = t.handoffByDraft(ctx, h.WorkspaceID, h.DraftID); err != nil {
			return err
		}
	}
	if err != nil {
		return dbError(err, nil)
	}
	*h = *got
	return nil
}

// insertHandoffSQL inserts a hand-off unnumbered; createHandoffSQL does
// unless the draft has one, and CreateHandoff appends its RETURNING.
const (
	insertHandoffSQL = `
	INSERT INTO handoffs AS h (workspace_id, draft_id, account_id, revision, approved_at)
	VALUES ($1, $2, $3, $4, coalesce($5, now()))`
	createHandoffSQL = insertHandoffSQL + `
	ON CONFLICT (draft_id) DO NOTHING`
)

// CreateHandoffHeld is CreateHandoff held back (see txConn.hold), h not
// read back, and a plain insert: its caller holds the draft's lock and
// has seen the draft enter approved, which it never leaves, so the draft
// has no hand-off yet and there is no conflict to arbitrate. Should one
// exist anyway, the primary key fails the commit. Numbering is
// unchanged: the row is numbered by a reader once committed, whenever in
// the transaction it was inserted.
func (t *tx) CreateHandoffHeld(_ context.Context, h *approvals.HandoffRecord) error {
	t.tx.hold(insertHandoffSQL, nil, h.WorkspaceID, h.DraftID, h.AccountID, h.Revision, nullTime(h.ApprovedAt))
	return nil
}

// numberHandoffs numbers the workspace's committed unnumbered hand-offs,
// in approval order, after the workspace's last number. The counter row's
// lock, held to commit, makes numbering runs follow one another, and the
// numbering statement starts after the lock is granted, so it sees every
// earlier run's numbers: a reader never sees number n+1 before n, and a
// hand-off committed late gets a number above every number already read.
func (t *tx) numberHandoffs(ctx context.Context, workspaceID int64) error {
	var pending bool
	if err := t.tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM handoffs WHERE workspace_id = $1 AND seq IS NULL)`,
		workspaceID).Scan(&pending); err != nil {
		return dbError(err, nil)
	}
	if !pending {
		return nil
	}
	var last int64
	if err := t.tx.QueryRow(ctx, `
		INSERT INTO handoff_seq AS s (workspace_id, last) VALUES ($1, 0)
		ON CONFLICT (workspace_id) DO UPDATE SET last = s.last
		RETURNING last`, workspaceID).Scan(&last); err != nil {
		return dbError(err, nil)
	}
	if _, err := t.tx.Exec(ctx, `
		WITH todo AS (
			SELECT draft_id, row_number() OVER (ORDER BY approved_at, draft_id) AS n
			FROM handoffs WHERE workspace_id = $1 AND seq IS NULL
		), numbered AS (
			UPDATE handoffs h SET seq = $2 + todo.n FROM todo
			WHERE h.draft_id = todo.draft_id
			RETURNING h.seq
		)
		UPDATE handoff_seq SET last = (SELECT coalesce(max(seq), $2) FROM numbered)
		WHERE workspace_id = $1`, workspaceID, last); err != nil {
		return dbError(err, nil)
	}
	return nil
}

// Handoffs returns up to limit hand-offs of the accounts after the number.
func (t *tx) Handoffs(ctx context.Context, workspaceID int64, accountIDs []int64, after int64, limit int) ([]*approvals.HandoffRecord, error) {
	if len(accountIDs) == 0 {
		return nil, nil
	}
	if err := t.numberHandoffs(ctx, workspaceID); err != nil {
		return nil, err
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

// HandoffByDraft returns the draft's hand-off, numbered.
func (t *tx) HandoffByDraft(ctx context.Context, workspaceID, draftID int64) (*approvals.HandoffRecord, error) {
	h, err := t.handoffByDraft(ctx, workspaceID, draftID)
	if err != nil || h.Seq != 0 {
		return h, err
	}
	if err := t.numberHandoffs(ctx, workspaceID); err != nil {
		return nil, err
	}
	return t.handoffByDraft(ctx, workspaceID, draftID)
}

// handoffByDraft returns the draft's hand-off as it is (Seq 0: not yet
// numbered).
func (t *tx) handoffByDraft(ctx context.Context, workspaceID, draftID int64) (*approvals.HandoffRecord, error) {
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
// other finds it recorded. The workspace is numbered first: numbering after
// the UPDATE's row lock could deadlock with a reader numbering that row.
func (t *tx) MarkPublished(ctx context.Context, workspaceID, draftID int64, at time.Time, url, by string) (*approvals.HandoffRecord, bool, error) {
	if err := t.numberHandoffs(ctx, workspaceID); err != nil {
		return nil, false, err
	}
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
