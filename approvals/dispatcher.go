package approvals

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Sender delivers outbox messages of one channel. A returned error is
// retried with backoff unless marked Permanent; a RetryAfterError sets the
// earliest next attempt (Slack's 429 Retry-After).
type Sender interface {
	Send(ctx context.Context, m *OutboxMessage) error
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
type Dispatcher struct {
	Store   Store
	Senders map[Channel]Sender
	Now     func() time.Time
	Logger  *slog.Logger

	Batch       int           // rows claimed per round (default 50)
	Lease       time.Duration // how long a claim holds a row (default 2m)
	MaxAttempts int           // attempts before a row goes dead (default 8)
	BaseDelay   time.Duration // first retry delay (default 5s), doubled each attempt
	MaxDelay    time.Duration // cap on the retry delay (default 1h)
	Interval    time.Duration // idle poll interval (default 1s)
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
}

// errPaused is the error of a message put off because its channel asked
// the dispatcher to wait (see pausedUntil).
var errPaused = errors.New("channel paused by an earlier Retry-After")

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
		d.Interval = time.Second
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

// Run delivers due messages until ctx is done.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.defaults()
	for {
		n, err := d.RunOnce(ctx)
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

// RunOnce claims one batch of due messages and delivers it, returning how
// many it handled.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	d.defaults()
	var msgs []*OutboxMessage
	err := d.Store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		msgs, err = tx.ClaimOutbox(ctx, d.Now().UTC(), d.Batch, d.Lease)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("claim outbox: %w", err)
	}
	for _, m := range msgs {
		if err := d.deliver(ctx, m); err != nil {
			return len(msgs), err
		}
	}
	return len(msgs), nil
}

func (d *Dispatcher) deliver(ctx context.Context, m *OutboxMessage) error {
	sender, ok := d.Senders[m.Channel]
	var sendErr error
	// deferred: put off, unsent, until the channel's Retry-After elapses.
	// That is no failed attempt: it never makes the message dead.
	wait := d.paused(m.Channel, d.Now())
	deferred := wait > 0
	switch {
	case deferred:
		sendErr = &RetryAfterError{After: wait, Err: errPaused}
	case !ok:
		sendErr = Permanent(fmt.Errorf("no sender for channel %q", m.Channel))
	default:
		sendErr = sender.Send(ctx, m)
		var ra *RetryAfterError
		if errors.As(sendErr, &ra) {
			d.pause(m.Channel, d.Now().Add(ra.After))
		}
	}
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: the lease expires and another try follows
	}
	if d.Metrics != nil && !deferred {
		if sendErr != nil && !IsPermanent(sendErr) && m.Attempts >= d.MaxAttempts {
			d.Metrics.Sent(m.Channel, Permanent(sendErr)) // the last attempt: it goes dead
		} else {
			d.Metrics.Sent(m.Channel, sendErr)
		}
	}
	log := d.Logger.With("outbox_id", m.ID, "channel", m.Channel, "event", m.Payload.Event, "attempt", m.Attempts)
	return d.Store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		now := d.Now().UTC()
		switch {
		case sendErr == nil:
			return tx.MarkOutboxSent(ctx, m.ID, now)
		case IsPermanent(sendErr) || (m.Attempts >= d.MaxAttempts && !deferred):
			log.WarnContext(ctx, "outbox message dead", "err", sendErr)
			return tx.MarkOutboxDead(ctx, m.ID, sendErr.Error())
		case deferred:
			// Exactly at the end of the wait: a backoff on top would only
			// delay the message further.
			next := now.Add(wait)
			log.DebugContext(ctx, "outbox deferred", "next", next)
			return tx.MarkOutboxRetry(ctx, m.ID, next, sendErr.Error())
		default:
			next := now.Add(d.Backoff(m.Attempts))
			var ra *RetryAfterError
			if errors.As(sendErr, &ra) && now.Add(ra.After).After(next) {
				next = now.Add(ra.After)
			}
			log.InfoContext(ctx, "outbox retry", "err", sendErr, "next", next)
			return tx.MarkOutboxRetry(ctx, m.ID, next, sendErr.Error())
		}
	})
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
// as it is now and the recipient (nil when the target is a channel). Senders
// are trusted parts of the service; no actor check applies.
// Errors: ENOTFOUND.
func (s *Service) NotificationView(ctx context.Context, n Notification) (*DraftView, *Member, error) {
	var view *DraftView
	var recipient *Member
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		ws, err := tx.WorkspaceByID(ctx, n.WorkspaceID)
		if err != nil {
			return err
		}
		d, err := tx.DraftByID(ctx, ws.ID, n.DraftID)
		if err != nil {
			return err
		}
		if view, err = s.draftView(ctx, tx, ws, d); err != nil {
			return err
		}
		if n.RecipientID != 0 {
			recipient, err = tx.MemberByID(ctx, ws.ID, n.RecipientID)
		}
		return err
	})
	return view, recipient, err
}
