package approvals_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is the core's shared test fixture (internal/corefix), with this
// package's helpers on it.
type fixture struct{ *corefix.World }

func newFixture(t *testing.T) *fixture { return &fixture{corefix.New(t)} }

// standard: see corefix.Standard.
func standard(t *testing.T) *fixture { return &fixture{corefix.Standard(t)} }

func wantCode(t *testing.T, err error, code string, contains ...string) {
	t.Helper()
	if got := approvals.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	for _, c := range contains {
		if !strings.Contains(approvals.ErrorMessage(err), c) {
			t.Fatalf("error %q does not mention %q", approvals.ErrorMessage(err), c)
		}
	}
}

func TestTiers(t *testing.T) {
	f := standard(t)
	t.Run("no tier: approved at submit", func(t *testing.T) {
		v := f.Submit("ed@acme.test", "free", "hello")
		if v.State != approvals.StateApproved {
			t.Fatalf("state = %s", v.State)
		}
	})
	t.Run("internal only", func(t *testing.T) {
		v := f.Submit("ed@acme.test", "internal", "hello")
		if v.State != approvals.StatePendingInternal {
			t.Fatalf("state = %s", v.State)
		}
		f.Must(f.Svc.Approve(f.Ctx, f.As("admin2@acme.test"), v.ID))
		if s := f.State(v.ID); s != approvals.StateApproved {
			t.Fatalf("state = %s", s)
		}
	})
	t.Run("client only", func(t *testing.T) {
		v := f.Submit("ed@acme.test", "client", "hello")
		if v.State != approvals.StatePendingClient {
			t.Fatalf("state = %s", v.State)
		}
		r, err := f.Svc.Approve(f.Ctx, f.As("c2@client.test"), v.ID)
		f.OK(err)
		if r.Draft.State != approvals.StateApproved {
			t.Fatalf("state = %s", r.Draft.State)
		}
	})
	t.Run("both: internal first, client never sees it before", func(t *testing.T) {
		v := f.Submit("ed@acme.test", "both", "hello both")
		if v.State != approvals.StatePendingInternal {
			t.Fatalf("state = %s", v.State)
		}
		_, err := f.Svc.Show(f.Ctx, f.As("c1@client.test"), v.ID)
		wantCode(t, err, approvals.ENOTFOUND, "no draft")
		list, err := f.Svc.List(f.Ctx, f.As("c1@client.test"), approvals.ListInput{Account: "both"})
		f.OK(err)
		if len(list) != 0 {
			t.Fatalf("client sees %d drafts while pending_internal", len(list))
		}
		_, err = f.Svc.Approve(f.Ctx, f.As("c1@client.test"), v.ID)
		wantCode(t, err, approvals.ENOTFOUND, "no draft")
		f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), v.ID))
		if s := f.State(v.ID); s != approvals.StatePendingClient {
			t.Fatalf("state = %s", s)
		}
		list, err = f.Svc.List(f.Ctx, f.As("c1@client.test"), approvals.ListInput{Account: "both"})
		f.OK(err)
		if len(list) != 1 || list[0].Text != "hello both" {
			t.Fatalf("client list = %+v", list)
		}
		f.Must(f.Svc.Approve(f.Ctx, f.As("c1@client.test"), v.ID))
		if s := f.State(v.ID); s != approvals.StateApproved {
			t.Fatalf("state = %s", s)
		}
	})
}

func TestAnyAll(t *testing.T) {
	f := standard(t)
	v := f.Submit("ed@acme.test", "strict", "all three")
	for i, c := range []string{"c1", "c2"} {
		r, err := f.Svc.Approve(f.Ctx, f.As(c+"@client.test"), v.ID)
		f.OK(err)
		if r.Draft.State != approvals.StatePendingClient {
			t.Fatalf("after %d approvals state = %s", i+1, r.Draft.State)
		}
	}
	r, err := f.Svc.Approve(f.Ctx, f.As("c3@client.test"), v.ID)
	f.OK(err)
	if r.Draft.State != approvals.StateApproved {
		t.Fatalf("after 3 approvals state = %s", r.Draft.State)
	}

	v = f.Submit("ed@acme.test", "strict", "two then a reject")
	f.Must(f.Svc.Approve(f.Ctx, f.As("c1@client.test"), v.ID))
	f.Must(f.Svc.Approve(f.Ctx, f.As("c2@client.test"), v.ID))
	r, err = f.Svc.Reject(f.Ctx, f.As("c3@client.test"), v.ID, "Not this week.")
	f.OK(err)
	if r.Draft.State != approvals.StateRejected {
		t.Fatalf("state = %s", r.Draft.State)
	}
	// Approving again is a no-op that says so.
	again, err := f.Svc.Approve(f.Ctx, f.As("c1@client.test"), v.ID)
	f.OK(err)
	if !again.Noop {
		t.Fatalf("repeat approve made a decision: %+v", again)
	}
	_, err = f.Svc.Reject(f.Ctx, f.As("c2@client.test"), v.ID, "me too")
	wantCode(t, err, approvals.ECONFLICT, "already approved")
	v2 := f.Submit("ed@acme.test", "client", "any of three")
	f.Must(f.Svc.Reject(f.Ctx, f.As("c1@client.test"), v2.ID, "No."))
	_, err = f.Svc.Approve(f.Ctx, f.As("c2@client.test"), v2.ID)
	wantCode(t, err, approvals.ECONFLICT, "rejected by c1", "2026-11-25 12:00 UTC")
	if approvals.ErrorReason(err) != approvals.ReasonDecided {
		t.Fatalf("reason = %q", approvals.ErrorReason(err))
	}
}

func TestRejectComment(t *testing.T) {
	f := standard(t)
	v := f.Submit("ed@acme.test", "client", "text")
	for _, c := range []string{"", "  \n\t "} {
		_, err := f.Svc.Reject(f.Ctx, f.As("c1@client.test"), v.ID, c)
		wantCode(t, err, approvals.EINVALID, "comment")
	}
	if s := f.State(v.ID); s != approvals.StatePendingClient {
		t.Fatalf("state changed to %s", s)
	}
	comment := "Ça ne va pas 🙅\nline two\n<script>alert('x')</script> & \"quotes\""
	f.Must(f.Svc.Reject(f.Ctx, f.As("c1@client.test"), v.ID, comment))
	view, err := f.Svc.Show(f.Ctx, f.As("ed@acme.test"), v.ID)
	f.OK(err)
	last := view.LastDecision(approvals.TierClient)
	if last == nil || last.Comment != comment {
		t.Fatalf("comment not kept exactly: %+v", last)
	}
}

func TestReviseRestartsFirstTier(t *testing.T) {
	f := standard(t)
	v := f.Submit("ed@acme.test", "both", "Launch on Monday")
	f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), v.ID))
	f.Must(f.Svc.Reject(f.Ctx, f.As("c1@client.test"), v.ID, "Friday please"))
	nv, err := f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: "Launch on Friday"})
	f.OK(err)
	if nv.State != approvals.StatePendingInternal || nv.Revision != 2 {
		t.Fatalf("after revise: state %s revision %d", nv.State, nv.Revision)
	}
	want := []approvals.DiffOp{{Op: "=", Text: "Launch on "}, {Op: "-", Text: "Monday"}, {Op: "+", Text: "Friday"}}
	if diff := cmp.Diff(want, nv.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	for _, ts := range nv.Tiers {
		for _, a := range ts.Approvers {
			if a.Verdict != "" {
				t.Errorf("old decision counts in revision 2: %+v", a)
			}
		}
	}
	// A decision pinned to the old revision is stale.
	_, err = f.Svc.Decide(f.Ctx, f.As("admin@acme.test"), approvals.DecideInput{DraftID: v.ID, Revision: 1, Tier: approvals.TierInternal, Verdict: approvals.VerdictApprove})
	wantCode(t, err, approvals.ECONFLICT, "was revised; revision 2 is current")
	if e := new(approvals.Error); !errors.As(err, &e) || e.Revision != 2 || e.Reason != approvals.ReasonRevised {
		t.Fatalf("want revised error with revision 2, got %#v", err)
	}
	f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), v.ID))
	r, err := f.Svc.Approve(f.Ctx, f.As("c1@client.test"), v.ID)
	f.OK(err)
	if r.Draft.State != approvals.StateApproved {
		t.Fatalf("state = %s", r.Draft.State)
	}
	// Approved drafts can be neither revised nor withdrawn.
	_, err = f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: "x"})
	wantCode(t, err, approvals.ECONFLICT)
	_, err = f.Svc.Withdraw(f.Ctx, f.As("ed@acme.test"), v.ID)
	wantCode(t, err, approvals.ECONFLICT)
}

func TestAuthorCannotApprove(t *testing.T) {
	f := standard(t)
	for _, who := range []string{"admin@acme.test", "owner@acme.test"} {
		if who == "owner@acme.test" {
			f.OK(f.Svc.AddApprover(f.Ctx, f.Op(), "internal", who, approvals.TierInternal))
		}
		v := f.Submit(who, "internal", "mine")
		_, err := f.Svc.Approve(f.Ctx, f.As(who), v.ID)
		wantCode(t, err, approvals.EUNAUTHORIZED, "author")
		if s := f.State(v.ID); s != approvals.StatePendingInternal {
			t.Fatalf("state = %s", s)
		}
	}
}

func TestRefusalsAreAudited(t *testing.T) {
	f := standard(t)
	f.Member("outsider@client.test", approvals.RoleClient)
	v := f.Submit("ed@acme.test", "client", "text")
	tests := []struct {
		name, email string
		code        string
		contains    string
	}{
		{"client without access", "outsider@client.test", approvals.ENOTFOUND, "no draft"},
		{"editor, not an approver", "ed@acme.test", approvals.EUNAUTHORIZED, ""},
		{"staff approver of the other tier", "admin2@acme.test", approvals.EUNAUTHORIZED, "not an approver"},
		{"unknown email", "nobody@nowhere.test", approvals.EUNAUTHORIZED, "not a member"},
	}
	// A client with access who is not an approver.
	f.OK(f.Svc.RemoveApprover(f.Ctx, f.Op(), "client", "c3@client.test", approvals.TierClient))
	tests = append(tests, struct{ name, email, code, contains string }{"client with access, not approver", "c3@client.test", approvals.EUNAUTHORIZED, "not"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Svc.Approve(f.Ctx, f.As(tt.email), v.ID)
			wantCode(t, err, tt.code, tt.contains)
		})
	}
	if s := f.State(v.ID); s != approvals.StatePendingClient {
		t.Fatalf("state = %s", s)
	}
	h, err := f.Svc.DraftHistory(f.Ctx, f.Op(), v.ID)
	f.OK(err)
	refused := 0
	for _, e := range h.Audit {
		if e.Outcome == approvals.OutcomeRefused && e.Action == "draft.approve" {
			refused++
		}
	}
	// The unknown email has no member to tie to the draft's workspace
	// history, but is still logged with the draft ID.
	if refused != len(tests) {
		t.Fatalf("refused audit entries = %d, want %d: %+v", refused, len(tests), h.Audit)
	}
}

func TestRepeatAndTruthfulAnswers(t *testing.T) {
	f := standard(t)
	v := f.Submit("ed@acme.test", "strict", "text")
	first, err := f.Svc.Approve(f.Ctx, f.As("c1@client.test"), v.ID)
	f.OK(err)
	f.Now = f.Now.Add(time.Hour)
	again, err := f.Svc.Approve(f.Ctx, f.As("c1@client.test"), v.ID)
	f.OK(err)
	if !again.Noop || !strings.Contains(again.Message, "you already approved") || !strings.Contains(again.Message, "12:00") {
		t.Fatalf("second approve = %+v", again)
	}
	if again.Decision.ID != first.Decision.ID {
		t.Fatalf("second approve made a new decision")
	}
	_, err = f.Svc.Reject(f.Ctx, f.As("c1@client.test"), v.ID, "changed my mind")
	wantCode(t, err, approvals.ECONFLICT, "you already approved")
}

func TestWithdrawAndComment(t *testing.T) {
	f := standard(t)
	v := f.Submit("ed@acme.test", "client", "text")
	_, err := f.Svc.AddComment(f.Ctx, f.As("c3@client.test"), v.ID, approvals.CommentInput{Text: "looks fine"})
	wantCode(t, err, approvals.EUNAUTHORIZED, "comment") // view-only
	c, err := f.Svc.AddComment(f.Ctx, f.As("c1@client.test"), v.ID, approvals.CommentInput{Text: "Nice 👍\n<i>really</i>"})
	f.OK(err)
	if c.Text != "Nice 👍\n<i>really</i>" {
		t.Fatalf("comment = %q", c.Text)
	}
	_, err = f.Svc.Withdraw(f.Ctx, f.As("c1@client.test"), v.ID)
	wantCode(t, err, approvals.EUNAUTHORIZED)
	w, err := f.Svc.Withdraw(f.Ctx, f.As("ed@acme.test"), v.ID)
	f.OK(err)
	if w.State != approvals.StateWithdrawn {
		t.Fatalf("state = %s", w.State)
	}
	_, err = f.Svc.Approve(f.Ctx, f.As("c1@client.test"), v.ID)
	wantCode(t, err, approvals.ECONFLICT, "withdrawn")
}

// TestApproversLoseAccess: a pending tier whose approvers all lose access
// (possible only once the account no longer requires the tier) hands the
// draft back to its author instead of leaving it stuck or approving it.
func TestApproversLoseAccess(t *testing.T) {
	f := standard(t)
	v := f.Submit("ed@acme.test", "both", "text")
	f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), v.ID))
	off := false
	f.Must(f.Svc.SetAccount(f.Ctx, f.Op(), "both", approvals.AccountSettings{NeedsClientApproval: &off}))
	f.OK(f.Svc.Revoke(f.Ctx, f.Op(), "both", approvals.GrantTarget{Email: "c1@client.test"}))
	view, err := f.Svc.Show(f.Ctx, f.Op(), v.ID)
	f.OK(err)
	if view.State != approvals.StateRejected {
		t.Fatalf("state = %s, want rejected", view.State)
	}
	if len(view.Comments) == 0 || !strings.Contains(view.Comments[len(view.Comments)-1].Text, "No client approver") {
		t.Fatalf("no explanation: %+v", view.Comments)
	}
	// In an "all" tier, an approver who loses access no longer holds it up.
	v2 := f.Submit("ed@acme.test", "strict", "all")
	f.Must(f.Svc.Approve(f.Ctx, f.As("c1@client.test"), v2.ID))
	f.Must(f.Svc.Approve(f.Ctx, f.As("c2@client.test"), v2.ID))
	f.OK(f.Svc.Revoke(f.Ctx, f.Op(), "strict", approvals.GrantTarget{Email: "c3@client.test"}))
	if s := f.State(v2.ID); s != approvals.StateApproved {
		t.Fatalf("state = %s, want approved", s)
	}
}

func TestConcurrentDecisions(t *testing.T) {
	f := newFixture(t)
	f.Member("ed@acme.test", approvals.RoleEditor)
	grants := map[string]string{"ed@acme.test": "view,create"}
	approvers := map[string]approvals.Tier{}
	const n = 10
	for i := range n {
		e := fmt.Sprintf("c%d@client.test", i)
		f.Member(e, approvals.RoleClient)
		grants[e] = "view"
		approvers[e] = approvals.TierClient
	}
	f.Account("acc", "", approvals.RuleAll, grants, approvers)
	v := f.Submit("ed@acme.test", "acc", "race")
	var wg sync.WaitGroup
	var okCount, noop, conflict atomic.Int32
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			who := f.As(fmt.Sprintf("c%d@client.test", i%n))
			var r *approvals.DecisionResult
			var err error
			if i%7 == 3 {
				r, err = f.Svc.Reject(f.Ctx, who, v.ID, "no")
			} else {
				r, err = f.Svc.Approve(f.Ctx, who, v.ID)
			}
			switch {
			case err == nil && r.Noop:
				noop.Add(1)
			case err == nil:
				okCount.Add(1)
			case approvals.ErrorCode(err) == approvals.ECONFLICT:
				conflict.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	h, err := f.Svc.DraftHistory(f.Ctx, f.Op(), v.ID)
	f.OK(err)
	seen := map[int64]bool{}
	rejects := 0
	for _, d := range h.Decisions {
		if seen[d.ApproverID] {
			t.Fatalf("two decisions by approver %d", d.ApproverID)
		}
		seen[d.ApproverID] = true
		if d.Verdict == approvals.VerdictReject {
			rejects++
		}
	}
	if int(okCount.Load()) != len(h.Decisions) {
		t.Fatalf("%d calls succeeded but %d decisions stored", okCount.Load(), len(h.Decisions))
	}
	if okCount.Load()+noop.Load()+conflict.Load() != 100 {
		t.Fatalf("answers: ok %d noop %d conflict %d", okCount.Load(), noop.Load(), conflict.Load())
	}
	switch h.Draft.State {
	case approvals.StateRejected:
		if rejects != 1 {
			t.Fatalf("rejected with %d rejects", rejects)
		}
	case approvals.StateApproved:
		if rejects != 0 || len(h.Decisions) != n {
			t.Fatalf("approved with %d decisions, %d rejects", len(h.Decisions), rejects)
		}
	default:
		t.Fatalf("state = %s", h.Draft.State)
	}
	msgs, err := f.Svc.Outbox(f.Ctx, "", 1000)
	f.OK(err)
	keys := map[string]bool{}
	verdicts := 0
	for _, m := range msgs {
		if keys[m.IdempotencyKey] {
			t.Fatalf("duplicate outbox key %s", m.IdempotencyKey)
		}
		keys[m.IdempotencyKey] = true
		if m.Payload.Event == approvals.EventApproved || m.Payload.Event == approvals.EventRejected {
			verdicts++
		}
	}
	if verdicts != 1 {
		t.Fatalf("author told %d times", verdicts)
	}
}

func TestReviseCarriesOver(t *testing.T) {
	f := standard(t)
	at := f.Now.Add(48 * time.Hour)
	v, err := f.Svc.Submit(f.Ctx, f.As("ed@acme.test"), approvals.DraftInput{Account: "client", Text: "one", MediaURLs: []string{"https://cdn.example.com/a.jpg"}, ScheduledAt: &at})
	f.OK(err)
	nv, err := f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: "two"})
	f.OK(err)
	if diff := cmp.Diff([]string{"https://cdn.example.com/a.jpg"}, nv.Current.MediaURLs); diff != "" || nv.Current.ScheduledAt == nil || !nv.Current.ScheduledAt.Equal(at) {
		t.Fatalf("carry-over lost: media %v schedule %v", nv.Current.MediaURLs, nv.Current.ScheduledAt)
	}
	nv, err = f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: "three", MediaURLs: []string{}})
	f.OK(err)
	if len(nv.Current.MediaURLs) != 0 {
		t.Fatalf("empty media list did not clear: %v", nv.Current.MediaURLs)
	}
}
