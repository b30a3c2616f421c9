package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// The bulk reads of a dispatcher batch's draft views (approvals.ViewsTx):
// one statement each for all the batch's drafts and accounts.

// DraftsByID returns the drafts with the IDs, by ID (drafts_pkey); absent
// IDs are left out.
func (t *tx) DraftsByID(ctx context.Context, workspaceID int64, ids []int64) (map[int64]*approvals.Draft, error) {
	out := map[int64]*approvals.Draft{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.tx.Query(ctx, `
		SELECT `+draftColumns+` FROM drafts d WHERE d.id = ANY ($2) AND d.workspace_id = $1`, workspaceID, ids)
	if err != nil {
		return nil, dbError(err, nil)
	}
	ds, err := scanDrafts(rows, false)
	for _, d := range ds {
		out[d.ID] = d
	}
	return out, err
}

// queueAccountsByID queues the read of the accounts with the IDs into out,
// by ID (accounts_pkey); absent IDs are left out.
func queueAccountsByID(b *pgx.Batch, workspaceID int64, ids []int64, out map[int64]*approvals.Account) {
	b.Queue(`
		SELECT `+accountColumns+` FROM accounts a WHERE a.id = ANY ($2) AND a.workspace_id = $1`, workspaceID, ids).Query(func(rows pgx.Rows) error {
		return collectBy(rows, func(row pgx.Row) (*approvals.Account, error) { return scanAccount(row) },
			func(a *approvals.Account) { out[a.ID] = a })
	})
}
