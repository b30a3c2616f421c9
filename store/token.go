package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// API tokens (migrations/00005_handoff.sql): only their SHA-256 is stored.

const tokenColumns = `k.id, k.workspace_id, k.name, coalesce(k.member_id, 0), coalesce(m.email, ''), k.hash, k.created_at, k.revoked_at`

const tokenFrom = `api_tokens k LEFT JOIN members m ON m.workspace_id = k.workspace_id AND m.id = k.member_id`

func scanToken(row pgx.Row) (*approvals.APIToken, error) {
	var t approvals.APIToken
	if err := row.Scan(&t.ID, &t.WorkspaceID, &t.Name, &t.MemberID, &t.Member, &t.Hash, &t.CreatedAt, &t.RevokedAt); err != nil {
		return nil, err
	}
	t.CreatedAt, t.RevokedAt = t.CreatedAt.UTC(), utcPtr(t.RevokedAt)
	return &t, nil
}

// CreateAPIToken inserts t and sets its ID and CreatedAt (kept when set).
func (t *tx) CreateAPIToken(ctx context.Context, k *approvals.APIToken) error {
	err := t.tx.QueryRow(ctx, `
		INSERT INTO api_tokens (workspace_id, name, member_id, hash, created_at)
		VALUES ($1, $2, $3, $4, coalesce($5, now()))
		RETURNING id, created_at`,
		k.WorkspaceID, k.Name, nullID(k.MemberID), k.Hash, nullTime(k.CreatedAt)).Scan(&k.ID, &k.CreatedAt)
	if err != nil {
		return dbError(err, violations{
			"api_tokens_name_key":          {Code: approvals.ECONFLICT, Message: fmt.Sprintf("an active API token named %q exists in this workspace; revoke it first or pick another name", k.Name)},
			"api_tokens_member_fkey":       {Code: approvals.ENOTFOUND, Message: fmt.Sprintf("no member #%d in this workspace", k.MemberID)},
			"api_tokens_name_check":        {Code: approvals.EINVALID, Message: "a token name is 1 to 63 letters, digits, dots, dashes and underscores"},
			"api_tokens_hash_key":          {Code: approvals.ECONFLICT, Message: "token collision; try again"},
			"api_tokens_hash_check":        {Code: approvals.EINVALID, Message: "a token hash is 32 bytes"},
			"api_tokens_workspace_id_fkey": {Code: approvals.ENOTFOUND, Message: fmt.Sprintf("no workspace #%d", k.WorkspaceID)},
		})
	}
	k.CreatedAt = k.CreatedAt.UTC()
	return nil
}

// APITokenByHash returns the token with the hash, revoked or not.
func (t *tx) APITokenByHash(ctx context.Context, hash []byte) (*approvals.APIToken, error) {
	k, err := scanToken(t.tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM `+tokenFrom+` WHERE k.hash = $1`, hash))
	if err != nil {
		return nil, notFound(err, "no such API token")
	}
	return k, nil
}

// APITokenByID returns one token of the workspace, revoked or not.
func (t *tx) APITokenByID(ctx context.Context, workspaceID, id int64) (*approvals.APIToken, error) {
	k, err := scanToken(t.tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM `+tokenFrom+` WHERE k.workspace_id = $1 AND k.id = $2`, workspaceID, id))
	if err != nil {
		return nil, notFound(err, "no API token #%d in %s", id, t.workspaceName(ctx, workspaceID))
	}
	return k, nil
}

// RevokeAPIToken revokes the workspace's active token named name.
func (t *tx) RevokeAPIToken(ctx context.Context, workspaceID int64, name string, at time.Time) (*approvals.APIToken, error) {
	k, err := scanToken(t.tx.QueryRow(ctx, `
		WITH k AS (
			UPDATE api_tokens SET revoked_at = $3
			WHERE workspace_id = $1 AND name = $2 AND revoked_at IS NULL
			RETURNING *)
		SELECT `+tokenColumns+` FROM k LEFT JOIN members m ON m.workspace_id = k.workspace_id AND m.id = k.member_id`,
		workspaceID, name, at))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(err, "no active API token %q in %s", name, t.workspaceName(ctx, workspaceID))
	}
	if err != nil {
		return nil, dbError(err, nil)
	}
	return k, nil
}

// APITokens lists the workspace's tokens, oldest first.
func (t *tx) APITokens(ctx context.Context, workspaceID int64) ([]*approvals.APIToken, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+tokenColumns+` FROM `+tokenFrom+` WHERE k.workspace_id = $1 ORDER BY k.id`, workspaceID)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return collect(rows, scanToken)
}
