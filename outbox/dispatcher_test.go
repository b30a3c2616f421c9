package outbox_test

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
	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/outbox"
	"github.com/signoff-app/signoff/store"
)

// TestDispatcherRetryAfter: a Retry-After pauses the whole channel, not
// only the message that drew it; the messages put off meanwhile are not
// attempts that fail, so none of them goes dead for it.
func TestDispatcherRetryAfter(t *testing.T) {
	f := corefix.Standard(t)
	for i := range 5 {
		f.Submit("ed@acme.test", "client", fmt.Sprintf("draft %d", i))
	}
	limited := true
	calls := 0
	var callTimes []time.Time
	d := &outbox.Dispatcher{Store: f.DB, Now: func() time.Time { return f.Now }, Logger: slog.New(slog.DiscardHandler),
		Jitter: func() float64 { return 1 }, MaxAttempts: 2, Workers: 1, // one send at a time: no call in flight when the 429 comes
		Senders: map[approvals.Channel]outbox.Sender{approvals.ChannelEmail: outbox.SenderFunc(func(ctx context.Context, _ *approvals.Batch, m *approvals.OutboxMessage) error {
			calls++
			callTimes = append(callTimes, f.Now)
			if limited {
				return &outbox.RetryAfterError{After: time.Minute, Err: errors.New("429 too many requests")}
			}
			return nil
		})}}
	round := func() {
		t.Helper()
		for {
			n, err := d.RunOnce(f.Ctx)
			f.OK(err)
			if n == 0 {
				return
			}
		}
	}
	start := f.Now
	round()
	if calls != 1 {
		t.Fatalf("%d sender calls after a 429 with Retry-After 1m; want 1 (the rest put off)", calls)
	}
	f.Now = f.Now.Add(30 * time.Second)
	round()
	if calls != 1 {
		t.Fatalf("%d sender calls 30s into a 1m Retry-After; want 1", calls)
	}
	f.Now = start.Add(time.Minute)
	round() // one call, 429 again: paused another minute
	if calls != 2 {
		t.Fatalf("%d sender calls after the Retry-After; want 2", calls)
	}
	limited = false
	f.Now = start.Add(2 * time.Minute)
	round()
	dead, err := f.Svc.Outbox(f.Ctx, approvals.OutboxDead, 100)
	f.OK(err)
	pending, err := f.Svc.Outbox(f.Ctx, approvals.OutboxPending, 100)
	f.OK(err)
	if len(dead) != 0 || len(pending) != 0 {
		t.Fatalf("%d dead and %d pending rows after the pause; want all sent (put-off rows are not failed attempts)", len(dead), len(pending))
	}
	for i, at := range callTimes[:2] {
		if want := start.Add(time.Duration(i) * time.Minute); !at.Equal(want) {
			t.Errorf("call %d at %s, want %s", i+1, at.Sub(start), want.Sub(start))
		}
	}
}

// concurrentSender records deliveries; it is an outbox.ConcurrentSender,
// so the dispatcher hands it up to Workers messages at once.
type concurrentSender struct {
	mu          sync.Mutex
	send        func(ctx context.Context, b *approvals.Batch, m *approvals.OutboxMessage) error
	inFlight    int
	maxInFlight int
	delivered   map[int64]int
	lanes       map[string][]int64 // (draft, target) → IDs in delivery order
}

func (s *concurrentSender) Concurrency() int { return 16 }

func (s *concurrentSender) Send(ctx context.Context, b *approvals.Batch, m *approvals.OutboxMessage) error {
	s.mu.Lock()
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.mu.Unlock()
	time.Sleep(2 * time.Millisecond) // let deliveries overlap
	var err error
	if s.send != nil {
		err = s.send(ctx, b, m)
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
	f := corefix.Standard(t)
	for i := range 20 {
		f.Submit("ed@acme.test", "client", fmt.Sprintf("draft %d", i))
		f.Submit("ed@acme.test", "internal", fmt.Sprintf("internal draft %d", i))
	}
	senders := []*concurrentSender{{}, {}}
	var wg sync.WaitGroup
	for _, s := range senders {
		d := &outbox.Dispatcher{Store: f.DB, Senders: map[approvals.Channel]outbox.Sender{approvals.ChannelEmail: s},
			Now: func() time.Time { return f.Now }, Logger: slog.New(slog.DiscardHandler), Batch: 13, Workers: 4}
		wg.Go(func() {
			for {
				n, err := d.RunOnce(f.Ctx)
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
	sent, err := f.Svc.Outbox(f.Ctx, approvals.OutboxSent, 1000)
	f.OK(err)
	pending, err := f.Svc.Outbox(f.Ctx, approvals.OutboxPending, 1000)
	f.OK(err)
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
	f := corefix.Standard(t)
	var doomed, flaky int64
	for i := range 6 {
		v := f.Submit("ed@acme.test", "client", fmt.Sprintf("draft %d", i))
		switch i {
		case 2:
			doomed = v.ID
		case 4:
			flaky = v.ID
		}
	}
	s := &concurrentSender{send: func(ctx context.Context, b *approvals.Batch, m *approvals.OutboxMessage) error {
		switch {
		case m.Payload.DraftID == doomed && m.Payload.Target == "c2@client.test":
			return outbox.Permanent(errors.New("550 no such user"))
		case m.Payload.DraftID == flaky && m.Payload.Target == "c3@client.test":
			return errors.New("421 try later")
		}
		return nil
	}}
	d := &outbox.Dispatcher{Store: f.DB, Senders: map[approvals.Channel]outbox.Sender{approvals.ChannelEmail: s},
		Now: func() time.Time { return f.Now }, Logger: slog.New(slog.DiscardHandler), Jitter: func() float64 { return 1 }}
	n, err := d.RunOnce(f.Ctx)
	f.OK(err)
	if n != 18 {
		t.Fatalf("claimed %d rows, want 18", n)
	}
	all, err := f.Svc.Outbox(f.Ctx, "", 100)
	f.OK(err)
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
			if !m.NextAttemptAt.Equal(f.Now.Add(5*time.Second)) || m.LeaseUntil != nil || m.LastError == "" {
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
	f := corefix.Standard(t)
	f.Submit("ed@acme.test", "client", "one draft, three client approvers")
	cs := &countingStore{Store: f.DB}
	svc := approvals.NewService(cs)
	var mu sync.Mutex
	got := map[string]string{}
	s := &concurrentSender{send: func(ctx context.Context, b *approvals.Batch, m *approvals.OutboxMessage) error {
		v, r, err := svc.NotificationView(ctx, b, m.Payload)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		got[m.Payload.Target] = r.Email + " " + v.Current.Text
		return nil
	}}
	d := &outbox.Dispatcher{Store: f.DB, Views: svc, Senders: map[approvals.Channel]outbox.Sender{approvals.ChannelEmail: s},
		Now: func() time.Time { return f.Now }, Logger: slog.New(slog.DiscardHandler)}
	n, err := d.RunOnce(f.Ctx)
	f.OK(err)
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
	if _, _, err := svc.NotificationView(f.Ctx, nil, approvals.Notification{WorkspaceID: 1, DraftID: 1}); err == nil {
		if n := cs.drafts.Load(); n != 2 {
			t.Errorf("draft loaded %d times after a call outside a batch, want 2", n)
		}
	}
}

// recorderStore is the test database as an outbox.Store that
// counts the transactions recording outcomes and the outcomes committed,
// and can make those commits slow or fail.
type recorderStore struct {
	*store.DB
	delay time.Duration
	fail  error

	mu        sync.Mutex
	commits   int
	committed map[int64]bool
}

func (s *recorderStore) MarkOutboxBatch(ctx context.Context, at time.Time, outcomes []approvals.OutboxOutcome) ([]int64, error) {
	if s.fail != nil {
		return nil, s.fail
	}
	time.Sleep(s.delay) // a slow commit: more outcomes wait for the next one
	stale, err := s.DB.MarkOutboxBatch(ctx, at, outcomes)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits++
	if s.committed == nil {
		s.committed = map[int64]bool{}
	}
	for _, o := range outcomes {
		s.committed[o.ID] = true
	}
	return stale, nil
}

func (s *recorderStore) nCommitted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.committed)
}

// enqueueLanes queues lanes×perLane email rows straight into the outbox:
// perLane messages to each of lanes targets, interleaved so that the
// rows of one lane are spread over the claim order.
func enqueueLanes(f *corefix.World, lanes, perLane int) {
	f.T.Helper()
	var msgs []*approvals.OutboxMessage
	for i := range perLane {
		for l := range lanes {
			msgs = append(msgs, &approvals.OutboxMessage{Channel: approvals.ChannelEmail, NextAttemptAt: f.Now, CreatedAt: f.Now,
				IdempotencyKey: fmt.Sprintf("lane%d/%d", l, i),
				Payload:        approvals.Notification{Event: approvals.EventApprovalRequested, DraftID: int64(l + 1), Target: fmt.Sprintf("l%d@client.test", l)}})
		}
	}
	f.OK(f.DB.InTx(f.Ctx, func(ctx context.Context, tx approvals.Tx) error { return tx.EnqueueOutbox(ctx, msgs) }))
}

// unrecordedCheck returns a send func that fails the test when a send
// starts while workers or more sends are already under way or delivered
// and not yet committed: a worker must not start a send before the
// outcome of its last one is committed, so that a crash repeats at most
// the sends under way.
func unrecordedCheck(t *testing.T, rs *recorderStore, workers int) func(ctx context.Context, b *approvals.Batch, m *approvals.OutboxMessage) error {
	var mu sync.Mutex
	started := 0
	return func(ctx context.Context, _ *approvals.Batch, m *approvals.OutboxMessage) error {
		mu.Lock()
		started++
		open := started - rs.nCommitted() // this send, those under way, those not yet recorded
		mu.Unlock()
		if open > workers {
			t.Errorf("send of row %d started with %d sends unrecorded; want at most %d (one per worker)", m.ID, open, workers)
		}
		return nil
	}
}

// TestDispatcherGroupCommit: the outcomes of concurrent workers are
// recorded together, in fewer transactions than there are messages, and no
// worker starts a send before the outcome of its last one is committed.
func TestDispatcherGroupCommit(t *testing.T) {
	tests := []struct {
		name       string
		workers    int
		lanes      int
		perLane    int
		maxCommits int
	}{
		{"one message per lane", 8, 40, 1, 20},
		// Four workers alternate between groups of one and three.
		{"several per lane", 4, 6, 5, 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := corefix.New(t)
			enqueueLanes(f, tt.lanes, tt.perLane)
			rs := &recorderStore{DB: f.DB, delay: 5 * time.Millisecond}
			s := &concurrentSender{send: unrecordedCheck(t, rs, tt.workers)}
			d := &outbox.Dispatcher{Store: rs, Senders: map[approvals.Channel]outbox.Sender{approvals.ChannelEmail: s},
				Now: func() time.Time { return f.Now }, Logger: slog.New(slog.DiscardHandler), Batch: 100, Workers: tt.workers}
			total := tt.lanes * tt.perLane
			n, err := d.RunOnce(f.Ctx)
			f.OK(err)
			if n != total {
				t.Fatalf("claimed %d rows, want %d", n, total)
			}
			sent, err := f.Svc.Outbox(f.Ctx, approvals.OutboxSent, 1000)
			f.OK(err)
			if len(sent) != total || rs.nCommitted() != total {
				t.Fatalf("%d rows sent, %d outcomes committed; want %d", len(sent), rs.nCommitted(), total)
			}
			if rs.commits > tt.maxCommits {
				t.Errorf("%d outcomes took %d transactions; want at most %d (concurrent outcomes share one)", total, rs.commits, tt.maxCommits)
			}
			if s.maxInFlight > tt.workers || s.maxInFlight < 2 {
				t.Errorf("%d deliveries at most in flight; want 2 to %d", s.maxInFlight, tt.workers)
			}
		})
	}
}

// TestDispatcherRecordFailure: once outcomes cannot be recorded (the
// database is gone), delivery stops: no worker starts another send, whose
// outcome would be lost too, not even one of the next batch that Run
// claimed meanwhile; RunOnce reports the failure.
func TestDispatcherRecordFailure(t *testing.T) {
	const workers = 4
	down := approvals.Errorf(approvals.EUNAVAILABLE, "database unavailable")
	tests := []struct {
		name string
		run  func(t *testing.T, f *corefix.World, d *outbox.Dispatcher, s *concurrentSender)
	}{
		{"RunOnce", func(t *testing.T, f *corefix.World, d *outbox.Dispatcher, s *concurrentSender) {
			n, err := d.RunOnce(f.Ctx)
			if n != 10 || !errors.Is(err, down) {
				t.Fatalf("RunOnce = %d, %v; want 10 claimed and the recording error", n, err)
			}
		}},
		{"Run, two batches out", func(t *testing.T, f *corefix.World, d *outbox.Dispatcher, s *concurrentSender) {
			ctx, cancel := context.WithCancel(f.Ctx)
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			// Until the sends stop (the rows stay leased: none is due again).
			last, quiet := -1, 0
			for quiet < 20 {
				time.Sleep(10 * time.Millisecond)
				s.mu.Lock()
				n := len(s.lanes)
				s.mu.Unlock()
				if n == last && n > 0 {
					quiet++
				} else {
					last, quiet = n, 0
				}
			}
			cancel()
			f.OK(<-done)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := corefix.New(t)
			enqueueLanes(f, 20, 1)
			rs := &recorderStore{DB: f.DB, fail: down}
			s := &concurrentSender{}
			d := &outbox.Dispatcher{Store: rs, Senders: map[approvals.Channel]outbox.Sender{approvals.ChannelEmail: s},
				Now: func() time.Time { return f.Now }, Logger: slog.New(slog.DiscardHandler), Batch: 10, Workers: workers,
				Interval: 10 * time.Millisecond}
			tt.run(t, f, d, s)
			sends := 0
			for _, c := range s.delivered {
				sends += c
			}
			if sends == 0 || sends > workers {
				t.Errorf("%d sends, the first of which could not be recorded; want 1 to the %d under way", sends, workers)
			}
			pending, err := f.Svc.Outbox(f.Ctx, approvals.OutboxPending, 100)
			f.OK(err)
			if len(pending) != 20 {
				t.Errorf("%d rows pending, want all 20 (left to the lease)", len(pending))
			}
		})
	}
}

// TestDispatcherRunPipelines: Run claims the next batch while one is being
// delivered; the two share the workers (never more sends under way or
// unrecorded than Workers) and a lane whose messages span both keeps them
// in order.
func TestDispatcherRunPipelines(t *testing.T) {
	f := corefix.New(t)
	const lanes, perLane, workers = 6, 10, 4
	enqueueLanes(f, lanes, perLane)
	rs := &recorderStore{DB: f.DB, delay: time.Millisecond}
	s := &concurrentSender{send: unrecordedCheck(t, rs, workers)}
	d := &outbox.Dispatcher{Store: rs, Senders: map[approvals.Channel]outbox.Sender{approvals.ChannelEmail: s},
		Now: func() time.Time { return f.Now }, Logger: slog.New(slog.DiscardHandler), Batch: 7, Workers: workers,
		Interval: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(f.Ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for rs.nCommitted() < lanes*perLane && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	f.OK(<-done)
	sent, err := f.Svc.Outbox(f.Ctx, approvals.OutboxSent, 1000)
	f.OK(err)
	if len(sent) != lanes*perLane {
		t.Fatalf("%d rows sent, want %d", len(sent), lanes*perLane)
	}
	for _, m := range sent {
		if s.delivered[m.ID] != 1 {
			t.Errorf("row %d delivered %d times", m.ID, s.delivered[m.ID])
		}
	}
	for lane, ids := range s.lanes {
		if len(ids) != perLane || !slices.IsSorted(ids) {
			t.Errorf("lane %s delivered %v; want its %d rows in order", lane, ids, perLane)
		}
	}
	if s.maxInFlight > workers {
		t.Errorf("%d deliveries in flight; want at most %d across the batches out", s.maxInFlight, workers)
	}
}

// TestDispatcherLeaseRunsOut: a message whose claim's lease ran out while
// it waited for a worker is not sent: another claim may hold it by then.
func TestDispatcherLeaseRunsOut(t *testing.T) {
	f := corefix.New(t)
	enqueueLanes(f, 2, 1)
	var mu sync.Mutex
	now := f.Now
	s := &concurrentSender{send: func(ctx context.Context, b *approvals.Batch, m *approvals.OutboxMessage) error {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(2 * time.Minute) // the send outlasts the lease
		return nil
	}}
	d := &outbox.Dispatcher{Store: f.DB, Senders: map[approvals.Channel]outbox.Sender{approvals.ChannelEmail: s},
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }, Logger: slog.New(slog.DiscardHandler),
		Workers: 1, Lease: time.Minute}
	n, err := d.RunOnce(f.Ctx)
	f.OK(err)
	if n != 2 || len(s.delivered) != 1 {
		t.Fatalf("claimed %d, sent %d; want 2 claimed and only the first sent", n, len(s.delivered))
	}
	pending, err := f.Svc.Outbox(f.Ctx, approvals.OutboxPending, 10)
	f.OK(err)
	if len(pending) != 1 || pending[0].LeaseUntil == nil {
		t.Errorf("pending rows %v; want the second, still under its (run-out) lease", pending)
	}
}

func TestDispatcher(t *testing.T) {
	f := corefix.Standard(t)
	for i := range 20 {
		f.Submit("ed@acme.test", "client", fmt.Sprintf("draft %d", i))
	}
	var mu sync.Mutex
	delivered := map[int64]int{}
	sender := outbox.SenderFunc(func(ctx context.Context, _ *approvals.Batch, m *approvals.OutboxMessage) error {
		mu.Lock()
		defer mu.Unlock()
		delivered[m.ID]++
		return nil
	})
	newDispatcher := func(s outbox.Sender) *outbox.Dispatcher {
		return &outbox.Dispatcher{Store: f.DB, Senders: map[approvals.Channel]outbox.Sender{approvals.ChannelEmail: s},
			Now: func() time.Time { return f.Now }, Logger: slog.New(slog.DiscardHandler), Batch: 7, Jitter: func() float64 { return 1 }}
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := newDispatcher(sender)
			for {
				n, err := d.RunOnce(f.Ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	pending, err := f.Svc.Outbox(f.Ctx, approvals.OutboxPending, 1000)
	f.OK(err)
	if len(pending) != 0 {
		t.Fatalf("%d rows still pending", len(pending))
	}
	sent, err := f.Svc.Outbox(f.Ctx, approvals.OutboxSent, 1000)
	f.OK(err)
	if len(sent) != 60 || len(delivered) != 60 {
		t.Fatalf("sent %d, delivered %d distinct, want 60", len(sent), len(delivered))
	}
	for id, c := range delivered {
		if c != 1 {
			t.Fatalf("row %d delivered %d times", id, c)
		}
	}

	t.Run("fails three times then succeeds", func(t *testing.T) {
		v := f.Submit("ed@acme.test", "internal", "flaky")
		var mu sync.Mutex // the two rows may go out at once
		calls := 0
		d := newDispatcher(outbox.SenderFunc(func(ctx context.Context, _ *approvals.Batch, m *approvals.OutboxMessage) error {
			if m.Payload.DraftID != v.ID {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls <= 3 {
				return errors.New("smtp: 421 try later")
			}
			return nil
		}))
		for range 10 {
			_, err := d.RunOnce(f.Ctx)
			f.OK(err)
			f.Now = f.Now.Add(2 * time.Hour) // past any backoff
		}
		if calls != 4+1 && calls != 4 {
			// two internal approvers: the first row fails 3 times then
			// succeeds, the second succeeds at once.
			t.Fatalf("calls = %d", calls)
		}
		dead, err := f.Svc.Outbox(f.Ctx, approvals.OutboxDead, 100)
		f.OK(err)
		if len(dead) != 0 {
			t.Fatalf("dead rows: %+v", dead)
		}
	})
	t.Run("permanent failure ends dead", func(t *testing.T) {
		v := f.Submit("ed@acme.test", "internal", "doomed")
		d := newDispatcher(outbox.SenderFunc(func(ctx context.Context, _ *approvals.Batch, m *approvals.OutboxMessage) error {
			if m.Payload.DraftID == v.ID {
				return errors.New("550 no such user")
			}
			return nil
		}))
		d.MaxAttempts = 3
		for range 6 {
			_, err := d.RunOnce(f.Ctx)
			f.OK(err)
			f.Now = f.Now.Add(2 * time.Hour)
		}
		dead, err := f.Svc.Outbox(f.Ctx, approvals.OutboxDead, 100)
		f.OK(err)
		if len(dead) != 2 || !strings.Contains(dead[0].LastError, "550") || dead[0].Attempts != 3 {
			t.Fatalf("dead = %+v", dead)
		}
	})
}

func TestBackoff(t *testing.T) {
	d := &outbox.Dispatcher{BaseDelay: time.Second, MaxDelay: 10 * time.Second, Jitter: func() float64 { return 1 }}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := d.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
}
