package mailer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/mailer"
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

// mailpitBin finds mailpit: $MAILPIT_BIN, then PATH, then the repository's
// .dev/bin (where `make dev` installs it), then $(go env GOPATH)/bin.
func mailpitBin(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MAILPIT_BIN"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		t.Fatalf("MAILPIT_BIN=%s does not exist", p)
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	if root, err := moduleRoot(); err == nil {
		p := filepath.Join(root, ".dev", "bin", "mailpit")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "mailpit")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	requireTool(t, "mailpit (set MAILPIT_BIN, or: GOBIN=$PWD/.dev/bin go install github.com/axllent/mailpit@v1.27.11)")
	return ""
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// mailpit is a real mailpit process on free local ports. Stop and Start
// keep the ports and the database, so a test can take SMTP down and bring
// it back.
type mailpit struct {
	t        testing.TB
	bin      string
	args     []string
	smtpPort int
	httpPort int
	cmd      *exec.Cmd
	done     chan struct{}
}

func startMailpit(t testing.TB, extra ...string) *mailpit {
	t.Helper()
	m := &mailpit{t: t, bin: mailpitBin(t), smtpPort: freePort(t), httpPort: freePort(t)}
	m.args = append([]string{
		"--smtp", fmt.Sprintf("127.0.0.1:%d", m.smtpPort),
		"--listen", fmt.Sprintf("127.0.0.1:%d", m.httpPort),
		"--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--smtp-disable-rdns", "--disable-version-check", "--quiet",
	}, extra...)
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// Start runs mailpit and waits until both ports answer.
func (m *mailpit) Start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, m.args...)
	m.cmd.Stdout, m.cmd.Stderr = os.Stderr, os.Stderr
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start mailpit: %v", err)
	}
	m.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(m.cmd, m.done)
	deadline := time.Now().Add(15 * time.Second)
	for _, port := range []int{m.smtpPort, m.httpPort} {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				m.t.Fatalf("mailpit did not listen on %d: %v", port, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// Stop ends mailpit (idempotent).
func (m *mailpit) Stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	<-m.done
	m.cmd = nil
}

type mailSummary struct {
	ID      string
	Subject string
	To      []struct{ Address string }
}

type mailMessage struct {
	ID      string
	Subject string
	To      []struct{ Address string }
	Text    string
	HTML    string
}

// Messages lists the captured messages, newest first.
func (m *mailpit) Messages() []mailSummary {
	m.t.Helper()
	var out struct {
		Total    int
		Messages []mailSummary `json:"messages"`
	}
	m.get("/api/v1/messages?limit=500", &out)
	return out.Messages
}

// MessageTo returns the one message to addr whose subject starts with
// prefix, failing when there is not exactly one.
func (m *mailpit) MessageTo(addr, prefix string) mailMessage {
	m.t.Helper()
	var found []mailSummary
	for _, s := range m.Messages() {
		if len(s.To) == 1 && strings.EqualFold(s.To[0].Address, addr) && strings.HasPrefix(s.Subject, prefix) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		m.t.Fatalf("%d messages to %s with subject %q…, want 1", len(found), addr, prefix)
	}
	var msg mailMessage
	m.get("/api/v1/message/"+found[0].ID, &msg)
	// SMTP lines end in CR LF; that is the transport's, not the text's.
	msg.Text = strings.ReplaceAll(msg.Text, "\r\n", "\n")
	return msg
}

// Raw returns a message's source.
func (m *mailpit) Raw(id string) string {
	m.t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/message/%s/raw", m.httpPort, id))
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		m.t.Fatal(err)
	}
	return string(b)
}

func (m *mailpit) get(path string, v any) {
	m.t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", m.httpPort, path))
	if err != nil {
		m.t.Fatalf("mailpit API: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		m.t.Fatalf("mailpit API %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		m.t.Fatalf("mailpit API %s: %v", path, err)
	}
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
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	svc   *approvals.Service
	codec *mailer.Codec
	cfg   mailer.Config
	srv   *httptest.Server
	mp    *mailpit
	send  *mailer.Sender
	disp  *approvals.Dispatcher
	now   time.Time // the dispatcher's clock
	ws    string
	wsID  int64
	ids   map[string]int64 // member IDs by email
}

func newFixture(t *testing.T, mp *mailpit) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, ctx: ctx, mp: mp, ws: "agency", ids: map[string]int64{}, now: time.Now()}
	f.db = pgtest.MustOpen(t, pgtest.NewDatabase(t))
	logger := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	f.svc = approvals.NewService(f.db)
	f.svc.Logger = logger

	op := approvals.Operator(f.ws)
	f.must(f.svc.CreateWorkspace(ctx, op, f.ws, "The Agency"))
	for email, p := range map[string]struct {
		name string
		role approvals.Role
	}{author: {"Ed Editor", approvals.RoleEditor}, client1: {"Carla Client", approvals.RoleClient}, client2: {"Dan Client", approvals.RoleClient}} {
		m, err := f.svc.AddMember(ctx, op, email, p.name, p.role)
		f.ok(err)
		f.ids[email] = m.ID
		f.wsID = m.WorkspaceID
	}
	f.must(f.svc.AddAccount(ctx, op, handle, "Acme Instagram"))
	f.grant(author, "view,comment,create")
	f.grant(client1, "view,comment")
	f.grant(client2, "view,comment")
	f.ok(f.svc.AddApprover(ctx, op, handle, client1, approvals.TierClient))
	f.ok(f.svc.AddApprover(ctx, op, handle, client2, approvals.TierClient))
	on, rule := true, approvals.RuleAny
	f.must(f.svc.SetAccount(ctx, op, handle, approvals.AccountSettings{NeedsClientApproval: &on, ClientRule: &rule}))

	tmpl, err := templates.Load("")
	f.ok(err)
	f.cfg = mailer.DefaultConfig()
	f.cfg.Links.Keys = []string{mailer.GenerateKeyPair(), mailer.GenerateKeyPair()}
	pairs, err := mailer.ParseKeys(f.cfg.Links.Keys)
	f.ok(err)
	f.codec, err = mailer.NewCodec(pairs, f.cfg.Links.TTL)
	f.ok(err)

	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.cfg.BaseURL = f.srv.URL
	mailer.NewLinks(f.svc, f.codec, tmpl, f.cfg, logger).Register(mux)

	if mp != nil {
		f.cfg.SMTP.Host, f.cfg.SMTP.Port, f.cfg.SMTP.TLS, f.cfg.SMTP.Timeout = "127.0.0.1", mp.smtpPort, mailer.TLSNone, 5*time.Second
		f.cfg.Mail.From = "Signoff <signoff@agency.test>"
		f.cfg.Mail.ReplyTo = "studio@agency.test"
		f.ok(f.cfg.Validate())
		f.send, err = mailer.NewSender(f.cfg, f.svc, f.codec, tmpl, logger)
		f.ok(err)
		t.Cleanup(func() { _ = f.send.Close() })
		f.disp = &approvals.Dispatcher{Store: f.db, Logger: logger,
			Senders:   map[approvals.Channel]approvals.Sender{approvals.ChannelEmail: f.send},
			Now:       func() time.Time { return f.now },
			Jitter:    func() float64 { return 1 },
			BaseDelay: time.Second, MaxAttempts: 5,
		}
	}
	return f
}

func (f *fixture) must(_ any, err error) {
	f.t.Helper()
	f.ok(err)
}

func (f *fixture) ok(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) grant(email, caps string) {
	f.t.Helper()
	c, err := approvals.ParseCaps(caps)
	f.ok(err)
	f.ok(f.svc.Grant(f.ctx, approvals.Operator(f.ws), handle, approvals.GrantTarget{Email: email}, c))
}

func (f *fixture) as(email string) approvals.Actor {
	return approvals.Actor{Workspace: f.ws, Email: email, Channel: approvals.ChannelCLI}
}

func (f *fixture) submit(text string) *approvals.DraftView {
	f.t.Helper()
	v, err := f.svc.Submit(f.ctx, f.as(author), approvals.DraftInput{Account: handle, Text: text})
	f.ok(err)
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
	f.ok(err)
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
		f.ok(err)
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
	f.ok(err)
	msgs, err := f.svc.Outbox(f.ctx, "", 1000)
	f.ok(err)
	s := snapshot{State: h.Draft.State, Revision: h.Draft.Revision, Decisions: h.Decisions, Comments: h.Comments}
	for _, m := range msgs {
		s.Outbox = append(s.Outbox, fmt.Sprintf("%s %s attempts=%d", m.IdempotencyKey, m.State, m.Attempts))
	}
	return s
}

func (f *fixture) audit(draftID int64) []*approvals.AuditEntry {
	f.t.Helper()
	h, err := f.svc.DraftHistory(f.ctx, approvals.Operator(f.ws), draftID)
	f.ok(err)
	return h.Audit
}

func (f *fixture) outbox() []*approvals.OutboxMessage {
	f.t.Helper()
	msgs, err := f.svc.Outbox(f.ctx, "", 1000)
	f.ok(err)
	return msgs
}
