package approvals_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
)

// sweep runs n sweepers at once and returns the actions they applied in all.
func (f *fixture) sweep(n int) int {
	f.T.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		errs  []error
	)
	for range n {
		wg.Go(func() {
			w := &approvals.Sweeper{Service: f.Svc}
			acted, err := w.RunOnce(f.Ctx)
			mu.Lock()
			defer mu.Unlock()
			total += acted
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		f.T.Fatalf("sweep: %v", err)
	}
	return total
}

// sent lists the outbox messages of an event for a draft as
// "channel target" (with "#n" for reminders), sorted.
func (f *fixture) sent(draftID int64, ev approvals.Event) []string {
	f.T.Helper()
	msgs, err := f.Svc.Outbox(f.Ctx, "", 10000)
	f.OK(err)
	out := []string{}
	for _, m := range msgs {
		if m.Payload.DraftID != draftID || m.Payload.Event != ev {
			continue
		}
		s := string(m.Channel) + " " + m.Payload.Target
		if m.Payload.Reminder != 0 {
			s += fmt.Sprintf(" #%d", m.Payload.Reminder)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// audit lists the draft's audit entries of an action as their details.
func (f *fixture) audit(draftID int64, action string) []string {
	f.T.Helper()
	h, err := f.Svc.DraftHistory(f.Ctx, f.Op(), draftID)
	f.OK(err)
	out := []string{}
	for _, e := range h.Audit {
		if e.Action == action {
			out = append(out, e.Detail)
		}
	}
	return out
}

func (f *fixture) set(handle string, set approvals.AccountSettings) {
	f.T.Helper()
	f.Must(f.Svc.SetAccount(f.Ctx, f.Op(), handle, set))
}

func ptr[T any](v T) *T { return &v }

func TestReminders(t *testing.T) {
	f := standard(t)
	f.set("strict", approvals.AccountSettings{RemindAfter: ptr(24 * time.Hour), RemindMax: ptr(3)})
	start := f.Now
	d := f.Submit("ed@acme.test", "strict", "remind me")       // "all" of c1, c2, c3
	other := f.Submit("ed@acme.test", "client", "any will do") // "any" of c1, c2, c3

	type step struct {
		at       time.Duration // after submission
		decide   string        // an approver who approves d at this time, before sweeping
		approveO string        // an approver who approves other
		acted    int           // actions of the sweep
	}
	steps := []step{
		{at: 23 * time.Hour, decide: "c1@client.test", acted: 0}, // not before remind_after
		{at: 24 * time.Hour, acted: 2},                           // reminder 1 of both drafts
		{at: 24*time.Hour + time.Minute, approveO: "c3@client.test", acted: 0},
		{at: 47 * time.Hour, acted: 0}, // once per interval
		{at: 48 * time.Hour, acted: 1}, // reminder 2 of d only: other is approved
		{at: 49 * time.Hour, decide: "c2@client.test", acted: 0},
		{at: 72 * time.Hour, acted: 1},  // reminder 3, to c3 only
		{at: 96 * time.Hour, acted: 0},  // remind_max reached
		{at: 200 * time.Hour, acted: 0}, // and for good
	}
	for _, s := range steps {
		f.Now = start.Add(s.at)
		if s.decide != "" {
			f.Must(f.Svc.Approve(f.Ctx, f.As(s.decide), d.ID))
		}
		if s.approveO != "" {
			f.Must(f.Svc.Approve(f.Ctx, f.As(s.approveO), other.ID))
		}
		if got := f.sweep(4); got != s.acted {
			t.Errorf("at +%s: %d actions, want %d", s.at, got, s.acted)
		}
	}

	want := []string{
		"email c2@client.test #1", "email c2@client.test #2",
		"email c3@client.test #1", "email c3@client.test #2", "email c3@client.test #3",
	}
	if diff := cmp.Diff(want, f.sent(d.ID, approvals.EventReminder)); diff != "" {
		t.Errorf("reminders of d (-want +got)\n%s", diff)
	}
	want = []string{"email c1@client.test #1", "email c2@client.test #1", "email c3@client.test #1"}
	if diff := cmp.Diff(want, f.sent(other.ID, approvals.EventReminder)); diff != "" {
		t.Errorf("reminders of other (-want +got)\n%s", diff)
	}
	if got := f.audit(d.ID, "draft.remind"); len(got) != 3 || !strings.Contains(got[2], "reminder 3 of 3 in the client tier to 1 approver(s)") {
		t.Errorf("audit of reminders = %q", got)
	}
}

func TestRemindersRestartWithRevision(t *testing.T) {
	f := standard(t)
	f.set("client", approvals.AccountSettings{RemindAfter: ptr(time.Hour), RemindMax: ptr(1)})
	start := f.Now
	d := f.Submit("ed@acme.test", "client", "v1")
	f.Now = start.Add(time.Hour)
	if got := f.sweep(1); got != 1 {
		t.Fatalf("first reminder: %d actions", got)
	}
	f.Now = start.Add(90 * time.Minute)
	f.Must(f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), d.ID, approvals.DraftInput{Text: "v2"}))
	f.Now = start.Add(150 * time.Minute)
	if got := f.sweep(1); got != 1 {
		t.Fatalf("reminder of revision 2: %d actions", got)
	}
	if got := f.sweep(1); got != 0 {
		t.Fatalf("after remind_max: %d actions", got)
	}
}

func TestDeadlinePolicies(t *testing.T) {
	tests := []struct {
		name      string
		policy    approvals.DeadlinePolicy
		scheduled bool // else decide-within 2h
		wantState approvals.State
		wantAudit string
	}{
		{"expire after decide-within", approvals.DeadlineExpire, false, approvals.StateExpired, "expired: no client decision by the deadline"},
		{"expire before the schedule", approvals.DeadlineExpire, true, approvals.StateExpired, "expired: no client decision by the deadline"},
		{"auto-approve", approvals.DeadlineAutoApprove, false, approvals.StateApproved, "auto-approved (client tier)"},
		// The policy approves only the tier whose approvers were asked; the
		// client tier is asked next and has its own review window.
		{"auto-approve the internal tier, then ask clients", approvals.DeadlineAutoApprove, true, approvals.StatePendingClient, "auto-approved the internal tier; the client tier is asked now"},
		{"escalate", approvals.DeadlineEscalate, false, approvals.StatePendingClient, "escalated: added backup approver c4 <c4@client.test> to the client tier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := standard(t)
			f.Member("c4@client.test", approvals.RoleClient)
			f.OK(f.Svc.Grant(f.Ctx, f.Op(), "strict", approvals.GrantTarget{Email: "c4@client.test"}, approvals.NewCaps(approvals.CapView)))
			f.OK(f.Svc.Grant(f.Ctx, f.Op(), "both", approvals.GrantTarget{Email: "c4@client.test"}, approvals.NewCaps(approvals.CapView)))
			handle := "strict"
			if tt.scheduled && tt.policy == approvals.DeadlineAutoApprove {
				handle = "both"
			}
			window := time.Duration(0)
			if handle == "both" {
				window = 2 * time.Hour
			}
			f.set(handle, approvals.AccountSettings{DeadlinePolicy: &tt.policy, DecideWithin: ptr(2 * time.Hour),
				BackupApprover: ptr("c4@client.test"), RemindMax: ptr(0), MinReview: &window})
			start := f.Now
			deadline := start.Add(2 * time.Hour)
			in := approvals.DraftInput{Account: handle, Text: "deadline"}
			if tt.scheduled {
				at := start.Add(10 * time.Hour)
				in.ScheduledAt = &at
				deadline = at.Add(-approvals.DefaultDeadlineMargin)
			}
			d, err := f.Svc.Submit(f.Ctx, f.As("ed@acme.test"), in)
			f.OK(err)

			f.Now = deadline.Add(-time.Second)
			if got := f.sweep(6); got != 0 {
				t.Fatalf("before the deadline: %d actions", got)
			}
			f.Now = deadline
			if got := f.sweep(6); got != 1 {
				t.Fatalf("at the deadline, 6 sweepers: %d actions, want 1", got)
			}
			f.Now = deadline.Add(time.Hour)
			if got := f.sweep(6); got != 0 {
				t.Fatalf("after the deadline: %d actions", got)
			}
			if got := f.State(d.ID); got != tt.wantState {
				t.Fatalf("state = %s, want %s", got, tt.wantState)
			}
			audit := f.audit(d.ID, "deadline."+string(tt.policy))
			if len(audit) != 1 || !strings.Contains(audit[0], tt.wantAudit) {
				t.Fatalf("audit = %q, want one entry with %q", audit, tt.wantAudit)
			}

			switch tt.policy {
			case approvals.DeadlineExpire:
				if diff := cmp.Diff([]string{"email ed@acme.test"}, f.sent(d.ID, approvals.EventExpired)); diff != "" {
					t.Errorf("author told (-want +got)\n%s", diff)
				}
				_, err := f.Svc.Approve(f.Ctx, f.As("c1@client.test"), d.ID)
				if approvals.ErrorReason(err) != approvals.ReasonExpired {
					t.Errorf("approve after expiry: %v, want reason expired", err)
				}
				_, err = f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), d.ID, approvals.DraftInput{Text: "again"})
				wantCode(t, err, approvals.ECONFLICT, "expired")
			case approvals.DeadlineAutoApprove:
				h, err := f.Svc.DraftHistory(f.Ctx, f.Op(), d.ID)
				f.OK(err)
				var got []string
				for _, x := range h.Decisions {
					got = append(got, fmt.Sprintf("%s %s %s via %s", x.Approver, x.Verdict, x.Tier, x.Channel))
				}
				want := []string{"Signoff policy approve client via system"}
				told := []string{"email c1@client.test", "email c2@client.test", "email c3@client.test"}
				author := []string{"email ed@acme.test"}
				if handle == "both" {
					want = []string{"Signoff policy approve internal via system"}
					told = []string{"email admin@acme.test"}
					author = []string{}
					// The client tier is asked now, as after a human approval.
					if got := f.sent(d.ID, approvals.EventApprovalRequested); !slices.Contains(got, "email c1@client.test") {
						t.Errorf("client approvers not asked: %q", got)
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("decisions (-want +got)\n%s", diff)
				}
				if diff := cmp.Diff(told, f.sent(d.ID, approvals.EventAutoApproved)); diff != "" {
					t.Errorf("approvers told (-want +got)\n%s", diff)
				}
				if diff := cmp.Diff(author, f.sent(d.ID, approvals.EventApproved)); diff != "" {
					t.Errorf("author told (-want +got)\n%s", diff)
				}
			case approvals.DeadlineEscalate:
				if diff := cmp.Diff([]string{"email c4@client.test"}, f.sent(d.ID, approvals.EventEscalated)); diff != "" {
					t.Errorf("backup asked (-want +got)\n%s", diff)
				}
				// c1 approved already; the "all" rule would wait for c2 and c3,
				// but the backup's approval completes the tier.
				f.Must(f.Svc.Approve(f.Ctx, f.As("c1@client.test"), d.ID))
				_, err := f.Svc.Approve(f.Ctx, f.As("c4@client.test"), 999999)
				wantCode(t, err, approvals.ENOTFOUND)
				r, err := f.Svc.Approve(f.Ctx, f.As("c4@client.test"), d.ID)
				f.OK(err)
				if r.Draft.State != approvals.StateApproved {
					t.Fatalf("after the backup's approval: %s", r.Draft.State)
				}
			}
		})
	}
}

func TestEscalateRefusesUnfitBackup(t *testing.T) {
	f := standard(t)
	f.Member("c4@client.test", approvals.RoleClient)
	esc := approvals.DeadlineEscalate
	_, err := f.Svc.SetAccount(f.Ctx, f.Op(), "client", approvals.AccountSettings{DeadlinePolicy: &esc})
	wantCode(t, err, approvals.EINVALID, "backup approver")
	_, err = f.Svc.SetAccount(f.Ctx, f.Op(), "client", approvals.AccountSettings{DeadlinePolicy: &esc, BackupApprover: ptr("c4@client.test")})
	wantCode(t, err, approvals.EINVALID, "no access")
	_, err = f.Svc.SetAccount(f.Ctx, f.Op(), "client", approvals.AccountSettings{DeadlinePolicy: &esc, BackupApprover: ptr("ed@acme.test")})
	wantCode(t, err, approvals.EINVALID, "cannot approve")

	// A backup of the wrong tier: the policy records why it did not escalate.
	f.set("both", approvals.AccountSettings{DeadlinePolicy: &esc, BackupApprover: ptr("admin2@acme.test"), DecideWithin: ptr(time.Hour), MinReview: ptr(time.Duration(0))})
	d := f.Submit("ed@acme.test", "both", "internal first")
	f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), d.ID)) // now pending_client
	f.Now = f.Now.Add(time.Hour)
	if got := f.sweep(3); got != 1 {
		t.Fatalf("%d actions", got)
	}
	audit := f.audit(d.ID, "deadline.escalate")
	if len(audit) != 1 || !strings.Contains(audit[0], "not escalated: backup approver admin2 <admin2@acme.test> (admin) cannot approve in the client tier") {
		t.Fatalf("audit = %q", audit)
	}
	if got := f.State(d.ID); got != approvals.StatePendingClient {
		t.Fatalf("state = %s", got)
	}
}

func TestDeadlineFollowsSettingChanges(t *testing.T) {
	f := standard(t)
	start := f.Now
	d := f.Submit("ed@acme.test", "client", "no policy yet")
	f.Now = start.Add(3 * time.Hour)
	if got := f.sweep(2); got != 0 {
		t.Fatalf("no policy: %d actions", got)
	}
	// Turning a policy on applies to drafts already waiting, from when they
	// entered the tier.
	exp := approvals.DeadlineExpire
	f.set("client", approvals.AccountSettings{DeadlinePolicy: &exp, DecideWithin: ptr(2 * time.Hour), MinReview: ptr(time.Duration(0))})
	if got := f.sweep(2); got != 1 {
		t.Fatalf("policy on: %d actions", got)
	}
	if got := f.State(d.ID); got != approvals.StateExpired {
		t.Fatalf("state = %s", got)
	}
}
