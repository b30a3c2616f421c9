package bench

import (
	"context"
	"fmt"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/mailer"
	"github.com/signoff-app/signoff/templates"
)

// dispatchResult compares the outbox's email delivery with plain go-mail.
type dispatchResult struct {
	Messages    int
	OutboxRate  float64 // messages/s, first to last arrival at the sink
	GoMailRate  float64 // messages/s, one go-mail connection, pre-built messages
	OutboxSpan  time.Duration
	GoMailSpan  time.Duration
	ComposeEach time.Duration // mean time to compose one message alone: its view read in a transaction of its own, then rendered (in neither rate)
	OutboxCPU   cpuUse        // from the dispatcher's first claim to the last arrival
	GoMailCPU   cpuUse        // the go-mail loop, from dial to close
}

// approvalEmails returns one approval request email per pending draft, to
// its approver: the rows the core writes when a draft enters the client
// tier.
func approvalEmails(w *world, items []pending) []*approvals.OutboxMessage {
	var msgs []*approvals.OutboxMessage
	now := time.Now().UTC()
	for _, p := range items {
		msgs = append(msgs, &approvals.OutboxMessage{
			WorkspaceID: w.WorkspaceID, Channel: approvals.ChannelEmail, State: approvals.OutboxPending,
			IdempotencyKey: fmt.Sprintf("bench-dispatch/d%d/m%d", p.DraftID, p.Approver.ID),
			Payload: approvals.Notification{Event: approvals.EventApprovalRequested, WorkspaceID: w.WorkspaceID,
				DraftID: p.DraftID, Revision: 1, Tier: approvals.TierClient, RecipientID: p.Approver.ID, Target: p.Approver.Email,
				Channel: approvals.ChannelCLI},
			NextAttemptAt: now, CreatedAt: now,
		})
	}
	return msgs
}

// measureDispatch enqueues approval emails in one transaction and times
// the running server's dispatcher delivering them to the sink; then it
// sends the same messages (rendered beforehand) with a plain go-mail loop
// over one connection.
func (e *env) measureDispatch(ctx context.Context, w *world, items []pending) (*dispatchResult, error) {
	msgs := approvalEmails(w, items)
	res := &dispatchResult{Messages: len(msgs)}
	e.smtp.reset()
	err := e.main.DB.InTx(ctx, func(ctx context.Context, tx approvals.Tx) error { return tx.EnqueueOutbox(ctx, msgs) })
	if err != nil {
		return nil, fmt.Errorf("enqueue emails: %w", err)
	}
	// Nothing wakes the server's dispatcher from this process: it finds
	// the rows at its next poll (outbox.Dispatcher.Interval). The CPU is
	// counted from its first claim, not over that idle wait.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := e.waitClaimed(wctx); err != nil {
		return nil, err
	}
	c0 := e.cpu()
	err = e.smtp.waitCount(wctx, len(msgs))
	if err != nil {
		return nil, fmt.Errorf("outbox dispatch: %w", err)
	}
	res.OutboxCPU = c0.to(e.cpu())
	n, first, last := e.smtp.stats()
	res.OutboxSpan = last.Sub(first)
	if res.OutboxSpan > 0 {
		res.OutboxRate = float64(n-1) / res.OutboxSpan.Seconds()
	}

	// The baseline: the same emails, rendered first, then sent back to back.
	tmpl, err := templates.Load("")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	mc := e.main.Config.Mailer()
	sender, err := mailer.NewSender(mc, e.main.Service, e.codec, tmpl, e.logger)
	if err != nil {
		return nil, fmt.Errorf("baseline sender: %w", err)
	}
	defer sender.Close()
	var built []*gomail.Msg
	t0 := time.Now()
	for _, m := range msgs {
		gm, err := sender.Compose(ctx, nil, m)
		if err != nil {
			return nil, fmt.Errorf("compose: %w", err)
		}
		if gm != nil {
			built = append(built, gm)
		}
	}
	if len(built) > 0 {
		res.ComposeEach = time.Since(t0) / time.Duration(len(built))
	}
	if len(built) != len(msgs) {
		return nil, fmt.Errorf("compose: %d of %d messages rendered (drafts moved on?)", len(built), len(msgs))
	}
	client, err := gomail.NewClient("127.0.0.1", gomail.WithPort(e.smtp.port()), gomail.WithTLSPolicy(gomail.NoTLS),
		gomail.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("go-mail client: %w", err)
	}
	e.smtp.reset()
	c0 = e.cpu()
	start := time.Now()
	if err := client.DialWithContext(ctx); err != nil {
		return nil, fmt.Errorf("go-mail dial: %w", err)
	}
	for _, gm := range built {
		if err := client.Send(gm); err != nil {
			client.Close()
			return nil, fmt.Errorf("go-mail send: %w", err)
		}
	}
	res.GoMailSpan = time.Since(start)
	if err := client.Close(); err != nil {
		return nil, fmt.Errorf("go-mail close: %w", err)
	}
	res.GoMailCPU = c0.to(e.cpu())
	if got, _, _ := e.smtp.stats(); got != len(built) {
		return nil, fmt.Errorf("go-mail baseline: the sink got %d of %d", got, len(built))
	}
	res.GoMailRate = float64(len(built)) / res.GoMailSpan.Seconds()
	return res, nil
}

// waitClaimed waits until the dispatcher has claimed (or already sent)
// one of the dispatch run's rows.
func (e *env) waitClaimed(ctx context.Context) error {
	for {
		var claimed bool
		err := e.main.DB.Pool().QueryRow(ctx, `
			SELECT EXISTS (SELECT 1 FROM outbox WHERE idempotency_key LIKE 'bench-dispatch/%'
			               AND (state <> 'pending' OR lease_until IS NOT NULL))`).Scan(&claimed)
		if err != nil {
			return fmt.Errorf("outbox dispatch: wait for the first claim: %w", err)
		}
		if claimed {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("outbox dispatch: no row claimed: %w", ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// outboxPending counts pending outbox rows.
func (e *env) outboxPending(ctx context.Context) (int, error) {
	var n int
	err := e.main.DB.Pool().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE state = 'pending'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count outbox: %w", err)
	}
	return n, nil
}

// drainOutbox waits until the dispatcher has delivered every due row, so
// that one phase's notifications do not load the next.
func (e *env) drainOutbox(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		n, err := e.outboxPending(ctx)
		if err == nil && n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("outbox still has %d pending rows after %s", n, limit)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
