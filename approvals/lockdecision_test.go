package approvals_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// TestDecideWaitsForDraftLock: a decision reads the draft's rows with its
// lock, in one round trip, so one that waits on another transaction's lock
// reads what that transaction committed: here the approver's own decision,
// which makes the click a repeat rather than a second decision.
func TestDecideWaitsForDraftLock(t *testing.T) {
	f := standard(t)
	v := f.Submit("ed@acme.test", "client", "hold")
	locked, commit := make(chan int64), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- f.DB.InTx(f.Ctx, func(ctx context.Context, tx approvals.Tx) error {
			d, err := tx.LockDraft(ctx, v.WorkspaceID, v.ID)
			if err != nil {
				close(locked)
				return err
			}
			_, c1, err := tx.Principal(ctx, approvals.PrincipalKey{WorkspaceID: v.WorkspaceID, Email: "c1@client.test"})
			if err != nil {
				close(locked)
				return err
			}
			x := &approvals.Decision{DraftID: d.ID, Revision: d.Revision, Tier: approvals.TierClient, ApproverID: c1.ID,
				Verdict: approvals.VerdictApprove, Channel: approvals.ChannelEmail, CreatedAt: f.Now}
			if err := tx.CreateDecision(ctx, x); err != nil {
				close(locked)
				return err
			}
			locked <- x.ID
			<-commit
			return nil
		})
	}()
	heldID, ok := <-locked
	if !ok {
		t.Fatalf("holding the lock: %v", <-held)
	}
	type answer struct {
		r   *approvals.DecisionResult
		err error
	}
	decided := make(chan answer, 1)
	go func() {
		r, err := f.Svc.Approve(f.Ctx, f.As("c1@client.test"), v.ID)
		decided <- answer{r, err}
	}()
	waited := false
	for deadline := time.Now().Add(10 * time.Second); !waited && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		// A backend of this database waiting for a lock can only be Approve's.
		f.OK(f.DB.Pool().QueryRow(f.Ctx, `
			SELECT count(*) > 0 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waited))
	}
	close(commit)
	f.OK(<-held)
	a := <-decided
	f.OK(a.err)
	if !waited {
		t.Fatal("Approve did not wait for the draft's lock")
	}
	if !a.r.Noop || a.r.Decision == nil || a.r.Decision.ID != heldID {
		t.Fatalf("Approve answered %+v; want a repeat of decision %d", a.r, heldID)
	}
}

// TestDecideMissingDraft: a draft that is not there, or not in the actor's
// workspace, gives the same ENOTFOUND to every call that locks it for a
// decision.
func TestDecideMissingDraft(t *testing.T) {
	f := standard(t)
	op := approvals.Operator("elsewhere")
	f.Must(f.Svc.CreateWorkspace(f.Ctx, op, "elsewhere", "Elsewhere"))
	f.Must(f.Svc.AddMember(f.Ctx, op, "ed@else.test", "Ed", approvals.RoleEditor))
	f.Must(f.Svc.AddAccount(f.Ctx, op, "brand", "Brand"))
	caps, err := approvals.ParseCaps("view,create")
	f.OK(err)
	f.OK(f.Svc.Grant(f.Ctx, op, "brand", approvals.GrantTarget{Email: "ed@else.test"}, caps))
	theirs, err := f.Svc.Submit(f.Ctx, approvals.Actor{Workspace: "elsewhere", Email: "ed@else.test", Channel: approvals.ChannelCLI},
		approvals.DraftInput{Account: "brand", Text: "theirs"})
	f.OK(err)
	c1 := f.As("c1@client.test")
	for _, id := range []int64{theirs.ID + 1000, theirs.ID} {
		want := fmt.Sprintf("no draft %d in workspace \"acme\"", id)
		for name, do := range map[string]func() error{
			"approve":  func() error { _, err := f.Svc.Approve(f.Ctx, c1, id); return err },
			"reject":   func() error { _, err := f.Svc.Reject(f.Ctx, c1, id, "no"); return err },
			"new link": func() error { _, err := f.Svc.RequestNewLink(f.Ctx, c1, id, approvals.TierClient); return err },
		} {
			err := do()
			wantCode(t, err, approvals.ENOTFOUND)
			if msg := approvals.ErrorMessage(err); msg != want {
				t.Errorf("%s draft %d: message %q, want %q", name, id, msg, want)
			}
		}
	}
}
