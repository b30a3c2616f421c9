package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"sync"

	"github.com/signoff-app/signoff/api"
	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/bot"
	"github.com/signoff-app/signoff/httpserver"
	"github.com/signoff-app/signoff/mailer"
	"github.com/signoff-app/signoff/media"
	"github.com/signoff-app/signoff/metrics"
	"github.com/signoff-app/signoff/outbox"
	"github.com/signoff-app/signoff/store"
	"github.com/signoff-app/signoff/templates"
	"github.com/signoff-app/signoff/webhook"
)

// Main is the running program: the configuration, the database, the
// approvals service over it and, for serve, the HTTP server and the outbox
// dispatcher. Commands and end-to-end tests build it the same way.
type Main struct {
	Config  Config
	Logger  *slog.Logger
	DB      *store.DB
	Service *approvals.Service
	HTTP    *httpserver.Server
	// Bot is the Slack channel, built by Serve when Slack is configured.
	Bot *bot.Bot
	// Mailer and Links are the email channel (the outbox sender and the
	// link pages), built by Serve when smtp.host is set.
	Mailer *mailer.Sender
	Links  *mailer.Links
	// Metrics is /metrics, built by Serve when metrics.enabled.
	Metrics *metrics.Metrics

	// Listening, when set, is called with the bound address once the HTTP
	// server listens (tests use it with http.addr port 0).
	Listening func(addr string)
	// Routes, when set, registers extra handlers (signoff dev's demo
	// picture).
	Routes func(srv *httpserver.Server)
}

// NewMain returns a Main for cfg that logs to logger.
func NewMain(cfg Config, logger *slog.Logger) *Main {
	return &Main{Config: cfg, Logger: logger}
}

// Open connects to the database and builds the service. It does not migrate.
func (m *Main) Open(ctx context.Context) error {
	if err := m.Config.RequireDatabase(); err != nil {
		return err
	}
	db, err := store.Open(ctx, m.Config.Database.URL)
	if err != nil {
		return err
	}
	m.DB = db
	m.Service = approvals.NewService(db)
	m.Service.Logger = m.Logger
	// Every process that submits drafts (serve, the CLI) fetches previews
	// from the hosts each workspace allows.
	m.Service.MediaFetcher = media.New(m.Config.Media, nil)
	m.Service.MediaTimeout = m.Config.Media.WithDefaults().Timeout
	if m.Config.Media.AllowPrivate {
		m.Logger.Warn("media.allow_private is set: media previews may be fetched from loopback and private addresses (for tests and development only)")
	}
	if m.Config.Webhooks.Enabled() {
		// Every process that approves drafts (serve, the CLI) with this
		// configuration queues the webhook that serve delivers.
		m.Service.Channels = append(m.Service.Channels, approvals.ChannelWebhook)
	}
	return nil
}

// Migrate applies the pending migrations.
func (m *Main) Migrate(ctx context.Context) error {
	if err := store.Migrate(ctx, m.DB.Pool()); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	return nil
}

// Close releases the database.
func (m *Main) Close() {
	if m.DB != nil {
		m.DB.Close()
		m.DB = nil
	}
}

// Serve runs the HTTP server and the outbox dispatcher until ctx ends, then
// drains in-flight requests and stops the dispatcher. It returns nil after a
// graceful shutdown.
func (m *Main) Serve(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	// Every commit in this process that queues outbox rows wakes the
	// dispatcher, whichever channel or sweeper made it.
	m.DB.OnEnqueue(func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	defer m.DB.OnEnqueue(nil)
	if m.Config.Slack.Enabled() {
		b, err := bot.New(m.Config.Slack, m.Service, m.DB, m.Logger)
		if err != nil {
			return err
		}
		b.Wake = func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
		m.Bot = b
	} else {
		m.Logger.Info("Slack is not configured (slack.bot_token unset): serving without the Slack bot")
	}
	var mail *mailParts
	if m.Config.Mailer().Enabled() {
		var err error
		if mail, err = m.openMail(); err != nil {
			return err
		}
		m.Links = mailer.NewLinks(m.Service, mail.codec, mail.tmpl, m.Config.Mailer(), m.Logger)
	} else {
		m.Logger.Info("email is not configured (smtp.host unset): notifications are logged, not emailed")
	}
	m.HTTP = httpserver.New(m.Config.HTTP.Addr, m.Logger)
	m.HTTP.RedactPath = mailer.RedactPath // link tokens never reach the request log
	m.HTTP.Limits = m.Config.HTTP.Limits()
	m.HTTP.TrustedProxies, _ = httpserver.ParseProxies(m.Config.HTTP.TrustedProxies) // validated with the config
	if m.Config.Metrics.Enabled {
		m.Metrics = metrics.New()
		m.Metrics.WatchOutbox(m.DB, nil)
		m.Metrics.WatchPool(m.DB.Pool().Stat)
		m.Service.Metrics = m.Metrics
		m.HTTP.Observer = m.Metrics
	}
	m.routes(m.HTTP)
	if err := m.HTTP.Listen(); err != nil {
		return err
	}
	if m.Config.HTTP.BaseURL == "http://"+m.Config.HTTP.Addr {
		// The default base URL follows the address actually bound (port 0).
		m.Config.HTTP.BaseURL = "http://" + m.HTTP.BoundAddr()
	}
	if mail != nil {
		// Built after Listen: the links it mints need the final base URL.
		s, err := mailer.NewSender(m.Config.Mailer(), m.Service, mail.codec, mail.tmpl, m.Logger)
		if err != nil {
			return err
		}
		m.Mailer = s
		defer s.Close()
		if m.Bot != nil && slackCanFetch(m.Config.HTTP.BaseURL) {
			// Set before Serve: the bot's image blocks need the final base URL.
			m.Bot.MediaURL = mailer.PictureURLs(mail.codec, m.Config.HTTP.BaseURL)
		} else if m.Bot != nil {
			m.Logger.Info("Slack messages carry no pictures: Slack fetches them itself, and http.base_url is not a public https URL", "base_url", m.Config.HTTP.BaseURL)
		}
	}
	m.Logger.Info("signoff serving", "addr", m.HTTP.BoundAddr(), "base_url", m.Config.HTTP.BaseURL)
	if m.Listening != nil {
		m.Listening(m.HTTP.BoundAddr())
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { m.runOutbox(ctx, wake) })
	wg.Go(func() { m.runSweeper(ctx) }) // reminders and deadline policies
	wg.Go(func() { m.runPruner(ctx) })  // retention.*
	if m.Bot != nil {
		wg.Go(func() { _ = m.Bot.RunActions(ctx) }) // acknowledged Slack clicks
	}
	if addr := m.Config.Debug.PprofAddr; addr != "" {
		srv, ln, err := listenPprof(addr)
		if err != nil {
			cancel()
			wg.Wait()
			return err
		}
		m.Logger.Info("serving Go profiles", "addr", ln.Addr().String())
		wg.Go(func() { servePprof(ctx, srv, ln, m.Logger) })
	}
	if m.Bot != nil && m.Config.Slack.SocketMode() {
		wg.Go(func() {
			if err := m.Bot.RunSocketMode(ctx); err != nil {
				m.Logger.Error("slack socket mode stopped", "err", err)
			}
		})
	}
	err := m.HTTP.Serve(ctx)
	cancel()
	wg.Wait()
	if m.Bot != nil {
		m.Bot.Wait()
	}
	return err
}

// routes registers every HTTP handler. Later channels add theirs here
// (email link pages, Slack endpoints, the API), each with
// srv.Handle("METHOD /path", handler).
func (m *Main) routes(srv *httpserver.Server) {
	srv.HandleHealth(m.DB.Ping)
	if m.Bot != nil && m.Config.Slack.SigningSecret != "" {
		srv.Handle("POST /slack/", m.Bot.Handler())
	}
	if m.Links != nil {
		m.Links.Register(srv)
	}
	api.New(m.Service, m.Logger).Register(srv)
	if m.Metrics != nil {
		srv.Handle("GET /metrics", m.Metrics.HandlerWithToken(m.Config.Metrics.Token))
	}
	if m.Routes != nil {
		m.Routes(srv)
	}
}

// mailParts is what the email channel's sender and link pages share.
type mailParts struct {
	codec *mailer.Codec
	tmpl  *templates.Set
}

// openMail parses the templates and the link keys; either failing stops
// the boot with an error naming the setting.
func (m *Main) openMail() (*mailParts, error) {
	tmpl, err := templates.Load(m.Config.Templates.Dir)
	if err != nil {
		return nil, &ConfigError{Key: "templates.dir", Message: err.Error()}
	}
	pairs, err := mailer.ParseKeys(m.Config.Links.Keys)
	if err != nil {
		return nil, err
	}
	codec, err := mailer.NewCodec(pairs, m.Config.Links.TTL)
	if err != nil {
		return nil, err
	}
	return &mailParts{codec: codec, tmpl: tmpl}, nil
}

// senders returns the outbox senders by channel: the log stands in for
// email until SMTP is configured, Slack's is the bot's when it is
// configured, and the webhook's is always there. Service.Channels is not
// theirs to change: the core emails always and posts to Slack for
// workspaces bound to a team.
func (m *Main) senders() map[approvals.Channel]outbox.Sender {
	senders := map[approvals.Channel]outbox.Sender{
		approvals.ChannelEmail: outbox.LogSender(m.Logger),
	}
	if m.Bot != nil {
		senders[approvals.ChannelSlack] = m.Bot.Sender()
	}
	// Always: a workspace may have a webhook of its own, webhooks.url or not.
	senders[approvals.ChannelWebhook] = webhook.NewSender(m.Config.Webhooks, m.Service, nil, nil, m.Logger)
	if m.Mailer != nil {
		senders[approvals.ChannelEmail] = m.Mailer
	}
	return senders
}

// runOutbox delivers outbox messages until ctx ends. This is the one call
// site of the dispatcher in serve.
func (m *Main) runOutbox(ctx context.Context, wake <-chan struct{}) {
	d := &outbox.Dispatcher{Store: m.DB, Views: m.Service, Senders: m.senders(), Logger: m.Logger, Wake: wake}
	m.Config.Outbox.apply(d)
	if m.Metrics != nil {
		d.Metrics = m.Metrics
	}
	if err := d.Run(ctx); err != nil {
		m.Logger.Error("outbox dispatcher stopped", "err", err)
	}
}

// openMain builds and opens a Main from the app's configuration.
func (a *app) openMain(ctx context.Context) (*Main, error) {
	m := NewMain(a.cfg, a.logger)
	if err := m.Open(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// slackCanFetch reports whether Slack, which downloads an image block's
// picture itself, could reach base: https on a name or a public address.
func slackCanFetch(base string) bool {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return false
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		return media.Public(ip)
	}
	return host != "localhost" && !strings.HasSuffix(host, ".localhost") && strings.Contains(host, ".")
}
