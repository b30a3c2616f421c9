package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/outbox"
	"github.com/signoff-app/signoff/store"
	"github.com/signoff-app/signoff/webhook"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const secret = "whsec-0123456789abcdef"

func TestVerify(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"event":"draft.approved"}`)
	ts := "1795608000" // now
	signed := func(sig, ts string) http.Header {
		h := http.Header{}
		h.Set(webhook.HeaderTimestamp, ts)
		if sig != "" {
			h.Set(webhook.HeaderSignature, sig)
		}
		return h
	}
	good := webhook.Sign(secret, ts, body)
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", signed(good, ts), body, now, nil},
		{"valid within tolerance", signed(good, ts), body, now.Add(4 * time.Minute), nil},
		{"one of several (secret rotation)", signed("v1=00ff, "+good, ts), body, now, nil},
		{"tampered body", signed(good, ts), []byte(`{"event":"draft.rejected"}`), now, webhook.ErrBadSignature},
		{"wrong secret", signed(webhook.Sign("another-secret-value", ts, body), ts), body, now, webhook.ErrBadSignature},
		{"timestamp changed", signed(good, "1795608001"), body, now, webhook.ErrBadSignature},
		{"stale", signed(good, ts), body, now.Add(6 * time.Minute), webhook.ErrStale},
		{"from the future", signed(good, ts), body, now.Add(-6 * time.Minute), webhook.ErrStale},
		{"no signature", signed("", ts), body, now, webhook.ErrNoSignature},
		{"other scheme", signed("v0="+good[3:], ts), body, now, webhook.ErrNoSignature},
		{"no timestamp", signed(good, ""), body, now, webhook.ErrNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := webhook.Verify(secret, tt.header, tt.body, tt.now); !errors.Is(got, tt.want) {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

// fixture is a workspace with an owner who approves internally, an editor
// who writes, and an account needing internal approval; the service queues
// webhooks.
type fixture struct {
	t   *testing.T
	ctx context.Context
	db  *store.DB
	svc *approvals.Service
	mu  sync.Mutex
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	f.db = pgtest.MustOpen(t, pgtest.NewDatabase(t))
	f.svc = corefix.Service(f.db, f.clock)
	f.svc.Channels = []approvals.Channel{approvals.ChannelWebhook}
	op := approvals.Operator("acme")
	on := true
	steps := []func() error{
		func() error { _, err := f.svc.CreateWorkspace(f.ctx, op, "acme", "Acme"); return err },
		func() error {
			_, err := f.svc.AddMember(f.ctx, op, "owner@acme.test", "Olivia", approvals.RoleOwner)
			return err
		},
		func() error {
			_, err := f.svc.AddMember(f.ctx, op, "ed@acme.test", "Eddie", approvals.RoleEditor)
			return err
		},
		func() error { _, err := f.svc.AddAccount(f.ctx, op, "ig", "Acme IG"); return err },
		func() error { _, err := f.svc.AddAccount(f.ctx, op, "blog", "Acme Blog"); return err },
		func() error {
			return f.svc.Grant(f.ctx, op, "ig", approvals.GrantTarget{Email: "ed@acme.test"}, approvals.NewCaps(approvals.CapView, approvals.CapCreate))
		},
		func() error {
			return f.svc.Grant(f.ctx, op, "blog", approvals.GrantTarget{Email: "ed@acme.test"}, approvals.NewCaps(approvals.CapView, approvals.CapCreate))
		},
		func() error { return f.svc.AddApprover(f.ctx, op, "ig", "owner@acme.test", approvals.TierInternal) },
		func() error {
			_, err := f.svc.SetAccount(f.ctx, op, "ig", approvals.AccountSettings{NeedsInternalApproval: &on})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fixture) as(email string) approvals.Actor {
	return approvals.Actor{Workspace: "acme", Email: email, Channel: approvals.ChannelCLI}
}

// receiver is a publisher's endpoint that verifies every delivery, fails
// the first failures attempts of each delivery with 503, and records what
// it accepted.
type receiver struct {
	t        *testing.T
	now      func() time.Time
	failures int

	mu       sync.Mutex
	attempts map[string]int
	accepted map[int64][]webhook.Payload // by draft ID
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	if err := webhook.Verify(secret, r.Header, body, rc.now()); err != nil {
		rc.t.Errorf("delivery refused: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	id := r.Header.Get(webhook.HeaderDelivery)
	rc.attempts[id]++
	if rc.attempts[id] <= rc.failures {
		http.Error(w, "publisher down", http.StatusServiceUnavailable)
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		rc.t.Errorf("delivery body: %v", err)
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	if p.DeliveryID != id {
		rc.t.Errorf("body delivery_id %q, header %q", p.DeliveryID, id)
	}
	rc.accepted[p.Draft.ID] = append(rc.accepted[p.Draft.ID], p)
	w.WriteHeader(http.StatusNoContent)
}

func TestDeliveryRetriedUntilAccepted(t *testing.T) {
	f := newFixture(t)
	rc := &receiver{t: t, now: f.clock, failures: 2, attempts: map[string]int{}, accepted: map[int64][]webhook.Payload{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	// One draft approved by the owner, one approved at once (no tier), one
	// still pending: two hand-offs.
	media := []string{"https://cdn.example/a.jpg"}
	at := f.now.Add(48 * time.Hour)
	reviewed, err := f.svc.Submit(f.ctx, f.as("ed@acme.test"), approvals.DraftInput{Account: "ig", Text: "Launch day 🚀", MediaURLs: media, ScheduledAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Approve(f.ctx, approvals.Actor{Workspace: "acme", Email: "owner@acme.test", Channel: approvals.ChannelSlack}, reviewed.ID); err != nil {
		t.Fatal(err)
	}
	direct, err := f.svc.Submit(f.ctx, f.as("ed@acme.test"), approvals.DraftInput{Account: "blog", Text: "No review needed"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Submit(f.ctx, f.as("ed@acme.test"), approvals.DraftInput{Account: "ig", Text: "Still pending"}); err != nil {
		t.Fatal(err)
	}

	sender := webhook.NewSender(webhook.Config{URL: srv.URL, Secret: secret, Timeout: 5 * time.Second}, f.svc, srv.Client(), f.clock, nil)
	// Two dispatchers, as with two replicas; the email rows go to a sink.
	sink := outbox.SenderFunc(func(context.Context, *approvals.Batch, *approvals.OutboxMessage) error { return nil })
	var ds []*outbox.Dispatcher
	for range 2 {
		ds = append(ds, &outbox.Dispatcher{Store: f.db, Now: f.clock, Logger: slog.New(slog.DiscardHandler), Jitter: func() float64 { return 1 },
			Senders: map[approvals.Channel]outbox.Sender{approvals.ChannelWebhook: sender, approvals.ChannelEmail: sink, approvals.ChannelSlack: sink}})
	}
	for range 6 {
		var wg sync.WaitGroup
		for _, d := range ds {
			wg.Go(func() {
				if _, err := d.RunOnce(f.ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		f.advance(time.Minute) // past the backoff (5s, 10s)
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	got := map[int64]int{}
	for id, ps := range rc.accepted {
		got[id] = len(ps)
	}
	if diff := cmp.Diff(map[int64]int{reviewed.ID: 1, direct.ID: 1}, got); diff != "" {
		t.Fatalf("accepted deliveries by draft (-want +got):\n%s", diff)
	}
	for id, n := range rc.attempts {
		if n != 3 {
			t.Errorf("delivery %s attempted %d times, want 3", id, n)
		}
	}
	p := rc.accepted[reviewed.ID][0]
	d := p.Draft
	type summary struct {
		Event, Workspace, Account, Text string
		Revision                        int
		Media                           []string
		Scheduled                       time.Time
		Approvers                       []string
		Channels                        []approvals.Channel
	}
	want := summary{Event: webhook.EventApproved, Workspace: "acme", Account: "ig", Text: "Launch day 🚀", Revision: 1, Media: media, Scheduled: at,
		Approvers: []string{"owner@acme.test"}, Channels: []approvals.Channel{approvals.ChannelSlack}}
	got2 := summary{Event: p.Event, Workspace: p.Workspace, Account: d.Account, Text: d.Text, Revision: d.Revision, Media: d.MediaURLs}
	if d.ScheduledAt != nil {
		got2.Scheduled = *d.ScheduledAt
	}
	for _, a := range d.Approvals {
		got2.Approvers = append(got2.Approvers, a.Approver.Email)
		got2.Channels = append(got2.Channels, a.Channel)
	}
	if diff := cmp.Diff(want, got2); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}
	if d.ApprovedAt == nil || d.Cursor == "" {
		t.Errorf("payload lacks approved_at or cursor: %+v", d)
	}

	sent, err := f.svc.Outbox(f.ctx, approvals.OutboxSent, 100)
	if err != nil {
		t.Fatal(err)
	}
	webhooks := 0
	for _, m := range sent {
		if m.Channel == approvals.ChannelWebhook {
			webhooks++
			if m.Attempts != 3 {
				t.Errorf("outbox %d: %d attempts, want 3", m.ID, m.Attempts)
			}
		}
	}
	if webhooks != 2 {
		t.Errorf("%d webhook rows sent, want 2", webhooks)
	}
}

func TestSendStatuses(t *testing.T) {
	f := newFixture(t)
	v, err := f.svc.Submit(f.ctx, f.as("ed@acme.test"), approvals.DraftInput{Account: "blog", Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	msg := &approvals.OutboxMessage{Channel: approvals.ChannelWebhook, IdempotencyKey: "k",
		Payload: approvals.Notification{Event: approvals.EventApproved, WorkspaceID: v.WorkspaceID, DraftID: v.ID, Revision: 1}}
	tests := []struct {
		status        int
		wantErr       bool
		wantPermanent bool
	}{
		{http.StatusOK, false, false},
		{http.StatusAccepted, false, false},
		{http.StatusBadRequest, true, true},
		{http.StatusUnauthorized, true, true},
		{http.StatusGone, true, true},
		{http.StatusRequestTimeout, true, false},
		{http.StatusTooManyRequests, true, false},
		{http.StatusInternalServerError, true, false},
		{http.StatusBadGateway, true, false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) }))
			defer srv.Close()
			s := webhook.NewSender(webhook.Config{URL: srv.URL, Secret: secret}, f.svc, srv.Client(), f.clock, nil)
			err := s.Send(f.ctx, nil, msg)
			if (err != nil) != tt.wantErr || outbox.IsPermanent(err) != tt.wantPermanent {
				t.Errorf("Send with %d = %v (permanent %v); want error %v, permanent %v", tt.status, err, outbox.IsPermanent(err), tt.wantErr, tt.wantPermanent)
			}
		})
	}
	t.Run("network error is retried", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		s := webhook.NewSender(webhook.Config{URL: url, Secret: secret}, f.svc, nil, f.clock, nil)
		if err := s.Send(f.ctx, nil, msg); err == nil || outbox.IsPermanent(err) {
			t.Errorf("Send to a closed server = %v; want a retryable error", err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  webhook.Config
		want []string // keys named
	}{
		{"off", webhook.Config{}, nil},
		{"ok", webhook.Config{URL: "https://pub.example/hook", Secret: secret}, nil},
		{"no secret", webhook.Config{URL: "https://pub.example/hook"}, []string{"webhooks.secret"}},
		{"short secret", webhook.Config{URL: "https://pub.example/hook", Secret: "short"}, []string{"webhooks.secret"}},
		{"bad url", webhook.Config{URL: "pub.example", Secret: secret}, []string{"webhooks.url"}},
		{"secret alone", webhook.Config{Secret: secret}, []string{"webhooks.url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := tt.cfg.Validate()
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range j.Unwrap() {
					var fe *webhook.FieldError
					if errors.As(e, &fe) {
						got = append(got, fe.Key)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
		})
	}
}
