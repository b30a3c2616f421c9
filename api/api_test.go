package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/api"
	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture: workspaces acme and other, each with an owner (internal
// approver of "ig") and an editor; tokens: acme's editor ("ed"), acme's
// publisher ("pub"), other's publisher ("otherpub").
type fixture struct {
	corefix.Check
	t      *testing.T
	ctx    context.Context
	svc    *approvals.Service
	srv    *httptest.Server
	now    time.Time
	tokens map[string]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{Check: corefix.Check{T: t}, t: t, ctx: context.Background(), now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), tokens: map[string]string{}}
	f.svc = corefix.Service(pgtest.MustOpen(t, pgtest.NewDatabase(t)), func() time.Time { return f.now })
	on := true
	for _, ws := range []string{"acme", "other"} {
		op := approvals.Operator(ws)
		f.Must(f.svc.CreateWorkspace(f.ctx, op, ws, ws))
		f.Must(f.svc.AddMember(f.ctx, op, "owner@"+ws+".test", "Owner", approvals.RoleOwner))
		f.Must(f.svc.AddMember(f.ctx, op, "ed@"+ws+".test", "Ed", approvals.RoleEditor))
		f.Must(f.svc.AddAccount(f.ctx, op, "ig", "IG"))
		f.OK(f.svc.Grant(f.ctx, op, "ig", approvals.GrantTarget{Email: "ed@" + ws + ".test"}, approvals.NewCaps(approvals.CapView, approvals.CapComment, approvals.CapCreate)))
		f.OK(f.svc.AddApprover(f.ctx, op, "ig", "owner@"+ws+".test", approvals.TierInternal))
		f.Must(f.svc.SetAccount(f.ctx, op, "ig", approvals.AccountSettings{NeedsInternalApproval: &on}))
	}
	f.token("acme", "ed", "ed@acme.test")
	f.token("acme", "pub", "")
	f.token("other", "otherpub", "")
	mux := http.NewServeMux()
	api.New(f.svc, nil).Register(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) token(ws, name, member string) {
	f.t.Helper()
	_, secret, err := f.svc.CreateToken(f.ctx, approvals.Operator(ws), name, member)
	f.OK(err)
	f.tokens[name] = secret
}

// approved submits a draft on acme's "ig" as its editor and has the owner
// approve it.
func (f *fixture) approved(text string) int64 {
	f.t.Helper()
	v, err := f.svc.Submit(f.ctx, approvals.Actor{Workspace: "acme", Email: "ed@acme.test", Channel: approvals.ChannelCLI}, approvals.DraftInput{Account: "ig", Text: text})
	f.OK(err)
	f.Must(f.svc.Approve(f.ctx, approvals.Actor{Workspace: "acme", Email: "owner@acme.test", Channel: approvals.ChannelCLI}, v.ID))
	return v.ID
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) errorBody(t *testing.T) api.ErrorDetail {
	t.Helper()
	var e api.ErrorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return e.Error
}

func (f *fixture) do(method, path, token, body string) response {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	f.OK(err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.srv.Client().Do(req)
	f.OK(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	f.OK(err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (f *fixture) decode(r response, want int, v any) {
	f.t.Helper()
	if r.status != want {
		f.t.Fatalf("status %d, want %d; body %s", r.status, want, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		f.t.Fatalf("body %s: %v", r.body, err)
	}
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	id := f.approved("hello")
	_, err := f.svc.RevokeToken(f.ctx, approvals.Operator("acme"), "ed")
	f.OK(err)
	path := fmt.Sprintf("/api/v1/drafts/%d", id)
	tests := []struct {
		name      string
		header    string
		token     string
		want      int
		challenge string
	}{
		{"missing token", "", "", http.StatusUnauthorized, `Bearer realm="signoff"`},
		{"not bearer", "Basic dXNlcjpwYXNz", "", http.StatusUnauthorized, `Bearer realm="signoff"`},
		{"unknown token", "", "so_nope", http.StatusUnauthorized, `Bearer realm="signoff", error="invalid_token"`},
		{"not a signoff token", "", "xoxb-123", http.StatusUnauthorized, `Bearer realm="signoff", error="invalid_token"`},
		{"revoked token", "", f.tokens["ed"], http.StatusUnauthorized, `Bearer realm="signoff", error="invalid_token"`},
		{"publisher token", "", f.tokens["pub"], http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
			f.OK(err)
			switch {
			case tt.header != "":
				req.Header.Set("Authorization", tt.header)
			case tt.token != "":
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := f.srv.Client().Do(req)
			f.OK(err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want || resp.Header.Get("WWW-Authenticate") != tt.challenge {
				t.Errorf("status %d, WWW-Authenticate %q; want %d, %q (body %s)", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tt.want, tt.challenge, body)
			}
			if tt.want == http.StatusUnauthorized && strings.Contains(string(body), "acme") {
				t.Errorf("a refused token learns the workspace: %s", body)
			}
		})
	}
}

func TestOtherWorkspaceSeesNothing(t *testing.T) {
	f := newFixture(t)
	id := f.approved("acme's post")
	other := f.tokens["otherpub"]

	var page approvals.HandoffPage
	f.decode(f.do("GET", "/api/v1/drafts", other, ""), http.StatusOK, &page)
	if len(page.Drafts) != 0 {
		t.Errorf("other workspace lists %d drafts", len(page.Drafts))
	}
	for _, tt := range []struct{ method, path, body string }{
		{"GET", fmt.Sprintf("/api/v1/drafts/%d", id), ""},
		{"POST", fmt.Sprintf("/api/v1/drafts/%d/published", id), ""},
	} {
		r := f.do(tt.method, tt.path, other, tt.body)
		if r.status != http.StatusNotFound || r.errorBody(t).Code != approvals.ENOTFOUND {
			t.Errorf("%s %s with another workspace's token: %d %s; want 404 not_found", tt.method, tt.path, r.status, r.body)
		}
	}
	// And acme's publisher still sees it unpublished.
	var h approvals.Handoff
	f.decode(f.do("GET", fmt.Sprintf("/api/v1/drafts/%d", id), f.tokens["pub"], ""), http.StatusOK, &h)
	if h.PublishedAt != nil {
		t.Errorf("published by another workspace's token: %+v", h)
	}
}

func TestBadJSON(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, body string
		want       string // in the message
	}{
		{"wrong type", `{"account": 7, "text": "x"}`, `field "account" must be a string, not number`},
		{"wrong element type", `{"account": "ig", "text": "x", "media_urls": "https://a.example/x.jpg"}`, `field "media_urls" must be an array of strings`},
		{"unknown field", `{"account": "ig", "txt": "x"}`, `unknown field "txt"`},
		{"bad time", `{"account": "ig", "text": "x", "scheduled_at": "tomorrow"}`, `field "scheduled_at" must be an RFC 3339 time`},
		{"missing account", `{"text": "x"}`, `field "account" is required`},
		{"syntax", `{"account": "ig",, }`, `malformed JSON at byte`},
		{"truncated", `{"account": "ig"`, `malformed JSON`},
		{"not an object", `["ig"]`, `must be a JSON object`},
		{"two objects", `{"account": "ig", "text": "x"} {}`, `single JSON object`},
		{"empty", ``, `request body is empty`},
		{"rule from the core", `{"account": "ig", "text": "  "}`, `draft text is empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do("POST", "/api/v1/drafts", f.tokens["ed"], tt.body)
			e := r.errorBody(t)
			if r.status != http.StatusBadRequest || e.Code != approvals.EINVALID || !strings.Contains(e.Message, tt.want) {
				t.Errorf("status %d, error %+v; want 400 invalid with %q", r.status, e, tt.want)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		body := `{"account": "ig", "text": "` + strings.Repeat("x", api.MaxBody) + `"}`
		r := f.do("POST", "/api/v1/drafts", f.tokens["ed"], body)
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", r.status)
		}
	})
}

func TestSubmit(t *testing.T) {
	f := newFixture(t)
	at := f.now.Add(72 * time.Hour)
	body := fmt.Sprintf(`{"account": "ig", "text": "From the API\nwith <b>markup</b>", "media_urls": ["https://cdn.example/1.png"], "scheduled_at": %q}`, at.Format(time.RFC3339))
	var h approvals.Handoff
	r := f.do("POST", "/api/v1/drafts", f.tokens["ed"], body)
	f.decode(r, http.StatusCreated, &h)
	if loc := r.header.Get("Location"); loc != fmt.Sprintf("/api/v1/drafts/%d", h.ID) {
		t.Errorf("Location %q", loc)
	}
	type got struct {
		State  approvals.State
		Author string
		Text   string
		Media  []string
	}
	if diff := cmp.Diff(got{approvals.StatePendingInternal, "ed@acme.test", "From the API\nwith <b>markup</b>", []string{"https://cdn.example/1.png"}},
		got{h.State, h.Author.Email, h.Text, h.MediaURLs}); diff != "" {
		t.Errorf("draft (-want +got):\n%s", diff)
	}
	if h.ScheduledAt == nil || !h.ScheduledAt.Equal(at) {
		t.Errorf("scheduled_at %v, want %v", h.ScheduledAt, at)
	}
	hist, err := f.svc.DraftHistory(f.ctx, approvals.Operator("acme"), h.ID)
	f.OK(err)
	var submits []string
	for _, e := range hist.Audit {
		if e.Action == "draft.submit" {
			submits = append(submits, fmt.Sprintf("%s %s %s", e.Channel, e.Outcome, e.Actor))
		}
	}
	if diff := cmp.Diff([]string{"api ok Ed <ed@acme.test>"}, submits); diff != "" {
		t.Errorf("audit of the submission (-want +got):\n%s", diff)
	}

	t.Run("same rules as the CLI", func(t *testing.T) {
		// The editor has no access to an account that is not granted.
		_, err := f.svc.AddAccount(f.ctx, approvals.Operator("acme"), "secret-ig", "Secret")
		f.OK(err)
		r := f.do("POST", "/api/v1/drafts", f.tokens["ed"], `{"account": "secret-ig", "text": "x"}`)
		if r.status != http.StatusForbidden || r.errorBody(t).Code != approvals.EUNAUTHORIZED {
			t.Errorf("status %d %s; want 403 unauthorized", r.status, r.body)
		}
	})
	t.Run("publisher token cannot submit", func(t *testing.T) {
		r := f.do("POST", "/api/v1/drafts", f.tokens["pub"], `{"account": "ig", "text": "x"}`)
		e := r.errorBody(t)
		if r.status != http.StatusForbidden || !strings.Contains(e.Message, "--member") {
			t.Errorf("status %d %+v; want 403 explaining --member", r.status, e)
		}
	})
	t.Run("member token reads its pending draft, publisher does not", func(t *testing.T) {
		if r := f.do("GET", fmt.Sprintf("/api/v1/drafts/%d", h.ID), f.tokens["ed"], ""); r.status != http.StatusOK {
			t.Errorf("member: %d %s", r.status, r.body)
		}
		if r := f.do("GET", fmt.Sprintf("/api/v1/drafts/%d", h.ID), f.tokens["pub"], ""); r.status != http.StatusNotFound {
			t.Errorf("publisher sees a pending draft: %d %s", r.status, r.body)
		}
	})
}

func TestListSinceCursor(t *testing.T) {
	f := newFixture(t)
	var ids []int64
	for i := range 3 {
		ids = append(ids, f.approved(fmt.Sprintf("post %d", i)))
	}
	// A pending draft is not listed.
	_, err := f.svc.Submit(f.ctx, approvals.Actor{Workspace: "acme", Email: "ed@acme.test", Channel: approvals.ChannelCLI}, approvals.DraftInput{Account: "ig", Text: "pending"})
	f.OK(err)
	pub := f.tokens["pub"]
	list := func(query string) ([]int64, string) {
		t.Helper()
		var page approvals.HandoffPage
		f.decode(f.do("GET", "/api/v1/drafts"+query, pub, ""), http.StatusOK, &page)
		var got []int64
		for _, d := range page.Drafts {
			got = append(got, d.ID)
		}
		return got, page.NextCursor
	}
	got, next := list("?state=approved&limit=2")
	if diff := cmp.Diff(ids[:2], got); diff != "" {
		t.Fatalf("first page (-want +got):\n%s", diff)
	}
	got, next = list("?state=approved&limit=2&since=" + next)
	if diff := cmp.Diff(ids[2:], got); diff != "" {
		t.Fatalf("second page (-want +got):\n%s", diff)
	}
	got, again := list("?since=" + next)
	if len(got) != 0 || again != next {
		t.Fatalf("after the last: %v, cursor %q; want none and %q", got, again, next)
	}
	later := f.approved("later")
	got, _ = list("?since=" + next)
	if diff := cmp.Diff([]int64{later}, got); diff != "" {
		t.Errorf("polling with next_cursor (-want +got):\n%s", diff)
	}
	// The editor's token lists the same (it may view the account).
	var page approvals.HandoffPage
	f.decode(f.do("GET", "/api/v1/drafts", f.tokens["ed"], ""), http.StatusOK, &page)
	if len(page.Drafts) != 4 {
		t.Errorf("editor lists %d drafts, want 4", len(page.Drafts))
	}
	for _, q := range []string{"?state=pending_client", "?limit=0x", "?limit=501", "?since=abc"} {
		r := f.do("GET", "/api/v1/drafts"+q, pub, "")
		if r.status != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", q, r.status)
		}
	}
}

func TestMarkPublishedIdempotent(t *testing.T) {
	f := newFixture(t)
	id := f.approved("ship it")
	path := fmt.Sprintf("/api/v1/drafts/%d/published", id)
	var first, second api.PublishedResponse
	f.decode(f.do("POST", path, f.tokens["pub"], `{"url": "https://instagram.example/p/1"}`), http.StatusOK, &first)
	f.now = f.now.Add(time.Hour)
	f.decode(f.do("POST", path, f.tokens["pub"], ""), http.StatusOK, &second)
	if first.AlreadyPublished || !second.AlreadyPublished {
		t.Errorf("already_published: first %v, second %v; want false, true", first.AlreadyPublished, second.AlreadyPublished)
	}
	if first.Draft.PublishedAt == nil || second.Draft.PublishedAt == nil || !first.Draft.PublishedAt.Equal(*second.Draft.PublishedAt) ||
		second.Draft.PublishedURL != "https://instagram.example/p/1" {
		t.Errorf("publication changed: first %+v, second %+v", first.Draft, second.Draft)
	}
	hist, err := f.svc.DraftHistory(f.ctx, approvals.Operator("acme"), id)
	f.OK(err)
	var got []string
	for _, e := range hist.Audit {
		if e.Action == "draft.published" {
			got = append(got, fmt.Sprintf("%s %s %s", e.Channel, e.Actor, e.Detail))
		}
	}
	want := []string{
		"api token pub published at https://instagram.example/p/1",
		"api token pub repeat: already published at 2026-11-25 12:00 UTC",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}

	t.Run("not approved", func(t *testing.T) {
		v, err := f.svc.Submit(f.ctx, approvals.Actor{Workspace: "acme", Email: "ed@acme.test", Channel: approvals.ChannelCLI}, approvals.DraftInput{Account: "ig", Text: "wait"})
		f.OK(err)
		r := f.do("POST", fmt.Sprintf("/api/v1/drafts/%d/published", v.ID), f.tokens["ed"], "")
		if r.status != http.StatusConflict {
			t.Errorf("status %d %s; want 409", r.status, r.body)
		}
	})
	t.Run("bad url", func(t *testing.T) {
		r := f.do("POST", path, f.tokens["pub"], `{"url": "javascript:alert(1)"}`)
		if r.status != http.StatusBadRequest {
			t.Errorf("status %d %s; want 400", r.status, r.body)
		}
	})
}

func TestStatusTable(t *testing.T) {
	tests := map[string]int{
		approvals.EINVALID: 400, approvals.EUNAUTHORIZED: 403, approvals.ENOTFOUND: 404,
		approvals.ECONFLICT: 409, approvals.EINTERNAL: 500, approvals.EUNAVAILABLE: 503, "unheard_of": 500,
	}
	for code, want := range tests {
		if got := api.Status(code); got != want {
			t.Errorf("Status(%q) = %d, want %d", code, got, want)
		}
	}
}
