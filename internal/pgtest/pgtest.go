package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/store"
)

// Environment variables read by Main.
const (
	// EnvURL names a server to test against instead of starting one; its
	// role must be allowed to create databases.
	EnvURL = "SIGNOFF_TEST_DATABASE_URL"
	// EnvAllowSkip, set to 1, lets a package's tests pass without running
	// when no PostgreSQL is available (never in CI).
	EnvAllowSkip = "SIGNOFF_TEST_ALLOW_SKIP"
)

// Env is the PostgreSQL server of one test binary, with a migrated
// database for the package and a migrated template for per-test databases.
type Env struct {
	server   string // URL of a database on the server to create and drop databases from
	template string // name of the migrated template database
	url      string // the package database

	mu sync.Mutex // CREATE DATABASE … TEMPLATE wants the template to itself
}

// Main runs a package's tests against PostgreSQL and exits; call it from
// TestMain, in either form:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }       // then pgtest.NewDatabase(t), pgtest.URL()
//
//	var env *pgtest.Env
//	func TestMain(m *testing.M) { pgtest.Main(m, &env) } // then env.NewDatabase(t), env.URL()
//
// It uses the server at $SIGNOFF_TEST_DATABASE_URL if set, else starts a
// throwaway cluster from the machine's binaries. It creates and migrates a
// database for the package, runs the tests, and removes what it created.
// With no PostgreSQL available it fails (exit 1), unless
// SIGNOFF_TEST_ALLOW_SKIP=1 and CI is not "true", where it says so and
// exits 0: a silent skip would read as a pass.
func Main(m *testing.M, envp ...**Env) {
	os.Exit(run(m, envp))
}

// current is the Env of this test binary, for the package-level helpers.
// A test binary has exactly one TestMain, so there is exactly one Env per
// process; Main sets it before any test runs and never changes it.
var current atomic.Pointer[Env]

// NewDatabase returns the URL of a new migrated database for tb alone,
// dropped when tb ends. It needs Main to have run.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return mustCurrent(tb).NewDatabase(tb)
}

// URL returns the package database's URL (see Env.URL). It needs Main to
// have run.
func URL(tb testing.TB) string {
	tb.Helper()
	return mustCurrent(tb).URL()
}

func mustCurrent(tb testing.TB) *Env {
	tb.Helper()
	e := current.Load()
	if e == nil {
		tb.Fatal("pgtest: no database: call pgtest.Main from TestMain")
	}
	return e
}

func run(m *testing.M, envps []**Env) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	env, cleanup, err := setup(ctx)
	cancel()
	if errors.Is(err, ErrNoPostgres) {
		switch {
		case os.Getenv("CI") == "true":
			fmt.Fprintf(os.Stderr, "FAIL: pgtest: %v; CI must provide PostgreSQL (install the server package or set %s)\n", err, EnvURL)
			return 1
		case os.Getenv(EnvAllowSkip) == "1":
			fmt.Fprintf(os.Stderr, "SKIP: pgtest: %v; these tests did NOT run (%s=1)\n", err, EnvAllowSkip)
			return 0
		}
		fmt.Fprintf(os.Stderr, "FAIL: pgtest: %v; install the PostgreSQL server, set %s to a server URL, or set %s=1 to skip these tests knowingly\n",
			err, EnvURL, EnvAllowSkip)
		return 1
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: pgtest: %v\n", err)
		return 1
	}
	defer cleanup()
	current.Store(env)
	for _, p := range envps {
		*p = env
	}
	return m.Run()
}

// setup finds or starts a server and prepares the template and package
// databases. cleanup undoes all of it.
func setup(ctx context.Context) (env *Env, cleanup func(), err error) {
	var cluster *Cluster
	server := os.Getenv(EnvURL)
	if server == "" {
		cluster, err = startTempCluster(ctx)
		if err != nil {
			return nil, nil, err
		}
		server = cluster.URL()
	}
	env = &Env{server: server, template: randomName("signoff_tmpl")}
	cleanup = func() {
		if cluster != nil {
			// Dropping databases is pointless when the cluster goes.
			if err := cluster.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, name := range []string{databaseName(env.url), env.template} {
			if name == "" {
				continue
			}
			if err := env.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
				fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			}
		}
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	if err := env.exec(ctx, "CREATE DATABASE "+pgx.Identifier{env.template}.Sanitize()); err != nil {
		return nil, nil, err
	}
	if err := migrate(ctx, withDatabase(server, env.template)); err != nil {
		return nil, nil, err
	}
	env.url, err = env.createDatabase(ctx, env.template)
	if err != nil {
		return nil, nil, err
	}
	return env, cleanup, nil
}

// URL returns the package database's URL. Tests that share it must not
// assume it is empty: give each test its own workspace, or use NewDatabase.
func (e *Env) URL() string { return e.url }

// NewEmptyDatabase returns the URL of a new database without any
// migration, for tests of migrating; it is dropped when tb ends.
func (e *Env) NewEmptyDatabase(tb testing.TB) string {
	tb.Helper()
	return e.database(tb, "")
}

// NewDatabase returns the URL of a new migrated database for tb alone,
// dropped when tb ends.
func (e *Env) NewDatabase(tb testing.TB) string {
	tb.Helper()
	return e.database(tb, e.template)
}

func (e *Env) database(tb testing.TB, template string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u, err := e.createDatabase(ctx, template)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{databaseName(u)}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Error(err)
		}
	})
	return u
}

// createDatabase creates a database, a copy of template unless it is "".
func (e *Env) createDatabase(ctx context.Context, template string) (string, error) {
	name := randomName("signoff_test")
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.exec(ctx, sql); err != nil {
		return "", err
	}
	return withDatabase(e.server, name), nil
}

// exec runs one statement on the server's maintenance connection.
func (e *Env) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, e.server)
	if err != nil {
		return fmt.Errorf("pgtest: connect to %s: %w", redact(e.server), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgtest: %s: %w", sql, err)
	}
	return nil
}

// MustOpen opens the database at url, failing tb if it cannot, and closes
// it when tb ends.
func MustOpen(tb testing.TB, url string) *store.DB {
	tb.Helper()
	return mustOpen(tb, func(ctx context.Context) (*store.DB, error) { return store.Open(ctx, url) })
}

// mustOpen opens a database with open, failing tb if it cannot, and closes
// it when tb ends.
func mustOpen(tb testing.TB, open func(context.Context) (*store.DB, error)) *store.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := open(ctx)
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	tb.Cleanup(db.Close)
	return db
}

func migrate(ctx context.Context, u string) error {
	db, err := store.Open(ctx, u)
	if err != nil {
		return fmt.Errorf("pgtest: open %s: %w", redact(u), err)
	}
	defer db.Close()
	if err := store.Migrate(ctx, db.Pool()); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}

// withDatabase returns server's URL (or keyword/value string) pointing at
// database name instead.
func withDatabase(server, name string) string {
	if u, err := url.Parse(server); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		u.RawPath = ""
		return u.String()
	}
	// In a keyword/value string a later setting wins.
	return server + " dbname=" + name
}

func databaseName(conn string) string {
	if conn == "" {
		return ""
	}
	cfg, err := pgx.ParseConfig(conn)
	if err != nil {
		return ""
	}
	return cfg.Database
}

func redact(conn string) string {
	if u, err := url.Parse(conn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	if strings.Contains(conn, "password") {
		return "(connection string)"
	}
	return conn
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// SkipShort skips t under -short, for a test that starts PostgreSQL
// clusters of its own and takes a while, except under CI=true, where a
// test that did not run is a failure waiting to be missed.
func SkipShort(t testing.TB, why string) {
	t.Helper()
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip(why + "; skipped with -short (never under CI=true)")
	}
}
