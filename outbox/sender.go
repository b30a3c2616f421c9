package outbox

import (
	"context"
	"log/slog"

	"github.com/signoff-app/signoff/approvals"
)

// Sender delivers outbox messages of one channel. b is the claimed batch m
// belongs to, which the sender hands to approvals.Service.NotificationView
// so that the batch's messages about one draft load it once. A returned
// error is retried with backoff unless marked Permanent; a RetryAfterError
// sets the earliest next attempt (Slack's 429 Retry-After).
type Sender interface {
	Send(ctx context.Context, b *approvals.Batch, m *approvals.OutboxMessage) error
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

// GroupSender is a Sender that delivers the messages of one group
// (approvals.OutboxMessage.GroupKey) as one: the dispatcher hands it a
// group's claimed messages together and records the one outcome for each.
// Messages with a GroupKey go to Send one by one on a channel whose
// sender is no GroupSender.
type GroupSender interface {
	Sender
	SendGroup(ctx context.Context, b *approvals.Batch, group []*approvals.OutboxMessage) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, b *approvals.Batch, m *approvals.OutboxMessage) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, b *approvals.Batch, m *approvals.OutboxMessage) error {
	return f(ctx, b, m)
}

// LogSender logs notifications instead of delivering them: the email
// sender of a deployment without SMTP settings (development).
func LogSender(logger *slog.Logger) Sender {
	return SenderFunc(func(ctx context.Context, _ *approvals.Batch, m *approvals.OutboxMessage) error {
		logger.InfoContext(ctx, "notification", "event", m.Payload.Event, "draft", m.Payload.DraftID,
			"revision", m.Payload.Revision, "tier", m.Payload.Tier, "recipient", m.Payload.Target)
		return nil
	})
}
