package store_test

import (
	"context"
	"testing"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/store"
)

// TestHeldWrites: statements held back (the audit entry, the outbox rows)
// run before the transaction's next statement, so it sees them; they set
// their rows' fields then; and one that fails at the commit rolls the
// whole transaction back and leaves the pool usable.
func TestHeldWrites(t *testing.T) {
	db := pgtest.MustOpen(t, env.NewDatabase(t))
	w := newWorld(t, db)
	d := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)

	e := &approvals.AuditEntry{WorkspaceID: w.ws.ID, At: t0, Actor: "test", Channel: approvals.ChannelCLI,
		Action: "draft.test", Outcome: approvals.OutcomeOK, DraftID: d.ID}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		if err := tx.AppendAudit(ctx, e); err != nil {
			return err
		}
		if e.ID != 0 {
			t.Errorf("entry written before the next statement: ID %d", e.ID)
		}
		got, err := tx.DraftAudit(ctx, w.ws.ID, d.ID)
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].Action != "draft.test" || e.ID == 0 || got[0].ID != e.ID {
			t.Errorf("read after AppendAudit: %+v (entry ID %d), want the entry", got, e.ID)
		}
		return nil
	})

	// A held statement that fails at the commit: nothing of the
	// transaction stays.
	ws := &approvals.Workspace{Slug: uniqueSlug(t), Name: "Rolled back"}
	err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
		if err := tx.CreateWorkspace(ctx, ws); err != nil {
			return err
		}
		store.Hold(tx, "SELECT 1/0")
		return nil
	})
	wantErr(t, err, approvals.EINVALID)
	err = inTx(db, func(ctx context.Context, tx approvals.Tx) error {
		_, err := tx.WorkspaceBySlug(ctx, ws.Slug)
		return err
	})
	wantErr(t, err, approvals.ENOTFOUND)

	// And at a later statement: that statement fails with it.
	err = inTx(db, func(ctx context.Context, tx approvals.Tx) error {
		store.Hold(tx, "SELECT 1/0")
		_, err := tx.WorkspaceBySlug(ctx, w.ws.Slug)
		return err
	})
	wantErr(t, err, approvals.EINVALID)
	// The connections went back to the pool usable.
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		_, err := tx.WorkspaceBySlug(ctx, w.ws.Slug)
		return err
	})
}
