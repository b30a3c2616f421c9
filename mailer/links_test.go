package mailer_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
)

const userAgent = "Mozilla/5.0 (signoff-test)"

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, u string, form url.Values) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", userAgent)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: html.UnescapeString(string(b))}
}

// csrfOf extracts the CSRF token of the form with the given id from a page.
func csrfOf(t *testing.T, page, formID string) string {
	t.Helper()
	i := strings.Index(page, `id="`+formID+`"`)
	if i < 0 {
		t.Fatalf("no form %q in page:\n%s", formID, page)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page[i:])
	if m == nil {
		t.Fatalf("no csrf in form %q", formID)
	}
	return m[1]
}

func wantHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, part := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'", "style-src 'nonce-"} {
		if !strings.Contains(csp, part) {
			t.Errorf("CSP %q lacks %q", csp, part)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q allows script or unsafe-inline", csp)
	}
	for k, v := range map[string]string{"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// Every link variant, opened with GET and HEAD (as mail scanners do),
// answers with its own status and changes nothing.
func TestLinkReadsChangeNothing(t *testing.T) {
	expiredCodec := func(f *fixture, d *approvals.DraftView) string {
		real := f.codec.Now
		f.codec.Now = func() time.Time { return time.Now().Add(-8 * 24 * time.Hour) }
		defer func() { f.codec.Now = real }()
		return f.link(d, client1, approvals.VerdictApprove)
	}
	tests := []struct {
		name       string
		setup      func(f *fixture, d *approvals.DraftView) string // returns the URL
		wantStatus int
		wantText   string
	}{
		{"approve link", func(f *fixture, d *approvals.DraftView) string { return f.link(d, client1, approvals.VerdictApprove) }, 200, "Nothing is recorded until you click"},
		{"reject link", func(f *fixture, d *approvals.DraftView) string { return f.link(d, client1, approvals.VerdictReject) }, 200, "Tell the author what to change"},
		{"tampered", func(f *fixture, d *approvals.DraftView) string {
			u := f.link(d, client1, approvals.VerdictApprove)
			return u[:len(u)-6] + "AAAAAA"
		}, 400, "This link is not valid"},
		{"garbage", func(f *fixture, d *approvals.DraftView) string { return f.srv.URL + "/l/hello" }, 400, "This link is not valid"},
		{"expired", expiredCodec, 410, "Send me a new link"},
		{"revised", func(f *fixture, d *approvals.DraftView) string {
			u := f.link(d, client1, approvals.VerdictApprove)
			f.Must(f.svc.Revise(f.ctx, f.as(author), d.ID, approvals.DraftInput{Text: "Second take"}))
			return u
		}, 200, "revised the draft to revision 2"},
		{"approver status revoked", func(f *fixture, d *approvals.DraftView) string {
			f.OK(f.svc.RemoveApprover(f.ctx, approvals.Operator(f.ws), handle, client1, approvals.TierClient))
			return f.link(d, client1, approvals.VerdictApprove)
		}, 403, "not an approver"},
		{"access revoked", func(f *fixture, d *approvals.DraftView) string {
			f.OK(f.svc.Revoke(f.ctx, approvals.Operator(f.ws), handle, approvals.GrantTarget{Email: client1}))
			return f.link(d, client1, approvals.VerdictApprove)
		}, 404, "no longer leads to a draft you may see"},
		{"withdrawn", func(f *fixture, d *approvals.DraftView) string {
			f.Must(f.svc.Withdraw(f.ctx, f.as(author), d.ID))
			return f.link(d, client1, approvals.VerdictApprove)
		}, 410, "withdrawn"},
		{"decided by someone else", func(f *fixture, d *approvals.DraftView) string {
			f.Must(f.svc.Approve(f.ctx, f.as(client2), d.ID))
			return f.link(d, client1, approvals.VerdictApprove)
		}, 200, "already approved by Dan Client"},
		{"decided by you", func(f *fixture, d *approvals.DraftView) string {
			f.Must(f.svc.Reject(f.ctx, f.as(client1), d.ID, "no"))
			return f.link(d, client1, approvals.VerdictApprove)
		}, 200, "already rejected by you"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			d := f.submit("Summer sale: 20% off\nall week")
			u := tt.setup(f, d)
			before := f.snapshot(d.ID)
			for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodGet} {
				r := do(t, method, u, nil)
				if r.status != tt.wantStatus {
					t.Fatalf("%s status = %d, want %d\n%s", method, r.status, tt.wantStatus, r.body)
				}
				wantHeaders(t, r.header)
				if method == http.MethodGet && !strings.Contains(r.body, tt.wantText) {
					t.Errorf("GET page lacks %q:\n%s", tt.wantText, r.body)
				}
				if strings.Contains(strings.ToLower(r.body), "<script") {
					t.Errorf("page has a script")
				}
			}
			if diff := cmp.Diff(before, f.snapshot(d.ID)); diff != "" {
				t.Errorf("GET/HEAD changed state (-before +after):\n%s", diff)
			}
		})
	}
}

// The page shows the draft exactly, the change since the last round and
// earlier comments.
func TestLinkPageContent(t *testing.T) {
	f := newFixture(t, nil)
	d := f.submit("Summer sale: 20% off <b>all</b> week")
	f.Must(f.svc.Reject(f.ctx, f.as(client2), d.ID, "Say which week.\nAnd drop the bold."))
	d2, err := f.svc.Revise(f.ctx, f.as(author), d.ID, approvals.DraftInput{Text: "Summer sale: 20% off the first week of July"})
	f.OK(err)
	r := do(t, http.MethodGet, f.link(d2, client1, approvals.VerdictApprove), nil)
	if r.status != 200 {
		t.Fatalf("status %d:\n%s", r.status, r.body)
	}
	for _, want := range []string{
		"Summer sale: 20% off the first week of July",
		"What changed since the last round",
		"<del>", "<ins>",
		"Say which week.\nAnd drop the bold.",
		"revision 2",
		`id="approve"`, "use the Reject link in your email",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// An Approve link's page offers Approve only.
	for _, unwanted := range []string{`id="reject"`, `id="comment"`, `value="reject"`} {
		if strings.Contains(r.body, unwanted) {
			t.Errorf("the Approve link's page has %q", unwanted)
		}
	}
}

// A link acts only as the button it was made for: the form of an Approve
// link posted with verdict=reject (or a Reject link's with approve) is
// refused, changes nothing, is audited, and says which link to use.
func TestLinkActsOnlyAsItsButton(t *testing.T) {
	f := newFixture(t, nil)
	d := f.submit("Launch post")
	approveURL := f.link(d, client1, approvals.VerdictApprove)
	rejectURL := f.link(d, client1, approvals.VerdictReject)
	acsrf := csrfOf(t, do(t, http.MethodGet, approveURL, nil).body, "approve-form")
	rpage := do(t, http.MethodGet, rejectURL, nil)
	rcsrf := csrfOf(t, rpage.body, "reject-form")
	for _, unwanted := range []string{`id="approve"`, `value="approve"`} {
		if strings.Contains(rpage.body, unwanted) {
			t.Errorf("the Reject link's page has %q", unwanted)
		}
	}
	before := f.snapshot(d.ID)
	for _, tt := range []struct {
		name     string
		url      string
		form     url.Values
		wantText string
		wantForm string
	}{
		{"the Reject link approving", rejectURL, url.Values{"verdict": {"approve"}, "csrf": {rcsrf}},
			"This link is for rejecting; use the Approve link from your email to approve.", "reject-form"},
		{"the Approve link rejecting", approveURL, url.Values{"verdict": {"reject"}, "csrf": {acsrf}, "comment": {"no"}},
			"This link is for approving; use the Reject link from your email to reject.", "approve-form"},
		{"no verdict", approveURL, url.Values{"csrf": {acsrf}},
			"This link is for approving", "approve-form"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, http.MethodPost, tt.url, tt.form)
			if r.status != http.StatusForbidden || !strings.Contains(r.body, tt.wantText) || !strings.Contains(r.body, "Nothing was recorded") {
				t.Fatalf("status %d, want 403 saying %q:\n%s", r.status, tt.wantText, r.body)
			}
			if !strings.Contains(r.body, `id="`+tt.wantForm+`"`) || strings.Count(r.body, "<form") != 1 {
				t.Errorf("the page should offer the link's own form only:\n%s", r.body)
			}
			wantHeaders(t, r.header)
			if diff := cmp.Diff(before, f.snapshot(d.ID)); diff != "" {
				t.Errorf("refused POST changed state (-before +after):\n%s", diff)
			}
		})
	}
	var refused []string
	rows, err := f.db.Pool().Query(f.ctx, `SELECT action || ': ' || detail FROM audit_log WHERE outcome = 'refused' AND channel = 'email' AND detail LIKE 'a link for%' ORDER BY id`)
	f.OK(err)
	for rows.Next() {
		var s string
		f.OK(rows.Scan(&s))
		refused = append(refused, s)
	}
	f.OK(rows.Err())
	want := []string{
		`draft.approve: a link for rejecting posted "approve"`,
		`draft.reject: a link for approving posted "reject"`,
		`draft.decide: a link for approving posted ""`,
	}
	if diff := cmp.Diff(want, refused); diff != "" {
		t.Errorf("audited refusals (-want +got):\n%s", diff)
	}
	// The right button still works afterwards.
	r := do(t, http.MethodPost, rejectURL, url.Values{"verdict": {"reject"}, "csrf": {rcsrf}, "comment": {"Say which week."}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Thank you: rejected") {
		t.Fatalf("reject by the Reject link: %d\n%s", r.status, r.body)
	}
}

func TestLinkPost(t *testing.T) {
	f := newFixture(t, nil)
	d := f.submit("Launch post")
	approveURL := f.link(d, client1, approvals.VerdictApprove)
	page := do(t, http.MethodGet, approveURL, nil)
	csrf := csrfOf(t, page.body, "approve-form")
	otherURL := f.link(d, client2, approvals.VerdictApprove)
	otherCSRF := csrfOf(t, do(t, http.MethodGet, otherURL, nil).body, "approve-form")
	before := f.snapshot(d.ID)

	refused := []struct {
		name       string
		url        string
		form       url.Values
		wantStatus int
		wantText   string
	}{
		{"no CSRF token", approveURL, url.Values{"verdict": {"approve"}}, 403, "use the buttons on the page"},
		{"another link's CSRF token", approveURL, url.Values{"verdict": {"approve"}, "csrf": {otherCSRF}}, 403, "use the buttons on the page"},
		{"tampered token", approveURL[:len(approveURL)-4] + "AAAA", url.Values{"verdict": {"approve"}, "csrf": {csrf}}, 400, "not valid"},
		{"unknown verdict", approveURL, url.Values{"verdict": {"maybe"}, "csrf": {csrf}}, 400, "could not be read"},
		{"oversized body", approveURL, url.Values{"verdict": {"reject"}, "csrf": {csrf}, "comment": {strings.Repeat("x", 70_000)}}, 400, "could not be read"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, http.MethodPost, tt.url, tt.form)
			if r.status != tt.wantStatus || !strings.Contains(r.body, tt.wantText) {
				t.Fatalf("status %d, want %d with %q:\n%s", r.status, tt.wantStatus, tt.wantText, r.body)
			}
			wantHeaders(t, r.header)
			if diff := cmp.Diff(before, f.snapshot(d.ID)); diff != "" {
				t.Errorf("refused POST changed state (-before +after):\n%s", diff)
			}
		})
	}

	t.Run("reject with a blank comment keeps the text", func(t *testing.T) {
		rejectURL := f.link(d, client1, approvals.VerdictReject)
		rcsrf := csrfOf(t, do(t, http.MethodGet, rejectURL, nil).body, "reject-form")
		r := do(t, http.MethodPost, rejectURL, url.Values{"verdict": {"reject"}, "csrf": {rcsrf}, "comment": {"   \r\n  "}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="form-error"`) {
			t.Fatalf("status %d:\n%s", r.status, r.body)
		}
		if !strings.Contains(r.body, ">   \n  </textarea>") {
			t.Errorf("typed text not kept:\n%s", r.body)
		}
		if diff := cmp.Diff(before, f.snapshot(d.ID)); diff != "" {
			t.Errorf("blank reject changed state (-before +after):\n%s", diff)
		}
	})

	t.Run("approve", func(t *testing.T) {
		r := do(t, http.MethodPost, approveURL, url.Values{"verdict": {"approve"}, "csrf": {csrf}})
		if r.status != 200 || !strings.Contains(r.body, "Thank you: approved") {
			t.Fatalf("status %d:\n%s", r.status, r.body)
		}
		if got := f.snapshot(d.ID).State; got != approvals.StateApproved {
			t.Fatalf("state = %s, want approved", got)
		}
		var found bool
		for _, e := range f.audit(d.ID) {
			if e.Action == "draft.approve" && e.Outcome == approvals.OutcomeOK {
				found = true
				if e.Channel != approvals.ChannelEmail || e.Meta.IP != "127.0.0.1" || e.Meta.UserAgent != userAgent {
					t.Errorf("audit entry %+v lacks channel, IP or user agent", e)
				}
			}
		}
		if !found {
			t.Errorf("no audit entry for the approval")
		}
	})

	t.Run("same link again", func(t *testing.T) {
		r := do(t, http.MethodPost, approveURL, url.Values{"verdict": {"approve"}, "csrf": {csrf}})
		if r.status != 200 || !strings.Contains(r.body, "You already approved") {
			t.Fatalf("status %d:\n%s", r.status, r.body)
		}
	})

	t.Run("the other approver", func(t *testing.T) {
		r := do(t, http.MethodPost, otherURL, url.Values{"verdict": {"approve"}, "csrf": {otherCSRF}})
		if r.status != 200 || !strings.Contains(r.body, "already approved by Carla Client") || !strings.Contains(r.body, "via email") {
			t.Fatalf("status %d:\n%s", r.status, r.body)
		}
	})

	t.Run("refusals are audited", func(t *testing.T) {
		var n int
		for _, e := range f.audit(d.ID) {
			if e.Outcome == approvals.OutcomeRefused && e.Channel == approvals.ChannelEmail {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no refused email attempts in the audit log")
		}
	})
}

func TestExpiredLinkResend(t *testing.T) {
	f := newFixture(t, nil)
	d := f.submit("Launch post")
	f.codec.Now = func() time.Time { return time.Now().Add(-8 * 24 * time.Hour) }
	u := f.link(d, client1, approvals.VerdictApprove)
	f.codec.Now = time.Now

	page := do(t, http.MethodGet, u, nil)
	if page.status != http.StatusGone {
		t.Fatalf("status %d", page.status)
	}
	csrf := csrfOf(t, page.body, "resend-form")
	count := func() int {
		n := 0
		for _, m := range f.outbox() {
			if strings.Contains(m.IdempotencyKey, "/resend/") && m.Payload.RecipientID == f.ids[client1] && m.Payload.Event == approvals.EventApprovalRequested {
				n++
			}
		}
		return n
	}

	if r := do(t, http.MethodPost, u, url.Values{"verdict": {"approve"}, "csrf": {csrfOf(t, page.body, "resend-form")}}); r.status != http.StatusGone {
		t.Errorf("POST decision on an expired link: status %d, want 410", r.status)
	}
	if r := do(t, http.MethodPost, u+"/resend", url.Values{"email": {"attacker@evil.test"}}); r.status != http.StatusForbidden || count() != 0 {
		t.Fatalf("resend without CSRF: status %d, %d resends", r.status, count())
	}
	for i := range 2 {
		r := do(t, http.MethodPost, u+"/resend", url.Values{"csrf": {csrf}, "email": {"attacker@evil.test"}})
		if r.status != 200 || !strings.Contains(r.body, "c…@client.test") {
			t.Fatalf("resend %d: status %d:\n%s", i, r.status, r.body)
		}
	}
	if got := count(); got != 1 {
		t.Errorf("two clicks enqueued %d emails, want 1", got)
	}
	for _, m := range f.outbox() {
		if m.Payload.Target == "attacker@evil.test" {
			t.Errorf("resend went to an address from the request")
		}
	}
}
