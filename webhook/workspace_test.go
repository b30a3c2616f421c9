package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/outbox"
	"github.com/signoff-app/signoff/webhook"
)

// endpoint is one publisher's receiver: it records each delivery's
// workspace and draft text, and which of the secrets it knows verify it.
type endpoint struct {
	now     func() time.Time
	secrets map[string]string // name → secret

	mu  sync.Mutex
	got []string // "workspace text: verified-by…"
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	var by []string
	for name, s := range e.secrets {
		if webhook.Verify(s, r.Header, body, e.now()) == nil {
			by = append(by, name)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, p.Workspace+" "+p.Draft.Text+": "+strings.Join(slices.Sorted(slices.Values(by)), ","))
	w.WriteHeader(http.StatusNoContent)
}

func (e *endpoint) deliveries() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := append([]string(nil), e.got...)
	e.got = nil
	return out
}

// Two workspaces on one server, each with its own webhook, and a third
// without, which uses the deployment's: each workspace's approved drafts
// go only to its own endpoint, signed with its own secret; a rotation
// signs with both secrets during the overlap, then with the new one only.
func TestWorkspaceWebhooks(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	db := pgtest.MustOpen(t, pgtest.NewDatabase(t))
	svc := corefix.Service(db, clock)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	const defaultSecret = "deployment-secret-0123456789"
	eps := map[string]*endpoint{}
	urls := map[string]string{}
	for _, name := range []string{"acme", "beta", "default"} {
		eps[name] = &endpoint{now: clock, secrets: map[string]string{"deployment": defaultSecret}}
		srv := httptest.NewServer(eps[name])
		t.Cleanup(srv.Close)
		urls[name] = srv.URL
	}
	secrets := map[string]string{}
	for _, ws := range []string{"acme", "beta", "gamma"} {
		op := approvals.Operator(ws)
		_, err := svc.CreateWorkspace(ctx, op, ws, ws)
		must(err)
		_, err = svc.AddMember(ctx, op, "ed@"+ws+".test", "Ed", approvals.RoleEditor)
		must(err)
		_, err = svc.AddAccount(ctx, op, "blog", "Blog") // needs no approval: approved at once
		must(err)
		must(svc.Grant(ctx, op, "blog", approvals.GrantTarget{Email: "ed@" + ws + ".test"}, approvals.NewCaps(approvals.CapView, approvals.CapCreate)))
		if ws == "gamma" {
			continue
		}
		u := urls[ws]
		info, err := svc.SetWebhook(ctx, op, approvals.WebhookSettings{URL: &u})
		must(err)
		if !strings.HasPrefix(info.Secret, approvals.WebhookSecretPrefix) {
			t.Fatalf("%s: secret %q", ws, info.Secret)
		}
		secrets[ws] = info.Secret
	}
	// Every endpoint knows every secret, to tell which one signed.
	for _, e := range eps {
		e.secrets["acme"], e.secrets["beta"] = secrets["acme"], secrets["beta"]
	}
	// Changing the URL again shows no secret.
	u := urls["acme"]
	info, err := svc.SetWebhook(ctx, approvals.Operator("acme"), approvals.WebhookSettings{URL: &u})
	must(err)
	if info.Secret != "" {
		t.Errorf("setting the URL again showed the secret")
	}

	submit := func(ws, text string) {
		t.Helper()
		_, err := svc.Submit(ctx, approvals.Actor{Workspace: ws, Email: "ed@" + ws + ".test", Channel: approvals.ChannelCLI}, approvals.DraftInput{Account: "blog", Text: text})
		must(err)
	}
	sender := webhook.NewSender(webhook.Config{URL: urls["default"], Secret: defaultSecret, Timeout: 5 * time.Second}, svc, nil, clock, nil)
	sink := outbox.SenderFunc(func(context.Context, *approvals.Batch, *approvals.OutboxMessage) error { return nil })
	d := &outbox.Dispatcher{Store: db, Views: svc, Now: clock, Logger: slog.New(slog.DiscardHandler),
		Senders: map[approvals.Channel]outbox.Sender{approvals.ChannelWebhook: sender, approvals.ChannelEmail: sink, approvals.ChannelSlack: sink}}
	dispatch := func() {
		t.Helper()
		for range 3 {
			_, err := d.RunOnce(ctx)
			must(err)
		}
	}
	check := func(name string, want map[string][]string) {
		t.Helper()
		got := map[string][]string{}
		for n, e := range eps {
			if ds := e.deliveries(); len(ds) > 0 {
				got[n] = ds
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: deliveries by endpoint (-want +got):\n%s", name, diff)
		}
	}

	t.Run("a workspace's own webhook without a deployment one", func(t *testing.T) {
		submit("acme", "A1")
		submit("gamma", "G0") // no webhook at all: nothing queued
		dispatch()
		check("own only", map[string][]string{"acme": {"acme A1: acme"}})
	})

	svc.Channels = []approvals.Channel{approvals.ChannelWebhook} // the deployment has webhooks.url
	t.Run("each workspace to its own endpoint", func(t *testing.T) {
		submit("acme", "A2")
		submit("beta", "B1")
		submit("gamma", "G1")
		dispatch()
		check("own and default", map[string][]string{
			"acme":    {"acme A2: acme"},
			"beta":    {"beta B1: beta"},
			"default": {"gamma G1: deployment"},
		})
	})

	t.Run("rotation overlaps, then the old secret stops", func(t *testing.T) {
		info, err := svc.SetWebhook(ctx, approvals.Operator("acme"), approvals.WebhookSettings{Rotate: true, Overlap: time.Hour})
		must(err)
		if info.Secret == "" || info.Secret == secrets["acme"] || info.PreviousUntil == nil || !info.PreviousUntil.Equal(clock().Add(time.Hour)) {
			t.Fatalf("rotation: %+v", info)
		}
		for _, e := range eps {
			e.secrets["acme-new"] = info.Secret
		}
		submit("acme", "A3")
		dispatch()
		check("during the overlap", map[string][]string{"acme": {"acme A3: acme,acme-new"}})

		advance(time.Hour)
		submit("acme", "A4")
		dispatch()
		check("after the overlap", map[string][]string{"acme": {"acme A4: acme-new"}})
	})

	t.Run("removed: back to the deployment's", func(t *testing.T) {
		empty := ""
		info, err := svc.SetWebhook(ctx, approvals.Operator("beta"), approvals.WebhookSettings{URL: &empty})
		must(err)
		if !info.Removed {
			t.Errorf("not removed: %+v", info)
		}
		submit("beta", "B2")
		dispatch()
		check("removed", map[string][]string{"default": {"beta B2: deployment"}})
	})

	t.Run("only admins", func(t *testing.T) {
		u := "https://evil.example/hook"
		_, err := svc.SetWebhook(ctx, approvals.Actor{Workspace: "acme", Email: "ed@acme.test", Channel: approvals.ChannelCLI}, approvals.WebhookSettings{URL: &u})
		if approvals.ErrorCode(err) != approvals.EUNAUTHORIZED {
			t.Errorf("editor set the webhook: %v", err)
		}
		bad := "ftp://x"
		if _, err := svc.SetWebhook(ctx, approvals.Operator("acme"), approvals.WebhookSettings{URL: &bad}); approvals.ErrorCode(err) != approvals.EINVALID {
			t.Errorf("bad URL: %v", err)
		}
	})
}
