package bot

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode connects to Slack over Socket Mode (slack.app_token) and
// hands every slash command, interaction and event to the same functions
// the HTTP endpoints use, until ctx ends. Socket Mode connections are
// authenticated by the app token, so no signature applies.
func (b *Bot) RunSocketMode(ctx context.Context) error {
	if !b.cfg.SocketMode() {
		return errors.New("bot: slack.app_token is not set; Socket Mode is off")
	}
	client := socketmode.New(b.api, socketmode.OptionLog(log.New(slogWriter{b.logger}, "", 0)))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case evt, ok := <-client.Events:
				if !ok {
					return
				}
				b.socketEvent(ctx, client, evt)
			}
		}
	}()
	err := client.RunContext(ctx)
	cancel()
	<-done
	// RunContext only returns with an error; after a shutdown that is the
	// context's own.
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return fmt.Errorf("socket mode: %w", err)
}

// acker acknowledges a Socket Mode request with an optional payload (the
// same body an HTTP answer would carry).
type acker interface {
	AckCtx(ctx context.Context, envelopeID string, payload any) error
}

// socketEvent dispatches one Socket Mode event to the shared handlers and
// acknowledges it with their answer.
func (b *Bot) socketEvent(ctx context.Context, client acker, evt socketmode.Event) {
	if evt.Request == nil {
		if evt.Type == socketmode.EventTypeConnected {
			b.logger.InfoContext(ctx, "slack socket mode connected")
		}
		return
	}
	req := Request{Retry: evt.Request.RetryAttempt}
	var payload any
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			return
		}
		payload = b.Command(ctx, req, cmd)
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			return
		}
		payload = b.Interaction(ctx, req, cb)
	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok {
			return
		}
		// Acknowledge first: events need no answer.
		if err := client.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil {
			b.logger.WarnContext(ctx, "socket mode ack", "err", err)
		}
		b.Event(ctx, req, ev)
		return
	default:
		return
	}
	if err := client.AckCtx(ctx, evt.Request.EnvelopeID, payload); err != nil {
		b.logger.WarnContext(ctx, "socket mode ack", "err", err)
	}
}

// slogWriter sends the socketmode client's log lines to slog at debug.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Debug(string(p))
	return len(p), nil
}
