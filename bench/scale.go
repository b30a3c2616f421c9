package bench

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/slackfake"
	"github.com/signoff-app/signoff/store"
)

// shape is the size of the scale data set: drafts spread over workspaces
// of 10,000 drafts, 100 accounts and 1,000 members each (at full size:
// 1,000,000 drafts, 10,000 accounts, 100,000 members in 100 workspaces).
type shape struct {
	Workspaces, Accounts, Members, Editors, Drafts int // Accounts, Members, Editors per workspace; Drafts in all
	ClientsPerAccount, ApproversPerAccount         int
}

func shapeFor(drafts int) shape {
	s := shape{Drafts: max(drafts, 100)}
	s.Workspaces = max(1, (s.Drafts+9999)/10000)
	s.Accounts = max(5, s.Drafts/100/s.Workspaces)
	s.Members = max(60, s.Drafts/10/s.Workspaces)
	s.Editors = max(2, s.Members/50)
	s.ClientsPerAccount = 10
	s.ApproversPerAccount = 3
	return s
}

// seedScale writes the scale data set with set-based SQL on one
// connection: workspaces, members, accounts, grants and approvers with
// their triggers on (they check the invariants), then drafts, revisions and
// decisions in bulk with triggers off (session_replication_role = replica),
// consistent by construction: 80% approved, 10% pending on the client
// tier, 5% rejected, 5% withdrawn, workspaces interleaved in time. Each
// workspace has a Slack team, so that its approvers can ask the server too.
func (e *env) seedScale(ctx context.Context, s shape) error {
	conn, err := pgx.Connect(ctx, e.cluster.DatabaseURL(benchDB))
	if err != nil {
		return fmt.Errorf("seed scale: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	clientPool := s.Members - s.Editors - 1
	stmts := []string{
		fmt.Sprintf(`INSERT INTO workspaces (slug, name, slack_team_id)
			SELECT 'scale-' || lpad(g::text, 4, '0'), 'Scale agency ' || g, 'TSCALE' || lpad(g::text, 4, '0')
			FROM generate_series(0, %d) g`, s.Workspaces-1),
		`CREATE TEMP TABLE s_ws AS SELECT substr(slug, 7)::int AS idx, id FROM workspaces WHERE slug LIKE 'scale-%'`,
		fmt.Sprintf(`INSERT INTO members (workspace_id, email, name, role, slack_user_id)
			SELECT w.id, 'm' || k || '@ws' || w.idx || '.test', 'Member ' || k,
			       CASE WHEN k = 0 THEN 'owner' WHEN k <= %d THEN 'editor' ELSE 'client' END,
			       'US' || w.idx || 'X' || k
			FROM s_ws w, generate_series(0, %d) k`, s.Editors, s.Members-1),
		`CREATE TEMP TABLE s_m AS SELECT w.idx, substr(split_part(m.email, '@', 1), 2)::int AS k, m.id
			FROM members m JOIN s_ws w ON w.id = m.workspace_id`,
		`CREATE INDEX ON s_m (idx, k)`,
		fmt.Sprintf(`INSERT INTO accounts (workspace_id, handle, name)
			SELECT w.id, 'acc-' || j, 'Account ' || j FROM s_ws w, generate_series(0, %d) j`, s.Accounts-1),
		`CREATE TEMP TABLE s_a AS SELECT w.idx, substr(a.handle, 5)::int AS j, a.id
			FROM accounts a JOIN s_ws w ON w.id = a.workspace_id`,
		`CREATE INDEX ON s_a (idx, j)`,
		`ANALYZE s_ws; ANALYZE s_m; ANALYZE s_a`,
		fmt.Sprintf(`INSERT INTO grants (workspace_id, account_id, member_id, caps)
			SELECT w.id, a.id, m.id, '{view,comment,create}'
			FROM s_ws w JOIN s_a a ON a.idx = w.idx JOIN s_m m ON m.idx = w.idx AND m.k BETWEEN 1 AND %d`, s.Editors),
		fmt.Sprintf(`INSERT INTO grants (workspace_id, account_id, member_id, caps)
			SELECT w.id, a.id, m.id, '{view,comment}'
			FROM s_ws w JOIN s_a a ON a.idx = w.idx CROSS JOIN generate_series(0, %[1]d) c
			JOIN s_m m ON m.idx = w.idx AND m.k = %[2]d + 1 + ((a.j * %[3]d + c) %% %[4]d)
			ON CONFLICT DO NOTHING`, s.ClientsPerAccount-1, s.Editors, s.ClientsPerAccount, clientPool),
		fmt.Sprintf(`INSERT INTO approvers (workspace_id, account_id, member_id, tier)
			SELECT w.id, a.id, m.id, 'client'
			FROM s_ws w JOIN s_a a ON a.idx = w.idx CROSS JOIN generate_series(0, %[1]d) c
			JOIN s_m m ON m.idx = w.idx AND m.k = %[2]d + 1 + ((a.j * %[3]d + c) %% %[4]d)`,
			s.ApproversPerAccount-1, s.Editors, s.ClientsPerAccount, clientPool),
		`UPDATE accounts SET needs_client_approval = true WHERE workspace_id IN (SELECT id FROM s_ws)`,
		// Bulk history, consistent by construction; triggers (and the
		// foreign-key checks they run) are off for this session only.
		`SET session_replication_role = replica`,
		fmt.Sprintf(`INSERT INTO drafts (workspace_id, account_id, author_id, state, revision, created_at, updated_at)
			SELECT w.id, a.id, m.id,
			       CASE WHEN x.h < 80 THEN 'approved' WHEN x.h < 90 THEN 'pending_client'
			            WHEN x.h < 95 THEN 'rejected' ELSE 'withdrawn' END,
			       1, x.ts, x.ts
			FROM generate_series(0, %[1]d) g
			CROSS JOIN LATERAL (SELECT g %% %[2]d AS wi, (g / %[2]d) %% %[3]d AS aj,
			       1 + abs(hashint4(g + 1)) %% %[4]d AS ek, abs(hashint4(g)) %% 100 AS h,
			       now() - (%[5]d - g) * interval '30 seconds' AS ts) x
			JOIN s_ws w ON w.idx = x.wi
			JOIN s_a a ON a.idx = x.wi AND a.j = x.aj
			JOIN s_m m ON m.idx = x.wi AND m.k = x.ek
			ORDER BY g`, s.Drafts-1, s.Workspaces, s.Accounts, s.Editors, s.Drafts),
		`INSERT INTO revisions (workspace_id, draft_id, number, text, needs_internal, needs_client,
			internal_rule, client_rule, created_by_id, created_at)
			SELECT d.workspace_id, d.id, 1, 'Scale draft ' || d.id || ': autumn collection teaser, link in bio.',
			       false, true, 'any', 'any', d.author_id, d.created_at
			FROM drafts d JOIN s_ws w ON w.id = d.workspace_id`,
		`INSERT INTO decisions (workspace_id, draft_id, revision, tier, approver_id, verdict, comment, channel, created_at)
			SELECT d.workspace_id, d.id, 1, 'client', ap.member_id,
			       CASE d.state WHEN 'approved' THEN 'approve' ELSE 'reject' END,
			       CASE d.state WHEN 'rejected' THEN 'Please change the caption.' ELSE '' END,
			       'email', d.created_at + interval '1 hour'
			FROM drafts d JOIN s_ws w ON w.id = d.workspace_id
			JOIN LATERAL (SELECT member_id FROM approvers x WHERE x.account_id = d.account_id
			              ORDER BY member_id LIMIT 1) ap ON true
			WHERE d.state IN ('approved', 'rejected')`,
		`SET session_replication_role = DEFAULT`,
		`VACUUM ANALYZE`,
	}
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("seed scale: %s: %w", firstLine(q), err)
		}
	}
	return nil
}

// scaleResult is what the scale phase measured.
type scaleResult struct {
	Shape          shape
	Seed           time.Duration
	Inbox, List    samples
	Plans          []plan
	BigSeqScans    []string
	ApproversTried int
	// ServerCalls App Home opens and as many pending lists went through
	// the server's handlers; ServerList times the lists.
	ServerCalls int
	ServerList  samples
}

// plan is one statement's EXPLAIN as auto_explain logged it.
type plan struct {
	Query string
	Text  string
}

// bigTableRows is the size from which a sequential scan in an interactive
// query is a bug rather than the planner's right choice.
const bigTableRows = 10_000

// bigTables returns the tables holding at least bigTableRows rows (by the
// statistics of the last ANALYZE).
func (e *env) bigTables(ctx context.Context) (map[string]bool, error) {
	rows, err := e.main.DB.Pool().Query(ctx, `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.reltuples >= $1`, bigTableRows)
	if err != nil {
		return nil, fmt.Errorf("scale: table sizes: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("scale: table sizes: %w", err)
	}
	big := map[string]bool{}
	for _, n := range names {
		big[n] = true
	}
	return big, nil
}

// approverActor is a scale approver as the bot presents them to the core.
type approverActor struct {
	WorkspaceID int64
	SlackUser   string
	SlackTeam   string
}

func (a approverActor) actor() approvals.Actor {
	return approvals.Actor{WorkspaceID: a.WorkspaceID, SlackUserID: a.SlackUser, Channel: approvals.ChannelSlack,
		Meta: approvals.Meta{SlackUserID: a.SlackUser}}
}

// measureScale times the App Home query (Service.Inbox) and an approver's
// pending list (Service.List of pending_client drafts, as `/signoff list
// pending_client` asks) for sampled approvers, on the bench's own core (the
// figures are of the queries, not of HTTP); then it asks the server the
// same through its handlers (serveScale).
func (e *env) measureScale(ctx context.Context, iterations int, res *scaleResult) error {
	rows, err := e.main.DB.Pool().Query(ctx, `
		SELECT DISTINCT ON (ap.member_id) ap.workspace_id, m.slack_user_id, w.slack_team_id
		FROM approvers ap JOIN members m ON m.id = ap.member_id
		JOIN workspaces w ON w.id = ap.workspace_id
		WHERE w.slug LIKE 'scale-%' AND m.slack_user_id IS NOT NULL
		ORDER BY ap.member_id LIMIT 400`)
	if err != nil {
		return fmt.Errorf("scale: sample approvers: %w", err)
	}
	approvers, err := pgx.CollectRows(rows, pgx.RowToStructByPos[approverActor])
	if err != nil {
		return fmt.Errorf("scale: sample approvers: %w", err)
	}
	if len(approvers) == 0 {
		return fmt.Errorf("scale: no approvers seeded")
	}
	// Spread the sample over workspaces.
	sort.SliceStable(approvers, func(i, j int) bool { return i%7 < j%7 })
	res.ApproversTried = len(approvers)
	svc := e.main.Service
	call := func(i int, record bool) error {
		a := approvers[i%len(approvers)].actor()
		t0 := time.Now()
		if _, err := svc.Inbox(ctx, a); err != nil {
			return fmt.Errorf("scale: inbox: %w", err)
		}
		t1 := time.Now()
		if _, err := svc.List(ctx, a, approvals.ListInput{State: approvals.StatePendingClient, Limit: 20}); err != nil {
			return fmt.Errorf("scale: list: %w", err)
		}
		if record {
			res.Inbox.add(t1.Sub(t0))
			res.List.add(time.Since(t1))
		}
		return nil
	}
	for i := range min(50, iterations) { // warm the caches and the pool
		if err := call(i, false); err != nil {
			return err
		}
	}
	// The timed calls run in this process, whose heap still holds what
	// earlier phases built: collect it first, so that its collection is
	// not timed as the query's.
	runtime.GC()
	for i := range iterations {
		if err := call(i, true); err != nil {
			return err
		}
	}
	return e.serveScale(ctx, approvers, iterations, res)
}

// serveScale asks the server, one request at a time, what the timed calls
// asked the bench's core: for each sampled approver in turn, an App Home
// open (app_home_opened: Service.Inbox, then views.publish to the fake
// Slack) and `/signoff list pending_client` (Service.List), so that the
// server's RSS in the scale phase is that of a server answering them over
// the large data set.
func (e *env) serveScale(ctx context.Context, approvers []approverActor, n int, res *scaleResult) error {
	homes0, bad0 := e.posts.published()
	for i := range n {
		a := approvers[i%len(approvers)]
		event := fmt.Sprintf(`{"token":"legacy","team_id":%q,"api_app_id":%q,"event":{"type":"app_home_opened","user":%q,"channel":"D0SCALE","tab":"home","event_ts":"1700000000.%06d"},"type":"event_callback","event_id":"Ev0SCALE%d","event_time":1700000000}`,
			a.SlackTeam, slackfake.AppID, a.SlackUser, i, i)
		if _, err := e.slackAnswer(ctx, "/slack/events", "application/json", event); err != nil {
			return fmt.Errorf("scale: app home: %w", err)
		}
		cmd := slackfake.Command(a.SlackTeam, a.SlackUser, "D0SCALE", "list pending_client", fmt.Sprintf("1337.%d.scale", i))
		t0 := time.Now()
		answer, err := e.slackAnswer(ctx, "/slack/commands", "application/x-www-form-urlencoded", cmd)
		if err != nil {
			return fmt.Errorf("scale: list: %w", err)
		}
		res.ServerList.add(time.Since(t0))
		if !strings.Contains(answer, "No drafts.") && !strings.Contains(answer, " rev ") {
			return fmt.Errorf("scale: /signoff list pending_client answered %.200s", answer)
		}
	}
	// Each App Home is published after its event was acknowledged.
	deadline := time.Now().Add(30 * time.Second)
	for {
		homes, bad := e.posts.published()
		if bad > bad0 {
			return fmt.Errorf("scale: %d App Homes published without the drafts waiting (an error text)", bad-bad0)
		}
		if homes-homes0 >= n {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("scale: %d of %d App Homes published after 30s", homes-homes0, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	res.ServerCalls = n
	return nil
}

// explainScale runs one Inbox and one List with auto_explain logging every
// statement's plan, and returns the plans.
func (e *env) explainScale(ctx context.Context, a approverActor) ([]plan, error) {
	url := e.cluster.DatabaseURL(benchDB)
	settings := []string{
		`ALTER DATABASE ` + benchDB + ` SET session_preload_libraries = 'auto_explain'`,
		`ALTER DATABASE ` + benchDB + ` SET auto_explain.log_min_duration = 0`,
		`ALTER DATABASE ` + benchDB + ` SET auto_explain.log_nested_statements = on`,
	}
	for _, q := range settings {
		if err := e.exec(ctx, e.cluster.URL(), q); err != nil {
			return nil, err
		}
	}
	defer func() {
		for _, k := range []string{"session_preload_libraries", "auto_explain.log_min_duration", "auto_explain.log_nested_statements"} {
			_ = e.exec(context.WithoutCancel(ctx), e.cluster.URL(), `ALTER DATABASE `+benchDB+` RESET `+k)
		}
	}()
	logPath := e.cluster.Dir() + "/postgres.log"
	before, err := os.Stat(logPath)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	svc := approvals.NewService(db)
	svc.Logger = e.logger
	_, ierr := svc.Inbox(ctx, a.actor())
	_, lerr := svc.List(ctx, a.actor(), approvals.ListInput{State: approvals.StatePendingClient, Limit: 20})
	db.Close()
	if ierr != nil || lerr != nil {
		return nil, fmt.Errorf("explain: inbox %v, list %v", ierr, lerr)
	}
	time.Sleep(200 * time.Millisecond) // let the server flush its log
	f, err := os.Open(logPath)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(before.Size(), 0); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	b := make([]byte, 8<<20)
	n, _ := f.Read(b)
	return parsePlans(string(b[:n])), nil
}

var (
	logRecordRe = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)
	seqScanRe   = regexp.MustCompile(`Seq Scan on (\w+)`)
)

// parsePlans extracts auto_explain's text-format plans from a server log.
func parsePlans(log string) []plan {
	var out []plan
	idx := logRecordRe.FindAllStringIndex(log, -1)
	for i, loc := range idx {
		end := len(log)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		rec := log[loc[0]:end]
		if !strings.Contains(rec, "plan:") {
			continue
		}
		_, body, _ := strings.Cut(rec, "plan:")
		q := ""
		if _, after, ok := strings.Cut(body, "Query Text:"); ok {
			var lines []string
			for _, l := range strings.Split(after, "\n") {
				if strings.Contains(l, "(cost=") {
					break
				}
				lines = append(lines, l)
			}
			q = strings.Join(strings.Fields(strings.Join(lines, " ")), " ")
		}
		out = append(out, plan{Query: q, Text: strings.TrimSpace(body)})
	}
	return out
}

// bigSeqScans lists the sequential scans of big tables in plans.
// Each (table, statement) pair is listed once.
func bigSeqScans(plans []plan, bigTables map[string]bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range plans {
		for _, m := range seqScanRe.FindAllStringSubmatch(p.Text, -1) {
			q := p.Query
			if len(q) > 100 {
				q = q[:100] + "…"
			}
			key := m[1] + " in: " + q
			if bigTables[m[1]] && !seen[key] {
				seen[key] = true
				out = append(out, key)
			}
		}
	}
	return out
}
