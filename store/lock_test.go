package store_test

import (
	"context"
	"testing"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
)

// TestShareAccountConflicts: the share lock a submit or revise takes on its
// account waits for, and holds off, every change that removes approvers,
// but not another submission's share lock.
func TestShareAccountConflicts(t *testing.T) {
	db := pgtest.MustOpen(t, env.NewDatabase(t))
	share := func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error {
		return func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.ShareAccount(ctx, w.ws.ID, w.account.ID)
			return err
		}
	}
	removeC2 := func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error {
		return func(ctx context.Context, tx approvals.Tx) error {
			return tx.RemoveApprover(ctx, w.approver(w.c2, approvals.TierClient))
		}
	}
	revokeC2 := func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error {
		return func(ctx context.Context, tx approvals.Tx) error { return tx.DeleteGrant(ctx, w.grant(w.c2)) }
	}
	lockAll := func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error {
		return func(ctx context.Context, tx approvals.Tx) error { return tx.LockAccounts(ctx, w.ws.ID) }
	}
	tests := []struct {
		name          string
		first, second func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error
		wait          bool
	}{
		{"share, share", share, share, false},
		{"remove approver, share", removeC2, share, true},
		{"share, remove approver", share, removeC2, true},
		{"revoke access, share", revokeC2, share, true},
		{"share, lock every account", share, lockAll, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newApproverWorld(t, db, false, true)
			err1, err2, waited := race(t, db, tt.first(w), tt.second(w))
			if waited != tt.wait {
				t.Errorf("second transaction waited: %v, want %v", waited, tt.wait)
			}
			if err1 != nil || err2 != nil {
				t.Errorf("errors: %v, %v", err1, err2)
			}
		})
	}
}
