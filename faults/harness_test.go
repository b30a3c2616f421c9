//go:build faults

package faults

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/internal/mailpit"
	"github.com/signoff-app/signoff/internal/slackfake"
	"github.com/signoff-app/signoff/mailer"
	"github.com/signoff-app/signoff/store"
)

const (
	signingSecret = "faults-signing-secret-0123456789ab"
	teamID        = "T0FAULTS"
	wsSlug        = "agency"
	authorEmail   = "ed@agency.test"
	authorSlack   = "U0AUTHOR"
	mailFrom      = "Signoff <signoff@agency.test>"
)

// harness is one scenario's world: a fresh database with a workspace
// bound to the fake Slack team, the approvals core over it (to seed and to
// inspect; every action under test goes through `signoff serve`), a
// mailpit, a fake Slack and the email link keys.
type harness struct {
	t     *testing.T
	ctx   context.Context
	dbURL string
	db    *store.DB
	svc   *approvals.Service
	mail  *mailpit.Server
	slack *slackfake.Server
	keys  []string
	codec *mailer.Codec
	wsID  int64

	author  *approvals.Member
	slackOf map[int64]string // Slack user ID by member ID
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, ctx: ctx, slackOf: map[int64]string{}}
	name := fmt.Sprintf("faults_%d", suite.dbSeq.Add(1))
	conn, err := pgx.Connect(ctx, suite.PG.URL())
	h.ok(err)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	if err == nil {
		// The throwaway cluster acknowledges commits before writing them
		// (synchronous_commit=off), so a stopped server would forget
		// acknowledged work, which no real deployment does. Durable
		// commits here; fsync stays off (the OS keeps what was written).
		_, err = conn.Exec(ctx, "ALTER DATABASE "+name+" SET synchronous_commit = on")
	}
	conn.Close(ctx)
	h.ok(err)
	h.dbURL = suite.PG.DatabaseURL(name)
	h.db, err = store.Open(ctx, h.dbURL)
	h.ok(err)
	t.Cleanup(h.db.Close)
	h.ok(store.Migrate(ctx, h.db.Pool()))
	h.svc = corefix.Service(h.db, nil)

	h.mail = mailpit.StartBin(t, suite.Mailpit)
	h.slack = slackfake.New(t, teamID)
	h.keys = []string{mailer.GenerateKeyPair(), mailer.GenerateKeyPair()}
	pairs, err := mailer.ParseKeys(h.keys)
	h.ok(err)
	h.codec, err = mailer.NewCodec(pairs, 24*time.Hour)
	h.ok(err)

	op := approvals.Operator(wsSlug)
	ws, err := h.svc.CreateWorkspace(ctx, approvals.Operator(""), wsSlug, "The Agency")
	h.ok(err)
	h.wsID = ws.ID
	// Each notification goes out at once: the scenarios count sends.
	team, window := teamID, time.Duration(0)
	_, err = h.svc.SetWorkspace(ctx, op, approvals.WorkspaceSettings{SlackTeamID: &team, GroupWindow: &window})
	h.ok(err)
	h.author = h.member(authorEmail, "Ed Editor", approvals.RoleEditor, authorSlack)
	return h
}

func (h *harness) ok(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

// member adds a member linked to a Slack user.
func (h *harness) member(email, name string, role approvals.Role, slackUser string) *approvals.Member {
	h.t.Helper()
	m, err := h.svc.AddMember(h.ctx, approvals.Operator(wsSlug), email, name, role)
	h.ok(err)
	_, err = h.svc.LinkSlackUser(h.ctx, teamID, approvals.SlackUser{ID: slackUser, TeamID: teamID, Email: email, EmailConfirmed: true})
	h.ok(err)
	h.slack.AddUser(slackUser, email, nil)
	h.slackOf[m.ID] = slackUser
	return m
}

// clients adds n client members named for prefix, each linked to Slack.
func (h *harness) clients(prefix string, n int) []*approvals.Member {
	h.t.Helper()
	var out []*approvals.Member
	for i := 1; i <= n; i++ {
		out = append(out, h.member(fmt.Sprintf("%s%02d@client.test", prefix, i), fmt.Sprintf("Client %s %02d", prefix, i),
			approvals.RoleClient, fmt.Sprintf("U0%s%02d", strings.ToUpper(prefix), i)))
	}
	return out
}

// account adds an account that needs client approval under rule from
// approvers, bound to the Slack channel; the author may create on it.
func (h *harness) account(handle, channel string, rule approvals.Rule, approvers []*approvals.Member) {
	h.t.Helper()
	op := approvals.Operator(wsSlug)
	_, err := h.svc.AddAccount(h.ctx, op, handle, handle+" Instagram")
	h.ok(err)
	grant := func(email, caps string) {
		c, err := approvals.ParseCaps(caps)
		h.ok(err)
		h.ok(h.svc.Grant(h.ctx, op, handle, approvals.GrantTarget{Email: email}, c))
	}
	grant(authorEmail, "view,comment,create")
	for _, m := range approvers {
		grant(m.Email, "view,comment")
		h.ok(h.svc.AddApprover(h.ctx, op, handle, m.Email, approvals.TierClient))
	}
	on := true
	_, err = h.svc.SetAccount(h.ctx, op, handle, approvals.AccountSettings{NeedsClientApproval: &on, ClientRule: &rule, SlackChannel: &channel})
	h.ok(err)
}

// submit submits n drafts on the account as the author, four at a time.
func (h *harness) submit(handle string, n int) []*approvals.DraftView {
	h.t.Helper()
	out := make([]*approvals.DraftView, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = h.svc.Submit(h.ctx, approvals.Actor{Workspace: wsSlug, Email: authorEmail, Channel: approvals.ChannelCLI},
					approvals.DraftInput{Account: handle, Text: fmt.Sprintf("Post %d for %s: launch day! 🚀", i+1, handle)})
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		h.ok(err)
	}
	return out
}

// env is the configuration of a `signoff serve` for this harness: the
// database, the fake Slack, mailpit, the link keys, and a short outbox
// lease and retry delay so that faults heal within the suite's budget.
func (h *harness) env() map[string]string {
	return map[string]string{
		"SIGNOFF_DATABASE_URL":         h.dbURL,
		"SIGNOFF_LOG_LEVEL":            "info",
		"SIGNOFF_SLACK_BOT_TOKEN":      "xoxb-faults",
		"SIGNOFF_SLACK_SIGNING_SECRET": signingSecret,
		"SIGNOFF_SLACK_API_URL":        h.slack.URL(),
		"SIGNOFF_SMTP_HOST":            "127.0.0.1",
		"SIGNOFF_SMTP_PORT":            strconv.Itoa(h.mail.SMTPPort),
		"SIGNOFF_SMTP_TLS":             "none",
		"SIGNOFF_SMTP_TIMEOUT":         "5s",
		"SIGNOFF_MAIL_FROM":            mailFrom,
		"SIGNOFF_LINKS_KEYS":           strings.Join(h.keys, ","),
		"SIGNOFF_OUTBOX_LEASE":         "5s",
		"SIGNOFF_OUTBOX_BASE_DELAY":    "1s",
		"SIGNOFF_OUTBOX_MAX_DELAY":     "4s",
		"SIGNOFF_OUTBOX_MAX_ATTEMPTS":  "100",
	}
}

// token mints the emailed link of member m for draft d, as the sender does.
func (h *harness) token(d *approvals.DraftView, m *approvals.Member) string {
	h.t.Helper()
	tok, err := h.codec.Encode(mailer.Link{WorkspaceID: h.wsID, DraftID: d.ID, Revision: d.Revision, Tier: approvals.TierClient,
		MemberID: m.ID, Action: approvals.VerdictApprove})
	h.ok(err)
	return tok
}

// answer is what a client got back from one request.
type answer struct {
	Status  int
	Body    string
	Latency time.Duration
	Err     error
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// openLink GETs a link page and returns its CSRF token.
func openLink(c *http.Client, base, tok string) (string, error) {
	resp, err := c.Get(base + "/l/" + tok)
	if err != nil {
		return "", fmt.Errorf("GET link: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("GET link: %w", err)
	}
	m := csrfRE.FindSubmatch(b)
	if resp.StatusCode != http.StatusOK || m == nil {
		return "", fmt.Errorf("GET link: %s without a form", resp.Status)
	}
	return string(m[1]), nil
}

// postLink clicks Approve on a link page.
func postLink(c *http.Client, base, tok, csrf string) answer {
	form := url.Values{"csrf": {csrf}, "verdict": {"approve"}}.Encode()
	return do(c, http.MethodPost, base+"/l/"+tok, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form)
}

// slackHeader is the header Slack sends with the form body signed under
// secret at ts.
func slackHeader(secret string, ts time.Time, body string) http.Header {
	hd := slackfake.Sign(secret, ts, body)
	hd.Set("Content-Type", "application/x-www-form-urlencoded")
	return hd
}

// clickBody is the form body of approver user pressing Approve on the
// request message channel/ts of draft id, revision 1; seq tells presses
// apart.
func clickBody(user, channel, ts string, draftID int64, seq int) string {
	return slackfake.Payload(slackfake.Click(slackfake.Button{Team: teamID, User: user, ActionID: "signoff_approve",
		Value: fmt.Sprintf("%d/1/client", draftID), Channel: channel, TS: ts, Seq: int64(seq)}))
}

// do sends one request and reads the whole answer.
func do(c *http.Client, method, u string, hd http.Header, body string) answer {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return answer{Err: err}
	}
	for k, v := range hd {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return answer{Err: err, Latency: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{Status: resp.StatusCode, Body: string(b), Latency: time.Since(start), Err: err}
}

// outboxState counts outbox rows by state.
func (h *harness) outboxState() (pending, sent, dead int) {
	h.t.Helper()
	h.ok(h.db.Pool().QueryRow(h.ctx, `SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'sent'),
		count(*) FILTER (WHERE state = 'dead') FROM outbox`).Scan(&pending, &sent, &dead))
	return pending, sent, dead
}

// waitSent waits until at least n outbox rows are sent.
func (h *harness) waitSent(n int, timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, sent, _ := h.outboxState()
		if sent >= n {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("only %d outbox rows sent after %s, want %d", sent, timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitDrained waits until no outbox row is pending, and fails on dead rows.
func (h *harness) waitDrained(timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		pending, _, dead := h.outboxState()
		if dead > 0 {
			rows, err := h.db.Pool().Query(h.ctx, `SELECT id, channel, payload->>'event', last_error FROM outbox WHERE state = 'dead' LIMIT 5`)
			h.ok(err)
			var lines []string
			for rows.Next() {
				var id int64
				var ch, ev, msg string
				h.ok(rows.Scan(&id, &ch, &ev, &msg))
				lines = append(lines, fmt.Sprintf("#%d %s %s: %s", id, ch, ev, msg))
			}
			rows.Close()
			h.t.Fatalf("%d outbox rows went dead:\n%s", dead, strings.Join(lines, "\n"))
		}
		if pending == 0 {
			// The sinks answer before the row is marked; give the last
			// HTTP exchange a moment to be recorded.
			time.Sleep(100 * time.Millisecond)
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d outbox rows still pending after %s", pending, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// counts returns the row count of each table that holds state.
func (h *harness) counts() map[string]int64 {
	h.t.Helper()
	out := map[string]int64{}
	for _, table := range []string{"drafts", "revisions", "decisions", "comments", "outbox", "slack_deliveries", "slack_messages", "audit_log"} {
		var n int64
		h.ok(h.db.Pool().QueryRow(h.ctx, "SELECT count(*) FROM "+table).Scan(&n))
		out[table] = n
	}
	return out
}

// invariants checks, in SQL, that no request was half-applied: every
// decided state has its decision, every decision its audit entry and its
// outbox rows, every approval its notification.
func (h *harness) invariants() {
	h.t.Helper()
	checks := []struct{ what, sql string }{
		{"approved drafts without an approval on their revision", `
			SELECT count(*) FROM drafts d WHERE d.state = 'approved' AND NOT EXISTS (
				SELECT 1 FROM decisions x WHERE x.draft_id = d.id AND x.revision = d.revision AND x.verdict = 'approve')`},
		{"drafts still pending under rule any although approved", `
			SELECT count(*) FROM drafts d JOIN revisions r ON r.draft_id = d.id AND r.number = d.revision
			WHERE d.state = 'pending_client' AND r.client_rule = 'any' AND EXISTS (
				SELECT 1 FROM decisions x WHERE x.draft_id = d.id AND x.revision = d.revision AND x.tier = 'client')`},
		{"drafts still pending under rule all although every approver approved", `
			SELECT count(*) FROM drafts d JOIN revisions r ON r.draft_id = d.id AND r.number = d.revision
			WHERE d.state = 'pending_client' AND r.client_rule = 'all'
			  AND (SELECT count(*) FROM decisions x WHERE x.draft_id = d.id AND x.revision = d.revision AND x.tier = 'client')
			    >= (SELECT count(*) FROM approvers a WHERE a.account_id = d.account_id AND a.tier = 'client')`},
		{"decisions without their decision_recorded outbox rows", `
			SELECT count(*) FROM decisions x WHERE NOT EXISTS (
				SELECT 1 FROM outbox o WHERE o.payload->>'event' = 'decision_recorded'
				  AND (o.payload->>'draft_id')::bigint = x.draft_id AND (o.payload->>'actor_id')::bigint = x.approver_id)`},
		{"approved drafts without their approved outbox rows", `
			SELECT count(*) FROM drafts d WHERE d.state = 'approved' AND NOT EXISTS (
				SELECT 1 FROM outbox o WHERE o.payload->>'event' = 'approved' AND (o.payload->>'draft_id')::bigint = d.id)`},
		{"pending drafts without their approval request outbox rows", `
			SELECT count(*) FROM drafts d WHERE d.state = 'pending_client' AND NOT EXISTS (
				SELECT 1 FROM outbox o WHERE o.payload->>'event' = 'approval_requested' AND (o.payload->>'draft_id')::bigint = d.id)`},
		{"decisions without an audit entry", `
			SELECT count(*) FROM decisions x WHERE NOT EXISTS (
				SELECT 1 FROM audit_log a WHERE a.draft_id = x.draft_id AND a.actor_id = x.approver_id
				  AND a.action = 'draft.approve' AND a.outcome = 'ok')`},
		{"(draft, revision, tier, approver) with more than one decision", `
			SELECT count(*) FROM (SELECT 1 FROM decisions GROUP BY draft_id, revision, tier, approver_id HAVING count(*) > 1) g`},
	}
	for _, c := range checks {
		var n int
		h.ok(h.db.Pool().QueryRow(h.ctx, c.sql).Scan(&n))
		if n != 0 {
			h.t.Errorf("invariant broken: %d %s", n, c.what)
		}
	}
}

// delivery is what reached the sinks, checked against the outbox.
type delivery struct {
	Emails     int // messages in mailpit
	SlackPosts int // successful chat.postMessage calls
	Expected   int // deliveries the sent outbox rows owe
	Duplicates int // deliveries beyond one per outbox row
	DupSameID  int // of the email duplicates, those with the row's Message-ID
	Missing    []string
	Unexpected []string
	Twice      []string // what arrived more than once
	Superseded int      // approval requests not sent because the draft moved on first
}

// emailRef is the Message-ID local part the email sender derives from an
// outbox row's idempotency key (mailer.idempotencyRef).
func emailRef(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "signoff." + hex.EncodeToString(sum[:16])
}

var (
	draftNumRE   = regexp.MustCompile(`^Draft #(\d+) on `)
	verdictNumRE = regexp.MustCompile(`Your draft #(\d+) on `)
)

// deliveries matches every sent outbox row with what reached mailpit and
// the fake Slack: each row owes exactly one email or Slack post (approval
// requests whose draft moved on before delivery owe at most one), and
// nothing else may arrive.
func (h *harness) deliveries() delivery {
	h.t.Helper()
	type draftState struct {
		state string
		rev   int
	}
	drafts := map[int64]draftState{}
	rows, err := h.db.Pool().Query(h.ctx, `SELECT id, state, revision FROM drafts`)
	h.ok(err)
	for rows.Next() {
		var id int64
		var d draftState
		h.ok(rows.Scan(&id, &d.state, &d.rev))
		drafts[id] = d
	}
	rows.Close()
	h.ok(rows.Err())

	var rep delivery
	// What arrived, by key.
	emails := map[string]int{}
	for _, m := range h.mail.Messages() {
		ref, _, _ := strings.Cut(strings.Trim(m.MessageID, "<>"), "@")
		emails[ref]++
		rep.Emails++
	}
	posts := map[string]int{}
	reqTS := map[string]int64{}   // ts of a request post → draft
	requested := map[int64]bool{} // drafts with a request post
	calls := h.slack.Calls()
	for _, c := range calls {
		if c.Method == "chat.postMessage" && c.Status == http.StatusOK && c.Str("thread_ts") == "" {
			if m := draftNumRE.FindStringSubmatch(c.Str("text")); m != nil {
				id, _ := strconv.ParseInt(m[1], 10, 64)
				reqTS[c.TS] = id
				requested[id] = true
			}
		}
	}
	for _, c := range calls {
		if c.Method != "chat.postMessage" || c.Status != http.StatusOK {
			continue
		}
		rep.SlackPosts++
		text, ch := c.Str("text"), c.Str("channel")
		switch {
		case c.Str("thread_ts") != "":
			posts[fmt.Sprintf("thread:%d", reqTS[c.Str("thread_ts")])]++
		case draftNumRE.MatchString(text):
			posts["req:"+draftNumRE.FindStringSubmatch(text)[1]+":"+ch]++
		case verdictNumRE.MatchString(text):
			posts["verdict:"+verdictNumRE.FindStringSubmatch(text)[1]+":"+ch]++
		default:
			rep.Unexpected = append(rep.Unexpected, fmt.Sprintf("slack post to %s: %.80q", ch, text))
		}
	}

	// What the sent outbox rows owe.
	owedEmail := map[string]bool{}
	owedPost := map[string]int{}
	mayMiss := map[string]bool{}
	rows, err = h.db.Pool().Query(h.ctx, `SELECT channel, idempotency_key, payload FROM outbox WHERE state = 'sent' ORDER BY id`)
	h.ok(err)
	for rows.Next() {
		var ch, key string
		var payload []byte
		h.ok(rows.Scan(&ch, &key, &payload))
		var n approvals.Notification
		h.ok(json.Unmarshal(payload, &n))
		d := drafts[n.DraftID]
		superseded := n.Event == approvals.EventApprovalRequested && (d.rev != n.Revision || d.state != "pending_client")
		switch ch {
		case string(approvals.ChannelEmail):
			switch n.Event {
			case approvals.EventApprovalRequested, approvals.EventApproved, approvals.EventRejected:
			default:
				continue
			}
			ref := emailRef(key)
			owedEmail[ref] = true
			if superseded {
				mayMiss[ref] = true
			}
		case string(approvals.ChannelSlack):
			var k string
			switch n.Event {
			case approvals.EventApprovalRequested:
				k = fmt.Sprintf("req:%d:%s", n.DraftID, n.Target)
			case approvals.EventApproved, approvals.EventRejected:
				k = fmt.Sprintf("verdict:%d:%s", n.DraftID, n.Target)
			case approvals.EventDecisionRecorded:
				k = fmt.Sprintf("thread:%d", n.DraftID)
				// Threads hang off the request message; a draft decided
				// before its request went out has none, so no thread.
				if !requested[n.DraftID] {
					mayMiss[k] = true
				}
			default:
				continue
			}
			owedPost[k]++
			if superseded {
				mayMiss[k] = true
			}
		}
	}
	rows.Close()
	h.ok(rows.Err())

	for ref := range owedEmail {
		got := emails[ref]
		rep.Expected++
		switch {
		case got == 0 && mayMiss[ref]:
			rep.Expected--
			rep.Superseded++
		case got == 0:
			rep.Missing = append(rep.Missing, "email "+ref)
		case got > 1:
			rep.Duplicates += got - 1
			rep.DupSameID += got - 1 // grouped by Message-ID: same ID by construction
			rep.Twice = append(rep.Twice, "email "+ref)
		}
	}
	for ref, n := range emails {
		if !owedEmail[ref] {
			rep.Unexpected = append(rep.Unexpected, fmt.Sprintf("%d email(s) with Message-ID %s owed by no sent row", n, ref))
		}
	}
	for k, want := range owedPost {
		got := posts[k]
		rep.Expected += want
		switch {
		case got == 0 && mayMiss[k]:
			rep.Expected -= want
			rep.Superseded++
		case got < want:
			rep.Missing = append(rep.Missing, fmt.Sprintf("slack %s: %d of %d", k, got, want))
		case got > want:
			rep.Duplicates += got - want
			rep.Twice = append(rep.Twice, fmt.Sprintf("slack %s: %d of %d", k, got, want))
		}
	}
	for k, n := range posts {
		if owedPost[k] == 0 {
			rep.Unexpected = append(rep.Unexpected, fmt.Sprintf("%d slack post(s) %s owed by no sent row", n, k))
		}
	}
	return rep
}

// exactlyOnce fails unless every owed delivery arrived exactly once.
func (h *harness) exactlyOnce(rep delivery) {
	h.t.Helper()
	if len(rep.Missing) > 0 {
		h.t.Errorf("%d deliveries lost, e.g. %v", len(rep.Missing), rep.Missing[:min(5, len(rep.Missing))])
	}
	if len(rep.Unexpected) > 0 {
		h.t.Errorf("%d unexpected deliveries, e.g. %v", len(rep.Unexpected), rep.Unexpected[:min(5, len(rep.Unexpected))])
	}
	if rep.Duplicates > 0 {
		h.t.Errorf("%d deliveries arrived twice: %v", rep.Duplicates, rep.Twice)
	}
}
