package mailer_test

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/mailpit"
	"github.com/signoff-app/signoff/mailer"
)

// Trust through email: what clients read in their emails and
// on link pages, who may decide by link, and how the link page words the
// state for an internal approver.

// Internal approvers added by withInternal.
const (
	admin1 = "ada@agency.test"
	admin2 = "abe@agency.test"
)

// withInternal adds two admins as internal approvers (Ada may create, so
// she can revise) and turns internal approval on with the rule; the client
// tier gets clientRule.
func (f *fixture) withInternal(internalRule, clientRule approvals.Rule) {
	f.t.Helper()
	op := approvals.Operator(f.ws)
	for email, p := range map[string]struct{ name, caps string }{admin1: {"Ada Admin", "view,comment,create"}, admin2: {"Abe Admin", "view,comment"}} {
		m, err := f.svc.AddMember(f.ctx, op, email, p.name, approvals.RoleAdmin)
		f.OK(err)
		f.ids[email] = m.ID
		f.grant(email, p.caps)
		f.OK(f.svc.AddApprover(f.ctx, op, handle, email, approvals.TierInternal))
	}
	on := true
	f.Must(f.svc.SetAccount(f.ctx, op, handle, approvals.AccountSettings{NeedsInternalApproval: &on, InternalRule: &internalRule, ClientRule: &clientRule}))
}

// linkFor mints the URL of an emailed link for any tier, as the sender would.
func (f *fixture) linkFor(draftID int64, rev int, tier approvals.Tier, email string, action approvals.Verdict) string {
	f.t.Helper()
	tok, err := f.codec.Encode(mailer.Link{WorkspaceID: f.wsID, DraftID: draftID, Revision: rev, Tier: tier, MemberID: f.ids[email], Action: action})
	f.OK(err)
	return f.srv.URL + "/l/" + tok
}

// post decides by link as a browser does: GET the page, then POST its form.
func post(t *testing.T, u string, verdict approvals.Verdict, comment string) response {
	t.Helper()
	page := do(t, http.MethodGet, u, nil)
	if page.status != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", u, page.status, page.body)
	}
	form := url.Values{"verdict": {string(verdict)}, "csrf": {csrfOf(t, page.body, string(verdict)+"-form")}}
	if comment != "" {
		form.Set("comment", comment)
	}
	return do(t, http.MethodPost, u, form)
}

// recipients lists who got emails, sorted, as "address subject".
func recipients(mp *mailpit.Server) []string {
	out := []string{}
	for _, s := range mp.Messages() {
		for _, to := range s.To {
			out = append(out, to.Address+" "+s.Subject)
		}
	}
	sort.Strings(out)
	return out
}

// Finding 4: after an internal reject, an internal note, a revision and an
// internal approval, the clients' approval emails and link pages carry the
// client revision alone: no internal comment, no internal decision, no
// note on a revision they never saw, and no "what changed" against it. A
// later round shows the diff between the revisions clients saw and the
// client's own comment. The internal approvers read everything.
func TestTrustClientEmailsCarryNoInternalMaterial(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	f.withInternal(approvals.RuleAny, approvals.RuleAny)

	d := f.submit("SEEN-V1 loud copy!!!")
	f.dispatch()
	want := []string{
		admin2 + " Approval needed: Acme Instagram post (revision 1)",
		admin1 + " Approval needed: Acme Instagram post (revision 1)",
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, recipients(mp)); diff != "" {
		t.Fatalf("the internal request went to (-want +got):\n%s", diff)
	}
	f.Must(f.svc.Reject(f.ctx, f.as(admin1), d.ID, "INTERNAL-REJECT the client hates loud"))
	f.Must(f.svc.AddComment(f.ctx, f.as(author), d.ID, approvals.CommentInput{Text: "INTERNAL-NOTE they pay late", Internal: true}))
	f.Must(f.svc.AddComment(f.ctx, f.as(author), d.ID, approvals.CommentInput{Text: "STAFF-R1 plain note on revision 1"}))
	f.Must(f.svc.Revise(f.ctx, f.as(author), d.ID, approvals.DraftInput{Text: "SEEN-V2 calm copy."}))
	f.Must(f.svc.Approve(f.ctx, f.as(admin2), d.ID))
	f.Must(f.svc.AddComment(f.ctx, f.as(author), d.ID, approvals.CommentInput{Text: "INTERNAL-NOTE2 after the approval", Internal: true}))
	f.dispatch()

	secrets := []string{"SEEN-V1", "INTERNAL-", "STAFF-R1", "Ada Admin", "Abe Admin", ", internal"}
	firstRound := append(secrets[:len(secrets):len(secrets)], "What changed since the last round", "again")
	check := func(what, body string, present ...string) {
		t.Helper()
		absent := secrets
		if strings.Contains(what, "first") {
			absent = firstRound
		}
		for _, s := range absent {
			if strings.Contains(body, s) {
				t.Errorf("%s carries %q:\n%s", what, s, body)
			}
		}
		for _, s := range present {
			if !strings.Contains(body, s) {
				t.Errorf("%s lacks %q:\n%s", what, s, body)
			}
		}
	}
	for _, to := range []string{client1, client2} {
		msg := mp.MessageTo(to, "Approval needed: Acme Instagram post (revision 2)")
		check("the first email to "+to+" (text)", msg.Text, "SEEN-V2 calm copy.")
		check("the first email to "+to+" (HTML)", msg.HTML, "SEEN-V2 calm copy.")
		approve, reject := linksIn(t, msg.Text)
		for _, u := range []string{approve, reject} {
			r := do(t, http.MethodGet, u, nil)
			if r.status != http.StatusOK {
				t.Fatalf("link page: %d\n%s", r.status, r.body)
			}
			check("the first link page of "+to, r.body, "SEEN-V2 calm copy.")
		}
	}

	// Round two: Carla rejects by link, the author revises, Ada approves.
	_, reject := linksIn(t, mp.MessageTo(client1, "Approval needed: Acme Instagram post (revision 2)").Text)
	if r := post(t, reject, approvals.VerdictReject, "CLIENT-R2 make it shorter"); r.status != http.StatusOK {
		t.Fatalf("reject by link: %d\n%s", r.status, r.body)
	}
	f.Must(f.svc.Revise(f.ctx, f.as(author), d.ID, approvals.DraftInput{Text: "SEEN-V3 short copy."}))
	f.Must(f.svc.AddComment(f.ctx, f.as(author), d.ID, approvals.CommentInput{Text: "INTERNAL-NOTE3 shortened", Internal: true}))
	f.dispatch() // the internal approvers are asked about revision 3
	f.Must(f.svc.Approve(f.ctx, f.as(admin1), d.ID))
	f.dispatch()
	for _, to := range []string{client1, client2} {
		msg := mp.MessageTo(to, "Approval needed again: Acme Instagram post (revision 3)")
		check("the round-2 email to "+to, msg.Text, "SEEN-V3 short copy.", "What changed since the last round", "[-calm-]", "{+short+}", "CLIENT-R2 make it shorter")
		approve, _ := linksIn(t, msg.Text)
		r := do(t, http.MethodGet, approve, nil)
		check("the round-2 link page of "+to, r.body, "SEEN-V3 short copy.", "What changed since the last round", "CLIENT-R2 make it shorter")
		if strings.Contains(r.body, "loud") {
			t.Errorf("the round-2 link page diffs against revision 1:\n%s", r.body)
		}
	}
	// Staff read the whole story.
	msg := mp.MessageTo(admin1, "Approval needed again: Acme Instagram post (revision 3)")
	for _, s := range []string{"INTERNAL-REJECT the client hates loud", "INTERNAL-NOTE3 shortened", "CLIENT-R2 make it shorter"} {
		if !strings.Contains(msg.Text, s) {
			t.Errorf("the internal approver's email lacks %q:\n%s", s, msg.Text)
		}
	}
}

// Finding 2 by email: an admin who approves internally revises the
// draft; the link minted for her before, and one for the new revision,
// cannot decide, and she is not asked about the new revision at all.
func TestTrustReviserCannotDecideByLink(t *testing.T) {
	f := newFixture(t, nil)
	f.withInternal(approvals.RuleAny, approvals.RuleAny)
	d := f.submit("Ed's words")
	old := f.linkFor(d.ID, 1, approvals.TierInternal, admin1, approvals.VerdictApprove)
	page := do(t, http.MethodGet, old, nil)
	if page.status != http.StatusOK {
		t.Fatalf("before the revision: %d\n%s", page.status, page.body)
	}
	csrf := csrfOf(t, page.body, "approve-form")

	f.Must(f.svc.Revise(f.ctx, f.as(admin1), d.ID, approvals.DraftInput{Text: "ADA-WORDS her own"}))
	var asked []string
	for _, m := range f.outbox() {
		if m.Payload.Event == approvals.EventApprovalRequested && m.Payload.Revision == 2 && m.Channel == approvals.ChannelEmail {
			asked = append(asked, m.Payload.Target)
		}
	}
	if diff := cmp.Diff([]string{admin2}, asked); diff != "" {
		t.Errorf("asked about revision 2 (-want +got):\n%s", diff)
	}
	fresh := f.linkFor(d.ID, 2, approvals.TierInternal, admin1, approvals.VerdictApprove)
	before := f.snapshot(d.ID)
	for _, tt := range []struct {
		name string
		resp func() response
	}{
		{"GET the old link", func() response { return do(t, http.MethodGet, old, nil) }},
		{"POST the old link's form", func() response {
			return do(t, http.MethodPost, old, url.Values{"verdict": {"approve"}, "csrf": {csrf}})
		}},
		{"GET a link for the new revision", func() response { return do(t, http.MethodGet, fresh, nil) }},
		{"reject by the old link", func() response {
			return do(t, http.MethodPost, old, url.Values{"verdict": {"reject"}, "csrf": {csrf}, "comment": {"not mine"}})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.resp()
			if r.status != http.StatusForbidden || !strings.Contains(r.body, "nobody decides on words they wrote") {
				t.Errorf("status %d, want 403 saying nobody decides on words they wrote:\n%s", r.status, r.body)
			}
			if strings.Contains(r.body, `id="approve-form"`) {
				t.Errorf("the page offers the reviser a form")
			}
		})
	}
	if diff := cmp.Diff(before, f.snapshot(d.ID)); diff != "" {
		t.Errorf("the reviser's links changed the draft (-before +after):\n%s", diff)
	}
	// The other internal approver decides.
	r := post(t, f.linkFor(d.ID, 2, approvals.TierInternal, admin2, approvals.VerdictApprove), approvals.VerdictApprove, "")
	if r.status != http.StatusOK || !strings.Contains(r.body, "Thank you: approved") {
		t.Fatalf("the other approver: %d\n%s", r.status, r.body)
	}
}

// Finding 8: the outcome page words the state for the approver's tier.
// With "all" in both tiers, the first internal approver is told the
// internal tier waits for the others; the last hands on to the clients,
// whose first approver is told the client tier waits.
func TestTrustLinkPageWordsTheTier(t *testing.T) {
	f := newFixture(t, nil)
	f.withInternal(approvals.RuleAll, approvals.RuleAll)
	d := f.submit("All hands")
	steps := []struct {
		who        string
		tier       approvals.Tier
		want, not  string
		finalState approvals.State
	}{
		{admin1, approvals.TierInternal, "It is now waiting for the other internal approvers.", "client approvers", approvals.StatePendingInternal},
		{admin2, approvals.TierInternal, "It is now waiting for client approval.", "waiting for the other", approvals.StatePendingClient},
		{client1, approvals.TierClient, "It is now waiting for the other client approvers.", "internal", approvals.StatePendingClient},
		{client2, approvals.TierClient, "It is now approved.", "waiting", approvals.StateApproved},
	}
	for _, s := range steps {
		r := post(t, f.linkFor(d.ID, 1, s.tier, s.who, approvals.VerdictApprove), approvals.VerdictApprove, "")
		if r.status != http.StatusOK || !strings.Contains(r.body, s.want) || strings.Contains(r.body, s.not) {
			t.Errorf("%s approves by link: status %d, want %q and not %q:\n%s", s.who, r.status, s.want, s.not, r.body)
		}
		if got := f.snapshot(d.ID).State; got != s.finalState {
			t.Fatalf("after %s: %s, want %s", s.who, got, s.finalState)
		}
	}
}
