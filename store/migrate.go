package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// migrations holds the schema, one numbered goose file per change. A shipped
// migration is never edited; add a new one.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrateLockID keys the advisory lock that serialises Migrate across
// processes (several `serve` processes may start at once). Advisory locks
// are per database, so test databases on one server do not contend.
const migrateLockID int64 = 0x5169_6e6f_6666 // "Signoff"

// Migrate applies the pending migrations, each in its own transaction. It
// is idempotent and safe to run from several processes at once: they queue
// on a session advisory lock, and the later ones find nothing to do.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(advisoryLocker{id: migrateLockID}),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", dbError(err, nil))
	}
	return nil
}

// advisoryLocker is a goose session locker that blocks on pg_advisory_lock
// until the lock is free (or ctx ends). goose's own Postgres locker polls
// pg_try_advisory_lock every few seconds, which makes a second process wait
// needlessly long.
type advisoryLocker struct{ id int64 }

func (l advisoryLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, l.id); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	return nil
}

func (l advisoryLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, l.id); err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	return nil
}
