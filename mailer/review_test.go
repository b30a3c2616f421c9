package mailer_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/mailer"
)

// reviewURL mints the review link of a member of the fixture.
func (f *fixture) reviewURL(email string) string {
	f.t.Helper()
	tok, err := f.codec.EncodeReview(mailer.ReviewLink{WorkspaceID: f.wsID, MemberID: f.ids[email]})
	f.OK(err)
	return f.srv.URL + "/r/" + tok
}

// fieldOf returns the value of the named input of the form with the id.
func fieldOf(t *testing.T, page, formID, name string) string {
	t.Helper()
	i := strings.Index(page, `id="`+formID+`"`)
	if i < 0 {
		t.Fatalf("no form %q in page:\n%s", formID, page)
	}
	rest := page[i:]
	if j := strings.Index(rest, "</form>"); j >= 0 {
		rest = rest[:j]
	}
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(rest)
	if m == nil {
		t.Fatalf("no field %q in form %q", name, formID)
	}
	return m[1]
}

// formOf returns every hidden field of the form with the id.
func formOf(t *testing.T, page, formID string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, name := range []string{"csrf", "draft", "revision", "tier", "verdict", "items", "seal"} {
		if strings.Contains(formSlice(page, formID), `name="`+name+`"`) {
			v.Set(name, fieldOf(t, page, formID, name))
		}
	}
	return v
}

func formSlice(page, formID string) string {
	i := strings.Index(page, `id="`+formID+`"`)
	if i < 0 {
		return ""
	}
	rest := page[i:]
	if j := strings.Index(rest, "</form>"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// decideForm returns the form of one draft on a review page, as its
// Approve or Reject button posts it.
func decideForm(t *testing.T, page string, id int64, verdict string) url.Values {
	t.Helper()
	v := formOf(t, page, "form-"+itoa(id))
	v.Set("verdict", verdict)
	return v
}

// staffAccount adds an account that needs internal approval by sam (an
// editor) and then client approval by client1, and returns its handle.
func (f *fixture) staffAccount() string {
	f.t.Helper()
	op := approvals.Operator(f.ws)
	const h, sam = "acme-fb", "sam@agency.test"
	m, err := f.svc.AddMember(f.ctx, op, sam, "Sam Staff", approvals.RoleAdmin)
	f.OK(err)
	f.ids[sam] = m.ID
	f.Must(f.svc.AddAccount(f.ctx, op, h, "Acme Facebook"))
	for email, caps := range map[string]string{author: "view,comment,create", sam: "view,comment", client1: "view,comment"} {
		c, err := approvals.ParseCaps(caps)
		f.OK(err)
		f.OK(f.svc.Grant(f.ctx, op, h, approvals.GrantTarget{Email: email}, c))
	}
	f.OK(f.svc.AddApprover(f.ctx, op, h, sam, approvals.TierInternal))
	f.OK(f.svc.AddApprover(f.ctx, op, h, client1, approvals.TierClient))
	on, any := true, approvals.RuleAny
	f.Must(f.svc.SetAccount(f.ctx, op, h, approvals.AccountSettings{NeedsInternalApproval: &on, NeedsClientApproval: &on, InternalRule: &any, ClientRule: &any}))
	return h
}

// otherTenantDraft creates a second workspace with a draft waiting on its
// own client, and returns the draft.
func (f *fixture) otherTenantDraft() *approvals.DraftView {
	f.t.Helper()
	op := approvals.Operator("rival")
	f.Must(f.svc.CreateWorkspace(f.ctx, op, "rival", "Rival Agency"))
	f.Must(f.svc.AddMember(f.ctx, op, "eve@rival.test", "Eve", approvals.RoleEditor))
	f.Must(f.svc.AddMember(f.ctx, op, "rita@rival.test", "Rita", approvals.RoleClient))
	f.Must(f.svc.AddAccount(f.ctx, op, "rival-ig", "Rival IG"))
	for email, caps := range map[string]string{"eve@rival.test": "view,comment,create", "rita@rival.test": "view,comment"} {
		c, err := approvals.ParseCaps(caps)
		f.OK(err)
		f.OK(f.svc.Grant(f.ctx, op, "rival-ig", approvals.GrantTarget{Email: email}, c))
	}
	f.OK(f.svc.AddApprover(f.ctx, op, "rival-ig", "rita@rival.test", approvals.TierClient))
	on := true
	f.Must(f.svc.SetAccount(f.ctx, op, "rival-ig", approvals.AccountSettings{NeedsClientApproval: &on}))
	v, err := f.svc.Submit(f.ctx, approvals.Actor{Workspace: "rival", Email: "eve@rival.test", Channel: approvals.ChannelCLI},
		approvals.DraftInput{Account: "rival-ig", Text: "Rival secret launch"})
	f.OK(err)
	return v
}

func (f *fixture) state(id int64) approvals.State {
	f.t.Helper()
	return f.snapshot(id).State
}

// The review page lists what waits on the reader and only that: a client
// never sees a draft in internal review nor staff's internal remarks; GET
// and HEAD of the page and of every link on it change nothing.
func TestReviewPageListsWhatWaits(t *testing.T) {
	f := newFixture(t, nil)
	fb := f.staffAccount()
	d1 := f.submit("First post")
	d2 := f.submit("Second post")
	internal, err := f.svc.Submit(f.ctx, f.as(author), approvals.DraftInput{Account: fb, Text: "Still in internal review"})
	f.OK(err)
	passed, err := f.svc.Submit(f.ctx, f.as(author), approvals.DraftInput{Account: fb, Text: "Passed internal review"})
	f.OK(err)
	f.Must(f.svc.AddComment(f.ctx, f.as("sam@agency.test"), passed.ID, approvals.CommentInput{Text: "staff-only remark about the margin", Internal: true}))
	f.Must(f.svc.Approve(f.ctx, f.as("sam@agency.test"), passed.ID))

	before := map[int64]snapshot{}
	for _, id := range []int64{d1.ID, d2.ID, internal.ID, passed.ID} {
		before[id] = f.snapshot(id)
	}
	page := do(t, http.MethodGet, f.reviewURL(client1), nil)
	if page.status != http.StatusOK {
		t.Fatalf("status %d:\n%s", page.status, page.body)
	}
	wantHeaders(t, page.header)
	for _, want := range []string{"3 drafts wait on your decision", "First post", "Second post", "Passed internal review", "Approve all 3 shown"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("client's review page lacks %q", want)
		}
	}
	for _, hidden := range []string{"Still in internal review", "staff-only remark", `id="draft-` + itoa(internal.ID) + `"`} {
		if strings.Contains(page.body, hidden) {
			t.Errorf("client's review page shows %q", hidden)
		}
	}
	staff := do(t, http.MethodGet, f.reviewURL("sam@agency.test"), nil)
	if !strings.Contains(staff.body, "Still in internal review") || strings.Contains(staff.body, "First post") {
		t.Errorf("staff's review page should list the internal draft and only it:\n%s", staff.body)
	}

	// Every link on the page, and the page itself, with GET and HEAD.
	links := []string{f.reviewURL(client1)}
	for _, m := range regexp.MustCompile(`(?:href|action)="([^"]+)"`).FindAllStringSubmatch(page.body, -1) {
		u := m[1]
		if strings.HasPrefix(u, "/") {
			u = f.srv.URL + u
		}
		links = append(links, u)
	}
	for _, u := range links {
		if !strings.HasPrefix(u, f.srv.URL) {
			continue // a media URL: not Signoff's
		}
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			do(t, method, u, nil)
		}
	}
	for id, b := range before {
		if diff := cmp.Diff(b, f.snapshot(id)); diff != "" {
			t.Errorf("reading the review page changed draft %d (-before +after):\n%s", id, diff)
		}
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// Approve one, reject one with a comment, then approve all the rest after
// the confirmation; one draft revised between showing and confirming is
// reported and left alone.
func TestReviewDecideAndApproveAll(t *testing.T) {
	f := newFixture(t, nil)
	var ds []*approvals.DraftView
	for _, text := range []string{"one", "two", "three", "four", "five"} {
		ds = append(ds, f.submit("Post "+text))
	}
	u := f.reviewURL(client1)
	page := do(t, http.MethodGet, u, nil).body

	approve := decideForm(t, page, ds[0].ID, "approve")
	r := do(t, http.MethodPost, u, approve)
	if r.status != http.StatusOK || !strings.Contains(r.body, "You approved draft "+itoa(ds[0].ID)) {
		t.Fatalf("approve one: %d\n%s", r.status, r.body)
	}
	reject := decideForm(t, r.body, ds[1].ID, "reject")
	r = do(t, http.MethodPost, u, reject)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="form-error-`+itoa(ds[1].ID)+`"`) {
		t.Fatalf("reject without comment: %d, want 422 with the form error\n%s", r.status, r.body)
	}
	reject.Set("comment", "Not this week")
	r = do(t, http.MethodPost, u, reject)
	if r.status != http.StatusOK || !strings.Contains(r.body, "You rejected draft "+itoa(ds[1].ID)) {
		t.Fatalf("reject one: %d\n%s", r.status, r.body)
	}
	if !strings.Contains(r.body, "Approve all 3 shown") {
		t.Fatalf("the list after two decisions should offer the other three:\n%s", r.body)
	}
	all := formOf(t, r.body, "approve-all-form")

	// Skipping the confirmation is refused.
	if r := do(t, http.MethodPost, u+"/all/approve", all); r.status != http.StatusForbidden {
		t.Fatalf("approve-all without the confirmation: %d, want 403", r.status)
	}
	confirm := do(t, http.MethodPost, u+"/all", all)
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, "Approve these 3 drafts?") {
		t.Fatalf("confirmation: %d\n%s", confirm.status, confirm.body)
	}
	for _, d := range ds[2:] {
		if f.state(d.ID) != approvals.StatePendingClient {
			t.Fatalf("the confirmation page decided draft %d", d.ID)
		}
	}
	f.Must(f.svc.Revise(f.ctx, f.as(author), ds[3].ID, approvals.DraftInput{Text: "Post four, revised"}))
	res := do(t, http.MethodPost, u+"/all/approve", formOf(t, confirm.body, "approve-all-form"))
	if res.status != http.StatusOK || !strings.Contains(res.body, "You approved 2 of 3 drafts") {
		t.Fatalf("approve all: %d\n%s", res.status, res.body)
	}
	if !regexp.MustCompile(`id="result-` + itoa(ds[3].ID) + `" class="result-skipped">[^<]*revised`).MatchString(res.body) {
		t.Errorf("the revised draft is not reported as left alone:\n%s", res.body)
	}
	want := map[int64]approvals.State{ds[0].ID: approvals.StateApproved, ds[1].ID: approvals.StateRejected,
		ds[2].ID: approvals.StateApproved, ds[3].ID: approvals.StatePendingClient, ds[4].ID: approvals.StateApproved}
	for id, st := range want {
		if got := f.state(id); got != st {
			t.Errorf("draft %d is %s, want %s", id, got, st)
		}
	}
	if s := f.snapshot(ds[3].ID); len(s.Decisions) != 0 {
		t.Errorf("the revised draft has decisions %+v", s.Decisions)
	}
	// Posting the same confirmation again decides nothing more and says so.
	again := do(t, http.MethodPost, u+"/all/approve", formOf(t, confirm.body, "approve-all-form"))
	if !strings.Contains(again.body, "You approved 0 of 3 drafts") {
		t.Errorf("a repeated approve-all should approve nothing:\n%s", again.body)
	}
}

// Attacks on the review page's forms: each is refused and changes nothing.
func TestReviewAttacks(t *testing.T) {
	f := newFixture(t, nil)
	d1 := f.submit("Mine to approve")
	d2 := f.submit("Also mine")
	foreign := f.otherTenantDraft()
	fb := f.staffAccount()
	internal, err := f.svc.Submit(f.ctx, f.as(author), approvals.DraftInput{Account: fb, Text: "Internal only"})
	f.OK(err)
	u := f.reviewURL(client1)
	page := do(t, http.MethodGet, u, nil).body
	all := formOf(t, page, "approve-all-form")
	one := decideForm(t, page, d1.ID, "approve")
	otherPage := do(t, http.MethodGet, f.reviewURL(client2), nil).body
	otherAll := formOf(t, otherPage, "approve-all-form")

	with := func(v url.Values, k, val string) url.Values {
		c := url.Values{}
		for kk, vv := range v {
			c[kk] = append([]string(nil), vv...)
		}
		c.Set(k, val)
		return c
	}
	foreignItems := mailer.FormatItems([]approvals.DecideInput{{DraftID: foreign.ID, Revision: 1, Tier: approvals.TierClient}})
	internalItems := mailer.FormatItems([]approvals.DecideInput{{DraftID: internal.ID, Revision: 1, Tier: approvals.TierInternal}})
	tests := []struct {
		name   string
		path   string
		form   url.Values
		status int
	}{
		{"another tenant's draft in the list", "/all", with(all, "items", all.Get("items")+","+foreignItems), 403},
		{"another tenant's draft in the confirmed list", "/all/approve", with(all, "items", foreignItems), 403},
		{"an internal draft in the list", "/all", with(all, "items", internalItems), 403},
		{"another member's sealed list", "/all", with(otherAll, "csrf", all.Get("csrf")), 403},
		{"no CSRF token", "/all", with(all, "csrf", ""), 403},
		{"another member's CSRF token", "", with(one, "csrf", otherAll.Get("csrf")), 403},
		{"another tenant's draft decided", "", with(one, "draft", itoa(foreign.ID)), 404},
		{"an internal draft decided", "", with(with(one, "draft", itoa(internal.ID)), "tier", "internal"), 404},
		{"a field twice", "", url.Values{"csrf": {one.Get("csrf")}, "draft": {itoa(d1.ID), itoa(d2.ID)}, "revision": {"1"}, "tier": {"client"}, "verdict": {"approve"}}, 400},
		{"no draft", "", with(one, "draft", ""), 400},
	}
	ids := []int64{d1.ID, d2.ID, internal.ID}
	foreignDecisions := func() int {
		h, err := f.svc.DraftHistory(f.ctx, approvals.Operator("rival"), foreign.ID)
		f.OK(err)
		return len(h.Decisions)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[int64]snapshot{}
			for _, id := range ids {
				before[id] = f.snapshot(id)
			}
			r := do(t, http.MethodPost, u+tt.path, tt.form)
			if r.status != tt.status {
				t.Errorf("status %d, want %d\n%s", r.status, tt.status, r.body)
			}
			for _, leak := range []string{"Rival secret launch", "Internal only", "rival", "in workspace"} {
				if strings.Contains(r.body, leak) {
					t.Errorf("the refusal reveals %q", leak)
				}
			}
			for id, b := range before {
				if diff := cmp.Diff(b, f.snapshot(id)); diff != "" {
					t.Errorf("draft %d changed (-before +after):\n%s", id, diff)
				}
			}
			if n := foreignDecisions(); n != 0 {
				t.Errorf("the other tenant's draft has %d decisions", n)
			}
		})
	}

	// The core refuses drafts outside the member's reach even in a list
	// that got past the seal.
	out, err := f.svc.DecideEach(f.ctx, approvals.Actor{WorkspaceID: f.wsID, MemberID: f.ids[client1], Channel: approvals.ChannelEmail},
		[]approvals.DecideInput{{DraftID: foreign.ID, Revision: 1, Tier: approvals.TierClient, Verdict: approvals.VerdictApprove},
			{DraftID: internal.ID, Revision: 1, Tier: approvals.TierInternal, Verdict: approvals.VerdictApprove}})
	f.OK(err)
	for _, o := range out {
		if o.Err == nil || o.Skipped() {
			t.Errorf("draft %d: %+v, want a refusal", o.Input.DraftID, o)
		}
	}
	if foreignDecisions() != 0 || f.state(internal.ID) != approvals.StatePendingInternal {
		t.Error("the core decided a draft outside the member's reach")
	}
}

// A review link that is expired, forged, signed with a retired key, a
// draft link's token, or of a deactivated member shows nothing.
func TestReviewLinkRefusals(t *testing.T) {
	tests := []struct {
		name   string
		url    func(f *fixture) string
		status int
		want   string
	}{
		{"expired", func(f *fixture) string {
			real := f.codec.Now
			f.codec.Now = func() time.Time { return time.Now().Add(-8 * 24 * time.Hour) }
			defer func() { f.codec.Now = real }()
			return f.reviewURL(client1)
		}, 410, "This link has expired"},
		{"tampered", func(f *fixture) string { u := f.reviewURL(client1); return u[:len(u)-6] + "AAAAAA" }, 400, "This link is not valid"},
		{"a draft link's token", func(f *fixture) string {
			d := f.submit("x")
			return f.srv.URL + "/r/" + f.token(d.ID, 1, client1, approvals.VerdictApprove)
		}, 400, "This link is not valid"},
		{"retired key", func(f *fixture) string {
			pairs, err := mailer.ParseKeys([]string{mailer.GenerateKeyPair()})
			f.OK(err)
			old, err := mailer.NewCodec(pairs, time.Hour)
			f.OK(err)
			tok, err := old.EncodeReview(mailer.ReviewLink{WorkspaceID: f.wsID, MemberID: f.ids[client1]})
			f.OK(err)
			return f.srv.URL + "/r/" + tok
		}, 400, "This link is not valid"},
		{"deactivated member", func(f *fixture) string {
			u := f.reviewURL(client1)
			f.Must(f.svc.DeactivateMember(f.ctx, approvals.Operator(f.ws), client1))
			return u
		}, 410, "no longer valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			d := f.submit("Secret spring campaign")
			u := tt.url(f)
			before := f.snapshot(d.ID)
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				r := do(t, method, u, nil)
				if r.status != tt.status {
					t.Errorf("%s: status %d, want %d", method, r.status, tt.status)
				}
				if method == http.MethodGet && (!strings.Contains(r.body, tt.want) || strings.Contains(r.body, "Secret spring")) {
					t.Errorf("page should say %q and show no draft:\n%s", tt.want, r.body)
				}
			}
			r := do(t, http.MethodPost, u+"/all/approve", url.Values{"csrf": {"x"}, "items": {itoa(d.ID) + ".1.client"}, "seal": {"x"}})
			if r.status != tt.status && r.status != http.StatusForbidden {
				t.Errorf("POST: status %d", r.status)
			}
			if diff := cmp.Diff(before, f.snapshot(d.ID)); diff != "" {
				t.Errorf("draft changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestReviewRedactPath(t *testing.T) {
	got := mailer.RedactPath("/r/SECRETTOKEN/all/approve")
	if strings.Contains(got, "SECRET") || !strings.HasPrefix(got, "/r/[") || !strings.HasSuffix(got, "]/all/approve") {
		t.Errorf("RedactPath = %q", got)
	}
}
