//go:build faults

package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// raceRounds is how often each race scenario runs. Each round starts its
// two actions as separate processes (the CLI, or a link POST to `serve`)
// with a random offset of up to raceSpread either way, so that across the
// rounds each action lands before, inside and after the other's
// transaction.
const (
	raceRounds = 25
	raceSpread = 30 * time.Millisecond
)

// TestRaces runs the races between approvers, authors and admins that the
// core's lock order (approvals/lock.go) exists for, each in rounds on an
// account of its own, then checks the whole database in SQL: every draft's
// state agrees with its decisions, no pending draft lacks someone who may
// decide it, no decision landed after the revision, withdrawal or expiry
// that made it stale, hand-offs and notifications happened once, no
// command was told to try again and PostgreSQL detected no deadlock.
func TestRaces(t *testing.T) {
	h := newHarness(t)
	r := newRacer(h)
	env := h.env()
	env["SIGNOFF_REMINDERS_INTERVAL"] = "1s" // the sweeper looks often: a policy acting too early would show
	srv := startServe(t, "serve", env)
	logStart := pgLogSize(t)

	ann := h.member("ann@agency.test", "Ann Admin", approvals.RoleAdmin, "U0ANN")
	bob := h.member("bob@agency.test", "Bob Admin", approvals.RoleAdmin, "U0BOB")
	cleo := h.member("cleo@client.test", "Cleo Client", approvals.RoleClient, "U0CLEO")

	var lateRevised []int64 // s8's drafts: no policy may approve them within the test
	scenarios := []*raceScenario{
		{key: "s1", name: "submit vs removal of the other internal approver", round: func(r *racer, sc *raceScenario, i int) {
			// Ann submits on an account whose only other internal
			// approver, Bob, an admin removes at the same moment.
			acc := sc.account(i)
			r.internalAccount(acc, approvals.RuleAny, []*approvals.Member{ann}, ann, bob)
			sub, rm := r.pair(
				[]string{"draft", "submit", "--workspace", wsSlug, "--account", acc, "--as", ann.Email, "--text", "Launch day", "--json"},
				[]string{"admin", "approver", "remove", "--workspace", wsSlug, "--account", acc, "--member", bob.Email, "--tier", "internal"})
			sc.want(rm.OK, "approver remove failed: %s", rm.Out)
			switch {
			case !sub.OK && strings.Contains(sub.Out, "has no internal approver who did not write this draft"):
				sc.outcome("submit refused")
			case sub.OK:
				sc.outcome("draft " + r.state(sub.draftID()))
			default:
				sc.fail("submit: unexpected answer %q", sub.Out)
			}
		}},
		{key: "s2", name: "revise vs removal of the other internal approver", round: func(r *racer, sc *raceScenario, i int) {
			// Bob rejected Ann's draft; Ann revises it while an admin
			// removes Bob, the only other internal approver.
			acc := sc.account(i)
			r.internalAccount(acc, approvals.RuleAny, []*approvals.Member{ann}, ann, bob)
			d := r.submit(ann, acc)
			r.decide(bob, d, approvals.VerdictReject)
			rev, rm := r.pair(
				[]string{"draft", "revise", "--workspace", wsSlug, fmt.Sprint(d), "--as", ann.Email, "--text", "Launch day, take two"},
				[]string{"admin", "approver", "remove", "--workspace", wsSlug, "--account", acc, "--member", bob.Email, "--tier", "internal"})
			sc.want(rm.OK, "approver remove failed: %s", rm.Out)
			switch {
			case !rev.OK && strings.Contains(rev.Out, "has no internal approver who did not write this draft"):
				sc.outcome("revise refused")
			case rev.OK:
				sc.outcome("draft " + r.state(d))
			default:
				sc.fail("revise: unexpected answer %q", rev.Out)
			}
		}},
		{key: "s3", name: "member remove vs that member's approve", round: func(r *racer, sc *raceScenario, i int) {
			acc := sc.account(i)
			m := h.member(fmt.Sprintf("m3-%02d@agency.test", i), fmt.Sprintf("Mo %02d", i), approvals.RoleAdmin, fmt.Sprintf("U0M3%02d", i))
			r.internalAccount(acc, approvals.RuleAny, nil, m, ann)
			d := r.submit(h.author, acc)
			rm, ap := r.pair(
				[]string{"admin", "member", "remove", "--workspace", wsSlug, "--email", m.Email},
				[]string{"draft", "approve", "--workspace", wsSlug, fmt.Sprint(d), "--as", m.Email})
			switch {
			case rm.OK && !ap.OK && (strings.Contains(ap.Out, "is not a member") || strings.Contains(ap.Out, "is no longer a member")):
				sc.outcome("removed, approval refused")
			case ap.OK && !rm.OK && strings.Contains(rm.Out, "has history"):
				sc.outcome("approved, removal refused")
			default:
				sc.fail("remove told %q, approve told %q", rm.Out, ap.Out)
			}
		}},
		{key: "s4", name: "CLI approve (with and without --revision) vs revise", round: func(r *racer, sc *raceScenario, i int) {
			acc := sc.account(i)
			r.internalAccount(acc, approvals.RuleAny, nil, ann)
			d := r.submit(h.author, acc)
			approve := []string{"draft", "approve", "--workspace", wsSlug, fmt.Sprint(d), "--as", ann.Email}
			pinned := i%2 == 0
			if pinned {
				approve = append(approve, "--revision", "1")
			}
			ap, rev := r.pair(approve,
				[]string{"draft", "revise", "--workspace", wsSlug, fmt.Sprint(d), "--as", h.author.Email, "--text", "Launch day, take two"})
			decided := r.decisionRevisions(d)
			switch {
			case ap.OK && !rev.OK && strings.Contains(ap.Out, fmt.Sprintf("approved draft %d (revision 1)", d)):
				sc.outcome("approved revision 1, revise refused")
				sc.want(len(decided) == 1 && decided[0] == 1, "decisions on revisions %v, want [1]", decided)
			case ap.OK && rev.OK && !pinned && strings.Contains(ap.Out, fmt.Sprintf("approved draft %d (revision 2)", d)):
				// Unpinned, the approval landed on the new text, and its
				// answer says so.
				sc.outcome("revised, then approved revision 2 (unpinned)")
				sc.want(len(decided) == 1 && decided[0] == 2, "decisions on revisions %v, want [2]", decided)
			case rev.OK && !ap.OK && pinned && strings.Contains(ap.Out, fmt.Sprintf("draft %d was revised; revision 2 is current", d)):
				sc.outcome("revised, pinned approval refused")
				sc.want(len(decided) == 0, "decisions on revisions %v, want none", decided)
			default:
				sc.fail("approve (pinned %v) told %q, revise told %q; decisions on revisions %v", pinned, ap.Out, rev.Out, decided)
			}
		}},
		{key: "s5", name: "withdraw vs approve", round: func(r *racer, sc *raceScenario, i int) {
			acc := sc.account(i)
			r.internalAccount(acc, approvals.RuleAny, nil, ann)
			d := r.submit(h.author, acc)
			wd, ap := r.pair(
				[]string{"draft", "withdraw", "--workspace", wsSlug, fmt.Sprint(d), "--as", h.author.Email},
				[]string{"draft", "approve", "--workspace", wsSlug, fmt.Sprint(d), "--as", ann.Email})
			switch {
			case wd.OK && !ap.OK && strings.Contains(ap.Out, "withdrawn"):
				sc.outcome("withdrawn, approval refused")
			case ap.OK && !wd.OK && strings.Contains(wd.Out, "already approved"):
				sc.outcome("approved, withdrawal refused")
			default:
				sc.fail("withdraw told %q, approve told %q", wd.Out, ap.Out)
			}
		}},
		{key: "s6", name: "email link approval vs revise", round: func(r *racer, sc *raceScenario, i int) {
			acc := sc.account(i)
			h.account(acc, "C0"+strings.ToUpper(strings.ReplaceAll(acc, "-", "")), approvals.RuleAny, []*approvals.Member{cleo})
			d := h.submit(acc, 1)[0]
			tok := h.token(d, cleo)
			client := &http.Client{Timeout: 30 * time.Second}
			csrf, err := openLink(client, srv.URL(""), tok)
			if err != nil {
				sc.fail("open link: %v", err)
				return
			}
			// A link POST takes a few milliseconds, a CLI command tens of
			// them, mostly starting up and exiting: the POST starts at a
			// random point of the revise's run, so that it lands before,
			// inside and after its transaction.
			var link answer
			lead := time.Duration(r.rnd.Int64N(int64(r.reviseRun()) + 1))
			rev := r.race(lead,
				func() { link = postLink(client, srv.URL(""), tok, csrf) },
				[]string{"draft", "revise", "--workspace", wsSlug, fmt.Sprint(d.ID), "--as", h.author.Email, "--text", "Launch day, take two"})
			decided := r.decisionRevisions(d.ID)
			switch {
			case link.Status == http.StatusOK && strings.Contains(link.Body, "Thank you: approved") && !rev.OK:
				sc.outcome("approved revision 1, revise refused")
				sc.want(len(decided) == 1 && decided[0] == 1, "decisions on revisions %v, want [1]", decided)
			case rev.OK && (link.Status != http.StatusOK || strings.Contains(link.Body, "revised")):
				sc.outcome("revised, link refused")
				sc.want(len(decided) == 0, "decisions on revisions %v, want none", decided)
			default:
				sc.fail("link told %d %q, revise told %q", link.Status, first(link.Body), rev.Out)
			}
		}},
		{key: "s8", name: "the deadline policy vs a revise after the deadline", round: func(r *racer, sc *raceScenario, i int) {
			// Scheduled two minutes out, the draft's deadline (15 minutes
			// before) has passed already: the auto-approve policy may still
			// act only once the client tier's approvers had the review
			// window, for each revision anew.
			acc := sc.account(i)
			h.account(acc, "C0"+strings.ToUpper(strings.ReplaceAll(acc, "-", "")), approvals.RuleAny, []*approvals.Member{cleo})
			auto := approvals.DeadlineAutoApprove
			_, err := h.svc.SetAccount(h.ctx, approvals.Operator(wsSlug), acc, approvals.AccountSettings{DeadlinePolicy: &auto})
			h.ok(err)
			at := time.Now().Add(2 * time.Minute)
			v, err := h.svc.Submit(h.ctx, approvals.Actor{Workspace: wsSlug, Email: h.author.Email, Channel: approvals.ChannelCLI},
				approvals.DraftInput{Account: acc, Text: "Launch in two minutes", ScheduledAt: &at})
			h.ok(err)
			r.decide(cleo, v.ID, approvals.VerdictReject)
			rev := r.cli("draft", "revise", "--workspace", wsSlug, fmt.Sprint(v.ID), "--as", h.author.Email, "--text", "Launch in two minutes, take two")
			sc.want(rev.OK && strings.Contains(rev.Out, "auto-approve will not act before"), "revise told %q; want a note on the review window", rev.Out)
			sc.outcome("revised after the deadline")
			lateRevised = append(lateRevised, v.ID)
		}},
		{key: "s7", name: "approver removal or access revoke vs a decision (rule all)", round: func(r *racer, sc *raceScenario, i int) {
			acc := sc.account(i)
			r.internalAccount(acc, approvals.RuleAll, nil, ann, bob)
			d := r.submit(h.author, acc)
			remove := []string{"admin", "approver", "remove", "--workspace", wsSlug, "--account", acc, "--member", bob.Email, "--tier", "internal"}
			if i%2 == 1 {
				remove = []string{"admin", "revoke", "--workspace", wsSlug, "--account", acc, "--member", bob.Email}
			}
			rm, ap := r.pair(remove, []string{"draft", "approve", "--workspace", wsSlug, fmt.Sprint(d), "--as", ann.Email})
			sc.want(rm.OK && ap.OK, "remove told %q, approve told %q", rm.Out, ap.Out)
			// Either order leaves Ann the only approver, and she approved.
			if st := r.state(d); st == "approved" {
				sc.outcome("approved")
			} else {
				sc.fail("draft %d is %s, want approved", d, st)
			}
		}},
	}

	// The whole database is checked after every round, since a later
	// round's admin change may settle what an earlier one left wrong; a
	// finding counts once, against the scenario whose account it is on.
	found := map[string]bool{}
	check := func() {
		for what, bad := range r.consistency() {
			for _, b := range bad {
				k := fmt.Sprintf("%s: draft %d", what, b.draft)
				for _, sc := range scenarios {
					if strings.HasPrefix(b.handle, sc.key+"-") && !found[k] {
						found[k] = true
						sc.fail("%s", k)
					}
				}
			}
		}
	}
	for _, sc := range scenarios {
		start := len(r.answers)
		for i := 1; i <= raceRounds; i++ {
			sc.round(r, sc, i)
			check()
		}
		for _, a := range r.answers[start:] {
			if strings.Contains(a.Out, "try again") {
				sc.fail("%s was told %q", strings.Join(a.Args[:2], " "), a.Out)
			}
		}
	}
	// What serve has still to deliver, before the outbox is checked (a
	// row gone dead counts against its draft's scenario).
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if pending, _, _ := h.outboxState(); pending == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Errorf("%d outbox rows still pending after 60s", pending)
			break
		}
	}
	// Two sweeps later, no policy has stood in for the client approver on
	// a revision revised after its deadline.
	time.Sleep(2500 * time.Millisecond)
	for _, d := range lateRevised {
		var policy int
		h.ok(h.db.Pool().QueryRow(h.ctx, `SELECT count(*) FROM decisions WHERE draft_id = $1 AND channel = 'system'`, d).Scan(&policy))
		if st := r.state(d); policy > 0 || st != "pending_client" {
			for _, sc := range scenarios {
				if sc.key == "s8" {
					sc.fail("draft %d: %d policy decisions, state %s; want none, pending_client", d, policy, st)
				}
			}
		}
	}
	check()
	deadlocks := pgLogCount(t, logStart, "deadlock detected")
	if deadlocks > 0 {
		t.Errorf("PostgreSQL detected %d deadlocks", deadlocks)
	}

	total := 0
	for _, sc := range scenarios {
		total += len(sc.violations)
		var outs []string
		for o, n := range sc.outcomes {
			outs = append(outs, fmt.Sprintf("%d %s", n, o))
		}
		sort.Strings(outs)
		t.Logf("%s: %d rounds, %d violations (%s)", sc.name, raceRounds, len(sc.violations), strings.Join(outs, ", "))
		for _, v := range sc.violations[:min(5, len(sc.violations))] {
			t.Errorf("%s: %s", sc.name, v)
		}
		if len(sc.violations) > 5 {
			t.Errorf("%s: … and %d more violations", sc.name, len(sc.violations)-5)
		}
		suite.Summary.Add(headRaces, "%s: %d rounds, %d violations", sc.name, raceRounds, len(sc.violations))
	}
	suite.Summary.Add(headRaces, "races: %d scenarios × %d rounds, %d commands, %d violations, %d \"try again\" answers, %d deadlocks in PostgreSQL's log",
		len(scenarios), raceRounds, len(r.answers), total, r.tryAgain(), deadlocks)
}

// raceScenario is one race, run in rounds, and what its rounds showed.
type raceScenario struct {
	key   string // prefix of its accounts' handles
	name  string
	round func(r *racer, sc *raceScenario, i int)

	outcomes   map[string]int
	violations []string
}

func (sc *raceScenario) account(i int) string { return fmt.Sprintf("%s-%02d", sc.key, i) }

func (sc *raceScenario) outcome(o string) {
	if sc.outcomes == nil {
		sc.outcomes = map[string]int{}
	}
	sc.outcomes[o]++
}

func (sc *raceScenario) fail(format string, args ...any) {
	sc.violations = append(sc.violations, fmt.Sprintf(format, args...))
}

func (sc *raceScenario) want(ok bool, format string, args ...any) {
	if !ok {
		sc.fail(format, args...)
	}
}

// racer runs the CLI as separate processes against the harness's database.
type racer struct {
	h   *harness
	dir string
	env []string
	rnd *rand.Rand

	mu      sync.Mutex
	answers []cliAnswer
}

func newRacer(h *harness) *racer {
	r := &racer{h: h, dir: h.t.TempDir(), rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 18))}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIGNOFF_") {
			r.env = append(r.env, kv)
		}
	}
	r.env = append(r.env, "SIGNOFF_DATABASE_URL="+h.dbURL, "SIGNOFF_LOG_LEVEL=error")
	return r
}

// cliAnswer is what one CLI process printed (stdout and stderr) and whether
// it exited 0.
type cliAnswer struct {
	Args []string
	Out  string
	OK   bool
	Took time.Duration
}

// draftID reads the ID from a --json draft answer.
func (a cliAnswer) draftID() int64 {
	var v struct {
		ID int64 `json:"id"`
	}
	_ = json.Unmarshal([]byte(a.Out), &v)
	return v.ID
}

func (r *racer) cli(args ...string) cliAnswer {
	cmd := exec.Command(suite.Bin, args...)
	cmd.Env, cmd.Dir = r.env, r.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	a := cliAnswer{Args: args, Out: strings.TrimSpace(out.String()), OK: err == nil, Took: time.Since(start)}
	r.mu.Lock()
	r.answers = append(r.answers, a)
	r.mu.Unlock()
	return a
}

// offset returns how long the second action of a pair waits after the
// first (negative: the first waits).
func (r *racer) offset() time.Duration {
	return time.Duration(r.rnd.Int64N(int64(2*raceSpread))) - raceSpread
}

// race runs fn, after lead, and the CLI command b at once, one of them
// further delayed by a random offset.
func (r *racer) race(lead time.Duration, fn func(), b []string) cliAnswer {
	off := r.offset() - lead // fn waits when negative, b when positive
	var ans cliAnswer
	var wg sync.WaitGroup
	wg.Go(func() {
		if off < 0 {
			time.Sleep(-off)
		}
		fn()
	})
	wg.Go(func() {
		if off > 0 {
			time.Sleep(off)
		}
		ans = r.cli(b...)
	})
	wg.Wait()
	return ans
}

// pair runs two CLI commands at once, one delayed by a random offset.
func (r *racer) pair(a, b []string) (cliAnswer, cliAnswer) {
	var first cliAnswer
	second := r.race(0, func() { first = r.cli(a...) }, b)
	return first, second
}

// reviseRun is the median run time of the `draft revise` commands so far.
func (r *racer) reviseRun() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var took []time.Duration
	for _, a := range r.answers {
		if len(a.Args) > 1 && a.Args[1] == "revise" {
			took = append(took, a.Took)
		}
	}
	if len(took) == 0 {
		return 0
	}
	slices.Sort(took)
	return took[len(took)/2]
}

func (r *racer) tryAgain() int {
	n := 0
	for _, a := range r.answers {
		if strings.Contains(a.Out, "try again") {
			n++
		}
	}
	return n
}

// internalAccount adds an account that needs internal approval under rule
// from approvers; creators (and the harness's author) may create on it.
func (r *racer) internalAccount(handle string, rule approvals.Rule, creators []*approvals.Member, approvers ...*approvals.Member) {
	h := r.h
	h.t.Helper()
	op := approvals.Operator(wsSlug)
	_, err := h.svc.AddAccount(h.ctx, op, handle, handle+" Instagram")
	h.ok(err)
	create, err := approvals.ParseCaps("view,comment,create")
	h.ok(err)
	view, err := approvals.ParseCaps("view,comment")
	h.ok(err)
	granted := map[int64]bool{}
	for _, m := range append([]*approvals.Member{h.author}, creators...) {
		h.ok(h.svc.Grant(h.ctx, op, handle, approvals.GrantTarget{Email: m.Email}, create))
		granted[m.ID] = true
	}
	for _, m := range approvers {
		if !granted[m.ID] {
			h.ok(h.svc.Grant(h.ctx, op, handle, approvals.GrantTarget{Email: m.Email}, view))
		}
		h.ok(h.svc.AddApprover(h.ctx, op, handle, m.Email, approvals.TierInternal))
	}
	on := true
	_, err = h.svc.SetAccount(h.ctx, op, handle, approvals.AccountSettings{NeedsInternalApproval: &on, InternalRule: &rule})
	h.ok(err)
}

func (r *racer) submit(m *approvals.Member, handle string) int64 {
	h := r.h
	h.t.Helper()
	v, err := h.svc.Submit(h.ctx, approvals.Actor{Workspace: wsSlug, Email: m.Email, Channel: approvals.ChannelCLI},
		approvals.DraftInput{Account: handle, Text: "Launch day for " + handle})
	h.ok(err)
	return v.ID
}

func (r *racer) decide(m *approvals.Member, draft int64, v approvals.Verdict) {
	h := r.h
	h.t.Helper()
	_, err := h.svc.Decide(h.ctx, approvals.Actor{Workspace: wsSlug, Email: m.Email, Channel: approvals.ChannelCLI},
		approvals.DecideInput{DraftID: draft, Verdict: v, Comment: "Not the launch tone we agreed"})
	h.ok(err)
}

func (r *racer) state(draft int64) string {
	var s string
	r.h.ok(r.h.db.Pool().QueryRow(r.h.ctx, `SELECT state FROM drafts WHERE id = $1`, draft).Scan(&s))
	return s
}

// decisionRevisions returns the revisions of a draft's decisions, oldest
// first.
func (r *racer) decisionRevisions(draft int64) []int {
	rows, err := r.h.db.Pool().Query(r.h.ctx, `SELECT revision FROM decisions WHERE draft_id = $1 ORDER BY id`, draft)
	r.h.ok(err)
	defer rows.Close()
	var out []int
	for rows.Next() {
		var n int
		r.h.ok(rows.Scan(&n))
		out = append(out, n)
	}
	r.h.ok(rows.Err())
	return out
}

// badDraft is a draft a consistency check found wrong.
type badDraft struct {
	draft  int64
	handle string
}

// raceChecks are the consistency checks over the whole database: each
// selects the (draft id, account handle) of every draft that breaks it.
var raceChecks = []struct{ what, sql string }{
	{"pending with no eligible approver (nobody but its author may decide it)", `
		SELECT d.id, a.handle FROM drafts d JOIN accounts a ON a.id = d.account_id
		WHERE d.state IN ('pending_internal', 'pending_client')
		  AND NOT EXISTS (SELECT 1 FROM approvers p WHERE p.account_id = d.account_id
		                  AND p.tier = substr(d.state, 9) AND p.member_id <> d.author_id)
		  AND NOT EXISTS (SELECT 1 FROM draft_extra_approvers x WHERE x.draft_id = d.id AND x.revision = d.revision
		                  AND x.tier = substr(d.state, 9) AND x.member_id <> d.author_id)`},
	{"approved without an approval in every tier its revision needs, or with a rejection", `
		SELECT d.id, a.handle FROM drafts d JOIN accounts a ON a.id = d.account_id
		JOIN revisions r ON r.draft_id = d.id AND r.number = d.revision
		WHERE d.state = 'approved' AND (
		     (r.needs_internal AND NOT EXISTS (SELECT 1 FROM decisions x WHERE x.draft_id = d.id AND x.revision = d.revision
		                                       AND x.tier = 'internal' AND x.verdict = 'approve'))
		  OR (r.needs_client AND NOT EXISTS (SELECT 1 FROM decisions x WHERE x.draft_id = d.id AND x.revision = d.revision
		                                     AND x.tier = 'client' AND x.verdict = 'approve'))
		  OR EXISTS (SELECT 1 FROM decisions x WHERE x.draft_id = d.id AND x.revision = d.revision AND x.verdict = 'reject'))`},
	{"rejected without a rejection or a return to its author on its revision", `
		SELECT d.id, a.handle FROM drafts d JOIN accounts a ON a.id = d.account_id
		WHERE d.state = 'rejected'
		  AND NOT EXISTS (SELECT 1 FROM decisions x WHERE x.draft_id = d.id AND x.revision = d.revision AND x.verdict = 'reject')
		  AND NOT EXISTS (SELECT 1 FROM comments c WHERE c.draft_id = d.id AND c.revision = d.revision AND c.channel = 'system')`},
	{"pending although its tier's decisions settled it (a rejection, or an approval under rule any)", `
		SELECT d.id, a.handle FROM drafts d JOIN accounts a ON a.id = d.account_id
		JOIN revisions r ON r.draft_id = d.id AND r.number = d.revision
		WHERE d.state IN ('pending_internal', 'pending_client') AND EXISTS (
		    SELECT 1 FROM decisions x WHERE x.draft_id = d.id AND x.revision = d.revision AND x.tier = substr(d.state, 9)
		      AND (x.verdict = 'reject' OR CASE x.tier WHEN 'internal' THEN r.internal_rule ELSE r.client_rule END = 'any'))`},
	{"waiting on the client tier without the internal approval its revision needs", `
		SELECT d.id, a.handle FROM drafts d JOIN accounts a ON a.id = d.account_id
		JOIN revisions r ON r.draft_id = d.id AND r.number = d.revision
		WHERE d.state = 'pending_client' AND r.needs_internal AND NOT EXISTS (
		    SELECT 1 FROM decisions x WHERE x.draft_id = d.id AND x.revision = d.revision AND x.tier = 'internal' AND x.verdict = 'approve')`},
	{"a decision in a tier its revision does not need", `
		SELECT d.id, a.handle FROM decisions x JOIN drafts d ON d.id = x.draft_id JOIN accounts a ON a.id = d.account_id
		JOIN revisions r ON r.draft_id = x.draft_id AND r.number = x.revision
		WHERE (x.tier = 'internal' AND NOT r.needs_internal) OR (x.tier = 'client' AND NOT r.needs_client)`},
	{"more than one decision per approver, revision and tier", `
		SELECT x.draft_id, min(a.handle) FROM decisions x JOIN drafts d ON d.id = x.draft_id JOIN accounts a ON a.id = d.account_id
		GROUP BY x.draft_id, x.revision, x.tier, x.approver_id HAVING count(*) > 1`},
	{"a decision made after the revision that made it stale", `
		SELECT d.id, a.handle FROM decisions x JOIN drafts d ON d.id = x.draft_id JOIN accounts a ON a.id = d.account_id
		JOIN revisions nx ON nx.draft_id = x.draft_id AND nx.number = x.revision + 1
		WHERE x.created_at > nx.created_at`},
	{"a decision made after the withdrawal or expiry that ended the draft", `
		SELECT d.id, a.handle FROM decisions x JOIN drafts d ON d.id = x.draft_id JOIN accounts a ON a.id = d.account_id
		WHERE d.state IN ('withdrawn', 'expired') AND x.created_at > d.updated_at`},
	{"approved without exactly one hand-off of its revision", `
		SELECT d.id, a.handle FROM drafts d JOIN accounts a ON a.id = d.account_id
		WHERE d.state = 'approved'
		  AND (SELECT count(*) FROM handoffs o WHERE o.draft_id = d.id AND o.revision = d.revision) <> 1`},
	{"a hand-off of a draft that is not approved", `
		SELECT d.id, a.handle FROM handoffs o JOIN drafts d ON d.id = o.draft_id JOIN accounts a ON a.id = d.account_id
		WHERE d.state <> 'approved'`},
	{"a notification that went dead", `
		SELECT d.id, a.handle FROM outbox o
		JOIN drafts d ON d.id = (o.payload->>'draft_id')::bigint JOIN accounts a ON a.id = d.account_id
		WHERE o.state = 'dead'`},
	{"more than one notification to a recipient for one event", `
		SELECT (o.payload->>'draft_id')::bigint, min(a.handle) FROM outbox o
		JOIN drafts d ON d.id = (o.payload->>'draft_id')::bigint JOIN accounts a ON a.id = d.account_id
		WHERE o.idempotency_key NOT LIKE '%/resend/%'
		GROUP BY o.channel, o.payload->>'event', o.payload->>'draft_id', o.payload->>'revision', o.payload->>'tier',
		         o.payload->>'recipient_id', o.payload->>'target', o.payload->>'actor_id', o.payload->>'reminder'
		HAVING count(*) > 1`},
}

// consistency runs raceChecks and returns what each found.
func (r *racer) consistency() map[string][]badDraft {
	h := r.h
	out := map[string][]badDraft{}
	for _, c := range raceChecks {
		rows, err := h.db.Pool().Query(h.ctx, c.sql)
		h.ok(err)
		for rows.Next() {
			var b badDraft
			h.ok(rows.Scan(&b.draft, &b.handle))
			out[c.what] = append(out[c.what], b)
		}
		rows.Close()
		h.ok(rows.Err())
	}
	return out
}

// pgLogSize returns the size of the suite's PostgreSQL log, where a later
// pgLogCount starts reading.
func pgLogSize(t *testing.T) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(suite.PG.Dir(), "postgres.log"))
	if err != nil {
		t.Fatalf("postgres log: %v", err)
	}
	return fi.Size()
}

// pgLogCount counts the lines of the PostgreSQL log after offset that
// contain substr.
func pgLogCount(t *testing.T, offset int64, substr string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(suite.PG.Dir(), "postgres.log"))
	if err != nil {
		t.Fatalf("postgres log: %v", err)
	}
	if offset > int64(len(b)) {
		offset = 0
	}
	return bytes.Count(b[offset:], []byte(substr))
}
