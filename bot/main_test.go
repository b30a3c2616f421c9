package bot_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/bot"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/outbox"
	"github.com/signoff-app/signoff/store"
)

var env *pgtest.Env

func TestMain(m *testing.M) { pgtest.Main(m, &env) }

const (
	secret = "8f742231b10e8888abcd99yyyzzz85a5"
	team   = "T0AGENCY"
)

// call is one Web API call the fake Slack received.
type call struct {
	Method string
	Args   map[string]any // form values (first value) or the JSON body
}

func (c call) str(key string) string {
	v, _ := c.Args[key].(string)
	return v
}

// blocks decodes the call's "blocks" (a JSON string in forms) or a view's.
func (c call) blocks() []map[string]any {
	var raw any = c.Args["blocks"]
	if v, ok := c.Args["view"].(map[string]any); ok {
		raw = v["blocks"]
	}
	var out []map[string]any
	switch r := raw.(type) {
	case string:
		_ = json.Unmarshal([]byte(r), &out)
	case []any:
		for _, x := range r {
			if m, ok := x.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// fakeSlack is slacktest's server extended with every method the bot
// uses; it records each call.
type fakeSlack struct {
	srv *slacktest.Server

	mu     sync.Mutex
	calls  []call
	emails map[string]string // user ID → verified profile email
	// users holds, by user ID, the users.info fields of users who are not
	// full members of the team (team_id, is_restricted, is_bot, ...).
	users map[string]map[string]any
	ts    int
	// fail, when set for a method, is the Slack error it answers.
	fail map[string]string
	// wsURL is what apps.connections.open returns (Socket Mode tests).
	wsURL string
}

func newFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{emails: map[string]string{}, users: map[string]map[string]any{}, fail: map[string]string{}}
	methods := []string{"views.open", "views.publish", "views.update", "chat.postMessage", "chat.update",
		"chat.postEphemeral", "users.info", "conversations.open", "apps.connections.open"}
	f.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		for _, m := range methods {
			c.Handle("/"+m, f.handler(m))
		}
	})
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	return f
}

func (f *fakeSlack) handler(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		args := map[string]any{}
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct == "application/json" {
			_ = json.Unmarshal(body, &args)
		} else {
			form, _ := url.ParseQuery(string(body))
			for k, v := range form {
				args[k] = v[0]
			}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls = append(f.calls, call{Method: method, Args: args})
		w.Header().Set("Content-Type", "application/json")
		if e := f.fail[method]; e != "" {
			if e == "ratelimited" {
				w.Header().Set("Retry-After", "42")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": e})
			return
		}
		var resp map[string]any
		switch method {
		case "chat.postMessage":
			f.ts++
			ch, _ := args["channel"].(string)
			if strings.HasPrefix(ch, "U") {
				ch = "D" + ch[1:] // a DM to a user lands in the IM channel
			}
			resp = map[string]any{"ok": true, "channel": ch, "ts": fmt.Sprintf("1700000000.%06d", f.ts)}
		case "chat.update":
			resp = map[string]any{"ok": true, "channel": args["channel"], "ts": args["ts"]}
		case "chat.postEphemeral":
			resp = map[string]any{"ok": true, "message_ts": "1700000001.000001"}
		case "users.info":
			id, _ := args["user"].(string)
			email, ok := f.emails[id]
			if !ok {
				resp = map[string]any{"ok": false, "error": "user_not_found"}
				break
			}
			user := map[string]any{"id": id, "team_id": team, "name": id,
				"is_email_confirmed": true, "profile": map[string]any{"email": email}}
			for k, v := range f.users[id] {
				user[k] = v
			}
			resp = map[string]any{"ok": true, "user": user}
		case "apps.connections.open":
			resp = map[string]any{"ok": true, "url": f.wsURL}
		case "views.open", "views.publish", "views.update":
			resp = map[string]any{"ok": true, "view": map[string]any{"id": "V" + strconv.Itoa(len(f.calls))}}
		default:
			resp = map[string]any{"ok": true}
		}
		_ = json.NewEncoder(w).Encode(resp)
	}
}

// take returns the calls recorded since the last take.
func (f *fakeSlack) take() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

func only(calls []call, method string) []call {
	var out []call
	for _, c := range calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func methods(calls []call) []string {
	out := []string{}
	for _, c := range calls {
		out = append(out, c.Method)
	}
	return out
}

// harness is a workspace bound to a Slack team, the real core on a fresh
// database, the bot against the fake Slack, and an outbox dispatcher.
type harness struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	svc   *approvals.Service
	bot   *bot.Bot
	slack *fakeSlack
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
	ctx := context.Background()
	db := pgtest.MustOpen(t, env.NewDatabase(t))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := approvals.NewService(db)
	svc.Logger = logger
	fs := newFakeSlack(t)
	cfg := bot.Config{BotToken: "xoxb-test", SigningSecret: secret, APIURL: fs.srv.GetAPIURL()}
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
	teamID := team
	_, err = h.svc.SetWorkspace(h.ctx, op, approvals.WorkspaceSettings{SlackTeamID: &teamID})
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
		h.slack.emails[p.user] = p.email // linked on first use via users.info
	}
	h.slack.emails[uStranger] = "stranger@elsewhere.test"
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

// sign returns the v0 signature headers for body at time ts.
func sign(ts time.Time, body string) http.Header {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:%s", ts.Unix(), body)
	hd := http.Header{}
	hd.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	hd.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return hd
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
		hd = sign(time.Now(), body)
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

var triggerSeq int

// command sends the slash command "/signoff text" as user, as Slack does.
func (h *harness) command(user, channel, text string) *httptest.ResponseRecorder {
	h.t.Helper()
	triggerSeq++
	form := url.Values{
		"token": {"legacy"}, "team_id": {team}, "team_domain": {"agency"}, "channel_id": {channel},
		"channel_name": {"acme"}, "user_id": {user}, "user_name": {strings.ToLower(user)}, "command": {"/signoff"},
		"text": {text}, "api_app_id": {"A0SIGNOFF"}, "is_enterprise_install": {"false"},
		"response_url": {"https://hooks.slack.com/commands/T0AGENCY/1/x"}, "trigger_id": {fmt.Sprintf("1337.%d.trigger", triggerSeq)},
	}
	return h.send("/slack/commands", "application/x-www-form-urlencoded", form.Encode(), nil)
}

// payload encodes an interaction payload as Slack posts it: JSON in the
// "payload" form field.
func payload(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return url.Values{"payload": {string(b)}}.Encode()
}

func userObj(user string) map[string]any {
	return map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user), "team_id": team}
}

var actionSeq int

// click is a block_actions payload: user pressed the button (actionID,
// value) on the message channel/ts.
func click(user, actionID, value, channel, ts string) map[string]any {
	actionSeq++
	return map[string]any{
		"type": "block_actions", "user": userObj(user), "api_app_id": "A0SIGNOFF", "token": "legacy",
		"container":  map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
		"trigger_id": fmt.Sprintf("1337.%d.click", actionSeq), "team": map[string]any{"id": team, "domain": "agency"},
		"enterprise": nil, "is_enterprise_install": false, "channel": map[string]any{"id": channel, "name": "acme"},
		"message":      map[string]any{"type": "message", "ts": ts, "text": "draft"},
		"state":        map[string]any{"values": map[string]any{}},
		"response_url": "https://hooks.slack.com/actions/T0AGENCY/1/x",
		"actions": []any{map[string]any{
			"action_id": actionID, "block_id": "decide", "text": map[string]any{"type": "plain_text", "text": "Approve", "emoji": true},
			"value": value, "type": "button", "action_ts": fmt.Sprintf("1700000100.%06d", actionSeq),
		}},
	}
}

// submission is a view_submission payload of the view opened by an
// earlier views.open call, with the given input values.
func submission(user string, opened call, viewID string, values map[string]any) map[string]any {
	view, _ := opened.Args["view"].(map[string]any)
	return map[string]any{
		"type": "view_submission", "team": map[string]any{"id": team, "domain": "agency"}, "user": userObj(user),
		"api_app_id": "A0SIGNOFF", "token": "legacy", "trigger_id": "1337.submit",
		"view": map[string]any{
			"id": viewID, "team_id": team, "type": "modal", "blocks": view["blocks"],
			"private_metadata": view["private_metadata"], "callback_id": view["callback_id"],
			"state": map[string]any{"values": values}, "hash": "1700000200." + viewID,
			"title": view["title"], "submit": view["submit"], "root_view_id": viewID, "app_id": "A0SIGNOFF", "bot_id": "B0SIGNOFF",
		},
		"response_urls": []any{}, "is_enterprise_install": false, "enterprise": nil,
	}
}

func textValue(action, v string) map[string]any {
	return map[string]any{action: map[string]any{"type": "plain_text_input", "value": v}}
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
