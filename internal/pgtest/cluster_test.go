package pgtest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestStartClusterReuse: the persistent cluster of `signoff dev` keeps its
// data and port across runs, and a server left running is adopted.
func TestStartClusterReuse(t *testing.T) {
	if _, err := findBinaries(); errors.Is(err, ErrNoPostgres) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Not t.TempDir: its parents are private to us, and a root test run
	// starts the server as the postgres user, which must reach the dir.
	dir, err := os.MkdirTemp("", "signoff-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	c1, err := StartCluster(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	execSQL(t, ctx, c1.URL(), "CREATE DATABASE keep")

	// A second start while the server runs adopts it.
	c2, err := StartCluster(ctx, dir)
	if err != nil {
		c1.Stop()
		t.Fatal(err)
	}
	if c2.URL() != c1.URL() {
		t.Errorf("adopted URL %s, want %s", c2.URL(), c1.URL())
	}
	if err := c1.Stop(); err != nil {
		t.Fatal(err)
	}

	c3, err := StartCluster(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Stop()
	if c3.URL() != c1.URL() {
		t.Errorf("restarted on %s, want the same port as %s", c3.URL(), c1.URL())
	}
	execSQL(t, ctx, c3.DatabaseURL("keep"), "SELECT 1") // the data survived
}

func execSQL(t *testing.T, ctx context.Context, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}
