package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/bot"
	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/internal/slackfake"
	"github.com/signoff-app/signoff/outbox"
	"github.com/signoff-app/signoff/store"
)

var env *pgtest.Env

func TestMain(m *testing.M) { pgtest.Main(m, &env) }

const (
	secret = "8f742231b10e8888abcd99yyyzzz85a5"
	team   = "T0AGENCY"
)

// harness is a workspace bound to a Slack team, the real core on a fresh
// database, the bot against the fake Slack, and an outbox dispatcher.
type harness struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	svc   *approvals.Service
	bot   *bot.Bot
	slack *slackfake.Server
	disp  *outbox.Dispatcher
	slug  string
	http  http.Handler

	members map[string]*approvals.Member // by Slack user ID
}

// The people of the test workspace, by Slack user ID.
const (
	uEditor   = "U0EDITOR"   // editor, may create on acme
	uClient   = "U0CLIENT"   // client approver of acme
	uCam      = "U0CAM"      // client approver of acme who may also create (an author)
	uCx       = "U0CX"       // another client approver of acme
	uViewer   = "U0VIEWER"   // client with view on acme, not an approver
	uOutsider = "U0OUTSIDER" // client with no access to acme
	uStranger = "U0STRANGER" // a Slack user whose email is no member's
	chanAcme  = "C0ACME"
)

func newHarness(t *testing.T, cfgs ...func(*bot.Config)) *harness {
	t.Helper()
	return newHarnessOn(t, pgtest.MustOpen(t, env.NewDatabase(t)), cfgs...)
}

// newHarnessOn is newHarness on db, a fresh migrated database.
func newHarnessOn(t *testing.T, db *store.DB, cfgs ...func(*bot.Config)) *harness {
	t.Helper()
	ctx := context.Background()
	svc := corefix.Service(db, nil)
	logger := svc.Logger
	fs := slackfake.New(t, team)
	cfg := bot.Config{BotToken: "xoxb-test", SigningSecret: secret, APIURL: fs.URL()}
	for _, f := range cfgs {
		f(&cfg)
	}
	b, err := bot.New(cfg, svc, db, logger)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ctx: ctx, db: db, svc: svc, bot: b, slack: fs, slug: "agency", http: b.Handler(),
		members: map[string]*approvals.Member{}}
	h.disp = &outbox.Dispatcher{Store: db, Views: svc, Logger: logger, Senders: map[approvals.Channel]outbox.Sender{
		approvals.ChannelSlack: b.Sender(), approvals.ChannelEmail: outbox.LogSender(logger)}}
	h.seed()
	return h
}

func (h *harness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) seed() {
	op := approvals.Operator(h.slug)
	_, err := h.svc.CreateWorkspace(h.ctx, approvals.Operator(""), h.slug, "The Agency")
	h.must(err)
	// Each request goes out on its own, at once (group_test.go sets a
	// grouping window).
	teamID, window := team, time.Duration(0)
	_, err = h.svc.SetWorkspace(h.ctx, op, approvals.WorkspaceSettings{SlackTeamID: &teamID, GroupWindow: &window})
	h.must(err)
	people := []struct {
		user, email, name string
		role              approvals.Role
	}{
		{uEditor, "ed@agency.test", "Ed Editor", approvals.RoleEditor},
		{uClient, "cleo@client.test", "Cleo Client", approvals.RoleClient},
		{uCam, "cam@client.test", "Cam Client", approvals.RoleClient},
		{uCx, "cx@client.test", "Cx Client", approvals.RoleClient},
		{uViewer, "vi@client.test", "Vi Viewer", approvals.RoleClient},
		{uOutsider, "out@other.test", "Otto Outsider", approvals.RoleClient},
	}
	for _, p := range people {
		m, err := h.svc.AddMember(h.ctx, op, p.email, p.name, p.role)
		h.must(err)
		h.members[p.user] = m
		h.slack.AddUser(p.user, p.email, nil) // linked on first use via users.info
	}
	h.slack.AddUser(uStranger, "stranger@elsewhere.test", nil)
	for _, acc := range []string{"acme", "beta", "gamma"} {
		_, err := h.svc.AddAccount(h.ctx, op, acc, strings.ToUpper(acc[:1])+acc[1:]+" Instagram")
		h.must(err)
	}
	grant := func(handle, email string, caps ...approvals.Capability) {
		h.must(h.svc.Grant(h.ctx, op, handle, approvals.GrantTarget{Email: email}, approvals.NewCaps(caps...)))
	}
	grant("acme", "ed@agency.test", approvals.CapView, approvals.CapCreate)
	grant("gamma", "ed@agency.test", approvals.CapView) // visible, but no create
	grant("acme", "cleo@client.test", approvals.CapView, approvals.CapComment)
	grant("acme", "cam@client.test", approvals.CapView, approvals.CapCreate)
	grant("acme", "cx@client.test", approvals.CapView)
	grant("acme", "vi@client.test", approvals.CapView)
	grant("beta", "out@other.test", approvals.CapView)
	for _, email := range []string{"cleo@client.test", "cam@client.test", "cx@client.test"} {
		h.must(h.svc.AddApprover(h.ctx, op, "acme", email, approvals.TierClient))
	}
	on, ch := true, chanAcme
	_, err = h.svc.SetAccount(h.ctx, op, "acme", approvals.AccountSettings{NeedsClientApproval: &on, SlackChannel: &ch})
	h.must(err)
}

// send posts a signed body to path and returns the response, after the
// bot's follow-ups finished and the clicks it queued were acted on.
func (h *harness) send(path, contentType, body string, hd http.Header) *httptest.ResponseRecorder {
	h.t.Helper()
	w := h.ack(path, contentType, body, hd)
	h.work()
	return w
}

// work runs the action worker until no queued click is due.
func (h *harness) work() {
	h.t.Helper()
	for range 20 {
		n, err := h.bot.RunActionsOnce(h.ctx)
		if err != nil {
			h.t.Fatalf("slack actions: %v", err)
		}
		if n == 0 {
			return
		}
	}
	h.t.Fatal("slack actions: the queue never drained")
}

// queued counts the clicks waiting in the queue.
func (h *harness) queued() int {
	h.t.Helper()
	var n int
	h.must(h.db.Pool().QueryRow(h.ctx, `SELECT count(*) FROM slack_actions`).Scan(&n))
	return n
}

// ack posts a signed body to path and returns Slack's answer, after the
// bot's follow-ups finished, without acting on queued clicks.
func (h *harness) ack(path, contentType, body string, hd http.Header) *httptest.ResponseRecorder {
	h.t.Helper()
	if hd == nil {
		hd = slackfake.Sign(secret, time.Now(), body)
	}
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	for k, v := range hd {
		r.Header[k] = v
	}
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	w := httptest.NewRecorder()
	h.http.ServeHTTP(w, r)
	h.bot.Wait()
	return w
}

// deliver posts an interaction body n times, as Slack delivers it and
// then retries it after a timeout.
func (h *harness) deliver(body string, n int) {
	h.t.Helper()
	for i := range n {
		hd := slackfake.Sign(secret, time.Now(), body)
		if i > 0 {
			hd.Set("X-Slack-Retry-Num", strconv.Itoa(i))
			hd.Set("X-Slack-Retry-Reason", "http_timeout")
		}
		if w := h.send("/slack/interactions", "application/x-www-form-urlencoded", body, hd); w.Code != http.StatusOK {
			h.t.Fatalf("delivery %d: %d", i, w.Code)
		}
	}
}

var triggerSeq int

// command sends the slash command "/signoff text" as user, as Slack does.
func (h *harness) command(user, channel, text string) *httptest.ResponseRecorder {
	h.t.Helper()
	triggerSeq++
	body := slackfake.Command(team, user, channel, text, fmt.Sprintf("1337.%d.trigger", triggerSeq))
	return h.send("/slack/commands", "application/x-www-form-urlencoded", body, nil)
}

var actionSeq int64

// click is the block_actions payload of user pressing the button
// (actionID, value) on the message channel/ts.
func click(user, actionID, value, channel, ts string) map[string]any {
	actionSeq++
	return slackfake.Click(slackfake.Button{Team: team, User: user, ActionID: actionID, Value: value, Channel: channel, TS: ts, Seq: actionSeq})
}

// dispatch delivers every due outbox message.
func (h *harness) dispatch() {
	h.t.Helper()
	for range 20 {
		n, err := h.disp.RunOnce(h.ctx)
		if err != nil {
			h.t.Fatalf("dispatch: %v", err)
		}
		if n == 0 {
			return
		}
	}
	h.t.Fatal("dispatch: the outbox never drained")
}

// actor is a member acting by email through the CLI (for checks).
func (h *harness) owner() approvals.Actor {
	return approvals.Operator(h.slug)
}

func (h *harness) draft(id int64) *approvals.DraftView {
	h.t.Helper()
	v, err := h.svc.Show(h.ctx, h.owner(), id)
	h.must(err)
	return v
}

// auditCount counts audit entries with the action and outcome.
func (h *harness) auditCount(action, outcome string) int {
	h.t.Helper()
	var n int
	h.must(h.db.Pool().QueryRow(h.ctx, `SELECT count(*) FROM audit_log WHERE action = $1 AND outcome = $2`, action, outcome).Scan(&n))
	return n
}
