package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// SaveThumbs stores thumbnails of a draft of the workspace, replacing any
// of the same (draft, revision, index).
func (t *tx) SaveThumbs(ctx context.Context, workspaceID int64, thumbs []*approvals.Thumb) error {
	b := &pgx.Batch{}
	for _, th := range thumbs {
		b.Queue(`
			INSERT INTO media_thumbs (workspace_id, draft_id, revision, idx, content_type, data)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (draft_id, revision, idx) DO UPDATE SET content_type = excluded.content_type, data = excluded.data`,
			workspaceID, th.DraftID, th.Revision, th.Index, th.ContentType, th.Data)
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return dbError(err, violations{
			"media_thumbs_draft_fkey": {Code: approvals.ENOTFOUND, Message: "no such draft in the workspace"},
		})
	}
	return nil
}

// CopyThumbs copies the thumbnails of revision from to revision to.
func (t *tx) CopyThumbs(ctx context.Context, workspaceID, draftID int64, from, to int) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO media_thumbs (workspace_id, draft_id, revision, idx, content_type, data)
		SELECT workspace_id, draft_id, $4, idx, content_type, data FROM media_thumbs
		WHERE workspace_id = $1 AND draft_id = $2 AND revision = $3
		ON CONFLICT (draft_id, revision, idx) DO NOTHING`, workspaceID, draftID, from, to)
	if err != nil {
		return dbError(err, nil)
	}
	return nil
}

// Thumb returns one thumbnail of a draft of the workspace.
func (t *tx) Thumb(ctx context.Context, workspaceID, draftID int64, revision, index int) (*approvals.Thumb, error) {
	ths, err := t.Thumbs(ctx, workspaceID, draftID, revision, []int{index})
	if err != nil {
		return nil, err
	}
	if len(ths) == 0 {
		return nil, notFound(pgx.ErrNoRows, "no thumbnail %d of revision %d of draft #%d", index, revision, draftID)
	}
	return ths[0], nil
}

// Thumbs returns the thumbnails of the indexes of a revision of a draft of
// the workspace that exist, by index, in one statement.
func (t *tx) Thumbs(ctx context.Context, workspaceID, draftID int64, revision int, indexes []int) ([]*approvals.Thumb, error) {
	rows, err := t.tx.Query(ctx, `
		SELECT idx, content_type, data FROM media_thumbs
		WHERE workspace_id = $1 AND draft_id = $2 AND revision = $3 AND idx = ANY ($4)
		ORDER BY idx`,
		workspaceID, draftID, revision, indexes)
	if err != nil {
		return nil, dbError(err, nil)
	}
	ths, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*approvals.Thumb, error) {
		th := &approvals.Thumb{DraftID: draftID, Revision: revision}
		return th, row.Scan(&th.Index, &th.ContentType, &th.Data)
	})
	if err != nil {
		return nil, dbError(err, nil)
	}
	return ths, nil
}
