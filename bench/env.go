package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/bot"
	"github.com/signoff-app/signoff/cli"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/internal/slackfake"
	"github.com/signoff-app/signoff/mailer"
)

// Secrets of the throwaway deployment. They protect nothing: every
// service listens on 127.0.0.1 and lives only as long as the run.
const (
	signingSecret = "bench-signing-secret-0123456789abcdef"
	botToken      = "xoxb-bench"
	slackTeam     = "TBENCH"
	benchDB       = "signoff"
)

// env is everything a run starts: PostgreSQL, the SMTP sink, the fake
// Slack and `signoff serve`, built from this tree and run as a child
// process on 127.0.0.1. The bench keeps a cli.Main of its own on the same
// database, to seed through the core and read what the server did; it
// serves nothing.
type env struct {
	dir      string
	cluster  *pgtest.Cluster
	smtp     *smtpSink
	slack    *slackfake.Server
	posts    *slackPosts // what reached the fake Slack
	main     *cli.Main
	bin      string            // the signoff binary
	settings map[string]string // the server's configuration (serverSettings)
	srv      *server           // once serve has started it
	profDir  string            // -profile's directory, "" without it
	base     string            // http://127.0.0.1:PORT
	codec    *mailer.Codec
	http     *http.Client
	logw     io.Writer
	logger   *slog.Logger
}

// startEnv builds the signoff binary into a new temporary directory,
// starts PostgreSQL under it, the SMTP sink and the fake Slack, and
// creates and migrates the signoff database. The server is started later
// by serve (after seeding).
func startEnv(ctx context.Context, cfg Config, logw io.Writer) (_ *env, err error) {
	e := &env{profDir: cfg.ProfileDir, logw: logw, logger: slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	base := os.TempDir()
	if os.Geteuid() == 0 {
		base = "/tmp" // the postgres user must reach the cluster's directory
	}
	if e.dir, err = os.MkdirTemp(base, "signoff-bench-"); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := os.Chmod(e.dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	// Before anything runs: the build's CPU counts in no phase.
	if e.bin, err = buildServer(ctx, e.dir); err != nil {
		return nil, err
	}
	if e.cluster, err = pgtest.StartCluster(ctx, filepath.Join(e.dir, "pg")); err != nil {
		return nil, fmt.Errorf("bench: start PostgreSQL: %w", err)
	}
	if cfg.ProfileDir != "" {
		// Profiling also records per-statement server time (statements-*.txt).
		if err := e.exec(ctx, e.cluster.URL(), "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"); err != nil {
			return nil, err
		}
		if err := e.cluster.StopServer(ctx); err != nil {
			return nil, fmt.Errorf("bench: restart PostgreSQL: %w", err)
		}
		if err := e.cluster.StartServer(ctx); err != nil {
			return nil, fmt.Errorf("bench: restart PostgreSQL: %w", err)
		}
	}
	if err := e.exec(ctx, e.cluster.URL(), "CREATE DATABASE "+benchDB); err != nil {
		return nil, err
	}
	if cfg.ProfileDir != "" {
		if err := e.exec(ctx, e.cluster.DatabaseURL(benchDB), "CREATE EXTENSION pg_stat_statements"); err != nil {
			return nil, err
		}
	}
	if e.smtp, err = startSMTPSink(); err != nil {
		return nil, err
	}
	e.slack, e.posts = startFakeSlack()

	key := mailer.GenerateKeyPair()
	c := cli.DefaultConfig()
	c.Database.URL = e.cluster.DatabaseURL(benchDB)
	if cfg.OutboxWorkers > 0 {
		c.Outbox.Workers, c.SMTP.Connections = cfg.OutboxWorkers, cfg.OutboxWorkers
	}
	c.HTTP.Addr = "127.0.0.1:0"
	c.HTTP.BaseURL = "http://" + c.HTTP.Addr // the server's, once it runs (serve)
	c.Log.Level = "warn"
	c.Slack = bot.Config{BotToken: botToken, SigningSecret: signingSecret, APIURL: e.slack.URL()}
	c.SMTP.Host, c.SMTP.Port, c.SMTP.TLS, c.SMTP.Timeout = "127.0.0.1", e.smtp.port(), mailer.TLSNone, 10*time.Second
	c.Mail.From = "Signoff Bench <signoff@bench.test>"
	c.Links.Keys = []string{key}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("bench: server configuration: %w", err)
	}
	pairs, err := mailer.ParseKeys(c.Links.Keys)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if e.codec, err = mailer.NewCodec(pairs, c.Links.TTL); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if e.settings, err = serverSettings(c, cfg); err != nil {
		return nil, err
	}
	e.main = cli.NewMain(c, e.logger)
	if err := e.main.Open(ctx); err != nil {
		return nil, fmt.Errorf("bench: open database: %w", err)
	}
	if err := e.main.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	e.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
	}}
	return e, nil
}

// serve starts `signoff serve` as a child process and waits until it
// answers.
func (e *env) serve(ctx context.Context) error {
	srv, err := startServer(ctx, e.bin, e.dir, e.settings, e.logw)
	if err != nil {
		return err
	}
	e.srv, e.base = srv, srv.base
	// The links the bench's own sender mints (the dispatch baseline) point
	// at the server, as the server's do.
	e.main.Config.HTTP.Addr = strings.TrimPrefix(srv.base, "http://")
	e.main.Config.HTTP.BaseURL = srv.base
	return nil
}

func (e *env) close() {
	if e.srv != nil {
		if err := e.srv.stop(); err != nil {
			e.logger.Warn("signoff serve stopped", "err", err)
		}
	}
	if e.main != nil {
		e.main.Close()
	}
	if e.smtp != nil {
		e.smtp.close()
	}
	if e.slack != nil {
		e.slack.Close()
	}
	if e.cluster != nil {
		if err := e.cluster.Stop(); err != nil {
			e.logger.Warn("stop PostgreSQL", "err", err)
		}
	}
	if e.dir != "" && strings.HasPrefix(filepath.Base(e.dir), "signoff-bench-") {
		_ = os.RemoveAll(e.dir)
	}
}

// exec runs one statement on a new connection to url.
func (e *env) exec(ctx context.Context, url, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("bench: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("bench: %s: %w", firstLine(sql), err)
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// resetStatements clears pg_stat_statements (present when profiling).
func (e *env) resetStatements(ctx context.Context) error {
	_, err := e.main.DB.Pool().Exec(ctx, `SELECT pg_stat_statements_reset(), pg_stat_reset(), pg_stat_reset_slru(NULL)`)
	return err
}

// dumpStatements writes the statements that took the server's time since
// the last reset, most expensive first: where a phase's database time goes.
func (e *env) dumpStatements(ctx context.Context, path string) error {
	rows, err := e.main.DB.Pool().Query(ctx, `
		SELECT calls, round(total_exec_time::numeric, 1), round((total_exec_time / calls)::numeric * 1000, 1),
		       round(total_plan_time::numeric, 1), rows, left(regexp_replace(query, '\s+', ' ', 'g'), 300)
		FROM pg_stat_statements WHERE calls > 0 ORDER BY total_exec_time DESC LIMIT 40`)
	if err != nil {
		return fmt.Errorf("read pg_stat_statements: %w", err)
	}
	defer rows.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%8s %10s %9s %9s %8s  %s\n", "calls", "total ms", "mean µs", "plan ms", "rows", "query")
	for rows.Next() {
		var calls, nrows int64
		var total, mean, plan float64
		var q string
		if err := rows.Scan(&calls, &total, &mean, &plan, &nrows, &q); err != nil {
			return fmt.Errorf("read pg_stat_statements: %w", err)
		}
		fmt.Fprintf(&b, "%8d %10.1f %9.1f %9.1f %8d  %s\n", calls, total, mean, plan, nrows, q)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read pg_stat_statements: %w", err)
	}
	// And which tables were read by sequential scan, and how much.
	rows, err = e.main.DB.Pool().Query(ctx, `
		SELECT relname, seq_scan, seq_tup_read, coalesce(idx_scan, 0), n_live_tup
		FROM pg_stat_user_tables WHERE seq_scan > 0 ORDER BY seq_tup_read DESC LIMIT 20`)
	if err != nil {
		return fmt.Errorf("read pg_stat_user_tables: %w", err)
	}
	defer rows.Close()
	fmt.Fprintf(&b, "\n%-24s %10s %14s %10s %10s\n", "table", "seq scans", "rows read", "idx scans", "live rows")
	for rows.Next() {
		var name string
		var seq, read, idx, live int64
		if err := rows.Scan(&name, &seq, &read, &idx, &live); err != nil {
			return fmt.Errorf("read pg_stat_user_tables: %w", err)
		}
		fmt.Fprintf(&b, "%-24s %10d %14d %10d %10d\n", name, seq, read, idx, live)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read pg_stat_user_tables: %w", err)
	}
	// Multixacts (row locks shared by several transactions, as foreign
	// key checks take on a parent row) cost SLRU pages.
	var mxZeroed, mxHit int64
	if err := e.main.DB.Pool().QueryRow(ctx, `
		SELECT coalesce(sum(blks_zeroed), 0), coalesce(sum(blks_hit), 0) FROM pg_stat_slru WHERE name LIKE 'MultiXact%'`).Scan(&mxZeroed, &mxHit); err != nil {
		return fmt.Errorf("read pg_stat_slru: %w", err)
	}
	fmt.Fprintf(&b, "\nmultixact SLRU pages: %d zeroed, %d hit\n", mxZeroed, mxHit)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
