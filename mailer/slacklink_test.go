package mailer_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/mailer"
	"github.com/signoff-app/signoff/templates"
)

const slackTeam = "T0AGENCY"

// slackLinkURL has a Slack Connect user ask to be linked to email's member
// and returns the confirmation URL of the email Signoff sends for it
// (composed, not sent), or "" when no email is owed.
func (f *fixture) slackLinkURL(slackUser, email string) string {
	f.t.Helper()
	team := slackTeam
	f.Must(f.svc.SetWorkspace(f.ctx, approvals.Operator(f.ws), approvals.WorkspaceSettings{SlackTeamID: &team}))
	_, err := f.svc.LinkSlackUser(f.ctx, slackTeam, approvals.SlackUser{ID: slackUser, TeamID: "T0CLIENTORG", Email: email, EmailConfirmed: true})
	if approvals.ErrorCode(err) != approvals.EUNAUTHORIZED || !strings.Contains(approvals.ErrorMessage(err), "emailed") {
		f.t.Fatalf("LinkSlackUser = %v, want a confirmation emailed", err)
	}
	var msg *approvals.OutboxMessage
	for _, m := range f.outbox() {
		if m.Payload.Event == approvals.EventSlackLinkRequested && m.Payload.Target == email {
			msg = m
		}
	}
	if msg == nil {
		f.t.Fatalf("no confirmation queued to %s", email)
	}
	return f.composeSlackLink(msg)
}

var slackLinkRe = regexp.MustCompile(`http://[0-9.:]+/slack-link/[A-Za-z0-9_=-]+`)

func (f *fixture) composeSlackLink(msg *approvals.OutboxMessage) string {
	f.t.Helper()
	cfg := f.cfg
	cfg.SMTP.Host, cfg.SMTP.Port, cfg.SMTP.TLS = "127.0.0.1", 2525, mailer.TLSNone // never dialed: Compose only
	cfg.Mail.From = "Signoff <signoff@agency.test>"
	tmpl, err := templates.Load("")
	f.OK(err)
	s, err := mailer.NewSender(cfg, f.svc, f.codec, tmpl, nil)
	f.OK(err)
	defer s.Close()
	m, err := s.Compose(f.ctx, nil, msg)
	f.OK(err)
	if m == nil {
		return ""
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		f.t.Fatal(err)
	}
	raw := strings.NewReplacer("=\r\n", "", "=3D", "=").Replace(buf.String())
	u := slackLinkRe.FindString(raw)
	if u == "" {
		f.t.Fatalf("no confirmation URL in the email:\n%s", raw)
	}
	return u
}

func (f *fixture) slackMember(slackUser string) string {
	f.t.Helper()
	m, err := f.svc.SlackMember(f.ctx, slackTeam, slackUser)
	if approvals.ErrorCode(err) == approvals.ENOTFOUND {
		return ""
	}
	f.OK(err)
	return m.Email
}

func TestSlackLinkConfirmationPage(t *testing.T) {
	f := newFixture(t, nil)
	u := f.slackLinkURL("U0CONNECT", client1)

	// GET (and HEAD) only show: nothing is linked, however often.
	var page response
	for range 3 {
		page = do(t, http.MethodGet, u, nil)
		if page.status != http.StatusOK || !strings.Contains(page.body, "U0CONNECT") || !strings.Contains(page.body, "T0CLIENTORG") {
			t.Fatalf("GET: %d\n%s", page.status, page.body)
		}
		wantHeaders(t, page.header)
	}
	if r := do(t, http.MethodHead, u, nil); r.status != http.StatusOK {
		t.Errorf("HEAD: %d", r.status)
	}
	if got := f.slackMember("U0CONNECT"); got != "" {
		t.Fatalf("after GETs, U0CONNECT is linked to %s", got)
	}

	// A POST without the page's CSRF token links nothing.
	if r := do(t, http.MethodPost, u, url.Values{}); r.status != http.StatusForbidden || f.slackMember("U0CONNECT") != "" {
		t.Fatalf("POST without CSRF: %d, linked to %q", r.status, f.slackMember("U0CONNECT"))
	}

	form := url.Values{"csrf": {csrfOf(t, page.body, "slack-link-form")}}
	r := do(t, http.MethodPost, u, form)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Your Slack user is linked") {
		t.Fatalf("POST: %d\n%s", r.status, r.body)
	}
	if got := f.slackMember("U0CONNECT"); got != client1 {
		t.Fatalf("after confirming, U0CONNECT is linked to %q, want %s", got, client1)
	}

	// It works once.
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		r := do(t, method, u, map[string]url.Values{http.MethodPost: form}[method])
		if r.status != http.StatusConflict || !strings.Contains(r.body, "already used") {
			t.Errorf("%s again: %d\n%s", method, r.status, r.body)
		}
	}

	t.Run("tampered", func(t *testing.T) {
		if r := do(t, http.MethodGet, u[:len(u)-6]+"AAAAAA", nil); r.status != http.StatusBadRequest {
			t.Errorf("status %d, want 400", r.status)
		}
	})
	t.Run("a decision link is no Slack link", func(t *testing.T) {
		d := f.submit("A post")
		tok := f.token(d.ID, d.Revision, client2, approvals.VerdictApprove)
		if r := do(t, http.MethodGet, f.srv.URL+"/slack-link/"+tok, nil); r.status != http.StatusBadRequest {
			t.Errorf("status %d, want 400", r.status)
		}
	})
	t.Run("expired", func(t *testing.T) {
		real := f.codec.Now
		f.codec.Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
		defer func() { f.codec.Now = real }()
		if r := do(t, http.MethodGet, u, nil); r.status != http.StatusGone || !strings.Contains(r.body, "expired") {
			t.Errorf("status %d\n%s", r.status, r.body)
		}
	})
}

func TestDeactivatedMembersLinks(t *testing.T) {
	f := newFixture(t, nil)
	const text = "Secret summer campaign"
	d := f.submit(text)
	decide := f.link(d, client1, approvals.VerdictApprove)
	page := do(t, http.MethodGet, decide, nil)
	if page.status != http.StatusOK {
		t.Fatalf("before deactivation: %d", page.status)
	}
	csrf := csrfOf(t, page.body, "approve-form")
	slackURL := f.slackLinkURL("U0CONNECT", author)

	op := approvals.Operator(f.ws)
	f.Must(f.svc.DeactivateMember(f.ctx, op, client1))
	f.Must(f.svc.DeactivateMember(f.ctx, op, author))

	for _, tc := range []struct {
		name, method, url string
		form              url.Values
	}{
		{"decision link GET", http.MethodGet, decide, nil},
		{"decision link POST", http.MethodPost, decide, url.Values{"csrf": {csrf}, "verdict": {"approve"}}},
		{"Slack link GET", http.MethodGet, slackURL, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, tc.url, tc.form)
			if r.status != http.StatusGone || !strings.Contains(r.body, "no longer valid") {
				t.Errorf("status %d, want 410 saying no longer valid:\n%s", r.status, r.body)
			}
			if strings.Contains(r.body, text) {
				t.Errorf("the page reveals the draft:\n%s", r.body)
			}
		})
	}
	v, err := f.svc.Show(f.ctx, op, d.ID)
	f.OK(err)
	if len(v.Decisions) != 0 || v.State != approvals.StatePendingClient {
		t.Errorf("after the links: %d decisions, state %s; want none, pending_client", len(v.Decisions), v.State)
	}
	if got := f.slackMember("U0CONNECT"); got != "" {
		t.Errorf("U0CONNECT linked to %s", got)
	}
	// A confirmation still queued for a deactivated member is not sent.
	for _, m := range f.outbox() {
		if m.Payload.Event == approvals.EventSlackLinkRequested {
			if u := f.composeSlackLink(m); u != "" {
				t.Errorf("composed a confirmation for a deactivated member: %s", u)
			}
		}
	}
}
