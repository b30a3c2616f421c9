// Package bot is Signoff's Slack channel: slash commands, modals, Approve and
// Reject buttons, the App Home tab, and the outbox sender that posts approval
// requests and updates them in place. It translates Slack into calls of the
// approvals core and the core's errors back into Slack; no rule lives here.
//
// Inbound requests arrive over HTTP (Handler, every request verified with
// the signing secret) or Socket Mode (RunSocketMode); both hand the parsed
// command, interaction or event to the same functions (Command,
// Interaction, Event).
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/bot/slackstate"
	"github.com/signoff-app/signoff/outbox"
)

// Store is the bot's own persistence (implemented by store.DB).
type Store interface {
	// ClaimSlackDelivery records that an inbound delivery is being acted
	// on; false means it was claimed before and must not act again.
	ClaimSlackDelivery(ctx context.Context, key string) (bool, error)
	// ReleaseSlackDelivery forgets a claim whose action failed, so that a
	// retry may act.
	ReleaseSlackDelivery(ctx context.Context, key string) error
	// EnqueueSlackAction claims an inbound delivery and queues the click
	// it carries, in one statement; false means it was claimed before and
	// nothing was queued.
	EnqueueSlackAction(ctx context.Context, key string, payload []byte) (bool, error)
	// ClaimSlackActions leases up to limit due queued clicks until
	// now+lease; concurrent claimers never get the same row.
	ClaimSlackActions(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*slackstate.Action, error)
	// DeleteSlackActions removes clicks that were acted on.
	DeleteSlackActions(ctx context.Context, ids []int64) error
	// RetrySlackAction releases a click that failed for now, due at next.
	RetrySlackAction(ctx context.Context, id int64, next time.Time, lastErr string) error
	// SaveSlackMessages records posted approval requests, each once.
	SaveSlackMessages(ctx context.Context, ms ...*slackstate.Message) error
	// SlackMessages returns the posted requests of a draft revision; tier ""
	// and target "" match any.
	SlackMessages(ctx context.Context, draftID int64, revision int, tier approvals.Tier, target string) ([]*slackstate.Message, error)
	// SlackMessagesTo returns the requests posted to target for the
	// drafts.
	SlackMessagesTo(ctx context.Context, target string, draftIDs []int64) ([]*slackstate.Message, error)
	// SlackMessagesAt returns the requests posted in one Slack message
	// (several for a grouped DM).
	SlackMessagesAt(ctx context.Context, channel, ts string) ([]*slackstate.Message, error)
}

// Bot is the Slack channel.
type Bot struct {
	cfg    Config
	svc    *approvals.Service
	store  Store
	api    *slack.Client
	logger *slog.Logger

	// MediaURL, when set, makes the public URLs of the image blocks that
	// show a draft's pictures; without it messages list media as links.
	MediaURL PictureURL
	// Wake, when set, is called after an action that may have enqueued
	// outbox messages, so the dispatcher delivers them at once.
	Wake func()
	// FollowUpTimeout bounds the Slack calls made after a request was
	// answered (ephemeral answers, App Home). Default 30s.
	FollowUpTimeout time.Duration
	// ActionWorkers is how many loops RunActions runs, each acting on up
	// to 4 queued clicks at once (default 4); ActionLease how long a worker holds one before another
	// may take it (default 30s); ActionInterval how often RunActions looks
	// for clicks it was not woken for (default 1s).
	ActionWorkers  int
	ActionLease    time.Duration
	ActionInterval time.Duration
	// DecideBudget is how long an Approve click may wait for the database
	// in the request itself before it is queued instead (default 1.5s,
	// half of Slack's three seconds; 0 queues every click).
	DecideBudget time.Duration

	actionWake chan struct{}
	wg         sync.WaitGroup
	linked     linkedUsers
}

// New returns a Bot. cfg must be valid (see Config.Validate).
func New(cfg Config, svc *approvals.Service, store Store, logger *slog.Logger) (*Bot, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if svc == nil || store == nil {
		return nil, errors.New("bot: a service and a store are required")
	}
	if logger == nil {
		logger = slog.Default()
	}
	opts := []slack.Option{slack.OptionAPIURL(cfg.APIURL)}
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken))
	}
	return &Bot{
		cfg: cfg, svc: svc, store: store, logger: logger.With("channel", "slack"),
		api:             slack.New(cfg.BotToken, opts...),
		FollowUpTimeout: 30 * time.Second,
		ActionWorkers:   defaultActionWorkers,
		ActionLease:     defaultActionLease,
		ActionInterval:  defaultActionInterval,
		DecideBudget:    defaultDecideBudget,
		actionWake:      make(chan struct{}, 1),
	}, nil
}

// Sender returns the outbox sender of approvals.ChannelSlack.
func (b *Bot) Sender() outbox.Sender { return &sender{b: b} }

// Handler returns the HTTP endpoints Slack calls: POST /slack/commands,
// /slack/interactions and /slack/events.
func (b *Bot) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /slack/commands", b.verified(b.serveCommand))
	mux.Handle("POST /slack/interactions", b.verified(b.serveInteraction))
	mux.Handle("POST /slack/events", b.verified(b.serveEvent))
	return mux
}

// Wait blocks until the follow-ups of answered requests are done (tests
// and shutdown). Queued clicks are RunActions' business, not Wait's.
func (b *Bot) Wait() { b.wg.Wait() }

// later runs fn after the request is answered, with a context that outlives
// the request but not FollowUpTimeout.
func (b *Bot) later(ctx context.Context, what string, fn func(ctx context.Context) error) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.FollowUpTimeout)
		defer cancel()
		if err := fn(ctx); err != nil {
			b.logger.WarnContext(ctx, "slack follow-up failed", "what", what, "err", err)
		}
	}()
}

func (b *Bot) wake() {
	if b.Wake != nil {
		b.Wake()
	}
}

// Request is what the transport knows of an inbound request besides its
// payload: metadata for the audit log, and Slack's retry counter.
type Request struct {
	Meta  approvals.Meta
	Retry int // X-Slack-Retry-Num or Socket Mode's retry_attempt
}

// actor is a Slack user as the core knows them.
func actor(req Request, teamID, userID string) approvals.Actor {
	meta := req.Meta
	meta.SlackTeamID, meta.SlackUserID = teamID, userID
	return approvals.Actor{SlackUserID: userID, Channel: approvals.ChannelSlack, Meta: meta}
}

// identify returns the member behind a Slack user, linking them on first
// use by what users.info says of them; the core decides whether that is
// enough (approvals.Service.LinkSlackUser).
// Errors: the core's (EUNAUTHORIZED with how to get linked), or a Slack
// API error.
func (b *Bot) identify(ctx context.Context, req Request, teamID, userID string) (approvals.Actor, *approvals.Member, error) {
	a := actor(req, teamID, userID)
	m, err := b.svc.SlackMember(ctx, teamID, userID)
	if approvals.ErrorCode(err) != approvals.ENOTFOUND {
		return a, m, err
	}
	u, err := b.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		return a, nil, fmt.Errorf("users.info %s: %w", userID, err)
	}
	m, err = b.svc.LinkSlackUser(ctx, teamID, approvals.SlackUser{
		ID: userID, TeamID: u.TeamID, Email: u.Profile.Email, EmailConfirmed: u.IsEmailConfirmed,
		Restricted: u.IsRestricted, UltraRestricted: u.IsUltraRestricted, Bot: u.IsBot || u.IsAppUser, Deleted: u.Deleted,
	})
	return a, m, err
}

// userMessage is what a Slack user is told of err.
func (b *Bot) userMessage(ctx context.Context, err error) string {
	var ae *approvals.Error
	if errors.As(err, &ae) && ae.Code != approvals.EINTERNAL {
		if ae.Code == approvals.EUNAVAILABLE {
			return "Signoff is unavailable right now; try again in a minute."
		}
		return upperFirst(ae.Message) + "."
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		b.logger.WarnContext(ctx, "slack api error", "err", err)
		return "Slack refused Signoff's request (" + se.Err + "); try again, or ask your admin to check the app's scopes."
	}
	b.logger.ErrorContext(ctx, "slack request failed", "err", err)
	return "Something went wrong on Signoff's side; try again."
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	if first, _, _ := strings.Cut(s, " "); r[0] >= 'a' && r[0] <= 'z' && !strings.Contains(first, "@") {
		r[0] -= 'a' - 'A'
	}
	out := string(r)
	if n := len(out); out[n-1] == '.' {
		out = out[:n-1]
	}
	return out
}

// claim dedupes an inbound delivery in Postgres. done must be called with
// the action's outcome: a failure releases the claim so a retry may act.
func (b *Bot) claim(ctx context.Context, key string) (ok bool, done func(failed bool), err error) {
	ok, err = b.store.ClaimSlackDelivery(ctx, key)
	if err != nil || !ok {
		return false, func(bool) {}, err
	}
	return true, func(failed bool) {
		if !failed {
			return
		}
		if err := b.store.ReleaseSlackDelivery(context.WithoutCancel(ctx), key); err != nil {
			b.logger.WarnContext(ctx, "release slack delivery", "key", key, "err", err)
		}
	}, nil
}
