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
	th := &approvals.Thumb{DraftID: draftID, Revision: revision, Index: index}
	err := t.tx.QueryRow(ctx, `
		SELECT content_type, data FROM media_thumbs
		WHERE workspace_id = $1 AND draft_id = $2 AND revision = $3 AND idx = $4`,
		workspaceID, draftID, revision, index).Scan(&th.ContentType, &th.Data)
	if err != nil {
		return nil, notFound(err, "no thumbnail %d of revision %d of draft #%d", index, revision, draftID)
	}
	return th, nil
}
