// Package store is the Postgres implementation of approvals.Store.
//
// SQL is written by hand next to the method that runs it. The database,
// not only Go, enforces the product's invariants: unique and check
// constraints, composite foreign keys that keep rows inside one workspace,
// and triggers for the approver rules (see migrations/). Every error that
// leaves this package is an *approvals.Error (see error.go).
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signoff-app/signoff/approvals"
)

// DB is a pool of connections to the Signoff database.
type DB struct {
	pool *pgxpool.Pool
	// onEnqueue, when set, is called after each commit that added outbox
	// rows (see OnEnqueue).
	onEnqueue atomic.Pointer[func()]
}

// OnEnqueue makes every transaction of db that added outbox rows call f
// once it committed: serve wakes its dispatcher with it, so that a message
// goes out at once rather than at the next poll. f must not block.
func (db *DB) OnEnqueue(f func()) {
	if f == nil {
		db.onEnqueue.Store(nil)
		return
	}
	db.onEnqueue.Store(&f)
}

var _ approvals.Store = (*DB)(nil)

// DefaultMaxConns is the pool size when the URL sets no pool_max_conns.
// pgx's own default (the larger of 4 and the CPUs) is too small for a
// server whose HTTP handlers, outbox senders and Slack workers each hold a
// connection at once: on a small machine a Slack acknowledgement would
// wait for a worker's connection (measured by `make bench`).
const DefaultMaxConns = 16

// Open connects to the database at url (a postgres:// URL or a libpq
// keyword/value string) and checks that it answers. It does not migrate;
// call Migrate for that. Errors: EINVALID for a malformed url, EUNAVAILABLE
// when the server cannot be reached.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error redacts the password, but the message for users
		// does not repeat the URL at all.
		return nil, &approvals.Error{Code: approvals.EINVALID, Message: "invalid database URL", Err: err}
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	return OpenConfig(ctx, cfg)
}

// OpenConfig is Open for a pool configuration the caller built (a tracer,
// a size).
func OpenConfig(ctx context.Context, cfg *pgxpool.Config) (*DB, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, &approvals.Error{Code: approvals.EINVALID, Message: "invalid database configuration", Err: err}
	}
	db := &DB{pool: pool}
	if err := db.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes every connection; it waits for connections in use to be released.
func (db *DB) Close() { db.pool.Close() }

// Pool returns the underlying pool, for Migrate and for tests.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Ping checks that the database answers. Errors: EUNAVAILABLE.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return beginError(err)
	}
	return nil
}

// InTx runs fn in one READ COMMITTED transaction and commits it if fn
// returns nil. fn's own error is returned unchanged (after rolling back).
// A failed commit, which is where the deferred invariant checks report,
// comes back as an *approvals.Error. The invariants that need it take row
// locks (see migrations/00001_access.sql), so READ COMMITTED is enough and
// callers never need to retry serialisation failures.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context, tx approvals.Tx) error) (err error) {
	tc, err := beginTx(ctx, db.pool)
	if err != nil {
		return beginError(err)
	}
	// The caller's context may be the reason a rollback is due; it is made
	// regardless, briefly.
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		tc.end(rctx)
	}()
	t := &tx{tx: tc}
	if err := fn(ctx, t); err != nil {
		return err
	}
	if err := tc.commit(ctx); err != nil {
		if errors.Is(err, errCommitRollback) {
			return &approvals.Error{Code: approvals.EINTERNAL, Message: "internal error", Err: err}
		}
		return dbError(err, nil)
	}
	if f := db.onEnqueue.Load(); f != nil && t.enqueued {
		(*f)()
	}
	return nil
}

// beginError maps a failure to start a transaction. Whatever fails before
// the transaction starts is the pool (closed, exhausted) or the connection,
// never the caller's data, so anything but a server error or a cancelled
// context means the database is unavailable.
func beginError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) || errors.Is(err, context.Canceled) {
		return connError(err)
	}
	return &approvals.Error{Code: approvals.EUNAVAILABLE, Message: unavailable, Err: err}
}

// tx implements approvals.Tx on one transaction. Its methods live in the
// file named for their noun.
type tx struct {
	tx *txConn
	// enqueued records that EnqueueOutbox added rows.
	enqueued bool
}

var _ approvals.Tx = (*tx)(nil)

// workspaceName names a workspace in messages: `workspace "acme"`, or by id
// when it cannot be read (it does not exist, or the transaction failed).
func (t *tx) workspaceName(ctx context.Context, id int64) string {
	var slug string
	if err := t.tx.QueryRow(ctx, `SELECT slug FROM workspaces WHERE id = $1`, id).Scan(&slug); err != nil {
		return fmt.Sprintf("workspace #%d", id)
	}
	return fmt.Sprintf("workspace %q", slug)
}

// nullTime maps the zero time to NULL so that the column default (now())
// applies; any other time is stored as given, for the service's clock.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// nullString maps "" to NULL for optional, unique columns.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nullID maps 0 to NULL for optional references.
func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// utcPtr returns *t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// intList passes a nil list as an empty array, for NOT NULL array columns.
func intList(l []int) []int {
	if l == nil {
		return []int{}
	}
	return l
}

// pendingStates is approvals.PendingStates as a query parameter: which
// states wait on a tier is the core's to say.
func pendingStates() []string {
	out := make([]string, len(approvals.PendingStates))
	for i, st := range approvals.PendingStates {
		out[i] = string(st)
	}
	return out
}
