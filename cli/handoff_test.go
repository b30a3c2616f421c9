package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/internal/servetest"
	"github.com/signoff-app/signoff/media"
	"github.com/signoff-app/signoff/webhook"
)

func TestTokenCommands(t *testing.T) {
	c := newCLI(t, testDB(t))
	seed(c, "acme")
	ws := []string{"--workspace", "acme"}
	cmd := func(args ...string) []string { return append(args, ws...) }

	var created struct {
		Name   string `json:"name"`
		Role   string `json:"role"`
		Member string `json:"member"`
		Token  string `json:"token"`
	}
	c.jsonOut(&created, cmd("admin", "token", "create", "--name", "zapier", "--member", "eddie@agency.example")...)
	if created.Role != "member" || created.Member != "eddie@agency.example" || !strings.HasPrefix(created.Token, approvals.TokenPrefix) {
		t.Errorf("token create --json = %+v", created)
	}
	human := c.ok(cmd("admin", "token", "create", "--name", "publisher")...)
	first, _, _ := strings.Cut(human, "\n")
	if !strings.HasPrefix(first, approvals.TokenPrefix) || len(first) != len(approvals.TokenPrefix)+43 {
		t.Errorf("token create prints %q first; want the token alone", first)
	}
	c.refused(ExitRefused, []string{"publisher"}, cmd("admin", "token", "create", "--name", "publisher")...)
	c.refused(ExitRefused, []string{"nobody@agency.example"}, cmd("admin", "token", "create", "--name", "x", "--member", "nobody@agency.example")...)
	c.refused(ExitUsage, []string{"--member"}, cmd("admin", "token", "create", "--name", "x", "--member", "not-an-email")...)

	c.ok(cmd("admin", "token", "revoke", "--name", "zapier")...)
	c.refused(ExitRefused, []string{"zapier"}, cmd("admin", "token", "revoke", "--name", "zapier")...)

	var list []approvals.APIToken
	c.jsonOut(&list, cmd("admin", "token", "list")...)
	type row struct {
		Name, Member string
		Revoked      bool
	}
	var got []row
	for _, k := range list {
		got = append(got, row{k.Name, k.Member, k.RevokedAt != nil})
	}
	want := []row{{"zapier", "eddie@agency.example", true}, {"publisher", "", false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token list (-want +got):\n%s", diff)
	}
	if out := c.ok(cmd("admin", "token", "list")...); strings.Contains(out, approvals.TokenPrefix) {
		t.Errorf("token list shows a secret:\n%s", out)
	}
	// The name of a revoked token can be used again.
	c.ok(cmd("admin", "token", "create", "--name", "zapier")...)
}

func TestWebhookConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"url without the key", map[string]string{"SIGNOFF_WEBHOOKS_URL": "https://pub.example/hook"}, `signoff: config: webhooks.secret: required when webhooks.url is set`},
		{"bad url", map[string]string{"SIGNOFF_WEBHOOKS_URL": "pub.example", "SIGNOFF_WEBHOOKS_SECRET": "0123456789abcdef0123"}, `signoff: config: webhooks.url: must be an absolute http or https URL, got "pub.example"`},
		{"metrics flag", map[string]string{"SIGNOFF_METRICS_ENABLED": "maybe"}, `signoff: config:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cliEnv{t: t, env: tt.env}
			r := c.run("migrate")
			if r.code != ExitUsage || !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", r.code, r.stderr, tt.want)
			}
		})
	}
	t.Run("configured", func(t *testing.T) {
		cfg, err := LoadConfig("", nil, func(k string) string {
			return map[string]string{"SIGNOFF_WEBHOOKS_URL": "https://pub.example/hook", "SIGNOFF_WEBHOOKS_SECRET": "0123456789abcdef0123", "SIGNOFF_METRICS_ENABLED": "false"}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.Webhooks.Enabled() || cfg.Metrics.Enabled {
			t.Errorf("webhooks %+v, metrics %+v", cfg.Webhooks, cfg.Metrics)
		}
	})
}

func TestSeedDemo(t *testing.T) {
	ctx := context.Background()
	svc := corefix.Service(pgtest.MustOpen(t, testDB(t)), nil)
	first, err := seedDemo(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	// Between two starts, the user connects Sam to a real Slack user and
	// changes the grouping window and Instagram's approval: a start keeps
	// them.
	op := approvals.Operator(demoWorkspace)
	realUser, window, off := "U0REALSAM", time.Minute, false
	if _, err := svc.SetMember(ctx, op, demoSlackClient, approvals.MemberSettings{SlackUserID: &realUser}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetWorkspace(ctx, op, approvals.WorkspaceSettings{GroupWindow: &window}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetAccount(ctx, op, demoAccount, approvals.AccountSettings{NeedsClientApproval: &off}); err != nil {
		t.Fatal(err)
	}
	second, err := seedDemo(ctx, svc) // every start of make dev
	if err != nil {
		t.Fatalf("second seed: %v", err)
	}
	if ws, err := svc.Workspace(ctx, op); err != nil || ws.GroupWindow != window {
		t.Errorf("after a restart the grouping window is %v (%v), want %v as set", ws.GroupWindow, err, window)
	}
	if accs, err := svc.Accounts(ctx, op); err != nil {
		t.Fatal(err)
	} else {
		for _, a := range accs {
			if a.Account.Handle == demoAccount && a.Account.NeedsClientApproval {
				t.Errorf("after a restart %s needs client approval again", demoAccount)
			}
		}
	}
	if first == second {
		t.Error("the same token twice")
	}
	if _, err := svc.Authenticate(ctx, first, approvals.Meta{}); approvals.ErrorCode(err) != approvals.EUNAUTHORIZED {
		t.Errorf("the previous run's token still works: %v", err)
	}
	if _, err := svc.Authenticate(ctx, second, approvals.Meta{}); err != nil {
		t.Errorf("this run's token: %v", err)
	}

	members, err := svc.Members(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, m := range members {
		roles = append(roles, m.Email+" "+string(m.Role)+" "+m.SlackUserID)
	}
	wantRoles := []string{ // by email
		demoClient + " client ", demoEditor + " editor ", demoOwner + " owner ", demoSlackClient + " client " + realUser,
	}
	if diff := cmp.Diff(wantRoles, roles); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}

	// The whole flow on the account with both tiers.
	as := func(email string) approvals.Actor {
		return approvals.Actor{Workspace: demoWorkspace, Email: email, Channel: approvals.ChannelCLI}
	}
	v, err := svc.Submit(ctx, as(demoEditor), approvals.DraftInput{Account: demoBothAccount, Text: "We are hiring"})
	if err != nil {
		t.Fatal(err)
	}
	var states []approvals.State
	for _, who := range []string{demoOwner, demoSlackClient, demoClient} {
		res, err := svc.Approve(ctx, as(who), v.ID)
		if err != nil {
			t.Fatalf("%s approves: %v", who, err)
		}
		states = append(states, res.Draft.State)
	}
	if diff := cmp.Diff([]approvals.State{approvals.StatePendingClient, approvals.StatePendingClient, approvals.StateApproved}, states); diff != "" {
		t.Errorf("states after each approval (-want +got):\n%s", diff)
	}
}

// TestServeHandoff runs the real serve with a webhook receiver: a draft
// approved from the command line reaches the receiver, the API lists it
// with a token made by the command line, /metrics shows the request and
// the decision, and every log line of an API request carries its ID.
func TestServeHandoff(t *testing.T) {
	dbURL := testDB(t)
	received := make(chan []byte, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify("0123456789abcdef0123", r.Header, body, time.Now()); err != nil {
			t.Errorf("webhook: %v", err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		received <- body
	}))
	defer hook.Close()
	env := map[string]string{
		"SIGNOFF_DATABASE_URL":    dbURL,
		"SIGNOFF_WEBHOOKS_URL":    hook.URL,
		"SIGNOFF_WEBHOOKS_SECRET": "0123456789abcdef0123",
		"SIGNOFF_LOG_LEVEL":       "info",
	}
	c := &cliEnv{t: t, env: env}
	seed(c, "acme")
	c.ok("admin", "grant", "--workspace", "acme", "--account", "acme-ig", "--member", "eddie@agency.example", "--caps", "create")
	token, _, _ := strings.Cut(c.ok("admin", "token", "create", "--workspace", "acme", "--name", "pub"), "\n")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &servetest.Log{}
	exited := make(chan int, 1)
	go func() {
		exited <- Run(ctx, []string{"serve", "--http-addr", "127.0.0.1:0", "--log-format", "json"},
			strings.NewReader(""), io.Discard, stderr, c.getenv)
	}()
	addr := servetest.WaitListening(t, stderr, exited)
	base := "http://" + addr

	// No tier: approved at submit, handed off.
	id := strings.TrimSpace(c.ok("draft", "submit", "--workspace", "acme", "--account", "acme-ig", "--as", "eddie@agency.example", "--text", "Ship it"))
	select {
	case body := <-received:
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil || p.Draft == nil || strconv.FormatInt(p.Draft.ID, 10) != id {
			t.Errorf("webhook body %s (%v); want draft %s", body, err, id)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no webhook; stderr:\n%s", stderr)
	}

	req, _ := http.NewRequest("GET", base+"/api/v1/drafts?state=approved", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Request-Id", "e2e-list-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var page approvals.HandoffPage
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 || len(page.Drafts) != 1 {
		t.Errorf("GET /api/v1/drafts: %d, %+v, %v", resp.StatusCode, page, err)
	}
	resp.Body.Close()

	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`signoff_http_requests_total{method="GET",route="/api/v1/drafts",status="200"} 1`,
		`signoff_outbox_sent_total{channel="webhook"} 1`,
		`signoff_db_pool_max_conns`,
	} {
		if !strings.Contains(string(metricsBody), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	cancel()
	<-exited
	var requestLines int
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, `"path":"/api/v1/drafts"`) {
			requestLines++
			if !strings.Contains(line, `"request_id":"e2e-list-1"`) {
				t.Errorf("request line without its request_id: %s", line)
			}
		}
	}
	if requestLines != 1 {
		t.Errorf("%d request lines for the API call; stderr:\n%s", requestLines, stderr)
	}
}

// TestSeedDemoDraft: the demo draft's picture is fetched from the host
// `signoff dev` listens on, whatever address that is, and the media hosts
// the user set stay.
func TestSeedDemoDraft(t *testing.T) {
	ctx := context.Background()
	svc := corefix.Service(pgtest.MustOpen(t, testDB(t)), nil)
	svc.MediaFetcher = media.New(media.Config{AllowPrivate: true}, nil)
	if _, err := seedDemo(ctx, svc); err != nil {
		t.Fatal(err)
	}
	op := approvals.Operator(demoWorkspace)
	hosts := "cdn.acme.example"
	if _, err := svc.SetWorkspace(ctx, op, approvals.WorkspaceSettings{MediaHosts: &hosts}); err != nil {
		t.Fatal(err)
	}
	pics := httptest.NewServer(http.HandlerFunc(serveDemoPicture))
	defer pics.Close()
	for range 2 { // every start: the draft once, the host once
		if err := seedDemoDraft(ctx, svc, pics.URL+demoPicturePath); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := svc.Workspace(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"cdn.acme.example", "127.0.0.1"}, ws.MediaHosts); diff != "" {
		t.Errorf("media hosts (-want +got):\n%s", diff)
	}
	drafts, err := svc.List(ctx, approvals.Actor{Workspace: demoWorkspace, Email: demoEditor, Channel: approvals.ChannelCLI},
		approvals.ListInput{Account: demoAccount})
	if err != nil {
		t.Fatal(err)
	}
	if len(drafts) != 1 {
		t.Fatalf("%d demo drafts, want 1", len(drafts))
	}
}
