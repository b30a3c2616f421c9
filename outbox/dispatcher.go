package outbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// Dispatcher delivers outbox messages. Several dispatchers (in one process or
// in several `serve` replicas) may run on one database: claims use FOR UPDATE
// SKIP LOCKED and a lease, so no row is handed to two of them at once.
//
// A claimed batch is delivered by up to Workers goroutines per channel whose
// sender is a ConcurrentSender (one for the others). The messages of one
// (channel, draft, target) stay in order on one worker — a Slack update in
// place must follow the post it updates — while different drafts and
// recipients go out concurrently; the messages of a group, delivered as one
// send by a GroupSender, are a lane of their own. A worker starts its next send only once
// the outcome of its last one is committed, so a crash repeats at most the
// sends in flight; the outcomes that wait at the same moment are committed
// together (group commit, see recorder), so that workers share a commit.
type Dispatcher struct {
	Store   Store
	Senders map[approvals.Channel]Sender
	// Views, when set, starts reading the drafts of each batch as it is
	// claimed; without it a batch's first send reads them.
	Views  Views
	Now    func() time.Time
	Logger *slog.Logger

	Batch       int           // rows claimed per round (default 50)
	Workers     int           // concurrent deliveries per ConcurrentSender channel (default 16)
	Lease       time.Duration // how long a claim holds a row (default 2m)
	MaxAttempts int           // attempts before a row goes dead (default 8)
	BaseDelay   time.Duration // first retry delay (default 5s), doubled each attempt
	MaxDelay    time.Duration // cap on the retry delay (default 1h)
	Interval    time.Duration // idle poll interval (default 250ms)
	// Jitter returns a factor in [0.5, 1.5) applied to each delay; tests may
	// fix it. Defaults to a random one.
	Jitter func() float64
	// Wake, when set, makes Run poll at once (a new row was enqueued).
	Wake <-chan struct{}
	// Metrics, when set, counts deliveries and failures by channel.
	Metrics Metrics

	// pausedUntil holds, per channel, the end of the last Retry-After a
	// sender returned (Slack's 429). Until then the channel's messages are
	// put off without calling the sender: Retry-After asks for no call at
	// all before it elapses, not only for no retry of the one message that
	// drew it. Other channels are not held up.
	mu          sync.Mutex
	pausedUntil map[approvals.Channel]time.Time

	// laneMu guards pools and lanes, which hold across batches (Run has
	// two out at once): pools, per channel, the workers that make its
	// sends; lanes, per lane, the done channel of the last batch that has
	// messages in it, which the next one waits for to keep them in order.
	laneMu sync.Mutex
	pools  map[approvals.Channel]*pool
	lanes  map[laneKey]chan struct{}
	// recordFailures counts outcomes that could not be recorded; a batch
	// stops sending when it changes (see deliverAll).
	recordFailures atomic.Int64
	// failingOut counts the batches out whose outcomes could not all be
	// recorded: a batch claimed while one is starts no send at all.
	failingOut atomic.Int64
}

// paused returns how long ch is still paused at now (0 when it is not).
func (d *Dispatcher) paused(ch approvals.Channel, now time.Time) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return max(d.pausedUntil[ch].Sub(now), 0)
}

// pause holds ch until until, unless it is held longer already.
func (d *Dispatcher) pause(ch approvals.Channel, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pausedUntil == nil {
		d.pausedUntil = map[approvals.Channel]time.Time{}
	}
	if until.After(d.pausedUntil[ch]) {
		d.pausedUntil[ch] = until
	}
}

func (d *Dispatcher) defaults() {
	if d.Batch <= 0 {
		d.Batch = 50
	}
	if d.Workers <= 0 {
		d.Workers = 16
	}
	if d.Lease <= 0 {
		d.Lease = 2 * time.Minute
	}
	if d.MaxAttempts <= 0 {
		d.MaxAttempts = 8
	}
	if d.BaseDelay <= 0 {
		d.BaseDelay = 5 * time.Second
	}
	if d.MaxDelay <= 0 {
		d.MaxDelay = time.Hour
	}
	if d.Interval <= 0 {
		d.Interval = 250 * time.Millisecond
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Jitter == nil {
		d.Jitter = func() float64 { return 0.5 + rand.Float64() }
	}
}

// Run delivers due messages until ctx is done. It claims the next batch
// while the one before is being delivered, so that the workers go on to it
// as they come free, rather than each batch waiting for the slowest send
// of the last and then for its own claim; at most two batches are out at
// once. On return the batches out are done with.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.defaults()
	// One recorder for the batches out: their workers share its commits.
	rec := d.startRecorder(ctx, 2*d.Batch)
	defer rec.close()
	var inFlight func() error // waits for the batch in delivery, if any
	awaitBatch := func() error {
		if inFlight == nil {
			return nil
		}
		err := inFlight()
		inFlight = nil
		return err
	}
	defer awaitBatch()
	for {
		n, wait, err := d.claim(ctx, rec)
		if perr := awaitBatch(); perr != nil {
			err = cmp.Or(err, fmt.Errorf("record outbox outcomes: %w", perr))
		}
		inFlight = wait
		if err != nil && ctx.Err() == nil {
			d.Logger.WarnContext(ctx, "outbox dispatch", "err", err)
		}
		if n > 0 && err == nil {
			continue // more may be due
		}
		t := time.NewTimer(d.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-d.Wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// RunOnce claims one batch of due messages, delivers it and records the
// outcomes, returning how many messages it claimed.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	d.defaults()
	rec := d.startRecorder(ctx, d.Batch)
	defer rec.close()
	n, wait, err := d.claim(ctx, rec)
	if err != nil || n == 0 {
		return n, err
	}
	if err := wait(); err != nil {
		return n, fmt.Errorf("record outbox outcomes: %w", err)
	}
	if ctx.Err() != nil {
		return n, ctx.Err()
	}
	return n, nil
}

// claim claims one batch of due messages and starts delivering it. wait
// waits until the batch is delivered and its outcomes recorded; it is nil
// when nothing was claimed.
func (d *Dispatcher) claim(ctx context.Context, rec *recorder) (n int, wait func() error, err error) {
	msgs, err := d.Store.ClaimOutbox(ctx, d.Now().UTC(), d.Batch, d.Lease)
	if err != nil {
		return 0, nil, fmt.Errorf("claim outbox: %w", err)
	}
	if len(msgs) == 0 {
		return 0, nil, nil
	}
	// Senders of one batch share the drafts they load (NotificationView),
	// read for the whole batch at once. The read starts now: under Run the
	// batch waits for workers still busy with the one before, and its
	// first sends then find the views ready. (A batch whose senders load
	// no views, webhooks only, reads them for nothing: a few statements.)
	b := approvals.NewBatch(msgs)
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		if d.Views != nil {
			d.Views.PreloadBatch(ctx, b)
		}
	}()
	delivered := d.deliverAll(ctx, rec, b, msgs)
	return len(msgs), func() error {
		err := delivered()
		<-loaded
		return err
	}, nil
}

// delivery is what a send of one message came to.
type delivery struct {
	err      error
	wait     time.Duration // deferred: the channel was paused for this long
	deferred bool
	done     bool // the sender was called, or the message was put off
}

// laneKey names a lane: the messages of one channel to one target about
// one draft, which go out in order; or one group's messages, sent as one.
type laneKey struct {
	ch     approvals.Channel
	draft  int64
	target string
	group  string // a group's lane, whose one unit is the whole group
}

// deliverAll starts delivering msgs, concurrently by lane (see Dispatcher),
// and returns a func that waits for the end. Each outcome is recorded before
// the worker that made the send starts its next one: a crash then repeats
// at most the sends that were in flight (the fault suite counts them),
// where recording once per batch would repeat every send of the batch. The
// outcomes go through one recorder, which commits together all those that
// wait at the moment (group commit), so the workers share a commit instead
// of paying one each.
func (d *Dispatcher) deliverAll(ctx context.Context, rec *recorder, b *approvals.Batch, msgs []*approvals.OutboxMessage) (wait func() error) {
	var mu sync.Mutex
	var firstErr error
	// A failure to record an outcome (the database is gone) stops this
	// batch and any other out at the time: every further send would be
	// made again after the lease, so none is started.
	// Read in the opposite order to the writes below, so that a batch
	// either sees a failure as it starts or counts it as a later one.
	failures := d.recordFailures.Load()
	poisoned := d.failingOut.Load() > 0
	var failed atomic.Bool
	// A lane holds units, each one send: one message, or all the messages
	// of a group (GroupSender), whose lane holds only it.
	lanes := map[laneKey][][]int{}
	var order []laneKey
	for i, m := range msgs {
		k := laneKey{ch: m.Channel, draft: m.Payload.DraftID, target: m.Payload.Target}
		if _, ok := d.Senders[m.Channel].(GroupSender); ok && m.GroupKey != "" {
			k = laneKey{ch: m.Channel, group: m.GroupKey}
		}
		if _, ok := lanes[k]; !ok {
			order = append(order, k)
		} else if k.group != "" {
			lanes[k][0] = append(lanes[k][0], i)
			continue
		}
		lanes[k] = append(lanes[k], []int{i})
	}
	var wg sync.WaitGroup
	for _, k := range order {
		workers := d.pool(k.ch)
		after, done := d.enterLane(k)
		idx := lanes[k]
		lane := func() {
			defer wg.Done()
			defer d.leaveLane(k, done)
			for _, unit := range idx {
				if poisoned || ctx.Err() != nil || d.recordFailures.Load() != failures {
					return
				}
				i := unit[0]
				if m := msgs[i]; m.LeaseUntil != nil && !d.Now().Before(*m.LeaseUntil) {
					// The lease ran out while the lane waited (for a worker,
					// for the batch before): another claim may hold the
					// rows now, so they are left to it.
					d.Logger.WarnContext(ctx, "outbox lease ran out before the send; left to the next claim (is outbox.lease shorter than two batches take?)",
						"outbox_id", m.ID, "lease_until", *m.LeaseUntil)
					return
				}
				var err error
				if k.group == "" {
					err = d.record(ctx, rec, msgs[i], d.deliver(ctx, b, msgs[i]))
				} else {
					group := make([]*approvals.OutboxMessage, len(unit))
					for j, x := range unit {
						group[j] = msgs[x]
					}
					err = d.recordGroup(ctx, rec, group, d.deliverGroup(ctx, b, group))
				}
				if err != nil {
					if failed.CompareAndSwap(false, true) {
						d.failingOut.Add(1)
					}
					d.recordFailures.Add(1)
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
				}
			}
		}
		wg.Add(1)
		if after == nil {
			workers.submit(lane)
			continue
		}
		// The lane's messages of the batch before go first: the lane
		// waits for them without taking a worker.
		go func() {
			select {
			case <-after:
				workers.submit(lane)
			case <-ctx.Done():
				d.leaveLane(k, done)
				wg.Done()
			}
		}()
	}
	return func() error {
		wg.Wait()
		if failed.Load() {
			d.failingOut.Add(-1)
		}
		return firstErr
	}
}

// pool returns ch's workers: a goroutine for each send of ch that may be
// under way, shared by the batches out at once.
func (d *Dispatcher) pool(ch approvals.Channel) *pool {
	d.laneMu.Lock()
	defer d.laneMu.Unlock()
	if d.pools == nil {
		d.pools = map[approvals.Channel]*pool{}
	}
	p, ok := d.pools[ch]
	if !ok {
		// Two batches are out at once, so their lanes fit in the queue.
		p = newPool(d.workers(ch), 2*d.Batch, workerLinger)
		d.pools[ch] = p
	}
	return p
}

// workerLinger is how long a worker waits for its next send before it
// ends: longer than the claims between batches take.
const workerLinger = time.Second

// enterLane makes a batch the last in line for lane k. after, when not nil,
// is closed once the batch before it is done with k; the caller closes done
// (leaveLane) once it is.
func (d *Dispatcher) enterLane(k laneKey) (after <-chan struct{}, done chan struct{}) {
	d.laneMu.Lock()
	defer d.laneMu.Unlock()
	if d.lanes == nil {
		d.lanes = map[laneKey]chan struct{}{}
	}
	done = make(chan struct{})
	after = d.lanes[k]
	d.lanes[k] = done
	return after, done
}

func (d *Dispatcher) leaveLane(k laneKey, done chan struct{}) {
	close(done)
	d.laneMu.Lock()
	defer d.laneMu.Unlock()
	if d.lanes[k] == done {
		delete(d.lanes, k)
	}
}

// workers returns how many messages of ch may be in delivery at once.
func (d *Dispatcher) workers(ch approvals.Channel) int {
	if cs, ok := d.Senders[ch].(ConcurrentSender); ok {
		return max(1, min(d.Workers, cs.Concurrency()))
	}
	return 1
}

// deliver hands m to its channel's sender, unless the channel is paused.
func (d *Dispatcher) deliver(ctx context.Context, b *approvals.Batch, m *approvals.OutboxMessage) delivery {
	sender, ok := d.Senders[m.Channel]
	// deferred: put off, unsent, until the channel's Retry-After elapses.
	// That is no failed attempt: it never makes the message dead.
	if wait := d.paused(m.Channel, d.Now()); wait > 0 {
		return delivery{err: &RetryAfterError{After: wait, Err: errPaused}, wait: wait, deferred: true, done: true}
	}
	if !ok {
		return delivery{err: Permanent(fmt.Errorf("no sender for channel %q", m.Channel)), done: true}
	}
	err := sender.Send(ctx, b, m)
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		d.pause(m.Channel, d.Now().Add(ra.After))
	}
	return delivery{err: err, done: true}
}

// deliverGroup hands the messages of one group to their channel's
// GroupSender, as one send, unless the channel is paused.
func (d *Dispatcher) deliverGroup(ctx context.Context, b *approvals.Batch, group []*approvals.OutboxMessage) delivery {
	ch := group[0].Channel
	if wait := d.paused(ch, d.Now()); wait > 0 {
		return delivery{err: &RetryAfterError{After: wait, Err: errPaused}, wait: wait, deferred: true, done: true}
	}
	gs, ok := d.Senders[ch].(GroupSender)
	if !ok {
		return delivery{err: Permanent(fmt.Errorf("no group sender for channel %q", ch)), done: true}
	}
	err := gs.SendGroup(ctx, b, group)
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		d.pause(ch, d.Now().Add(ra.After))
	}
	return delivery{err: err, done: true}
}

// outcome turns m's delivery into the outcome to record, counting it. It
// reports false when there is nothing to record: the message was not
// reached, or its send failed because the dispatcher is shutting down
// (stopping), and the lease brings it back.
func (d *Dispatcher) outcome(ctx context.Context, m *approvals.OutboxMessage, r delivery, now time.Time, stopping bool) (approvals.OutboxOutcome, bool) {
	if !r.done || (stopping && r.err != nil) {
		return approvals.OutboxOutcome{}, false
	}
	sendErr := r.err
	var lease time.Time // the claim's, which the outcome applies under
	if m.LeaseUntil != nil {
		lease = *m.LeaseUntil
	}
	// throttled: put off, or answered "retry after" (Slack's 429). That is
	// no failure of the message, so it never makes it dead, however long
	// the channel throttles: MaxAttempts ends only real failures.
	var ra *RetryAfterError
	throttled := errors.As(sendErr, &ra)
	if d.Metrics != nil && !r.deferred {
		if sendErr != nil && !IsPermanent(sendErr) && !throttled && m.Attempts >= d.MaxAttempts {
			d.Metrics.Sent(m.Channel, Permanent(sendErr)) // the last attempt: it goes dead
		} else {
			d.Metrics.Sent(m.Channel, sendErr)
		}
	}
	log := d.Logger.With("outbox_id", m.ID, "channel", m.Channel, "event", m.Payload.Event, "attempt", m.Attempts)
	switch {
	case sendErr == nil:
		return approvals.OutboxOutcome{ID: m.ID, Lease: lease, State: approvals.OutboxSent}, true
	case errors.Is(sendErr, approvals.ErrRecipientGone):
		log.InfoContext(ctx, "recipient removed before delivery; not sent", "err", sendErr)
		return approvals.OutboxOutcome{ID: m.ID, Lease: lease, State: approvals.OutboxSent}, true
	case IsPermanent(sendErr) || (m.Attempts >= d.MaxAttempts && !throttled):
		log.WarnContext(ctx, "outbox message dead", "err", sendErr)
		return approvals.OutboxOutcome{ID: m.ID, Lease: lease, State: approvals.OutboxDead, Error: sendErr.Error()}, true
	case r.deferred:
		// Exactly at the end of the wait: a backoff on top would only
		// delay the message further.
		next := now.Add(r.wait)
		log.DebugContext(ctx, "outbox deferred", "next", next)
		return approvals.OutboxOutcome{ID: m.ID, Lease: lease, State: approvals.OutboxPending, NextAttemptAt: next, Error: sendErr.Error()}, true
	default:
		next := now.Add(d.Backoff(m.Attempts))
		if throttled && now.Add(ra.After).After(next) {
			next = now.Add(ra.After)
		}
		log.InfoContext(ctx, "outbox retry", "err", sendErr, "next", next)
		return approvals.OutboxOutcome{ID: m.ID, Lease: lease, State: approvals.OutboxPending, NextAttemptAt: next, Error: sendErr.Error()}, true
	}
}

// Backoff returns the delay after the given attempt: exponential from
// BaseDelay, capped at MaxDelay, with jitter.
func (d *Dispatcher) Backoff(attempt int) time.Duration {
	d.defaults()
	delay := d.BaseDelay
	for i := 1; i < attempt && delay < d.MaxDelay; i++ {
		delay *= 2
	}
	delay = min(delay, d.MaxDelay)
	return time.Duration(float64(delay) * d.Jitter())
}
