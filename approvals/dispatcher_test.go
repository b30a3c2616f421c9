package approvals_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
)

// TestDispatcherRetryAfter: a Retry-After pauses the whole channel, not
// only the message that drew it; the messages put off meanwhile are not
// attempts that fail, so none of them goes dead for it.
func TestDispatcherRetryAfter(t *testing.T) {
	f := standard(t)
	for i := range 5 {
		f.submit("ed@acme.test", "client", fmt.Sprintf("draft %d", i))
	}
	limited := true
	calls := 0
	var callTimes []time.Time
	d := &approvals.Dispatcher{Store: f.db, Now: func() time.Time { return f.now }, Logger: slog.New(slog.DiscardHandler),
		Jitter: func() float64 { return 1 }, MaxAttempts: 2, Workers: 1, // one send at a time: no call in flight when the 429 comes
		Senders: map[approvals.Channel]approvals.Sender{approvals.ChannelEmail: approvals.SenderFunc(func(ctx context.Context, m *approvals.OutboxMessage) error {
			calls++
			callTimes = append(callTimes, f.now)
			if limited {
				return &approvals.RetryAfterError{After: time.Minute, Err: errors.New("429 too many requests")}
			}
			return nil
		})}}
	round := func() {
		t.Helper()
		for {
			n, err := d.RunOnce(f.ctx)
			f.ok(err)
			if n == 0 {
				return
			}
		}
	}
	start := f.now
	round()
	if calls != 1 {
		t.Fatalf("%d sender calls after a 429 with Retry-After 1m; want 1 (the rest put off)", calls)
	}
	f.now = f.now.Add(30 * time.Second)
	round()
	if calls != 1 {
		t.Fatalf("%d sender calls 30s into a 1m Retry-After; want 1", calls)
	}
	f.now = start.Add(time.Minute)
	round() // one call, 429 again: paused another minute
	if calls != 2 {
		t.Fatalf("%d sender calls after the Retry-After; want 2", calls)
	}
	limited = false
	f.now = start.Add(2 * time.Minute)
	round()
	dead, err := f.svc.Outbox(f.ctx, approvals.OutboxDead, 100)
	f.ok(err)
	pending, err := f.svc.Outbox(f.ctx, approvals.OutboxPending, 100)
	f.ok(err)
	if len(dead) != 0 || len(pending) != 0 {
		t.Fatalf("%d dead and %d pending rows after the pause; want all sent (put-off rows are not failed attempts)", len(dead), len(pending))
	}
	for i, at := range callTimes[:2] {
		if want := start.Add(time.Duration(i) * time.Minute); !at.Equal(want) {
			t.Errorf("call %d at %s, want %s", i+1, at.Sub(start), want.Sub(start))
		}
	}
}

// concurrentSender records deliveries; it is an approvals.ConcurrentSender,
// so the dispatcher hands it up to Workers messages at once.
type concurrentSender struct {
	mu          sync.Mutex
	send        func(ctx context.Context, m *approvals.OutboxMessage) error
	inFlight    int
	maxInFlight int
	delivered   map[int64]int
	lanes       map[string][]int64 // (draft, target) → IDs in delivery order
}

func (s *concurrentSender) Concurrency() int { return 16 }

func (s *concurrentSender) Send(ctx context.Context, m *approvals.OutboxMessage) error {
	s.mu.Lock()
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.mu.Unlock()
	time.Sleep(2 * time.Millisecond) // let deliveries overlap
	var err error
	if s.send != nil {
		err = s.send(ctx, m)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	if s.delivered == nil {
		s.delivered, s.lanes = map[int64]int{}, map[string][]int64{}
	}
	if err == nil {
		s.delivered[m.ID]++
	}
	lane := fmt.Sprintf("d%d/%s", m.Payload.DraftID, m.Payload.Target)
	s.lanes[lane] = append(s.lanes[lane], m.ID)
	return err
}

// TestDispatcherWorkers: two dispatchers with four workers each deliver
// every row exactly once, never more than four at once each, and the
// messages of one draft to one recipient in order.
func TestDispatcherWorkers(t *testing.T) {
	f := standard(t)
	for i := range 20 {
		f.submit("ed@acme.test", "client", fmt.Sprintf("draft %d", i))
		f.submit("ed@acme.test", "internal", fmt.Sprintf("internal draft %d", i))
	}
	senders := []*concurrentSender{{}, {}}
	var wg sync.WaitGroup
	for _, s := range senders {
		d := &approvals.Dispatcher{Store: f.db, Senders: map[approvals.Channel]approvals.Sender{approvals.ChannelEmail: s},
			Now: func() time.Time { return f.now }, Logger: slog.New(slog.DiscardHandler), Batch: 13, Workers: 4}
		wg.Go(func() {
			for {
				n, err := d.RunOnce(f.ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	sent, err := f.svc.Outbox(f.ctx, approvals.OutboxSent, 1000)
	f.ok(err)
	pending, err := f.svc.Outbox(f.ctx, approvals.OutboxPending, 1000)
	f.ok(err)
	if len(sent) != 100 || len(pending) != 0 {
		t.Fatalf("%d sent, %d pending; want 100 sent (20×3 client + 20×2 internal emails)", len(sent), len(pending))
	}
	seen := map[int64]int{}
	for i, s := range senders {
		if s.maxInFlight > 4 {
			t.Errorf("dispatcher %d had %d deliveries in flight; want at most its 4 workers", i, s.maxInFlight)
		}
		for id, n := range s.delivered {
			seen[id] += n
		}
		for lane, ids := range s.lanes {
			if !slices.IsSorted(ids) {
				t.Errorf("lane %s delivered out of order: %v", lane, ids)
			}
		}
	}
	if senders[0].maxInFlight < 2 && senders[1].maxInFlight < 2 {
		t.Error("no two deliveries ever overlapped: the workers did not run concurrently")
	}
	for _, m := range sent {
		if seen[m.ID] != 1 {
			t.Errorf("row %d delivered %d times", m.ID, seen[m.ID])
		}
		if m.LeaseUntil != nil {
			t.Errorf("row %d still leased until %s after it was sent", m.ID, m.LeaseUntil)
		}
	}
}

// TestDispatcherBatchOutcomes: in one concurrently delivered batch, the
// one permanent failure goes dead, a temporary one is retried later, and
// every other row is sent.
func TestDispatcherBatchOutcomes(t *testing.T) {
	f := standard(t)
	var doomed, flaky int64
	for i := range 6 {
		v := f.submit("ed@acme.test", "client", fmt.Sprintf("draft %d", i))
		switch i {
		case 2:
			doomed = v.ID
		case 4:
			flaky = v.ID
		}
	}
	s := &concurrentSender{send: func(ctx context.Context, m *approvals.OutboxMessage) error {
		switch {
		case m.Payload.DraftID == doomed && m.Payload.Target == "c2@client.test":
			return approvals.Permanent(errors.New("550 no such user"))
		case m.Payload.DraftID == flaky && m.Payload.Target == "c3@client.test":
			return errors.New("421 try later")
		}
		return nil
	}}
	d := &approvals.Dispatcher{Store: f.db, Senders: map[approvals.Channel]approvals.Sender{approvals.ChannelEmail: s},
		Now: func() time.Time { return f.now }, Logger: slog.New(slog.DiscardHandler), Jitter: func() float64 { return 1 }}
	n, err := d.RunOnce(f.ctx)
	f.ok(err)
	if n != 18 {
		t.Fatalf("claimed %d rows, want 18", n)
	}
	all, err := f.svc.Outbox(f.ctx, "", 100)
	f.ok(err)
	for _, m := range all {
		want := approvals.OutboxSent
		switch {
		case m.Payload.DraftID == doomed && m.Payload.Target == "c2@client.test":
			want = approvals.OutboxDead
			if !strings.Contains(m.LastError, "550") {
				t.Errorf("dead row's error %q does not give the reason", m.LastError)
			}
		case m.Payload.DraftID == flaky && m.Payload.Target == "c3@client.test":
			want = approvals.OutboxPending
			if !m.NextAttemptAt.Equal(f.now.Add(5*time.Second)) || m.LeaseUntil != nil || m.LastError == "" {
				t.Errorf("retried row: next %s, lease %v, error %q; want next in 5s, no lease, the error", m.NextAttemptAt, m.LeaseUntil, m.LastError)
			}
		}
		if m.State != want {
			t.Errorf("row %d (draft %d to %s) is %s, want %s", m.ID, m.Payload.DraftID, m.Payload.Target, m.State, want)
		}
	}
}

// countingStore counts the drafts loaded through it.
type countingStore struct {
	approvals.Store
	drafts atomic.Int64
}

type countingTx struct {
	approvals.Tx
	s *countingStore
}

func (s *countingStore) InTx(ctx context.Context, fn func(ctx context.Context, tx approvals.Tx) error) error {
	return s.Store.InTx(ctx, func(ctx context.Context, tx approvals.Tx) error { return fn(ctx, countingTx{tx, s}) })
}

func (t countingTx) DraftByID(ctx context.Context, workspaceID, id int64) (*approvals.Draft, error) {
	t.s.drafts.Add(1)
	return t.Tx.DraftByID(ctx, workspaceID, id)
}

// TestDispatcherSharesViews: the messages of one batch about one draft
// load it once, and each still gets its own recipient.
func TestDispatcherSharesViews(t *testing.T) {
	f := standard(t)
	f.submit("ed@acme.test", "client", "one draft, three client approvers")
	cs := &countingStore{Store: f.db}
	svc := approvals.NewService(cs)
	var mu sync.Mutex
	got := map[string]string{}
	s := &concurrentSender{send: func(ctx context.Context, m *approvals.OutboxMessage) error {
		v, r, err := svc.NotificationView(ctx, m.Payload)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		got[m.Payload.Target] = r.Email + " " + v.Current.Text
		return nil
	}}
	d := &approvals.Dispatcher{Store: f.db, Senders: map[approvals.Channel]approvals.Sender{approvals.ChannelEmail: s},
		Now: func() time.Time { return f.now }, Logger: slog.New(slog.DiscardHandler)}
	n, err := d.RunOnce(f.ctx)
	f.ok(err)
	if n != 3 {
		t.Fatalf("claimed %d rows, want 3", n)
	}
	want := map[string]string{}
	for _, c := range []string{"c1", "c2", "c3"} {
		want[c+"@client.test"] = c + "@client.test one draft, three client approvers"
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("views (-want +got)\n%s", diff)
	}
	if n := cs.drafts.Load(); n != 1 {
		t.Errorf("draft loaded %d times for one batch, want 1", n)
	}
	// Outside a dispatcher batch nothing is cached.
	if _, _, err := svc.NotificationView(f.ctx, approvals.Notification{WorkspaceID: 1, DraftID: 1}); err == nil {
		if n := cs.drafts.Load(); n != 2 {
			t.Errorf("draft loaded %d times after a call outside a batch, want 2", n)
		}
	}
}
