package store_test

import (
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/store"
)

// emptyDatabase opens a new database that has not been migrated.
func emptyDatabase(t *testing.T) *store.DB {
	t.Helper()
	return pgtest.MustOpen(t, env.NewEmptyDatabase(t))
}

func TestMigrateConcurrently(t *testing.T) {
	db := emptyDatabase(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- store.Migrate(ctx, db.Pool())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
	}
	if err := store.Migrate(ctx, db.Pool()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	var n int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir("migrations")
	if n != len(files) {
		t.Errorf("%d migrations recorded, want %d", n, len(files))
	}
}

// TestMigrateDown checks every Down section by going to zero and back.
func TestMigrateDown(t *testing.T) {
	db := emptyDatabase(t)
	ctx := context.Background()
	if err := store.Migrate(ctx, db.Pool()); err != nil {
		t.Fatal(err)
	}
	sqlDB := stdlib.OpenDBFromPool(db.Pool())
	defer sqlDB.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, os.DirFS("migrations"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("down: %v", err)
	}
	if err := store.Migrate(ctx, db.Pool()); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

func TestUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = store.Open(ctx, "postgres://postgres@"+addr+"/x?sslmode=disable&connect_timeout=2")
	if got := approvals.ErrorCode(err); got != approvals.EUNAVAILABLE {
		t.Errorf("Open: code %q (%v), want %q", got, err, approvals.EUNAVAILABLE)
	}

	_, err = store.Open(ctx, "postgres://%zz")
	if got := approvals.ErrorCode(err); got != approvals.EINVALID {
		t.Errorf("Open with a bad URL: code %q (%v), want %q", got, err, approvals.EINVALID)
	}

	// A pool whose server went away after it opened.
	db, err := store.Open(ctx, env.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	err = db.InTx(ctx, func(ctx context.Context, tx approvals.Tx) error { return nil })
	if got := approvals.ErrorCode(err); got != approvals.EUNAVAILABLE {
		t.Errorf("InTx on a closed pool: code %q (%v), want %q", got, err, approvals.EUNAVAILABLE)
	}
}

// TestPoolSize: the pool has DefaultMaxConns connections unless the URL
// says otherwise.
func TestPoolSize(t *testing.T) {
	url := env.NewEmptyDatabase(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	for _, tc := range []struct {
		url  string
		want int32
	}{
		{url, store.DefaultMaxConns},
		{url + sep + "pool_max_conns=3", 3},
	} {
		db, err := store.Open(context.Background(), tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := db.Pool().Config().MaxConns; got != tc.want {
			t.Errorf("MaxConns = %d, want %d", got, tc.want)
		}
		db.Close()
	}
}
