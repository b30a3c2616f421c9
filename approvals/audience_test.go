package approvals_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
)

// seen is what one reader sees of one draft: each piece the audience rule
// decides on.
type seen struct {
	Visible   bool
	Revisions []int    // numbers, oldest first
	Current   int      // the revision shown as current
	Decisions []string // "tier verdict by revision"
	Comments  []string
	Changed   string // the words the diff adds, "" when there is no diff
	Tiers     []approvals.Tier
	Listed    bool // in the reader's draft list
}

func (f *fixture) seenBy(email string, id int64) seen {
	f.T.Helper()
	var s seen
	list, err := f.Svc.List(f.Ctx, f.As(email), approvals.ListInput{Account: "both"})
	f.OK(err)
	for _, d := range list {
		if d.ID == id {
			s.Listed = true
		}
	}
	h, err := f.Svc.DraftHistory(f.Ctx, f.As(email), id)
	if approvals.ErrorCode(err) == approvals.ENOTFOUND {
		if want := fmt.Sprintf("no draft %d in workspace", id); !strings.Contains(err.Error(), want) {
			f.T.Fatalf("refusal %q does not read as a missing draft", err)
		}
		return s
	}
	f.OK(err)
	s.Visible = true
	for _, r := range h.Revisions {
		s.Revisions = append(s.Revisions, r.Number)
	}
	s.Current = h.Draft.Current.Number
	for _, x := range h.Decisions {
		s.Decisions = append(s.Decisions, fmt.Sprintf("%s %s r%d", x.Tier, x.Verdict, x.Revision))
	}
	for _, c := range h.Comments {
		s.Comments = append(s.Comments, c.Text)
	}
	var added []string
	for _, op := range h.Draft.Changes {
		if op.Op == "+" && strings.TrimSpace(op.Text) != "" {
			added = append(added, strings.TrimSpace(op.Text))
		}
	}
	s.Changed = strings.Join(added, " ")
	for _, t := range h.Draft.Tiers {
		s.Tiers = append(s.Tiers, t.Tier)
	}
	return s
}

// clientRejectedThenRevised: revision 1 passes internal review, the client
// rejects it, revision 2 is in internal review.
func (f *fixture) clientRejectedThenRevised() *approvals.DraftView {
	f.T.Helper()
	v := f.Submit("ed@acme.test", "both", "one two three")
	f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), v.ID))
	f.Must(f.Svc.Reject(f.Ctx, f.As("c1@client.test"), v.ID, "client: say four"))
	f.Must(f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: "one two secret"}))
	return v
}

// TestAudiences is who sees what: each role × how far a draft got × each
// piece of it (the draft, its revisions, decisions, comments, the diff and
// the tiers), through Show, History and List.
func TestAudiences(t *testing.T) {
	clientTier := []approvals.Tier{approvals.TierClient}
	bothTiers := []approvals.Tier{approvals.TierInternal, approvals.TierClient}
	hidden := seen{}

	tests := []struct {
		name   string
		setup  func(f *fixture) int64
		staff  seen // owner, admin, admin2 and the author ed alike
		client seen // c1 (the client approver) and c3 (view only) alike
	}{
		{
			name:   "internal pending",
			setup:  func(f *fixture) int64 { return f.Submit("ed@acme.test", "both", "v1 text").ID },
			staff:  seen{Visible: true, Listed: true, Revisions: []int{1}, Current: 1, Tiers: bothTiers},
			client: hidden,
		},
		{
			name: "internal rejected",
			setup: func(f *fixture) int64 {
				v := f.Submit("ed@acme.test", "both", "v1 text")
				f.Must(f.Svc.Reject(f.Ctx, f.As("admin@acme.test"), v.ID, "internal: the tone is off"))
				return v.ID
			},
			staff:  seen{Visible: true, Listed: true, Revisions: []int{1}, Current: 1, Decisions: []string{"internal reject r1"}, Comments: nil, Tiers: bothTiers},
			client: hidden,
		},
		{
			name: "internal withdrawn",
			setup: func(f *fixture) int64 {
				v := f.Submit("ed@acme.test", "both", "v1 text")
				f.Must(f.Svc.AddComment(f.Ctx, f.As("admin@acme.test"), v.ID, approvals.CommentInput{Text: "staff note", Internal: true}))
				f.Must(f.Svc.Withdraw(f.Ctx, f.As("ed@acme.test"), v.ID))
				return v.ID
			},
			staff:  seen{Visible: true, Listed: true, Revisions: []int{1}, Current: 1, Comments: []string{"staff note"}, Tiers: bothTiers},
			client: hidden,
		},
		{
			name: "internal expired",
			setup: func(f *fixture) int64 {
				exp := approvals.DeadlineExpire
				f.set("both", approvals.AccountSettings{DeadlinePolicy: &exp, DecideWithin: ptr(time.Hour), MinReview: ptr(time.Duration(0))})
				v := f.Submit("ed@acme.test", "both", "v1 text")
				f.Now = f.Now.Add(2 * time.Hour)
				if n := f.sweep(1); n != 1 {
					f.T.Fatalf("sweep acted %d times", n)
				}
				return v.ID
			},
			staff:  seen{Visible: true, Listed: true, Revisions: []int{1}, Current: 1, Tiers: bothTiers},
			client: hidden,
		},
		{
			name: "client pending",
			setup: func(f *fixture) int64 {
				v := f.Submit("ed@acme.test", "both", "v1 text")
				f.Must(f.Svc.AddComment(f.Ctx, f.As("admin@acme.test"), v.ID, approvals.CommentInput{Text: "staff note", Internal: true}))
				f.Must(f.Svc.AddComment(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.CommentInput{Text: "for everyone"}))
				f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), v.ID))
				return v.ID
			},
			staff: seen{Visible: true, Listed: true, Revisions: []int{1}, Current: 1, Decisions: []string{"internal approve r1"},
				Comments: []string{"staff note", "for everyone"}, Tiers: bothTiers},
			client: seen{Visible: true, Listed: true, Revisions: []int{1}, Current: 1, Comments: []string{"for everyone"}, Tiers: clientTier},
		},
		{
			// Revision 1 never reached clients; revision 2 is the first
			// they see, so there is no diff for them.
			name: "client pending after an internal round",
			setup: func(f *fixture) int64 {
				v := f.Submit("ed@acme.test", "both", "v1 text")
				f.Must(f.Svc.Reject(f.Ctx, f.As("admin@acme.test"), v.ID, "internal: the tone is off"))
				f.Must(f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: "v2 calmer text"}))
				f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), v.ID))
				return v.ID
			},
			staff: seen{Visible: true, Listed: true, Revisions: []int{1, 2}, Current: 2, Changed: "v2 calmer",
				Decisions: []string{"internal reject r1", "internal approve r2"}, Tiers: bothTiers},
			client: seen{Visible: true, Listed: true, Revisions: []int{2}, Current: 2, Tiers: clientTier},
		},
		{
			// Clients saw revisions 1 and 3; revision 2 was rejected
			// internally. Their diff is 1 → 3.
			name: "client pending, diff between the revisions clients saw",
			setup: func(f *fixture) int64 {
				v := f.clientRejectedThenRevised()
				f.Must(f.Svc.Reject(f.Ctx, f.As("admin@acme.test"), v.ID, "internal: not secret"))
				f.Must(f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: "one two four"}))
				f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), v.ID))
				return v.ID
			},
			staff: seen{Visible: true, Listed: true, Revisions: []int{1, 2, 3}, Current: 3, Changed: "four",
				Decisions: []string{"internal approve r1", "client reject r1", "internal reject r2", "internal approve r3"}, Tiers: bothTiers},
			client: seen{Visible: true, Listed: true, Revisions: []int{1, 3}, Current: 3, Changed: "four",
				Decisions: []string{"client reject r1"}, Tiers: clientTier},
		},
		{
			// A revision in internal review: clients keep seeing the one
			// they had.
			name: "revised after the client rejected, in internal review",
			setup: func(f *fixture) int64 {
				return f.clientRejectedThenRevised().ID
			},
			staff: seen{Visible: true, Listed: true, Revisions: []int{1, 2}, Current: 2, Changed: "secret",
				Decisions: []string{"internal approve r1", "client reject r1"}, Tiers: bothTiers},
			client: seen{Visible: true, Listed: true, Revisions: []int{1}, Current: 1,
				Decisions: []string{"client reject r1"}, Tiers: clientTier},
		},
		{
			name: "approved",
			setup: func(f *fixture) int64 {
				v := f.Submit("ed@acme.test", "both", "v1 text")
				f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), v.ID))
				f.Must(f.Svc.Approve(f.Ctx, f.As("c1@client.test"), v.ID))
				return v.ID
			},
			staff: seen{Visible: true, Listed: true, Revisions: []int{1}, Current: 1,
				Decisions: []string{"internal approve r1", "client approve r1"}, Tiers: bothTiers},
			client: seen{Visible: true, Listed: true, Revisions: []int{1}, Current: 1, Decisions: []string{"client approve r1"}, Tiers: clientTier},
		},
	}
	staff := []string{"owner@acme.test", "admin@acme.test", "admin2@acme.test", "ed@acme.test"}
	clients := []string{"c1@client.test", "c3@client.test"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := standard(t)
			f.OK(f.Svc.Grant(f.Ctx, f.Op(), "both", approvals.GrantTarget{Email: "c3@client.test"}, approvals.NewCaps(approvals.CapView)))
			id := tt.setup(f)
			for _, email := range staff {
				if diff := cmp.Diff(tt.staff, f.seenBy(email, id)); diff != "" {
					t.Errorf("%s (-want +got)\n%s", email, diff)
				}
			}
			for _, email := range clients {
				if diff := cmp.Diff(tt.client, f.seenBy(email, id)); diff != "" {
					t.Errorf("%s (-want +got)\n%s", email, diff)
				}
			}
		})
	}
}

// TestActingNeedsSeeing: a client who may create on an account still acts
// on no draft they may not see, and every refusal reads as "not found".
func TestActingNeedsSeeing(t *testing.T) {
	f := standard(t)
	f.OK(f.Svc.Grant(f.Ctx, f.Op(), "both", approvals.GrantTarget{Email: "c2@client.test"}, approvals.NewCaps(approvals.CapComment, approvals.CapCreate)))
	v := f.Submit("ed@acme.test", "both", "secret launch text")
	c2 := f.As("c2@client.test")
	actions := []struct {
		name string
		do   func() error
	}{
		{"show", func() error { _, err := f.Svc.Show(f.Ctx, c2, v.ID); return err }},
		{"history", func() error { _, err := f.Svc.DraftHistory(f.Ctx, c2, v.ID); return err }},
		{"comment", func() error {
			_, err := f.Svc.AddComment(f.Ctx, c2, v.ID, approvals.CommentInput{Text: "hi"})
			return err
		}},
		{"revise", func() error {
			_, err := f.Svc.Revise(f.Ctx, c2, v.ID, approvals.DraftInput{Text: "mine now"})
			return err
		}},
		{"withdraw", func() error { _, err := f.Svc.Withdraw(f.Ctx, c2, v.ID); return err }},
		{"approve", func() error { _, err := f.Svc.Approve(f.Ctx, c2, v.ID); return err }},
		{"reject", func() error { _, err := f.Svc.Reject(f.Ctx, c2, v.ID, "no"); return err }},
		{"new link", func() error { _, err := f.Svc.RequestNewLink(f.Ctx, c2, v.ID, approvals.TierClient); return err }},
	}
	missing := fmt.Sprintf("no draft %d in workspace \"acme\"", v.ID+1000)
	_, err := f.Svc.Withdraw(f.Ctx, c2, v.ID+1000)
	if approvals.ErrorMessage(err) != missing {
		t.Fatalf("missing draft: %v", err)
	}
	for _, tt := range actions {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			wantCode(t, err, approvals.ENOTFOUND)
			want := fmt.Sprintf("no draft %d in workspace \"acme\"", v.ID)
			if msg := approvals.ErrorMessage(err); msg != want || strings.Contains(msg, "secret") {
				t.Errorf("message %q, want %q", msg, want)
			}
		})
	}
	if s := f.State(v.ID); s != approvals.StatePendingInternal {
		t.Fatalf("state = %s", s)
	}
	// Every refused attempt is in the audit log.
	if n := len(f.audit(v.ID, "draft.withdraw")); n != 1 {
		t.Errorf("%d refused withdrawals audited, want 1", n)
	}
	// Only staff mark a comment internal.
	f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), v.ID))
	_, err = f.Svc.AddComment(f.Ctx, f.As("c1@client.test"), v.ID, approvals.CommentInput{Text: "psst", Internal: true})
	wantCode(t, err, approvals.EINVALID, "only staff")
}

// TestNobodyDecidesOnWordsTheyWrote: the author and every reviser, whatever
// their role, in every tier.
func TestNobodyDecidesOnWordsTheyWrote(t *testing.T) {
	f := standard(t)
	// admin revises ed's draft: admin is now a writer and may not approve
	// the internal tier; admin2 may.
	f.OK(f.Svc.AddApprover(f.Ctx, f.Op(), "both", "admin2@acme.test", approvals.TierInternal))
	v := f.Submit("ed@acme.test", "both", "ed's words")
	f.Must(f.Svc.Revise(f.Ctx, f.As("admin@acme.test"), v.ID, approvals.DraftInput{Text: "admin's words"}))
	_, err := f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), v.ID)
	wantCode(t, err, approvals.EUNAUTHORIZED, "nobody decides on words they wrote")
	// Nor is the reviser asked: admin was asked for revision 1 only,
	// admin2 for both.
	want := []string{"email admin2@acme.test", "email admin2@acme.test", "email admin@acme.test"}
	if diff := cmp.Diff(want, f.sent(v.ID, approvals.EventApprovalRequested)); diff != "" {
		t.Errorf("requests (-want +got)\n%s", diff)
	}
	f.Must(f.Svc.Approve(f.Ctx, f.As("admin2@acme.test"), v.ID))
	if s := f.State(v.ID); s != approvals.StatePendingClient {
		t.Fatalf("state = %s", s)
	}

	// The only internal approver left is a writer: the revision is refused.
	f.OK(f.Svc.RemoveApprover(f.Ctx, f.Op(), "both", "admin2@acme.test", approvals.TierInternal))
	f.Must(f.Svc.Reject(f.Ctx, f.As("c1@client.test"), v.ID, "again"))
	_, err = f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: "third"})
	wantCode(t, err, approvals.EINVALID, "no internal approver who did not write this draft")
	if s := f.State(v.ID); s != approvals.StateRejected {
		t.Fatalf("state = %s", s)
	}
}

// TestReviewWindow: a deadline policy acts on a tier only once its
// approvers were asked and had the account's review window; a schedule
// that leaves less is said at submission.
func TestReviewWindow(t *testing.T) {
	f := standard(t)
	auto := approvals.DeadlineAutoApprove
	f.set("both", approvals.AccountSettings{DeadlinePolicy: &auto})
	start := f.Now
	at := start.Add(2 * time.Minute)
	v, err := f.Svc.Submit(f.Ctx, f.As("ed@acme.test"), approvals.DraftInput{Account: "both", Text: "rushed", ScheduledAt: &at})
	f.OK(err)
	if len(v.Notes) != 2 || !strings.Contains(v.Notes[0], "the internal tier has until") ||
		!strings.Contains(v.Notes[0], "auto-approve will not act before 2026-11-25 16:00 UTC") {
		t.Fatalf("notes = %q", v.Notes)
	}
	for _, after := range []time.Duration{time.Minute, 2 * time.Minute, time.Hour, 4*time.Hour - time.Second} {
		f.Now = start.Add(after)
		if n := f.sweep(3); n != 0 {
			t.Fatalf("after %s: the policy acted %d times", after, n)
		}
	}
	// At the window's end the internal tier is approved by the policy and
	// the client tier asked; clients get their own window.
	f.Now = start.Add(4 * time.Hour)
	if n := f.sweep(3); n != 1 {
		t.Fatalf("at the window: %d actions", n)
	}
	if s := f.State(v.ID); s != approvals.StatePendingClient {
		t.Fatalf("state = %s", s)
	}
	f.Now = start.Add(8*time.Hour - time.Second)
	if n := f.sweep(3); n != 0 {
		t.Fatalf("client tier acted on before its window: %d", n)
	}
	f.Now = start.Add(8 * time.Hour)
	if n := f.sweep(3); n != 1 {
		t.Fatalf("client window: %d actions", n)
	}
	if s := f.State(v.ID); s != approvals.StateApproved {
		t.Fatalf("state = %s", s)
	}

	// A revision restarts the window: it is a text nobody saw yet.
	exp := approvals.DeadlineExpire
	f.set("client", approvals.AccountSettings{DeadlinePolicy: &exp, DecideWithin: ptr(time.Hour)})
	d := f.Submit("ed@acme.test", "client", "first")
	f.Must(f.Svc.Reject(f.Ctx, f.As("c1@client.test"), d.ID, "redo"))
	f.Now = f.Now.Add(5 * time.Hour)
	f.Must(f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), d.ID, approvals.DraftInput{Text: "second"}))
	f.Now = f.Now.Add(time.Hour)
	if n := f.sweep(3); n != 0 {
		t.Fatalf("revision expired %d times an hour after it was asked", n)
	}
	f.Now = f.Now.Add(3 * time.Hour)
	if n := f.sweep(3); n != 1 {
		t.Fatalf("after the window: %d actions", n)
	}
}

// TestClientsReadNoInternalOnlyHandoffs: a draft approved by the internal
// tier alone never reached clients, so a client's API token does not list
// it among the approved drafts either.
func TestClientsReadNoInternalOnlyHandoffs(t *testing.T) {
	f := standard(t)
	f.set("both", approvals.AccountSettings{NeedsClientApproval: ptr(false)})
	v := f.Submit("ed@acme.test", "both", "internal only")
	f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), v.ID))
	if s := f.State(v.ID); s != approvals.StateApproved {
		t.Fatalf("state = %s", s)
	}
	for _, tt := range []struct {
		email string
		want  int
	}{{"admin2@acme.test", 1}, {"c1@client.test", 0}} {
		page, err := f.Svc.ApprovedDrafts(f.Ctx, f.As(tt.email), approvals.HandoffQuery{})
		f.OK(err)
		if len(page.Drafts) != tt.want {
			t.Errorf("%s lists %d approved drafts, want %d", tt.email, len(page.Drafts), tt.want)
		}
		if page.NextCursor == "" {
			t.Errorf("%s: no cursor", tt.email)
		}
		_, err = f.Svc.DraftHandoff(f.Ctx, f.As(tt.email), v.ID)
		if tt.want == 0 {
			wantCode(t, err, approvals.ENOTFOUND)
		} else {
			f.OK(err)
		}
	}
}

// TestStaleDecisionNamesNoHiddenRevision: a client deciding on the
// revision they were shown, after it went back into internal review, is
// told a new version is coming, not the number of one they may not see.
func TestStaleDecisionNamesNoHiddenRevision(t *testing.T) {
	f := standard(t)
	v := f.clientRejectedThenRevised() // revision 2 in internal review
	f.OK(f.Svc.AddApprover(f.Ctx, f.Op(), "both", "c2@client.test", approvals.TierClient))
	_, err := f.Svc.Decide(f.Ctx, f.As("c2@client.test"), approvals.DecideInput{DraftID: v.ID, Revision: 1, Tier: approvals.TierClient, Verdict: approvals.VerdictApprove})
	var e *approvals.Error
	if !errors.As(err, &e) || e.Reason != approvals.ReasonRevised || e.Revision != 0 || strings.Contains(e.Message, "revision 2") {
		t.Fatalf("error = %#v", err)
	}
	// Staff are told which revision is current.
	f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), v.ID))
	_, err = f.Svc.Decide(f.Ctx, f.As("c2@client.test"), approvals.DecideInput{DraftID: v.ID, Revision: 1, Tier: approvals.TierClient, Verdict: approvals.VerdictApprove})
	wantCode(t, err, approvals.ECONFLICT, "revision 2 is current")
}

// TestClientViewOmitsStaffSettings: a client's view of a draft names its
// account but carries none of the staff's settings for it.
func TestClientViewOmitsStaffSettings(t *testing.T) {
	f := standard(t)
	exp := approvals.DeadlineExpire
	f.set("both", approvals.AccountSettings{DeadlinePolicy: &exp, DecideWithin: ptr(time.Hour), BackupApprover: ptr("admin2@acme.test"),
		Network: ptr(approvals.NetworkInstagram)})
	v := f.Submit("ed@acme.test", "both", "text")
	f.Must(f.Svc.Approve(f.Ctx, f.As("admin@acme.test"), v.ID))
	staff, err := f.Svc.Show(f.Ctx, f.As("ed@acme.test"), v.ID)
	f.OK(err)
	client, err := f.Svc.Show(f.Ctx, f.As("c1@client.test"), v.ID)
	f.OK(err)
	if staff.Account.DeadlinePolicy != exp || staff.Account.BackupApproverID == 0 {
		t.Fatalf("staff view lost the settings: %+v", staff.Account)
	}
	a := client.Account
	if a.Handle != "both" || a.Network != approvals.NetworkInstagram || a.DeadlinePolicy != "" || a.BackupApproverID != 0 || a.NeedsInternalApproval || a.DecideWithin != 0 || a.MinReview != 0 {
		t.Fatalf("client view of the account: %+v", a)
	}
}

// TestClientJSONNamesNoHiddenRevision: the JSON a client reads of a draft
// whose newer revision is in internal review (the API, the CLI with --as)
// gives the revision they saw, not the draft's, and no staff tier.
func TestClientJSONNamesNoHiddenRevision(t *testing.T) {
	f := standard(t)
	v := f.clientRejectedThenRevised() // revision 2 in internal review
	_, err := f.Svc.SetMember(f.Ctx, f.Op(), "ed@acme.test", approvals.MemberSettings{
		Notify: &approvals.NotifySettings{Mode: approvals.NotifyDigest, DigestAt: "08:00", TimeZone: "Europe/Berlin"}})
	f.OK(err)
	decode := func(who string) map[string]any {
		t.Helper()
		view, err := f.Svc.Show(f.Ctx, f.As(who), v.ID)
		f.OK(err)
		b, err := json.Marshal(view)
		f.OK(err)
		if who != "ed@acme.test" && strings.Contains(string(b), "secret") {
			t.Fatalf("%s reads the hidden revision: %s", who, b)
		}
		var m map[string]any
		f.OK(json.Unmarshal(b, &m))
		return m
	}
	client := decode("c1@client.test")
	if client["revision"] != float64(1) || client["current_tier"] != nil || client["tiers"] != nil {
		t.Fatalf("client JSON: revision %v, current_tier %v, tiers %v", client["revision"], client["current_tier"], client["tiers"])
	}
	if author, _ := client["author"].(map[string]any); (author["notify"] != nil && author["notify"] != "") || author["digest_at"] != nil || author["email"] != "ed@acme.test" {
		t.Fatalf("client JSON names the author as %v: want who they are, not their settings", author)
	}
	staff := decode("ed@acme.test")
	if staff["revision"] != float64(2) || staff["current_tier"] != "internal" {
		t.Fatalf("staff JSON: revision %v, current_tier %v", staff["revision"], staff["current_tier"])
	}
}

// TestReviewWindowWaitsForTheDigest: a tier whose approver reads requests
// in a daily digest is asked at that digest, and the deadline policy waits
// the review window from then, not from when the tier was entered.
func TestReviewWindowWaitsForTheDigest(t *testing.T) {
	f := standard(t)
	auto := approvals.DeadlineAutoApprove
	f.set("client", approvals.AccountSettings{DeadlinePolicy: &auto, DecideWithin: ptr(time.Hour)})
	for _, email := range []string{"c1@client.test", "c2@client.test"} {
		_, err := f.Svc.SetMember(f.Ctx, f.Op(), email, approvals.MemberSettings{
			Notify: &approvals.NotifySettings{Mode: approvals.NotifyDigest, DigestAt: "20:00", TimeZone: "UTC"}})
		f.OK(err)
	}
	start := f.Now // 12:00 UTC: the digest is at 20:00, the window ends at 24:00
	v := f.Submit("ed@acme.test", "client", "waits for the digest")
	for _, after := range []time.Duration{time.Hour, 4 * time.Hour, 8 * time.Hour, 12*time.Hour - time.Second} {
		f.Now = start.Add(after)
		if n := f.sweep(3); n != 0 {
			t.Fatalf("after %s: the policy acted %d times before the digest reader's window ended", after, n)
		}
	}
	f.Now = start.Add(12 * time.Hour)
	if n := f.sweep(3); n != 1 {
		t.Fatalf("at the window's end: %d actions", n)
	}
	if s := f.State(v.ID); s != approvals.StateApproved {
		t.Fatalf("state = %s", s)
	}
}
