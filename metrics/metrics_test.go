package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/httpserver"
	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/metrics"
	"github.com/signoff-app/signoff/outbox"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// scrape returns the metric lines (no comments) of m's handler.
func scrape(t *testing.T, h http.Handler) map[string]string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	out := map[string]string{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		out[line[:i]] = line[i+1:]
	}
	return out
}

func TestCountersMoveAfterDecision(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustOpen(t, pgtest.NewDatabase(t))
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m := metrics.New()
	m.WatchOutbox(db, func() time.Time { return now.Add(90 * time.Second) })
	m.WatchPool(db.Pool().Stat)
	svc := corefix.Service(db, func() time.Time { return now })
	svc.Metrics = m

	op := approvals.Operator("acme")
	on := true
	steps := []func() error{
		func() error { _, err := svc.CreateWorkspace(ctx, op, "acme", "Acme"); return err },
		func() error { // each request due at once: the test counts them sent
			var window time.Duration
			_, err := svc.SetWorkspace(ctx, op, approvals.WorkspaceSettings{GroupWindow: &window})
			return err
		},
		func() error {
			_, err := svc.AddMember(ctx, op, "owner@acme.test", "O", approvals.RoleOwner)
			return err
		},
		func() error { _, err := svc.AddMember(ctx, op, "ed@acme.test", "E", approvals.RoleEditor); return err },
		func() error { _, err := svc.AddAccount(ctx, op, "ig", "IG"); return err },
		func() error {
			return svc.Grant(ctx, op, "ig", approvals.GrantTarget{Email: "ed@acme.test"}, approvals.NewCaps(approvals.CapView, approvals.CapCreate))
		},
		func() error { return svc.AddApprover(ctx, op, "ig", "owner@acme.test", approvals.TierInternal) },
		func() error {
			_, err := svc.SetAccount(ctx, op, "ig", approvals.AccountSettings{NeedsInternalApproval: &on})
			return err
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	ed := approvals.Actor{Workspace: "acme", Email: "ed@acme.test", Channel: approvals.ChannelCLI}
	owner := approvals.Actor{Workspace: "acme", Email: "owner@acme.test", Channel: approvals.ChannelEmail}

	before := scrape(t, m.Handler())
	approvedKey := `signoff_decisions_total{channel="email",outcome="approved",verdict="approve"}`
	if _, ok := before[approvedKey]; ok {
		t.Fatalf("%s present before any decision", approvedKey)
	}
	if got := before[`signoff_outbox_stats_up`]; got != "1" {
		t.Errorf("outbox stats up = %q", got)
	}

	v, err := svc.Submit(ctx, ed, approvals.DraftInput{Account: "ig", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	mid := scrape(t, m.Handler())
	if got := mid[`signoff_outbox_messages{channel="email",state="pending"}`]; got != "1" {
		t.Errorf("pending email depth = %q, want 1", got)
	}
	if got := mid[`signoff_outbox_oldest_age_seconds{channel="email",state="pending"}`]; got != "90" {
		t.Errorf("oldest pending email age = %q, want 90", got)
	}
	if _, err := svc.Approve(ctx, owner, v.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Approve(ctx, owner, v.ID); err != nil { // a repeat click
		t.Fatal(err)
	}
	if _, err := svc.Approve(ctx, approvals.Actor{Workspace: "acme", Email: "ed@acme.test", Channel: approvals.ChannelSlack}, v.ID); err == nil {
		t.Fatal("the author approved")
	}
	d := &outbox.Dispatcher{Store: db, Now: func() time.Time { return now }, Metrics: m, Logger: slog.New(slog.DiscardHandler),
		Senders: map[approvals.Channel]outbox.Sender{approvals.ChannelEmail: outbox.SenderFunc(func(ctx context.Context, _ *approvals.Batch, msg *approvals.OutboxMessage) error {
			if msg.Payload.Event == approvals.EventApproved {
				return errors.New("smtp 421")
			}
			return nil
		})}}
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	m.Reminder("client")
	m.Deadline("expire")

	after := scrape(t, m.Handler())
	for key, want := range map[string]string{
		approvedKey: "1",
		`signoff_decisions_total{channel="email",outcome="repeat",verdict="approve"}`:       "1",
		`signoff_decisions_total{channel="slack",outcome="unauthorized",verdict="approve"}`: "1",
		`signoff_outbox_sent_total{channel="email"}`:                                        "1",
		`signoff_outbox_send_failures_total{channel="email",kind="retry"}`:                  "1",
		`signoff_outbox_messages{channel="email",state="pending"}`:                          "1",
		`signoff_reminders_total{kind="client"}`:                                            "1",
		`signoff_deadline_actions_total{policy="expire"}`:                                   "1",
	} {
		if got := after[key]; got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if _, ok := after["signoff_db_pool_max_conns"]; !ok {
		t.Error("no pool metrics")
	}
}

func TestRequestsByRoute(t *testing.T) {
	m := metrics.New()
	srv := httpserver.New("127.0.0.1:0", slog.New(slog.DiscardHandler))
	srv.Observer = m
	srv.HandleFunc("GET /api/v1/drafts/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "2" {
			http.NotFound(w, r)
		}
	})
	for _, p := range []string{"/api/v1/drafts/1", "/api/v1/drafts/1", "/api/v1/drafts/2", "/nowhere"} {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		_, _ = io.Copy(io.Discard, rec.Body)
	}
	got := scrape(t, m.Handler())
	for key, want := range map[string]string{
		`signoff_http_requests_total{method="GET",route="/api/v1/drafts/{id}",status="200"}`: "2",
		`signoff_http_requests_total{method="GET",route="/api/v1/drafts/{id}",status="404"}`: "1",
		`signoff_http_requests_total{method="GET",route="unmatched",status="404"}`:           "1",
	} {
		if got[key] != want {
			t.Errorf("%s = %q, want %q", key, got[key], want)
		}
	}
}

// failingStats is an outbox that cannot be read.
type failingStats struct{}

func (failingStats) OutboxStats(context.Context) ([]approvals.OutboxStat, error) {
	return nil, errors.New("down")
}

func TestOutboxDown(t *testing.T) {
	m := metrics.New()
	m.WatchOutbox(failingStats{}, nil)
	if got := scrape(t, m.Handler())["signoff_outbox_stats_up"]; got != "0" {
		t.Errorf("signoff_outbox_stats_up = %q, want 0", got)
	}
}

// TestMetricsToken: with metrics.token set, /metrics answers only the
// bearer of it.
func TestMetricsToken(t *testing.T) {
	m := metrics.New()
	h := m.HandlerWithToken("s3cret")
	for _, tt := range []struct {
		auth string
		want int
	}{{"", http.StatusUnauthorized}, {"Bearer nope", http.StatusUnauthorized}, {"s3cret", http.StatusUnauthorized}, {"Bearer s3cret", http.StatusOK}} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("Authorization %q: %d, want %d", tt.auth, w.Code, tt.want)
		}
	}
	m.Refusal(true)
	m.Refusal(false)
	got := scrape(t, m.HandlerWithToken(""))
	if got[`signoff_unauthenticated_refusals_total{written="false"}`] != "1" || got[`signoff_unauthenticated_refusals_total{written="true"}`] != "1" {
		t.Errorf("refusal counts: %v", got)
	}
}
