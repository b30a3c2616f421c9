package store

import (
	"context"

	"github.com/signoff-app/signoff/approvals"
)

// The row locks of approvals' lock order (approvals/lock.go) that the
// other files' statements do not take on their way.

// ShareAccount returns the account with a FOR SHARE lock held until the
// transaction ends. It conflicts with LockAccount's FOR NO KEY UPDATE (and
// so with every trigger that calls lock_account()), not with itself: drafts
// submitted to one account do not queue behind each other, only behind a
// change to its access, approvers or settings.
func (t *tx) ShareAccount(ctx context.Context, workspaceID, accountID int64) (*approvals.Account, error) {
	a, err := scanAccount(t.tx.QueryRow(ctx, `
		SELECT `+accountColumns+` FROM accounts a WHERE a.workspace_id = $1 AND a.id = $2 FOR SHARE`,
		workspaceID, accountID))
	if err != nil {
		return nil, notFound(err, "no account #%d in %s", accountID, t.workspaceName(ctx, workspaceID))
	}
	return a, nil
}

// LockAccounts takes LockAccount's lock on every account of the workspace,
// in id order (the order lock_account()'s multi-row callers use).
func (t *tx) LockAccounts(ctx context.Context, workspaceID int64) error {
	_, err := t.tx.Exec(ctx, `
		SELECT id FROM accounts WHERE workspace_id = $1 ORDER BY id FOR NO KEY UPDATE`, workspaceID)
	return dbError(err, nil)
}

// LockPendingDrafts takes LockDraft's lock on every draft of the workspace
// that waits on a tier, in id order, and returns them. The lock is taken
// row by row as the sorted rows come out, so two callers cannot hold parts
// of each other's set.
func (t *tx) LockPendingDrafts(ctx context.Context, workspaceID int64) ([]*approvals.Draft, error) {
	rows, err := t.tx.Query(ctx, `
		SELECT `+draftColumns+` FROM drafts d
		WHERE d.workspace_id = $1 AND d.state IN ('pending_internal', 'pending_client')
		ORDER BY d.id FOR NO KEY UPDATE`, workspaceID)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return scanDrafts(rows, false)
}
