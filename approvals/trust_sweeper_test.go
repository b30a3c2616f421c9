package approvals_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
)

// A deadline policy never stands in for a human before the tier's approvers
// were asked and the account's review window (4h by default) passed,
// however close the schedule is. Submit says so.
func TestTrustPolicyWaitsForReviewWindow(t *testing.T) {
	tests := []struct {
		policy    approvals.DeadlinePolicy
		wantState approvals.State
	}{
		{approvals.DeadlineExpire, approvals.StateExpired},
		{approvals.DeadlineAutoApprove, approvals.StateApproved},
		{approvals.DeadlineEscalate, approvals.StatePendingClient},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			f := standard(t)
			f.Member("c4@client.test", approvals.RoleClient)
			f.OK(f.Svc.Grant(f.Ctx, f.Op(), "client", approvals.GrantTarget{Email: "c4@client.test"}, approvals.NewCaps(approvals.CapView)))
			set := approvals.AccountSettings{DeadlinePolicy: &tt.policy, RemindMax: ptr(0)}
			if tt.policy == approvals.DeadlineEscalate {
				set.BackupApprover = ptr("c4@client.test")
			}
			f.set("client", set) // the review window stays at its default
			start := f.Now
			at := start.Add(2 * time.Minute)
			v, err := f.Svc.Submit(f.Ctx, f.As("ed@acme.test"), approvals.DraftInput{Account: "client", Text: "two minutes to go", ScheduledAt: &at})
			f.OK(err)
			if len(v.Notes) != 1 || !strings.Contains(v.Notes[0], "the client tier has until") ||
				!strings.Contains(v.Notes[0], string(tt.policy)+" will not act before") {
				t.Errorf("submit notes = %q, want one saying the policy waits for the review window", v.Notes)
			}
			for _, after := range []time.Duration{0, 2 * time.Minute, time.Hour, approvals.DefaultMinReview - time.Second} {
				f.Now = start.Add(after)
				if got := f.sweep(3); got != 0 {
					t.Fatalf("at +%s, inside the review window: %d actions", after, got)
				}
			}
			h, err := f.Svc.DraftHistory(f.Ctx, f.Op(), v.ID)
			f.OK(err)
			if h.Draft.State != approvals.StatePendingClient || len(h.Decisions) != 0 {
				t.Fatalf("inside the review window: state %s with %d decisions, want pending_client and none", h.Draft.State, len(h.Decisions))
			}
			f.Now = start.Add(approvals.DefaultMinReview)
			if got := f.sweep(3); got != 1 {
				t.Fatalf("when the window closes: %d actions, want 1", got)
			}
			if got := f.State(v.ID); got != tt.wantState {
				t.Errorf("state = %s, want %s", got, tt.wantState)
			}
		})
	}
}

// With both tiers, auto-approve approves only the tier whose approvers were
// asked, once their window passed; the client tier is asked then and gets a
// window of its own. The author decides nothing, and neither does the policy
// on their behalf early.
func TestTrustAutoApproveOneTierAtATime(t *testing.T) {
	f := standard(t)
	auto := approvals.DeadlineAutoApprove
	f.set("both", approvals.AccountSettings{DeadlinePolicy: &auto, RemindMax: ptr(0)})
	start := f.Now
	at := start.Add(2 * time.Minute)
	v, err := f.Svc.Submit(f.Ctx, f.As("ed@acme.test"), approvals.DraftInput{Account: "both", Text: "both tiers, no time", ScheduledAt: &at})
	f.OK(err)
	var tiers []string
	for _, n := range v.Notes {
		for _, tier := range []string{"internal", "client"} {
			if strings.Contains(n, "the "+tier+" tier has until") && strings.Contains(n, "auto-approve will not act before") {
				tiers = append(tiers, tier)
			}
		}
	}
	if diff := cmp.Diff([]string{"internal", "client"}, tiers); diff != "" {
		t.Errorf("submit notes %q: tiers named (-want +got)\n%s", v.Notes, diff)
	}

	steps := []struct {
		after time.Duration
		acted int
		state approvals.State
	}{
		{0, 0, approvals.StatePendingInternal},
		{3 * time.Minute, 0, approvals.StatePendingInternal}, // the schedule passed: still no policy
		{4*time.Hour - time.Second, 0, approvals.StatePendingInternal},
		{4 * time.Hour, 1, approvals.StatePendingClient}, // the internal tier only
		{4*time.Hour + time.Minute, 0, approvals.StatePendingClient},
		{8*time.Hour - time.Second, 0, approvals.StatePendingClient}, // the client tier's own window
		{8 * time.Hour, 1, approvals.StateApproved},
	}
	for _, s := range steps {
		f.Now = start.Add(s.after)
		if got := f.sweep(4); got != s.acted {
			t.Fatalf("at +%s: %d actions, want %d", s.after, got, s.acted)
		}
		if got := f.State(v.ID); got != s.state {
			t.Fatalf("at +%s: state %s, want %s", s.after, got, s.state)
		}
		if s.after == 4*time.Hour {
			if got := f.sent(v.ID, approvals.EventApprovalRequested); !slices.Contains(got, "email c1@client.test") {
				t.Errorf("client approvers not asked when the internal tier was approved: %q", got)
			}
		}
	}
	h, err := f.Svc.DraftHistory(f.Ctx, f.Op(), v.ID)
	f.OK(err)
	var got []string
	for _, x := range h.Decisions {
		got = append(got, fmt.Sprintf("%s %s %s at +%s", x.Approver, x.Verdict, x.Tier, x.CreatedAt.Sub(start)))
	}
	want := []string{
		"Signoff policy approve internal at +4h0m0s",
		"Signoff policy approve client at +8h0m0s",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decisions (-want +got)\n%s", diff)
	}
}

// A revision restarts the clock: revising with a schedule two minutes
// ahead says so, and the policy waits for the new request's window.
func TestTrustReviseNotesAndWaits(t *testing.T) {
	f := standard(t)
	auto := approvals.DeadlineAutoApprove
	f.set("client", approvals.AccountSettings{DeadlinePolicy: &auto, RemindMax: ptr(0)})
	start := f.Now
	d := f.Submit("ed@acme.test", "client", "first")
	f.Must(f.Svc.Reject(f.Ctx, f.As("c1@client.test"), d.ID, "again"))
	f.Now = start.Add(time.Hour)
	at := f.Now.Add(2 * time.Minute)
	v, err := f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), d.ID, approvals.DraftInput{Text: "second", ScheduledAt: &at})
	f.OK(err)
	if len(v.Notes) != 1 || !strings.Contains(v.Notes[0], "auto-approve will not act before") {
		t.Errorf("revise notes = %q", v.Notes)
	}
	f.Now = start.Add(5*time.Hour - time.Second) // 4h after the revision, less a second
	if got := f.sweep(2); got != 0 {
		t.Fatalf("inside the revision's window: %d actions", got)
	}
	f.Now = start.Add(5 * time.Hour)
	if got := f.sweep(2); got != 1 || f.State(d.ID) != approvals.StateApproved {
		t.Fatalf("after the revision's window: %d actions, state %s", got, f.State(d.ID))
	}
}
