package store

import (
	"context"
	"fmt"

	"github.com/signoff-app/signoff/approvals"
)

// Workspaces' own webhooks (migrations/00012_idempotency_webhooks.sql).

// WorkspaceWebhook returns the workspace's webhook.
func (t *tx) WorkspaceWebhook(ctx context.Context, workspaceID int64) (*approvals.WorkspaceWebhook, error) {
	w := approvals.WorkspaceWebhook{WorkspaceID: workspaceID}
	err := t.tx.QueryRow(ctx, `
		SELECT url, secret, previous_secret, previous_until, updated_at
		FROM workspace_webhooks WHERE workspace_id = $1`, workspaceID).
		Scan(&w.URL, &w.Secret, &w.PreviousSecret, &w.PreviousUntil, &w.UpdatedAt)
	if err != nil {
		return nil, notFound(err, "workspace #%d has no webhook of its own", workspaceID)
	}
	w.UpdatedAt, w.PreviousUntil = w.UpdatedAt.UTC(), utcPtr(w.PreviousUntil)
	return &w, nil
}

// SetWorkspaceWebhook creates or replaces the workspace's webhook.
func (t *tx) SetWorkspaceWebhook(ctx context.Context, w *approvals.WorkspaceWebhook) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO workspace_webhooks (workspace_id, url, secret, previous_secret, previous_until, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (workspace_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,
			previous_secret = excluded.previous_secret, previous_until = excluded.previous_until, updated_at = excluded.updated_at`,
		w.WorkspaceID, w.URL, w.Secret, w.PreviousSecret, w.PreviousUntil, w.UpdatedAt)
	if err != nil {
		return dbError(err, violations{
			"workspace_webhooks_url_check":         {Code: approvals.EINVALID, Message: fmt.Sprintf("webhook URL %q must be an absolute http or https URL", w.URL)},
			"workspace_webhooks_secret_check":      {Code: approvals.EINVALID, Message: "a webhook secret is at least 16 characters"},
			"workspace_webhooks_workspace_id_fkey": {Code: approvals.ENOTFOUND, Message: fmt.Sprintf("no workspace #%d", w.WorkspaceID)},
		})
	}
	return nil
}

// DeleteWorkspaceWebhook removes the workspace's webhook.
func (t *tx) DeleteWorkspaceWebhook(ctx context.Context, workspaceID int64) error {
	tag, err := t.tx.Exec(ctx, `DELETE FROM workspace_webhooks WHERE workspace_id = $1`, workspaceID)
	if err != nil {
		return dbError(err, nil)
	}
	if tag.RowsAffected() == 0 {
		return &approvals.Error{Code: approvals.ENOTFOUND, Message: fmt.Sprintf("workspace #%d has no webhook of its own", workspaceID)}
	}
	return nil
}
