package approvals_test

import (
	"slices"
	"testing"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/corefix"
)

// Waiting lists what waits on the reader, built for them: a client never
// sees a draft still in internal review; staff see it, and no draft they
// wrote.
func TestWaiting(t *testing.T) {
	w := corefix.Standard(t)
	inInternal := w.Submit("ed@acme.test", "both", "still internal")
	toClient := w.Submit("ed@acme.test", "client", "for the client")
	mine := w.Submit("admin@acme.test", "internal", "written by admin")
	ids := func(email string, audience approvals.Audience) map[int64]bool {
		vs, err := w.Svc.Waiting(w.Ctx, w.As(email))
		w.OK(err)
		out := map[int64]bool{}
		for _, v := range vs {
			out[v.ID] = true
			if v.Reader.Audience != audience {
				t.Errorf("%s: view of draft %d built for %s", email, v.ID, v.Reader.Audience)
			}
		}
		return out
	}
	if got := ids("c1@client.test", approvals.AudienceClient); !got[toClient.ID] || got[inInternal.ID] || len(got) != 1 {
		t.Errorf("client c1 waits on %v, want only draft %d", got, toClient.ID)
	}
	if got := ids("admin@acme.test", approvals.AudienceStaff); !got[inInternal.ID] || got[mine.ID] || got[toClient.ID] {
		t.Errorf("admin waits on %v, want draft %d and not their own %d", got, inInternal.ID, mine.ID)
	}
	if got := ids("ed@acme.test", approvals.AudienceStaff); len(got) != 0 {
		t.Errorf("the editor approves nothing but waits on %v", got)
	}
}

// DecideEach refuses a malformed list before deciding anything, and
// decides each draft of a good one on its own: one changed since it was
// shown is skipped, one out of reach refused, the rest decided.
func TestDecideEach(t *testing.T) {
	w := corefix.Standard(t)
	a := w.Submit("ed@acme.test", "client", "a")
	b := w.Submit("ed@acme.test", "client", "b")
	c := w.Submit("ed@acme.test", "client", "c")
	internal := w.Submit("ed@acme.test", "internal", "staff only")
	c1 := w.As("c1@client.test")
	approve := func(id int64, rev int, tier approvals.Tier) approvals.DecideInput {
		return approvals.DecideInput{DraftID: id, Revision: rev, Tier: tier, Verdict: approvals.VerdictApprove}
	}
	for name, ins := range map[string][]approvals.DecideInput{
		"none":         nil,
		"no revision":  {approve(a.ID, 0, approvals.TierClient)},
		"no tier":      {approve(a.ID, 1, "")},
		"bad verdict":  {{DraftID: a.ID, Revision: 1, Tier: approvals.TierClient, Verdict: "maybe"}},
		"one bad item": {approve(a.ID, 1, approvals.TierClient), approve(b.ID, 0, approvals.TierClient)},
		"too many":     slices.Repeat([]approvals.DecideInput{approve(a.ID, 1, approvals.TierClient)}, approvals.MaxDecideEach+1),
	} {
		if _, err := w.Svc.DecideEach(w.Ctx, c1, ins); approvals.ErrorCode(err) != approvals.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", name, err)
		}
	}
	if w.State(a.ID) != approvals.StatePendingClient {
		t.Fatal("a refused list decided a draft")
	}

	w.Must(w.Svc.Revise(w.Ctx, w.As("ed@acme.test"), b.ID, approvals.DraftInput{Text: "b, revised"}))
	out, err := w.Svc.DecideEach(w.Ctx, c1, []approvals.DecideInput{approve(a.ID, 1, approvals.TierClient), approve(b.ID, 1, approvals.TierClient),
		approve(internal.ID, 1, approvals.TierInternal), approve(c.ID, 1, approvals.TierClient), approve(a.ID, 1, approvals.TierClient)})
	w.OK(err)
	if len(out) != 4 {
		t.Fatalf("%d outcomes, want 4 (a draft named twice is decided once)", len(out))
	}
	want := []struct {
		id               int64
		decided, skipped bool
		code             string
	}{{a.ID, true, false, ""}, {b.ID, false, true, approvals.ECONFLICT}, {internal.ID, false, false, approvals.ENOTFOUND}, {c.ID, true, false, ""}}
	for i, wo := range want {
		o := out[i]
		if o.Input.DraftID != wo.id || o.Decided() != wo.decided || o.Skipped() != wo.skipped || approvals.ErrorCode(o.Err) != wo.code {
			t.Errorf("outcome %d: draft %d decided=%v skipped=%v err=%v; want draft %d decided=%v skipped=%v code %q",
				i, o.Input.DraftID, o.Decided(), o.Skipped(), o.Err, wo.id, wo.decided, wo.skipped, wo.code)
		}
	}
	if w.State(b.ID) != approvals.StatePendingClient || w.State(internal.ID) != approvals.StatePendingInternal {
		t.Error("a skipped or refused draft changed")
	}
	// Again: every draft is now a repeat, reported as skipped.
	out, err = w.Svc.DecideEach(w.Ctx, c1, []approvals.DecideInput{approve(a.ID, 1, approvals.TierClient)})
	w.OK(err)
	if !out[0].Skipped() || out[0].Decided() || out[0].Result == nil || !out[0].Result.Noop {
		t.Errorf("a repeat: %+v, want a skipped no-op", out[0])
	}
}
