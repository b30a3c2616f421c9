// Package bench measures Signoff against the ceiling of the machine it runs
// on. It starts its own PostgreSQL, SMTP sink and fake Slack, builds the
// signoff binary from this tree and runs `signoff serve` against them as its
// own process (so that its memory and CPU are measured apart from the load
// generators'), drives the real HTTP handlers, and reports each figure as a
// ratio or latency with its target:
//
//  1. decision throughput (Slack buttons and email links, mixed) over a
//     hand-written decision on Signoff's schema (handwritten.sql) at the
//     same client count, with pgbench's tpcb-like TPS as context;
//  2. Slack acknowledgement latency at a fixed request rate;
//  3. outbox email delivery over a plain go-mail loop;
//  4. submit-to-notification latency;
//  5. the review page of an approver with hundreds of drafts waiting, and
//     "Approve all" of a hundred;
//  6. the App Home and pending-list queries over a large data set, their
//     plans, and the server's memory.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signoff-app/signoff/internal/pgtest"
)

// Config sizes a run. DefaultConfig is what `make bench` runs; tests use
// SmokeConfig.
type Config struct {
	// Scale is the number of drafts of the scale phase (accounts are 1/100
	// of it, members 1/10).
	Scale int `json:"scale"`
	// Duration bounds each throughput run, the latency run and the
	// end-to-end run (and pgbench's -T).
	Duration time.Duration `json:"duration"`
	// Clients are the concurrencies of the throughput comparison.
	Clients []int `json:"clients"`
	// DecisionPool is how many pending drafts each throughput run may
	// decide; a run stops early when they are used up.
	DecisionPool int `json:"decision_pool"`
	// PgbenchScale is pgbench -i's scale factor.
	PgbenchScale int `json:"pgbench_scale"`
	// SlackRate is the request rate of the acknowledgement latency run.
	SlackRate int `json:"slack_rate"`
	// DispatchMessages is how many emails the dispatch run delivers: enough
	// for a few seconds of steady state (2,000 took 0.7 s, mostly the
	// first batches' warm-up, and the ratio swung by ±0.1 between runs).
	DispatchMessages int `json:"dispatch_messages"`
	// E2ERate is the submission rate of the end-to-end run.
	E2ERate int `json:"e2e_rate"`
	// ScaleQueries is how many timed Inbox and List calls the scale phase makes.
	ScaleQueries int `json:"scale_queries"`
	// ReviewDrafts is how many drafts wait on the approver whose review
	// page the review phase loads ReviewLoads times.
	ReviewDrafts int `json:"review_drafts"`
	ReviewLoads  int `json:"review_loads"`
	// ApproveAllDrafts is how many drafts each of the review phase's
	// ApproveAllRuns "Approve all" confirmations approves.
	ApproveAllDrafts int `json:"approve_all_drafts"`
	ApproveAllRuns   int `json:"approve_all_runs"`
	// Phases limits the run to some of decisions, slack, dispatch, e2e,
	// review and scale (for profiling one); empty runs all.
	Phases []string `json:"phases,omitempty"`
	// PoolMaxConns, when positive, overrides the server's connection pool
	// size (pool_max_conns in database.url), to compare pool sizes.
	PoolMaxConns int `json:"pool_max_conns,omitempty"`
	// OutboxWorkers, when positive, overrides outbox.workers and
	// smtp.connections, to compare how many emails go out at once.
	OutboxWorkers int `json:"outbox_workers,omitempty"`
	// ProfileDir, when set, receives a CPU profile of each phase (of the
	// bench process; the server runs in its own) and the statements
	// PostgreSQL spent its time on.
	ProfileDir string `json:"-"`
	// PlansPath, when set, receives the EXPLAIN plans of the scale queries.
	PlansPath string `json:"-"`
	// Log receives progress lines; nil for none.
	Log io.Writer `json:"-"`
}

// DefaultConfig is the full run of `make bench`.
func DefaultConfig() Config {
	return Config{Scale: 1_000_000, Duration: 10 * time.Second, Clients: []int{8, 32}, DecisionPool: 10000,
		PgbenchScale: 10, SlackRate: 200, DispatchMessages: 10000, E2ERate: 50, ScaleQueries: 500,
		ReviewDrafts: 500, ReviewLoads: 200, ApproveAllDrafts: 100, ApproveAllRuns: 20}
}

// SmokeConfig is a tiny run that exercises every phase in seconds.
func SmokeConfig() Config {
	return Config{Scale: 2000, Duration: time.Second, Clients: []int{2}, DecisionPool: 100,
		PgbenchScale: 1, SlackRate: 50, DispatchMessages: 30, E2ERate: 20, ScaleQueries: 20,
		ReviewDrafts: 30, ReviewLoads: 5, ApproveAllDrafts: 10, ApproveAllRuns: 2}
}

// on reports whether the run includes phase.
func (c Config) on(phase string) bool {
	return len(c.Phases) == 0 || slices.Contains(c.Phases, phase)
}

// Targets of the figures.
const (
	targetDecisionRatio = 0.8
	targetAckP99ms      = 50
	targetDispatchRatio = 0.8
	targetE2EP99ms      = 1000
	targetScaleP99ms    = 7
	targetRSSMB         = 100
)

// Run measures everything and returns the report; an error means a phase
// could not run at all (a missed target is not an error).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	var logw io.Writer = io.Discard
	if cfg.Log != nil {
		logw = &syncWriter{w: cfg.Log} // the server's log comes from another goroutine
	}
	logf := func(format string, args ...any) { fmt.Fprintf(logw, "bench: "+format+"\n", args...) }
	rep := &Report{Started: time.Now().UTC(), Machine: machine(), Config: cfg}
	begin := time.Now()
	defer func() { rep.Duration = time.Since(begin).Round(time.Second).String() }()

	pgb := &pgbench{}
	var err error
	if pgb.bin, err = pgtest.Tool("pgbench"); err != nil {
		return nil, err
	}
	logf("building signoff; starting PostgreSQL, SMTP sink and fake Slack")
	e, err := startEnv(ctx, cfg, logw)
	if err != nil {
		return nil, err
	}
	defer e.close()
	if err := e.main.DB.Pool().QueryRow(ctx, `SELECT current_setting('server_version')`).Scan(&rep.Machine.Postgres); err != nil {
		return nil, fmt.Errorf("bench: server version: %w", err)
	}
	profile := func(name string) (stop func()) {
		if cfg.ProfileDir == "" {
			return func() {}
		}
		_ = os.MkdirAll(cfg.ProfileDir, 0o755)
		f, err := os.Create(filepath.Join(cfg.ProfileDir, "cpu-"+name+".pprof"))
		if err != nil {
			logf("profile %s: %v", name, err)
			return func() {}
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			logf("profile %s: %v", name, err)
			return func() {}
		}
		_ = e.resetStatements(ctx)
		return func() {
			pprof.StopCPUProfile()
			f.Close()
			if err := e.dumpStatements(ctx, filepath.Join(cfg.ProfileDir, "statements-"+name+".txt")); err != nil {
				logf("statements %s: %v", name, err)
			}
		}
	}

	// The scale data set comes first: every phase runs against a database
	// with a history, as a deployment does. On empty tables the plans
	// pgx's prepared statements cached at their first calls (sequential
	// scans of what was empty then) stayed for the whole phase, until
	// autovacuum's next ANALYZE: 5 million decision rows read in one 8 s
	// decisions phase.
	sh := shapeFor(cfg.Scale)
	logf("seeding %d drafts, %d accounts, %d members in %d workspaces", sh.Drafts, sh.Accounts*sh.Workspaces, sh.Members*sh.Workspaces, sh.Workspaces)
	t0 := time.Now()
	if err := e.seedScale(ctx, sh); err != nil {
		return nil, err
	}
	scaleSeed := time.Since(t0)
	logf("seeded in %s", scaleSeed.Round(time.Second))

	// Seed the load phases' workspace and draft pools through the core.
	t0 = time.Now()
	w, err := seedWorld(ctx, e.main.Service)
	if err != nil {
		return nil, err
	}
	latencyN := cfg.SlackRate * int(cfg.Duration/time.Second)
	latencyN = max(latencyN, cfg.SlackRate)
	latencyN += cfg.SlackRate // a second of untimed clicks first (slackAck)
	total := cfg.DecisionPool*len(cfg.Clients) + latencyN + cfg.DispatchMessages
	logf("submitting %d drafts through the core", total)
	all, err := w.submitPool(ctx, e.main.Service, total)
	if err != nil {
		return nil, err
	}
	if err := e.settleSeedOutbox(ctx); err != nil {
		return nil, err
	}
	logf("seeded in %s (%.0f submits/s)", time.Since(t0).Round(time.Millisecond), float64(total)/time.Since(t0).Seconds())
	// VACUUM as well: settling the seeded outbox left a dead row per
	// message, and autovacuum cleaning them up during a later phase was
	// counted in that phase's PostgreSQL CPU.
	if err := e.exec(ctx, e.cluster.DatabaseURL(benchDB), "VACUUM ANALYZE"); err != nil {
		return nil, err
	}
	pools := map[int][]pending{}
	for i, c := range cfg.Clients {
		pools[c] = all[i*cfg.DecisionPool : (i+1)*cfg.DecisionPool]
	}
	rest := all[len(cfg.Clients)*cfg.DecisionPool:]
	latencyPool, dispatchPool := rest[:latencyN], rest[latencyN:]

	if err := e.serve(ctx); err != nil {
		return nil, err
	}
	built := "built from this tree"
	if rev := revision(e.bin); rev != "" {
		built += " at " + rev
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("`signoff serve` ran as its own process (pid %d, %s, on %s): its RSS and CPU are its own; "+
		"the bench process holds the load generators, the SMTP sink and the fake Slack.", e.srv.pid, built, e.base))

	// 1. Decision throughput over pgbench.
	secs := max(1, int(cfg.Duration/time.Second))
	if cfg.on("decisions") {
		if err := e.decisions(ctx, cfg, rep, w, pgb, pools, secs, profile, logf); err != nil {
			return nil, err
		}
	}
	if cfg.on("slack") {
		if err := e.slackAck(ctx, cfg, rep, w, latencyPool, profile, logf); err != nil {
			return nil, err
		}
	}
	if cfg.on("dispatch") {
		if err := e.dispatch(ctx, rep, w, dispatchPool, profile, logf); err != nil {
			return nil, err
		}
	}
	if cfg.on("e2e") {
		if err := e.endToEnd(ctx, cfg, rep, w, secs, profile, logf); err != nil {
			return nil, err
		}
	}
	if cfg.on("review") {
		if err := e.review(ctx, cfg, rep, profile, logf); err != nil { // review.go
			return nil, err
		}
	}
	if cfg.on("scale") {
		if err := e.scale(ctx, cfg, rep, sh, scaleSeed, profile, logf); err != nil {
			return nil, err
		}
	}
	// The kernel's high-water marks cover every phase, between samples too.
	rep.add(Figure{Name: "server peak RSS over the run (VmHWM)", Value: round1(float64(procKB(e.srv.status(), "VmHWM")) / 1024), Unit: "MB",
		Note: fmt.Sprintf("signoff serve (pid %d) from its start to the end of the last phase", e.srv.pid)})
	rep.add(Figure{Name: "bench process peak RSS over the run (VmHWM)", Value: round1(float64(procKB("/proc/self/status", "VmHWM")) / 1024), Unit: "MB",
		Note: "load generators, SMTP sink, fake Slack, the scale phase's timed queries and the seeding"})
	return rep, nil
}

type logFunc func(format string, args ...any)

func (e *env) decisions(ctx context.Context, cfg Config, rep *Report, w *world, pgb *pgbench, pools map[int][]pending, secs int,
	profile func(string) func(), logf logFunc) error {
	if err := e.exec(ctx, e.cluster.URL(), "CREATE DATABASE pgbench"); err != nil {
		return err
	}
	pgb.url = e.cluster.DatabaseURL("pgbench")
	logf("pgbench -i -s %d", cfg.PgbenchScale)
	if err := pgb.init(ctx, cfg.PgbenchScale); err != nil {
		return err
	}
	// The hand-written decision copies a draft submitted through the core.
	tmpl, err := w.submitPool(ctx, e.main.Service, 1)
	if err != nil {
		return err
	}
	var rssKB int // the server's, across the decision runs
	for _, c := range cfg.Clients {
		logf("pgbench tpcb-like, %d clients, %ds", c, secs)
		c0 := e.cpu()
		tps, txs, err := pgb.tpcb(ctx, c, secs)
		if err != nil {
			return err
		}
		pgCPU := c0.to(e.cpu())
		// Enough drafts that no client runs out: more than this machine
		// could decide by hand in secs.
		if err := e.seedHandwritten(ctx, tmpl[0], c, 4000*secs/c+100); err != nil {
			return err
		}
		logf("hand-written decision, %d clients, %ds", c, secs)
		// Its statements beside the decisions' (-profile): where the two
		// differ is what a decision does beyond the least it must.
		hwTPS, hwTxs, hwCPU, err := e.handwritten(ctx, pgb, c, secs, profile(fmt.Sprintf("handwritten-%d", c)))
		if err != nil {
			return err
		}
		logf("decisions through HTTP, %d clients, %s", c, cfg.Duration)
		stop := profile(fmt.Sprintf("decisions-%d", c))
		srvProf := e.serverProfile(ctx, fmt.Sprintf("decisions-%d", c), cfg.Duration)
		rss := sampleRSS(e.srv.status())
		c0 = e.cpu()
		r := e.decideClosed(ctx, w, pools[c], c, cfg.Duration)
		decCPU := c0.to(e.cpu())
		rssKB = max(rssKB, rss.end())
		stop()
		srvProf()
		if r.Done == 0 {
			return fmt.Errorf("bench: no decision succeeded at %d clients: %w", c, r.FirstEr)
		}
		note := fmt.Sprintf("%d decisions in %s (%.0f/s; p50 %.1f ms, p99 %.1f ms); hand-written decision %.0f TPS; pgbench tpcb-like %.0f TPS",
			r.Done, r.Elapsed.Round(time.Millisecond), r.perSecond(), ms(r.Latency.quantile(0.5)), ms(r.Latency.quantile(0.99)), hwTPS, tps)
		if r.Errors > 0 {
			note += fmt.Sprintf("; %d failed, first: %v", r.Errors, r.FirstEr)
		}
		if r.Done+r.Errors >= len(pools[c]) {
			note += "; the draft pool ran out before the duration"
		}
		rep.add(Figure{Name: fmt.Sprintf("decisions/s ÷ hand-written decision TPS, %d clients", c), Value: round3(r.perSecond() / hwTPS), Unit: "x",
			Goal: AtLeast, Target: targetDecisionRatio, Note: note})
		rep.add(Figure{Name: fmt.Sprintf("decisions/s ÷ pgbench TPS, %d clients", c), Value: round3(r.perSecond() / tps), Unit: "x",
			Note: "context: pgbench's tpcb-like transaction on its own tables"})
		rep.add(Figure{Name: fmt.Sprintf("hand-written decision TPS, %d clients", c), Value: round1(hwTPS), Unit: "/s",
			Note: "bench/handwritten.sql with pgbench -M prepared on the bench database"})
		rep.add(Figure{Name: fmt.Sprintf("decisions/s, %d clients", c), Value: round1(r.perSecond()), Unit: "/s", Note: note})
		rep.add(Figure{Name: fmt.Sprintf("pgbench tpcb-like TPS, %d clients", c), Value: round1(tps), Unit: "/s"})
		e.decisionCPU(rep, c, decisionCPUs{decisions: r.Done, dec: decCPU, hwTxs: hwTxs, hw: hwCPU, tpcbTxs: txs, tpcb: pgCPU})
		if err := e.drainOutbox(ctx, 2*time.Minute); err != nil {
			logf("%v", err)
		}
	}
	rep.add(Figure{Name: "server RSS, max during decisions", Value: round1(float64(rssKB) / 1024), Unit: "MB", Goal: AtMost, Target: targetRSSMB,
		Note: fmt.Sprintf("VmRSS of signoff serve (pid %d, its own process) sampled every 20 ms during the decision runs at %s clients", e.srv.pid, joinInts(cfg.Clients))})
	return nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " and ")
}

func (e *env) slackAck(ctx context.Context, cfg Config, rep *Report, w *world, latencyPool []pending, profile func(string) func(), logf logFunc) error {
	// 2. Slack acknowledgement latency while decisions commit. A second of
	// clicks goes first, untimed: run alone, the phase would otherwise time
	// a server that has just started (its pool dialing, its statements
	// being prepared), which is not what a deployment's clicks meet.
	warm, timed := latencyPool[:cfg.SlackRate], latencyPool[cfg.SlackRate:]
	logf("Slack Approve clicks at %d/s: %d untimed, then %d timed", cfg.SlackRate, len(warm), len(timed))
	if wr := e.clickOpen(ctx, w, warm, cfg.SlackRate); wr.Done == 0 {
		return fmt.Errorf("bench: no Slack click of the warm-up succeeded: %w", wr.FirstEr)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err := e.drainSlackActions(wctx)
	cancel()
	if err != nil {
		return fmt.Errorf("bench: after the warm-up: %w", err)
	}
	if err := e.drainOutbox(ctx, 2*time.Minute); err != nil {
		logf("%v", err)
	}
	latencyPool = timed
	stop := profile("slack-ack")
	lr := e.clickOpen(ctx, w, latencyPool, cfg.SlackRate)
	last := time.Now()
	dctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	derr := e.drainSlackActions(dctx)
	cancel()
	drained := time.Since(last)
	stop()
	if lr.Done == 0 {
		return fmt.Errorf("bench: no Slack click succeeded: %w", lr.FirstEr)
	}
	note := fmt.Sprintf("%d clicks at %d/s, each an Approve decided in the request (queued only when the database is slower than 1.5 s); measured from the scheduled send time; "+
		"the queue held no click %s after the last acknowledgement", lr.Done, cfg.SlackRate, drained.Round(time.Millisecond))
	if derr != nil {
		note += fmt.Sprintf(" (%v)", derr)
	}
	if lr.Errors > 0 {
		note += fmt.Sprintf("; %d failed, first: %v", lr.Errors, lr.FirstEr)
	}
	rep.add(Figure{Name: fmt.Sprintf("/slack/interactions p50 at %d req/s", cfg.SlackRate), Value: round1(ms(lr.Latency.quantile(0.5))), Unit: "ms", Note: note})
	rep.add(Figure{Name: fmt.Sprintf("/slack/interactions p99 at %d req/s", cfg.SlackRate), Value: round1(ms(lr.Latency.quantile(0.99))), Unit: "ms",
		Goal: AtMost, Target: targetAckP99ms, Note: note})
	if err := e.drainOutbox(ctx, 2*time.Minute); err != nil {
		logf("%v", err)
	}
	return nil
}

func (e *env) dispatch(ctx context.Context, rep *Report, w *world, dispatchPool []pending, profile func(string) func(), logf logFunc) error {
	// 3. Email dispatch over plain go-mail.
	logf("outbox email dispatch of %d messages", len(dispatchPool))
	stop := profile("dispatch")
	// The outbox's part of the phase takes a few seconds.
	srvProf := e.serverProfile(ctx, "dispatch", 3*time.Second)
	dr, err := e.measureDispatch(ctx, w, dispatchPool)
	stop()
	srvProf()
	if err != nil {
		return err
	}
	note := fmt.Sprintf("%d approval emails: outbox %.0f/s (first to last arrival, %s), go-mail loop %.0f/s (%s); composing one email beforehand (its view read in a transaction of its own, then rendered) took %s, outside the baseline",
		dr.Messages, dr.OutboxRate, dr.OutboxSpan.Round(time.Millisecond), dr.GoMailRate, dr.GoMailSpan.Round(time.Millisecond), dr.ComposeEach.Round(time.Microsecond))
	rep.add(Figure{Name: "outbox emails/s ÷ plain go-mail emails/s", Value: round3(dr.OutboxRate / dr.GoMailRate), Unit: "x",
		Goal: AtLeast, Target: targetDispatchRatio, Note: note})
	rep.add(Figure{Name: "outbox emails/s", Value: round1(dr.OutboxRate), Unit: "/s", Note: note})
	rep.add(Figure{Name: "plain go-mail emails/s", Value: round1(dr.GoMailRate), Unit: "/s"})
	dispatchCPU(rep, dr)
	if err := e.drainOutbox(ctx, 2*time.Minute); err != nil {
		logf("%v", err)
	}
	return nil
}

func (e *env) endToEnd(ctx context.Context, cfg Config, rep *Report, w *world, secs int, profile func(string) func(), logf logFunc) error {
	// 4. End to end.
	n := max(cfg.E2ERate, cfg.E2ERate*secs)
	logf("end to end: %d submissions at %d/s", n, cfg.E2ERate)
	stop := profile("e2e")
	er := e.measureE2E(ctx, w, n, cfg.E2ERate)
	stop()
	note := fmt.Sprintf("%d slash-command submissions at %d/s; latency until the channel post reached Slack and both approvers' emails reached the sink", er.Sent, cfg.E2ERate)
	if er.Errors > 0 {
		note += fmt.Sprintf("; %d failed or never arrived, first: %v", er.Errors, er.FirstErr)
	}
	if er.Arrived == 0 {
		return fmt.Errorf("bench: no submission arrived end to end: %w", er.FirstErr)
	}
	e2e := rep.add(Figure{Name: fmt.Sprintf("submit → Slack post + email p99 at %d/s, grouping window 0", cfg.E2ERate), Value: round1(ms(er.Latency.quantile(0.99))), Unit: "ms",
		Goal: AtMost, Target: targetE2EP99ms, Note: note})
	if er.Errors > 0 {
		e2e.Verdict, e2e.Miss = "MISS", fmt.Sprintf("%d of %d never arrived", er.Errors, er.Sent)
	}
	rep.add(Figure{Name: fmt.Sprintf("submit → Slack post + email p50 at %d/s, grouping window 0", cfg.E2ERate), Value: round1(ms(er.Latency.quantile(0.5))), Unit: "ms"})

	logf("grouped requests: %d rounds of %d drafts, window %s", groupedRounds, groupedDrafts, groupedWindow)
	gr := e.measureGrouped(ctx, w)
	note = fmt.Sprintf("%d rounds of %d slash-command submissions to one account with a %s grouping window; lateness = last grouped email at the sink − (first request queued + window); %d of %d grouped emails",
		groupedRounds, groupedDrafts, groupedWindow, gr.Emails, gr.Want)
	if gr.Err != nil {
		note += "; " + gr.Err.Error()
	}
	late := rep.add(Figure{Name: fmt.Sprintf("grouped email lateness past a %s window, max", groupedWindow), Value: round1(max(0, ms(gr.Lateness.quantile(1)))), Unit: "ms",
		Goal: AtMost, Target: targetLateness, Note: note})
	if gr.Err != nil || gr.Emails != gr.Want {
		late.Verdict, late.Miss = "MISS", fmt.Sprintf("%d of %d grouped emails", gr.Emails, gr.Want)
	}
	return nil
}

func (e *env) scale(ctx context.Context, cfg Config, rep *Report, sh shape, seed time.Duration, profile func(string) func(), logf logFunc) error {
	// 5. Scale, on the data set Run seeded first.
	sr := &scaleResult{Shape: sh, Seed: seed}
	// The queries are timed on a quiet server, as the other phases' runs
	// are: what earlier phases queued is delivered first, VACUUM does now
	// what autovacuum would start on their writes during the timing, and a
	// checkpoint writes out what they dirtied.
	if err := e.drainOutbox(ctx, 2*time.Minute); err != nil {
		logf("%v", err)
	}
	for _, s := range []string{"VACUUM ANALYZE", "CHECKPOINT"} {
		if err := e.exec(ctx, e.cluster.DatabaseURL(benchDB), s); err != nil {
			return err
		}
	}
	logf("timing %d Inbox and List calls, then as many App Home opens and pending lists through the server", cfg.ScaleQueries)
	stop := profile("scale")
	srvRSS, selfRSS := sampleRSS(e.srv.status()), sampleRSS("/proc/self/status")
	err := e.measureScale(ctx, cfg.ScaleQueries, sr)
	srvKB, selfKB := srvRSS.end(), selfRSS.end()
	stop()
	if err != nil {
		return err
	}
	shapeNote := fmt.Sprintf("%d drafts, %d accounts, %d members in %d workspaces (seeded in %s); %d sampled approvers",
		sh.Drafts, sh.Accounts*sh.Workspaces, sh.Members*sh.Workspaces, sh.Workspaces, sr.Seed.Round(time.Second), sr.ApproversTried)
	rep.add(Figure{Name: "App Home query (Service.Inbox) p99", Value: round2(ms(sr.Inbox.quantile(0.99))), Unit: "ms",
		Goal: AtMost, Target: targetScaleP99ms, Note: shapeNote + fmt.Sprintf("; p50 %.2f ms", ms(sr.Inbox.quantile(0.5)))})
	rep.add(Figure{Name: "approver's pending list (Service.List) p99", Value: round2(ms(sr.List.quantile(0.99))), Unit: "ms",
		Goal: AtMost, Target: targetScaleP99ms, Note: shapeNote + fmt.Sprintf("; p50 %.2f ms", ms(sr.List.quantile(0.5)))})
	rep.add(Figure{Name: "server RSS, max during the scale phase", Value: round1(float64(srvKB) / 1024), Unit: "MB", Goal: AtMost, Target: targetRSSMB,
		Note: fmt.Sprintf("VmRSS of signoff serve (pid %d, its own process) sampled every 20 ms while the bench timed the queries and then sent %d App Home opens and %d `/signoff list pending_client` through the server's handlers (list over HTTP: p50 %.2f ms, p99 %.2f ms)",
			e.srv.pid, sr.ServerCalls, sr.ServerCalls, ms(sr.ServerList.quantile(0.5)), ms(sr.ServerList.quantile(0.99)))})
	rep.add(Figure{Name: "bench process RSS, max during the scale phase", Value: round1(float64(selfKB) / 1024), Unit: "MB",
		Note: "VmRSS sampled every 20 ms; the timed Service.Inbox and Service.List calls run in the bench process, on its own cli.Main"})

	plans, err := e.explainScale(ctx, approverActorFirst(ctx, e))
	if err != nil {
		return err
	}
	big, err := e.bigTables(ctx)
	if err != nil {
		return err
	}
	seq := bigSeqScans(plans, big)
	goal := AtMost
	planNote := fmt.Sprintf("%d statements explained by auto_explain; tables of %d rows or more count", len(plans), bigTableRows)
	if sh.Drafts < 100_000 {
		// Below that the planner rightly scans small tables whole.
		goal = Info
		planNote += "; not judged below 100,000 drafts"
	}
	planFig := rep.add(Figure{Name: "seq scans of big tables in Inbox/List plans", Value: float64(len(seq)), Unit: "",
		Goal: goal, Target: 0, Note: planNote})
	if len(seq) > 0 {
		planFig.Note += ": " + strings.Join(seq, "; ")
	}
	if cfg.PlansPath != "" {
		writePlans(cfg.PlansPath, plans, logf)
	}
	return nil
}

func writePlans(path string, plans []plan, logf func(string, ...any)) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		logf("write plans: %v", err)
		return
	}
	var b strings.Builder
	for _, p := range plans {
		fmt.Fprintf(&b, "-- %s\n%s\n\n", p.Query, p.Text)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		logf("write plans: %v", err)
		return
	}
	logf("wrote %d plans to %s", len(plans), path)
}

// approverActorFirst returns one scale approver with pending drafts.
func approverActorFirst(ctx context.Context, e *env) approverActor {
	var a approverActor
	err := e.main.DB.Pool().QueryRow(ctx, `
		SELECT ap.workspace_id, m.slack_user_id FROM approvers ap
		JOIN members m ON m.id = ap.member_id JOIN workspaces w ON w.id = ap.workspace_id
		WHERE w.slug LIKE 'scale-%' ORDER BY ap.member_id LIMIT 1`).Scan(&a.WorkspaceID, &a.SlackUser)
	if err != nil && !errors.Is(err, context.Canceled) {
		e.logger.Warn("pick approver", "err", err)
	}
	return a
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }
