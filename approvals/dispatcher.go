package approvals

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
)

// Sender delivers outbox messages of one channel. A returned error is
// retried with backoff unless marked Permanent; a RetryAfterError sets the
// earliest next attempt (Slack's 429 Retry-After).
type Sender interface {
	Send(ctx context.Context, m *OutboxMessage) error
}

// ConcurrentSender is a Sender that may be handed several messages at once:
// the dispatcher runs up to min(Workers, Concurrency()) of its Sends
// concurrently. A Sender without it gets one message at a time, so a
// rate-limited channel, whose Retry-After must hold for every call made
// after it was answered (Slack), never has a call in flight when it says so.
type ConcurrentSender interface {
	Sender
	Concurrency() int
}

// OutboxRecorder is a Store that records a dispatcher's outcomes in a
// transaction of their own, as OutboxBatchTx.MarkOutboxBatch does, and has
// committed them when it returns. The dispatcher uses it when its Store has
// it, and InTx otherwise: a statement run alone commits in one round trip
// to the database, where BEGIN, the statement and COMMIT take three.
type OutboxRecorder interface {
	MarkOutboxBatch(ctx context.Context, lease, at time.Time, outcomes []OutboxOutcome) (stale []int64, err error)
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m *OutboxMessage) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, m *OutboxMessage) error { return f(ctx, m) }

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying: the message goes dead at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryAfterError asks for the next attempt no sooner than After.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string { return fmt.Sprintf("retry after %s: %v", e.After, e.Err) }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// Dispatcher delivers outbox messages. Several dispatchers (in one process or
// in several `serve` replicas) may run on one database: claims use FOR UPDATE
// SKIP LOCKED and a lease, so no row is handed to two of them at once.
//
// A claimed batch is delivered by up to Workers goroutines per channel whose
// sender is a ConcurrentSender (one for the others). The messages of one
// (channel, draft, target) stay in order on one worker — a Slack update in
// place must follow the post it updates — while different drafts and
// recipients go out concurrently. A worker starts its next send only once
// the outcome of its last one is committed, so a crash repeats at most the
// sends in flight; the outcomes that wait at the same moment are committed
// together (group commit, see recorder), so that workers share a commit.
type Dispatcher struct {
	Store   Store
	Senders map[Channel]Sender
	Now     func() time.Time
	Logger  *slog.Logger

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
	// drew it (found by the fault suite: a batch of 50 Slack rows made 50
	// calls inside one Retry-After). Other channels are not held up.
	mu          sync.Mutex
	pausedUntil map[Channel]time.Time

	// laneMu guards sem and lanes, which hold across batches (Run has two
	// out at once): sem, per channel, a token for each send that may be
	// under way; lanes, per lane, the done channel of the last batch that
	// has messages in it, which the next one waits for to keep them in order.
	laneMu sync.Mutex
	sem    map[Channel]chan struct{}
	lanes  map[laneKey]chan struct{}
	// recordFailures counts outcomes that could not be recorded; a batch
	// stops sending when it changes (see deliverAll).
	recordFailures atomic.Int64
	// failingOut counts the batches out whose outcomes could not all be
	// recorded: a batch claimed while one is starts no send at all.
	failingOut atomic.Int64
}

// errPaused is the error of a message put off because its channel asked
// the dispatcher to wait (see pausedUntil).
var errPaused = errors.New("channel paused by an earlier Retry-After")

// errRecipientGone is the error of a message to a member removed after it
// was queued (an approver who had not decided): nothing is owed to them,
// so the message is done, not dead.
var errRecipientGone = errors.New("recipient is no longer a member")

// paused returns how long ch is still paused at now (0 when it is not).
func (d *Dispatcher) paused(ch Channel, now time.Time) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return max(d.pausedUntil[ch].Sub(now), 0)
}

// pause holds ch until until, unless it is held longer already.
func (d *Dispatcher) pause(ch Channel, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pausedUntil == nil {
		d.pausedUntil = map[Channel]time.Time{}
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
	var inFlight func() error // waits for the batch in delivery, if any
	settle := func() error {
		if inFlight == nil {
			return nil
		}
		err := inFlight()
		inFlight = nil
		return err
	}
	defer settle()
	for {
		n, wait, err := d.claim(ctx)
		if perr := settle(); perr != nil {
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
	n, wait, err := d.claim(ctx)
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
func (d *Dispatcher) claim(ctx context.Context) (n int, wait func() error, err error) {
	var msgs []*OutboxMessage
	err = d.Store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		msgs, err = tx.ClaimOutbox(ctx, d.Now().UTC(), d.Batch, d.Lease)
		return err
	})
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
	ctx = withViewCache(ctx, msgs)
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		viewCacheFrom(ctx).load(ctx, d.Store, msgs[0].Payload, d.Logger)
	}()
	delivered := d.deliverAll(ctx, msgs)
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
// one draft, which go out in order.
type laneKey struct {
	ch     Channel
	draft  int64
	target string
}

// deliverAll starts delivering msgs, concurrently by lane (see Dispatcher),
// and returns a func that waits for the end. Each outcome is recorded before
// the worker that made the send starts its next one: a crash then repeats
// at most the sends that were in flight (the fault suite counts them),
// where recording once per batch would repeat every send of the batch. The
// outcomes go through one recorder, which commits together all those that
// wait at the moment (group commit), so the workers share a commit instead
// of paying one each.
func (d *Dispatcher) deliverAll(ctx context.Context, msgs []*OutboxMessage) (wait func() error) {
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
	lanes := map[laneKey][]int{}
	var order []laneKey
	for i, m := range msgs {
		k := laneKey{m.Channel, m.Payload.DraftID, m.Payload.Target}
		if _, ok := lanes[k]; !ok {
			order = append(order, k)
		}
		lanes[k] = append(lanes[k], i)
	}
	// A claim leases all its rows until the same time.
	var lease time.Time
	if m := msgs[0]; m.LeaseUntil != nil {
		lease = *m.LeaseUntil
	}
	rec := d.startRecorder(ctx, lease, len(msgs))
	var wg sync.WaitGroup
	for _, k := range order {
		sem := d.slots(k.ch)
		after, done := d.enterLane(k)
		idx := lanes[k]
		wg.Go(func() {
			defer d.leaveLane(k, done)
			// The lane's messages of the batch before go first.
			if after != nil {
				select {
				case <-after:
				case <-ctx.Done():
					return
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			for _, i := range idx {
				if poisoned || ctx.Err() != nil || d.recordFailures.Load() != failures {
					return
				}
				if m := msgs[i]; m.LeaseUntil != nil && !d.Now().Before(*m.LeaseUntil) {
					// The lease ran out while the lane waited (for a worker,
					// for the batch before): another claim may hold the
					// rows now, so they are left to it.
					d.Logger.WarnContext(ctx, "outbox lease ran out before the send; left to the next claim (is outbox.lease shorter than two batches take?)",
						"outbox_id", m.ID, "lease_until", *m.LeaseUntil)
					return
				}
				r := d.deliver(ctx, msgs[i])
				if err := d.record(ctx, rec, msgs[i], r); err != nil {
					if failed.CompareAndSwap(false, true) {
						d.failingOut.Add(1)
					}
					d.recordFailures.Add(1)
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
				}
			}
		})
	}
	return func() error {
		wg.Wait()
		rec.close()
		if failed.Load() {
			d.failingOut.Add(-1)
		}
		return firstErr
	}
}

// slots returns ch's semaphore: a token for each send of ch that may be
// under way, shared by the batches out at once.
func (d *Dispatcher) slots(ch Channel) chan struct{} {
	d.laneMu.Lock()
	defer d.laneMu.Unlock()
	if d.sem == nil {
		d.sem = map[Channel]chan struct{}{}
	}
	sem, ok := d.sem[ch]
	if !ok {
		sem = make(chan struct{}, d.workers(ch))
		d.sem[ch] = sem
	}
	return sem
}

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

// record has the outcome of one delivery written and waits until it is
// committed, even when ctx ended meanwhile (shutdown): a delivery left
// unrecorded would be made again once the lease runs out. Deliveries cut
// short by the shutdown itself are left to the lease.
func (d *Dispatcher) record(ctx context.Context, rec *recorder, m *OutboxMessage, r delivery) error {
	o, ok := d.outcome(ctx, m, r, d.Now().UTC(), ctx.Err() != nil)
	if !ok {
		return nil
	}
	return rec.record(o)
}

// recorder writes the outcomes of one claimed batch. The outcomes handed
// to it while a commit is under way are written together, in one
// transaction, as soon as that commit ends; each caller waits for the
// commit of its own outcome. Under load the group grows to the number of
// workers waiting, with no timer: a lone outcome is committed at once.
type recorder struct {
	d     *Dispatcher
	ctx   context.Context // the batch's, without its cancellation
	lease time.Time
	in    chan recordReq
	done  chan struct{}
}

// recordReq is one outcome waiting for its commit; err gets the result.
type recordReq struct {
	o   OutboxOutcome
	err chan error
}

// startRecorder starts the recorder of a batch of n messages claimed with
// lease.
func (d *Dispatcher) startRecorder(ctx context.Context, lease time.Time, n int) *recorder {
	r := &recorder{d: d, ctx: context.WithoutCancel(ctx), lease: lease,
		in: make(chan recordReq, n), done: make(chan struct{})}
	go r.run()
	return r
}

// record hands o to the recorder and waits until it is committed.
func (r *recorder) record(o OutboxOutcome) error {
	errc := make(chan error, 1)
	r.in <- recordReq{o: o, err: errc}
	return <-errc
}

// close stops the recorder once every outcome handed to it is committed.
func (r *recorder) close() {
	close(r.in)
	<-r.done
}

func (r *recorder) run() {
	defer close(r.done)
	var group []recordReq
	var outcomes []OutboxOutcome
	for req := range r.in {
		group, outcomes = append(group[:0], req), append(outcomes[:0], req.o)
	more:
		for {
			select {
			case req, ok := <-r.in:
				if !ok {
					break more
				}
				group, outcomes = append(group, req), append(outcomes, req.o)
			default:
				break more
			}
		}
		err := r.commit(outcomes)
		for _, req := range group {
			req.err <- err
		}
	}
}

// commit writes outcomes in one transaction, which has committed when it
// returns. The slice is the recorder's to reuse afterwards.
func (r *recorder) commit(outcomes []OutboxOutcome) error {
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	var stale []int64
	var err error
	if direct, ok := r.d.Store.(OutboxRecorder); ok {
		stale, err = direct.MarkOutboxBatch(ctx, r.lease, r.d.Now().UTC(), outcomes)
	} else {
		err = r.d.Store.InTx(ctx, func(ctx context.Context, tx Tx) error {
			var err error
			stale, err = tx.MarkOutboxBatch(ctx, r.lease, r.d.Now().UTC(), outcomes)
			return err
		})
	}
	if err == nil && len(stale) > 0 {
		r.d.Logger.WarnContext(ctx, "outbox lease ran out before the outcome was recorded (is outbox.lease shorter than a send takes?)",
			"outbox_ids", stale, "lease_until", r.lease)
	}
	return err
}

// workers returns how many messages of ch may be in delivery at once.
func (d *Dispatcher) workers(ch Channel) int {
	if cs, ok := d.Senders[ch].(ConcurrentSender); ok {
		return max(1, min(d.Workers, cs.Concurrency()))
	}
	return 1
}

// deliver hands m to its channel's sender, unless the channel is paused.
func (d *Dispatcher) deliver(ctx context.Context, m *OutboxMessage) delivery {
	sender, ok := d.Senders[m.Channel]
	// deferred: put off, unsent, until the channel's Retry-After elapses.
	// That is no failed attempt: it never makes the message dead.
	if wait := d.paused(m.Channel, d.Now()); wait > 0 {
		return delivery{err: &RetryAfterError{After: wait, Err: errPaused}, wait: wait, deferred: true, done: true}
	}
	if !ok {
		return delivery{err: Permanent(fmt.Errorf("no sender for channel %q", m.Channel)), done: true}
	}
	err := sender.Send(ctx, m)
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		d.pause(m.Channel, d.Now().Add(ra.After))
	}
	return delivery{err: err, done: true}
}

// outcome turns m's delivery into the outcome to record, counting it. It
// reports false when there is nothing to record: the message was not
// reached, or its send failed because the dispatcher is shutting down
// (stopping), and the lease brings it back.
func (d *Dispatcher) outcome(ctx context.Context, m *OutboxMessage, r delivery, now time.Time, stopping bool) (OutboxOutcome, bool) {
	if !r.done || (stopping && r.err != nil) {
		return OutboxOutcome{}, false
	}
	sendErr := r.err
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
		return OutboxOutcome{ID: m.ID, State: OutboxSent}, true
	case errors.Is(sendErr, errRecipientGone):
		log.InfoContext(ctx, "recipient removed before delivery; not sent", "err", sendErr)
		return OutboxOutcome{ID: m.ID, State: OutboxSent}, true
	case IsPermanent(sendErr) || (m.Attempts >= d.MaxAttempts && !throttled):
		log.WarnContext(ctx, "outbox message dead", "err", sendErr)
		return OutboxOutcome{ID: m.ID, State: OutboxDead, Error: sendErr.Error()}, true
	case r.deferred:
		// Exactly at the end of the wait: a backoff on top would only
		// delay the message further.
		next := now.Add(r.wait)
		log.DebugContext(ctx, "outbox deferred", "next", next)
		return OutboxOutcome{ID: m.ID, State: OutboxPending, NextAttemptAt: next, Error: sendErr.Error()}, true
	default:
		next := now.Add(d.Backoff(m.Attempts))
		if throttled && now.Add(ra.After).After(next) {
			next = now.Add(ra.After)
		}
		log.InfoContext(ctx, "outbox retry", "err", sendErr, "next", next)
		return OutboxOutcome{ID: m.ID, State: OutboxPending, NextAttemptAt: next, Error: sendErr.Error()}, true
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

// LogSender logs notifications instead of delivering them: the email
// sender of a deployment without SMTP settings (development).
func LogSender(logger *slog.Logger) Sender {
	return SenderFunc(func(ctx context.Context, m *OutboxMessage) error {
		logger.InfoContext(ctx, "notification", "event", m.Payload.Event, "draft", m.Payload.DraftID,
			"revision", m.Payload.Revision, "tier", m.Payload.Tier, "recipient", m.Payload.Target)
		return nil
	})
}

// Outbox lists outbox messages for operators ("" state for all).
// Errors: EINVALID.
func (s *Service) Outbox(ctx context.Context, state OutboxState, limit int) ([]*OutboxMessage, error) {
	switch state {
	case "", OutboxPending, OutboxSent, OutboxDead:
	default:
		return nil, Errorf(EINVALID, "unknown outbox state %q (want pending, sent or dead)", state)
	}
	if limit <= 0 {
		limit = 100
	}
	var out []*OutboxMessage
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		out, err = tx.Outbox(ctx, state, limit)
		return err
	})
	return out, err
}

// NotificationView loads what a sender shows for a notification: the draft
// as it is now, built for the notification's reader (see
// NotificationReader), and the recipient (nil when the target is a
// channel). Senders
// are trusted parts of the service; no actor check applies. Within one
// dispatcher batch (see withViewCache) a draft is loaded once for all its
// messages, and the view returned is shared: callers must not change it.
// Errors: ENOTFOUND.
func (s *Service) NotificationView(ctx context.Context, n Notification) (*DraftView, *Member, error) {
	view, recipient, err := s.fullNotificationView(ctx, n)
	if err != nil {
		return nil, nil, err
	}
	return view.For(NotificationReader(n, recipient)), recipient, nil
}

// NotificationReader is who reads notification n: its recipient, or for a
// post to a channel, that channel's readers (an account's bound channel is
// read by clients, the internal channel by staff).
func NotificationReader(n Notification, recipient *Member) Reader {
	switch {
	case recipient != nil:
		return ReaderOf(recipient)
	case n.Tier == TierInternal:
		return StaffReader
	}
	return ClientReader
}

// fullNotificationView is NotificationView before the view is cut to its
// reader.
func (s *Service) fullNotificationView(ctx context.Context, n Notification) (*DraftView, *Member, error) {
	c := viewCacheFrom(ctx)
	if c == nil {
		return s.notificationView(ctx, n, true)
	}
	// The first call of a batch reads the views of all its drafts at once
	// (unless the dispatcher did); the others wait for it.
	c.load(ctx, s.store, n, s.Logger)
	var recipient *Member
	view, err := c.draft(n.WorkspaceID, n.DraftID, func() (*DraftView, error) {
		v, r, err := s.notificationView(ctx, n, true)
		if r != nil {
			recipient = r
			c.putMember(n.WorkspaceID, r)
		}
		return v, err
	})
	if err != nil || n.RecipientID == 0 || recipient != nil {
		return view, recipient, err
	}
	recipient, err = c.member(n.WorkspaceID, n.RecipientID, func() (*Member, error) {
		_, r, err := s.notificationView(ctx, n, false)
		return r, err
	})
	if err != nil {
		return nil, nil, err
	}
	return view, recipient, nil
}

// notificationView loads, in one transaction, the draft view (withView) and
// the notification's recipient, if it names one.
func (s *Service) notificationView(ctx context.Context, n Notification, withView bool) (*DraftView, *Member, error) {
	var view *DraftView
	var recipient *Member
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if withView {
			ws, err := tx.WorkspaceByID(ctx, n.WorkspaceID)
			if err != nil {
				return err
			}
			d, err := tx.DraftByID(ctx, ws.ID, n.DraftID)
			if err != nil {
				return err
			}
			if view, err = loadDraftView(ctx, tx, ws, d); err != nil {
				return err
			}
		}
		if n.RecipientID != 0 {
			var err error
			if recipient, err = tx.MemberByID(ctx, n.WorkspaceID, n.RecipientID); ErrorCode(err) == ENOTFOUND {
				return fmt.Errorf("%w: %w", errRecipientGone, err)
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return view, recipient, nil
}

// ViewsTx is what a dispatcher reads in bulk for a claimed batch: with
// InboxTx's reads, the views of all the batch's drafts in a fixed number of
// statements. Every lookup is scoped to the workspace.
type ViewsTx interface {
	// DraftsByID returns the drafts with the IDs, by ID (absent IDs are
	// left out).
	DraftsByID(ctx context.Context, workspaceID int64, ids []int64) (map[int64]*Draft, error)
	// AccountsByID returns the accounts with the IDs, by ID (absent IDs are
	// left out).
	AccountsByID(ctx context.Context, workspaceID int64, ids []int64) (map[int64]*Account, error)
}

// preload reads, in one transaction and a few set-based statements per
// workspace, the views of the drafts the batch's messages are about and
// their recipients, and keeps them in c, so that NotificationView answers
// every message of the batch from memory. The draft of first (the call
// that started it) is read as NotificationView reads one (DraftByID), the
// others in bulk. A draft or member it does not find is left out:
// NotificationView then looks for it itself, and reports what it finds.
func (c *viewCache) preload(ctx context.Context, store Store, first Notification) error {
	msgs := c.batch
	type want struct {
		drafts, members []int64
		seen            map[[2]int64]bool
	}
	byWS := map[int64]*want{}
	var order []int64
	for _, m := range msgs {
		n := m.Payload
		if n.WorkspaceID == 0 || n.DraftID == 0 {
			continue
		}
		w := byWS[n.WorkspaceID]
		if w == nil {
			w = &want{seen: map[[2]int64]bool{}}
			byWS[n.WorkspaceID] = w
			order = append(order, n.WorkspaceID)
		}
		if !w.seen[[2]int64{0, n.DraftID}] {
			w.seen[[2]int64{0, n.DraftID}] = true
			w.drafts = append(w.drafts, n.DraftID)
		}
		if n.RecipientID != 0 && !w.seen[[2]int64{1, n.RecipientID}] {
			w.seen[[2]int64{1, n.RecipientID}] = true
			w.members = append(w.members, n.RecipientID)
		}
	}
	if len(order) == 0 {
		return nil
	}
	views := map[[2]int64]*DraftView{}
	members := map[[2]int64]*Member{}
	err := store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		for _, wsID := range order {
			w := byWS[wsID]
			ws, err := tx.WorkspaceByID(ctx, wsID)
			if ErrorCode(err) == ENOTFOUND {
				continue
			} else if err != nil {
				return err
			}
			var rest []int64
			for _, id := range w.drafts {
				if wsID != first.WorkspaceID || id != first.DraftID {
					rest = append(rest, id)
				}
			}
			ds, err := tx.DraftsByID(ctx, wsID, rest)
			if err != nil {
				return err
			}
			if wsID == first.WorkspaceID && first.DraftID != 0 {
				d, err := tx.DraftByID(ctx, wsID, first.DraftID)
				if err == nil {
					ds[d.ID] = d
				} else if ErrorCode(err) != ENOTFOUND {
					return err
				}
			}
			pre := &preloadedTx{Tx: tx, ws: wsID}
			var list []*Draft
			for _, id := range w.drafts {
				if d, ok := ds[id]; ok {
					list = append(list, d)
				}
			}
			if err := pre.preload(ctx, list, w.members); err != nil {
				return err
			}
			for _, id := range w.members {
				if m, ok := pre.members[id]; ok {
					members[[2]int64{wsID, id}] = m
				}
			}
			for _, d := range list {
				if _, ok := pre.accounts[d.AccountID]; !ok {
					continue
				}
				if _, ok := pre.members[d.AuthorID]; !ok {
					continue
				}
				v, err := loadDraftView(ctx, pre, ws, d)
				if err != nil {
					return err
				}
				views[[2]int64{wsID, d.ID}] = v
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range views {
		e := &cacheEntry[*DraftView]{ready: make(chan struct{}), val: v}
		close(e.ready)
		c.drafts[k] = e
	}
	for k, m := range members {
		e := &cacheEntry[*Member]{ready: make(chan struct{}), val: m}
		close(e.ready)
		c.members[k] = e
	}
	return nil
}

// load preloads the batch's views once: the first caller reads them, the
// others wait for it. When that fails each NotificationView loads its own
// view, as without the preload.
func (c *viewCache) load(ctx context.Context, store Store, first Notification, logger *slog.Logger) {
	c.once.Do(func() {
		if err := c.preload(ctx, store, first); err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "outbox: preload the batch's drafts", "err", err)
		}
	})
}

// viewCache memoises NotificationView's loads for one dispatcher batch,
// whose messages often share a draft (a tier's request goes to each
// approver, by email and by Slack). Concurrent loads of one key wait for
// the first; a failed load is not kept, so the next caller tries again.
type viewCache struct {
	batch   []*OutboxMessage // the batch's messages, whose drafts preload reads
	once    sync.Once        // preload, at the batch's first NotificationView
	mu      sync.Mutex
	drafts  map[[2]int64]*cacheEntry[*DraftView]
	members map[[2]int64]*cacheEntry[*Member]
}

type cacheEntry[T any] struct {
	ready chan struct{}
	val   T
	err   error
}

type viewCacheKey struct{}

// withViewCache returns ctx carrying a fresh viewCache for the batch msgs.
func withViewCache(ctx context.Context, msgs []*OutboxMessage) context.Context {
	return context.WithValue(ctx, viewCacheKey{}, &viewCache{batch: msgs,
		drafts: map[[2]int64]*cacheEntry[*DraftView]{}, members: map[[2]int64]*cacheEntry[*Member]{}})
}

func viewCacheFrom(ctx context.Context) *viewCache {
	c, _ := ctx.Value(viewCacheKey{}).(*viewCache)
	return c
}

func (c *viewCache) draft(workspaceID, draftID int64, load func() (*DraftView, error)) (*DraftView, error) {
	return cached(&c.mu, c.drafts, [2]int64{workspaceID, draftID}, load)
}

func (c *viewCache) member(workspaceID, memberID int64, load func() (*Member, error)) (*Member, error) {
	return cached(&c.mu, c.members, [2]int64{workspaceID, memberID}, load)
}

func (c *viewCache) putMember(workspaceID int64, m *Member) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]int64{workspaceID, m.ID}
	if _, ok := c.members[k]; !ok {
		e := &cacheEntry[*Member]{ready: make(chan struct{}), val: m}
		close(e.ready)
		c.members[k] = e
	}
}

func cached[T any](mu *sync.Mutex, m map[[2]int64]*cacheEntry[T], k [2]int64, load func() (T, error)) (T, error) {
	mu.Lock()
	e, ok := m[k]
	if !ok {
		e = &cacheEntry[T]{ready: make(chan struct{})}
		m[k] = e
	}
	mu.Unlock()
	if ok {
		<-e.ready
		if e.err == nil {
			return e.val, nil
		}
		return load() // the first load failed: try for ourselves
	}
	e.val, e.err = load()
	if e.err != nil {
		mu.Lock()
		delete(m, k)
		mu.Unlock()
	}
	close(e.ready)
	return e.val, e.err
}
