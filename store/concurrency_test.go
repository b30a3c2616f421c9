package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/store"
)

// race runs first and second in two concurrent transactions: first makes
// its change and holds its transaction open; second starts then. Once
// second is seen waiting on a lock (or has finished), first commits. It
// returns both errors and whether second had to wait for first.
func race(t *testing.T, db *store.DB, first, second func(ctx context.Context, tx approvals.Tx) error) (err1, err2 error, waited bool) {
	t.Helper()
	changed, commit := make(chan struct{}), make(chan struct{})
	done1, done2 := make(chan error, 1), make(chan error, 1)
	go func() {
		done1 <- inTx(db, func(ctx context.Context, tx approvals.Tx) error {
			err := first(ctx, tx)
			close(changed)
			<-commit
			return err
		})
	}()
	<-changed
	go func() { done2 <- inTx(db, second) }()

	deadline := time.Now().Add(10 * time.Second)
	for !waited && time.Now().Before(deadline) {
		select {
		case err2 = <-done2:
			close(commit)
			return <-done1, err2, false
		case <-time.After(10 * time.Millisecond):
		}
		// A backend of this database waiting for a lock can only be second's.
		// (A row lock wait is a wait on the holder's transaction ID.)
		err := db.Pool().QueryRow(context.Background(), `
			SELECT count(*) > 0 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waited)
		if err != nil {
			t.Fatal(err)
		}
	}
	close(commit)
	return <-done1, <-done2, waited
}

// TestConcurrentLastApprovers: two transactions each removing one of the
// last two approvers of a required tier. Without the account lock both
// commit-time checks would see the other approver still there; with it the
// second waits, then sees the first's committed removal and is refused.
func TestConcurrentLastApprovers(t *testing.T) {
	db := pgtest.MustOpen(t, env.NewDatabase(t))
	var iso string
	if err := db.Pool().QueryRow(context.Background(), `SHOW default_transaction_isolation`).Scan(&iso); err != nil {
		t.Fatal(err)
	}
	if iso != "read committed" {
		t.Fatalf("default isolation = %q; this test is about READ COMMITTED", iso)
	}

	removeApprover := func(pick func(w *approverWorld) *approvals.Member) func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error {
		return func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error {
			return func(ctx context.Context, tx approvals.Tx) error {
				return tx.RemoveApprover(ctx, w.approver(pick(w), approvals.TierClient))
			}
		}
	}
	deleteGrant := func(pick func(w *approverWorld) *approvals.Member) func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error {
		return func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error {
			return func(ctx context.Context, tx approvals.Tx) error { return tx.DeleteGrant(ctx, w.grant(pick(w))) }
		}
	}
	deleteMember := func(pick func(w *approverWorld) *approvals.Member) func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error {
		return func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error {
			return func(ctx context.Context, tx approvals.Tx) error { return tx.DeleteMember(ctx, w.ws.ID, pick(w).ID) }
		}
	}
	c1 := func(w *approverWorld) *approvals.Member { return w.c1 }
	c2 := func(w *approverWorld) *approvals.Member { return w.c2 }

	tests := []struct {
		name          string
		first, second func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error
	}{
		{"remove approver twice", removeApprover(c1), removeApprover(c2)},
		{"revoke access twice", deleteGrant(c1), deleteGrant(c2)},
		{"remove approver, revoke access", removeApprover(c1), deleteGrant(c2)},
		{"delete member, remove approver", deleteMember(c1), removeApprover(c2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newApproverWorld(t, db, false, true)
			err1, err2, waited := race(t, db, tt.first(w), tt.second(w))
			if !waited {
				t.Error("the second transaction did not wait for the first")
			}
			if err1 != nil {
				t.Errorf("first transaction: %v", err1)
			}
			wantErr(t, err2, approvals.EINTERNAL, `account "acme-ig" needs client approval`)
			if got := w.approvers(t, db); len(got) != 1 {
				t.Errorf("approvers = %v, want exactly one", got)
			}
		})
	}
}

// TestConcurrentApproverAndRevoke: adding an approver while its access is
// revoked never leaves an approver without access, whichever goes first.
func TestConcurrentApproverAndRevoke(t *testing.T) {
	db := pgtest.MustOpen(t, env.NewDatabase(t))
	add := func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error {
		return func(ctx context.Context, tx approvals.Tx) error {
			return tx.AddApprover(ctx, w.approver(w.c2, approvals.TierClient))
		}
	}
	revoke := func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error {
		return func(ctx context.Context, tx approvals.Tx) error { return tx.DeleteGrant(ctx, w.grant(w.c2)) }
	}
	tests := []struct {
		name          string
		first, second func(w *approverWorld) func(ctx context.Context, tx approvals.Tx) error
		secondCode    string
	}{
		// The revoke, once it gets the lock, sees the new approver and drops it.
		{"add then revoke", add, revoke, ""},
		// The add, once it gets the lock, sees no access and is refused.
		{"revoke then add", revoke, add, approvals.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newApproverWorld(t, db, false, false) // c1 approves; c2 has access only
			err1, err2, waited := race(t, db, tt.first(w), tt.second(w))
			if !waited {
				t.Error("the second transaction did not wait for the first")
			}
			if err1 != nil {
				t.Errorf("first transaction: %v", err1)
			}
			if got := approvals.ErrorCode(err2); got != tt.secondCode {
				t.Errorf("second transaction: code %q (%v), want %q", got, err2, tt.secondCode)
			}
			if diff := cmp.Diff([]string{"client@example.com"}, w.approvers(t, db)); diff != "" {
				t.Errorf("approvers (-want +got)\n%s", diff)
			}
		})
	}
}
