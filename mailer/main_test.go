package mailer_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/internal/mailpit"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/mailer"
	"github.com/signoff-app/signoff/outbox"
	"github.com/signoff-app/signoff/store"
	"github.com/signoff-app/signoff/templates"
)

// Every test of the package runs against a real PostgreSQL (pgtest starts a
// throwaway cluster, or uses $SIGNOFF_TEST_DATABASE_URL; no PostgreSQL
// under CI=true is a failure).
func TestMain(m *testing.M) { pgtest.Main(m) }

// requireTool fails the test under CI (the pipeline must provide the
// tool) and skips it elsewhere, saying what is missing.
func requireTool(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found; CI must provide it", what)
	}
	t.Skipf("%s not found; install it to run this test (it is required under CI=true)", what)
}

// Emails of the fixture's people.
const (
	author  = "ed@agency.test"
	client1 = "carla@client.test"
	client2 = "dan@client.test"
	handle  = "acme-ig"
)

// fixture is a workspace with an editor who writes drafts for the account
// "Acme Instagram", which needs the approval of one of two client
// approvers; the link pages on an httptest server; and, when given a
// mailpit, the email sender and a dispatcher.
type fixture struct {
	corefix.Check
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	svc   *approvals.Service
	codec *mailer.Codec
	cfg   mailer.Config
	srv   *httptest.Server
	mp    *mailpit.Server
	send  *mailer.Sender
	disp  *outbox.Dispatcher
	now   time.Time // the dispatcher's clock
	ws    string
	wsID  int64
	ids   map[string]int64 // member IDs by email
}

func newFixture(t *testing.T, mp *mailpit.Server) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{Check: corefix.Check{T: t}, t: t, ctx: ctx, mp: mp, ws: "agency", ids: map[string]int64{}, now: time.Now()}
	f.db = pgtest.MustOpen(t, pgtest.NewDatabase(t))
	f.svc = corefix.Service(f.db, nil)
	if testing.Verbose() {
		f.svc.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	logger := f.svc.Logger

	op := approvals.Operator(f.ws)
	f.Must(f.svc.CreateWorkspace(ctx, op, f.ws, "The Agency"))
	// These tests read each request as its own email (grouping_test.go
	// sets a window).
	var window time.Duration
	f.Must(f.svc.SetWorkspace(ctx, op, approvals.WorkspaceSettings{GroupWindow: &window}))
	for email, p := range map[string]struct {
		name string
		role approvals.Role
	}{author: {"Ed Editor", approvals.RoleEditor}, client1: {"Carla Client", approvals.RoleClient}, client2: {"Dan Client", approvals.RoleClient}} {
		m, err := f.svc.AddMember(ctx, op, email, p.name, p.role)
		f.OK(err)
		f.ids[email] = m.ID
		f.wsID = m.WorkspaceID
	}
	f.Must(f.svc.AddAccount(ctx, op, handle, "Acme Instagram"))
	f.grant(author, "view,comment,create")
	f.grant(client1, "view,comment")
	f.grant(client2, "view,comment")
	f.OK(f.svc.AddApprover(ctx, op, handle, client1, approvals.TierClient))
	f.OK(f.svc.AddApprover(ctx, op, handle, client2, approvals.TierClient))
	on, rule := true, approvals.RuleAny
	f.Must(f.svc.SetAccount(ctx, op, handle, approvals.AccountSettings{NeedsClientApproval: &on, ClientRule: &rule}))

	tmpl, err := templates.Load("")
	f.OK(err)
	f.cfg = mailer.DefaultConfig()
	f.cfg.Links.Keys = []string{mailer.GenerateKeyPair(), mailer.GenerateKeyPair()}
	pairs, err := mailer.ParseKeys(f.cfg.Links.Keys)
	f.OK(err)
	f.codec, err = mailer.NewCodec(pairs, f.cfg.Links.TTL)
	f.OK(err)

	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.cfg.BaseURL = f.srv.URL
	mailer.NewLinks(f.svc, f.codec, tmpl, f.cfg, logger).Register(mux)

	if mp != nil {
		f.cfg.SMTP.Host, f.cfg.SMTP.Port, f.cfg.SMTP.TLS, f.cfg.SMTP.Timeout = "127.0.0.1", mp.SMTPPort, mailer.TLSNone, 5*time.Second
		f.cfg.Mail.From = "Signoff <signoff@agency.test>"
		f.cfg.Mail.ReplyTo = "studio@agency.test"
		f.OK(f.cfg.Validate())
		f.send, err = mailer.NewSender(f.cfg, f.svc, f.codec, tmpl, logger)
		f.OK(err)
		t.Cleanup(func() { _ = f.send.Close() })
		f.disp = &outbox.Dispatcher{Store: f.db, Views: f.svc, Logger: logger,
			Senders:   map[approvals.Channel]outbox.Sender{approvals.ChannelEmail: f.send},
			Now:       func() time.Time { return f.now },
			Jitter:    func() float64 { return 1 },
			BaseDelay: time.Second, MaxAttempts: 5,
		}
	}
	return f
}

func (f *fixture) grant(email, caps string) {
	f.t.Helper()
	c, err := approvals.ParseCaps(caps)
	f.OK(err)
	f.OK(f.svc.Grant(f.ctx, approvals.Operator(f.ws), handle, approvals.GrantTarget{Email: email}, c))
}

func (f *fixture) as(email string) approvals.Actor {
	return approvals.Actor{Workspace: f.ws, Email: email, Channel: approvals.ChannelCLI}
}

func (f *fixture) submit(text string) *approvals.DraftView {
	f.t.Helper()
	v, err := f.svc.Submit(f.ctx, f.as(author), approvals.DraftInput{Account: handle, Text: text})
	f.OK(err)
	return v
}

// link mints the URL of an emailed link, as the sender would.
func (f *fixture) link(d *approvals.DraftView, email string, action approvals.Verdict) string {
	f.t.Helper()
	return f.srv.URL + "/l/" + f.token(d.ID, d.Revision, email, action)
}

func (f *fixture) token(draftID int64, rev int, email string, action approvals.Verdict) string {
	f.t.Helper()
	tok, err := f.codec.Encode(mailer.Link{WorkspaceID: f.wsID, DraftID: draftID, Revision: rev, Tier: approvals.TierClient, MemberID: f.ids[email], Action: action})
	f.OK(err)
	return tok
}

// dispatch delivers every due outbox message, as `signoff serve` does.
func (f *fixture) dispatch() {
	f.t.Helper()
	// The service stamps rows with the wall clock; the dispatcher's clock
	// never runs behind it, only ahead (to skip a backoff).
	if now := time.Now(); f.now.Before(now) {
		f.now = now
	}
	for {
		n, err := f.disp.RunOnce(f.ctx)
		f.OK(err)
		if n == 0 {
			return
		}
	}
}

// snapshot is everything a link must not change: the draft, its
// revisions, decisions and comments, and the outbox. (The audit log may
// grow: refused attempts are recorded.)
type snapshot struct {
	State     approvals.State
	Revision  int
	Decisions []*approvals.Decision
	Comments  []*approvals.Comment
	Outbox    []string
}

func (f *fixture) snapshot(draftID int64) snapshot {
	f.t.Helper()
	h, err := f.svc.DraftHistory(f.ctx, approvals.Operator(f.ws), draftID)
	f.OK(err)
	msgs, err := f.svc.Outbox(f.ctx, "", 1000)
	f.OK(err)
	s := snapshot{State: h.Draft.State, Revision: h.Draft.Revision, Decisions: h.Decisions, Comments: h.Comments}
	for _, m := range msgs {
		s.Outbox = append(s.Outbox, fmt.Sprintf("%s %s attempts=%d", m.IdempotencyKey, m.State, m.Attempts))
	}
	return s
}

func (f *fixture) audit(draftID int64) []*approvals.AuditEntry {
	f.t.Helper()
	h, err := f.svc.DraftHistory(f.ctx, approvals.Operator(f.ws), draftID)
	f.OK(err)
	return h.Audit
}

func (f *fixture) outbox() []*approvals.OutboxMessage {
	f.t.Helper()
	msgs, err := f.svc.Outbox(f.ctx, "", 1000)
	f.OK(err)
	return msgs
}
