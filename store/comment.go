package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// Comments on drafts (approvals/comment.go).

// systemAuthor labels the comments the service writes itself (no author).
const systemAuthor = "Signoff"

const commentColumns = `x.id, x.draft_id, x.revision, coalesce(x.author_id, 0),
	coalesce(` + memberLabel + `, '` + systemAuthor + `'), x.text, x.channel, x.internal, x.created_at`

func scanComment(row pgx.Row) (*approvals.Comment, error) {
	var c approvals.Comment
	if err := row.Scan(&c.ID, &c.DraftID, &c.Revision, &c.AuthorID, &c.Author, &c.Text, &c.Channel, &c.Internal, &c.CreatedAt); err != nil {
		return nil, err
	}
	c.CreatedAt = c.CreatedAt.UTC()
	return &c, nil
}

// CreateComment stores c with its text exactly as given and sets its ID,
// Author and CreatedAt (kept when set). AuthorID 0 is a note by the system
// itself, allowed only on ChannelSystem; its Author reads "Signoff".
func (t *tx) CreateComment(ctx context.Context, c *approvals.Comment) error {
	row := t.tx.QueryRow(ctx, `
		WITH x AS (
			INSERT INTO comments (workspace_id, draft_id, revision, author_id, text, channel, created_at, internal)
			SELECT dr.workspace_id, dr.id, $2, $3, $4, $5, coalesce($6, now()), $7
			FROM drafts dr WHERE dr.id = $1
			RETURNING *
		)
		SELECT `+commentColumns+` FROM x LEFT JOIN members m ON m.id = x.author_id`,
		c.DraftID, c.Revision, nullID(c.AuthorID), c.Text, c.Channel, nullTime(c.CreatedAt), c.Internal)
	got, err := scanComment(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound(err, "no draft #%d", c.DraftID)
	}
	if err != nil {
		return dbError(err, violations{
			"comments_revision_fkey": {Code: approvals.ENOTFOUND,
				Message: fmt.Sprintf("draft #%d has no revision %d", c.DraftID, c.Revision)},
			"comments_author_fkey": {Code: approvals.ENOTFOUND,
				Message: fmt.Sprintf("no member #%d in the draft's workspace", c.AuthorID)},
		})
	}
	*c = *got
	return nil
}

// Comments returns the draft's comments, oldest first, Author filled.
func (t *tx) Comments(ctx context.Context, draftID int64) ([]*approvals.Comment, error) {
	rows, err := t.tx.Query(ctx, `
		SELECT `+commentColumns+` FROM comments x LEFT JOIN members m ON m.id = x.author_id
		WHERE x.draft_id = $1 ORDER BY x.created_at, x.id`, draftID)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return collect(rows, scanComment)
}
