package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Main is signoff-bench: it parses flags, runs, prints the table and
// writes the results file. It returns the exit status: 0 when the run
// completed (missed targets are reported as MISS; with -strict they give
// 1), 2 when the run failed.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("signoff-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "bench/results.json", "where to write the figures (JSON)")
	smoke := fs.Bool("smoke", false, "a tiny, quick run (every size flag below still applies)")
	scale := fs.Int("scale", cfg.Scale, "drafts of the scale phase (accounts are 1/100 of it, members 1/10)")
	dur := fs.Duration("duration", cfg.Duration, "length of each throughput, latency and end-to-end run")
	clients := fs.String("clients", "8,32", "client counts of the throughput comparison")
	pool := fs.Int("decision-pool", cfg.DecisionPool, "pending drafts available to each throughput run")
	pgs := fs.Int("pgbench-scale", cfg.PgbenchScale, "pgbench -i scale factor")
	rate := fs.Int("slack-rate", cfg.SlackRate, "requests per second of the Slack latency run")
	msgs := fs.Int("dispatch-messages", cfg.DispatchMessages, "emails of the dispatch run")
	e2e := fs.Int("e2e-rate", cfg.E2ERate, "submissions per second of the end-to-end run")
	queries := fs.Int("scale-queries", cfg.ScaleQueries, "timed Inbox and List calls of the scale phase")
	phases := fs.String("phases", "", "comma-separated phases to run (decisions, slack, dispatch, e2e, review, scale); empty for all")
	poolMax := fs.Int("pool-max-conns", 0, "override the server's database pool size (0: the server's default)")
	senders := fs.Int("outbox-workers", 0, "override outbox.workers and smtp.connections (0: the defaults)")
	strict := fs.Bool("strict", false, "exit 1 when a target is missed")
	prof := fs.String("profile", "", "directory for a CPU profile of each phase (of the bench process: signoff serve runs in its own) and the statements PostgreSQL spent its time on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *smoke {
		cfg = SmokeConfig()
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["scale"] || !*smoke {
		cfg.Scale = *scale
	}
	if set["duration"] || !*smoke {
		cfg.Duration = *dur
	}
	if set["clients"] || !*smoke {
		cfg.Clients = nil
		for _, f := range strings.Split(*clients, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				fmt.Fprintf(stderr, "signoff-bench: -clients: %q is not a positive number\n", f)
				return 2
			}
			cfg.Clients = append(cfg.Clients, n)
		}
	}
	for name, p := range map[string]struct {
		dst *int
		v   int
	}{"decision-pool": {&cfg.DecisionPool, *pool}, "pgbench-scale": {&cfg.PgbenchScale, *pgs}, "slack-rate": {&cfg.SlackRate, *rate},
		"dispatch-messages": {&cfg.DispatchMessages, *msgs}, "e2e-rate": {&cfg.E2ERate, *e2e}, "scale-queries": {&cfg.ScaleQueries, *queries}} {
		if set[name] || !*smoke {
			*p.dst = p.v
		}
	}
	cfg.ProfileDir = *prof
	cfg.PoolMaxConns = *poolMax
	cfg.OutboxWorkers = *senders
	if *phases != "" {
		cfg.Phases = strings.Split(*phases, ",")
	}
	if *out != "" {
		cfg.PlansPath = filepath.Join(filepath.Dir(*out), "plans.txt")
	}
	cfg.Log = stderr
	if cfg.Duration < time.Second {
		fmt.Fprintln(stderr, "signoff-bench: -duration must be at least 1s")
		return 2
	}

	rep, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "signoff-bench: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "\nSignoff bench, %s on %s (%d CPUs, %s; PostgreSQL %s)\n\n",
		rep.Started.Format("2006-01-02 15:04 UTC"), rep.Machine.Host, rep.Machine.CPUs, rep.Machine.CPUModel, rep.Machine.Postgres)
	if err := rep.Table(stdout); err != nil {
		fmt.Fprintf(stderr, "signoff-bench: %v\n", err)
		return 2
	}
	for _, f := range rep.Figures {
		if f.Note != "" && f.Goal != Info {
			fmt.Fprintf(stdout, "\n- %s: %s", f.Name, f.Note)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(stdout, "\n- %s", n)
	}
	fmt.Fprintln(stdout)
	if *out != "" {
		if err := rep.WriteJSON(*out); err != nil {
			fmt.Fprintf(stderr, "signoff-bench: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "\nwrote %s\n", *out)
	}
	if missed := rep.Missed(); len(missed) > 0 {
		fmt.Fprintf(stdout, "%d of the targets missed\n", len(missed))
		if *strict {
			return 1
		}
	}
	return 0
}
