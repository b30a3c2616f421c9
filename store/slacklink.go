package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// BlockSlackLink records an admin's unlink of the pair.
func (t *tx) BlockSlackLink(ctx context.Context, workspaceID, memberID int64, slackUserID string) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO slack_link_blocks (workspace_id, member_id, slack_user_id) VALUES ($1, $2, $3)
		ON CONFLICT (member_id, slack_user_id) DO NOTHING`, workspaceID, memberID, slackUserID)
	return dbError(err, nil)
}

// UnblockSlackLink forgets an admin's unlink of the pair.
func (t *tx) UnblockSlackLink(ctx context.Context, workspaceID, memberID int64, slackUserID string) error {
	_, err := t.tx.Exec(ctx, `
		DELETE FROM slack_link_blocks WHERE workspace_id = $1 AND member_id = $2 AND slack_user_id = $3`,
		workspaceID, memberID, slackUserID)
	return dbError(err, nil)
}

// SlackLinkBlocked reports whether an admin unlinked the pair.
func (t *tx) SlackLinkBlocked(ctx context.Context, workspaceID, memberID int64, slackUserID string) (bool, error) {
	var blocked bool
	err := t.tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM slack_link_blocks WHERE workspace_id = $1 AND member_id = $2 AND slack_user_id = $3)`,
		workspaceID, memberID, slackUserID).Scan(&blocked)
	if err != nil {
		return false, dbError(err, nil)
	}
	return blocked, nil
}

const slackLinkRequestColumns = `r.id, r.workspace_id, r.member_id, r.slack_user_id, r.slack_team_id, r.created_at, r.used_at`

func scanSlackLinkRequest(row pgx.Row) (*approvals.SlackLinkRequest, error) {
	var r approvals.SlackLinkRequest
	if err := row.Scan(&r.ID, &r.WorkspaceID, &r.MemberID, &r.SlackUserID, &r.SlackTeamID, &r.CreatedAt, &r.UsedAt); err != nil {
		return nil, err
	}
	r.CreatedAt = r.CreatedAt.UTC()
	if r.UsedAt != nil {
		at := r.UsedAt.UTC()
		r.UsedAt = &at
	}
	return &r, nil
}

// CreateSlackLinkRequest inserts r and sets its ID and CreatedAt.
func (t *tx) CreateSlackLinkRequest(ctx context.Context, r *approvals.SlackLinkRequest) error {
	got, err := scanSlackLinkRequest(t.tx.QueryRow(ctx, `
		INSERT INTO slack_link_requests AS r (workspace_id, member_id, slack_user_id, slack_team_id, created_at)
		VALUES ($1, $2, $3, $4, coalesce($5, now()))
		RETURNING `+slackLinkRequestColumns,
		r.WorkspaceID, r.MemberID, r.SlackUserID, r.SlackTeamID, nullTime(r.CreatedAt)))
	if err != nil {
		return dbError(err, nil)
	}
	*r = *got
	return nil
}

// OpenSlackLinkRequest returns the newest unused request of the pair made
// at or after since.
func (t *tx) OpenSlackLinkRequest(ctx context.Context, workspaceID, memberID int64, slackUserID string, since time.Time) (*approvals.SlackLinkRequest, error) {
	r, err := scanSlackLinkRequest(t.tx.QueryRow(ctx, `
		SELECT `+slackLinkRequestColumns+` FROM slack_link_requests r
		WHERE r.workspace_id = $1 AND r.member_id = $2 AND r.slack_user_id = $3 AND r.used_at IS NULL AND r.created_at >= $4
		ORDER BY r.created_at DESC, r.id DESC LIMIT 1`, workspaceID, memberID, slackUserID, since))
	if err != nil {
		return nil, notFound(err, "no open Slack link request")
	}
	return r, nil
}

// LockSlackLinkRequest returns the request, locked until the transaction ends.
func (t *tx) LockSlackLinkRequest(ctx context.Context, workspaceID, id int64) (*approvals.SlackLinkRequest, error) {
	r, err := scanSlackLinkRequest(t.tx.QueryRow(ctx, `
		SELECT `+slackLinkRequestColumns+` FROM slack_link_requests r
		WHERE r.workspace_id = $1 AND r.id = $2 FOR UPDATE`, workspaceID, id))
	if err != nil {
		return nil, notFound(err, "no Slack link request #%d", id)
	}
	return r, nil
}

// UseSlackLinkRequest marks the request used.
func (t *tx) UseSlackLinkRequest(ctx context.Context, workspaceID, id int64, at time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE slack_link_requests SET used_at = $3 WHERE workspace_id = $1 AND id = $2`, workspaceID, id, at)
	return dbError(err, nil)
}
