package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// txConn runs one transaction's statements on a pooled connection. Writes
// whose results the caller does not wait for (the audit entry, the outbox
// rows: see later) are held back and sent in one pipelined batch, with the
// next statement's turn or with COMMIT: a decision's last writes and its
// commit then take one round trip to the server instead of three. Every
// statement of the transaction still runs, in the order it was issued.
type txConn struct {
	c     *pgxpool.Conn
	later []laterStmt
}

// laterStmt is a held-back statement; read, if not nil, reads its rows.
type laterStmt struct {
	sql  string
	args []any
	read func(pgx.Rows) error
}

// errCommitRollback: COMMIT answered ROLLBACK, since a statement of the
// transaction had failed and its error was ignored.
var errCommitRollback = errors.New("commit of a transaction in which a statement failed (an error was ignored)")

// beginTx starts a READ COMMITTED transaction on a connection of pool.
func beginTx(ctx context.Context, pool *pgxpool.Pool) (*txConn, error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := c.Exec(ctx, "BEGIN ISOLATION LEVEL READ COMMITTED"); err != nil {
		c.Release() // the pool drops a connection left in a transaction
		return nil, err
	}
	return &txConn{c: c}, nil
}

// hold holds sql back until the next statement or the commit; read, if
// not nil, reads its rows then. Its error, if any, is that statement's (or
// the commit's).
func (t *txConn) hold(sql string, read func(pgx.Rows) error, args ...any) {
	t.later = append(t.later, laterStmt{sql: sql, args: args, read: read})
}

// queue adds the held-back statements to b.
func (t *txConn) queue(b *pgx.Batch) {
	for _, s := range t.later {
		q := b.Queue(s.sql, s.args...)
		if s.read != nil {
			q.Query(s.read)
		}
	}
	t.later = nil
}

// flush sends the held-back statements.
func (t *txConn) flush(ctx context.Context) error {
	if len(t.later) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	t.queue(b)
	// Mapped here: the statement that pays for the round trip is not the
	// one that failed, and its own mapping would not fit.
	return dbError(t.c.SendBatch(ctx, b).Close(), nil)
}

// commit sends the held-back statements and COMMIT in one batch.
func (t *txConn) commit(ctx context.Context) error {
	b := &pgx.Batch{}
	t.queue(b)
	b.Queue("COMMIT").Exec(func(tag pgconn.CommandTag) error {
		if tag.String() == "ROLLBACK" {
			return errCommitRollback
		}
		return nil
	})
	return t.c.SendBatch(ctx, b).Close()
}

// end rolls back what is still open and returns the connection to the
// pool (which drops it if the rollback failed).
func (t *txConn) end(ctx context.Context) {
	t.later = nil
	if t.c.Conn().PgConn().TxStatus() != 'I' {
		_, _ = t.c.Exec(ctx, "ROLLBACK")
	}
	t.c.Release()
}

func (t *txConn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := t.flush(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return t.c.Exec(ctx, sql, args...)
}

func (t *txConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.c.Query(ctx, sql, args...)
}

func (t *txConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := t.flush(ctx); err != nil {
		return errRow{err}
	}
	return t.c.QueryRow(ctx, sql, args...)
}

func (t *txConn) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := t.flush(ctx); err != nil {
		return errBatch{err}
	}
	return t.c.SendBatch(ctx, b)
}

// errBatch is a pgx.BatchResults whose every result is err.
type errBatch struct{ err error }

func (r errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, r.err }
func (r errBatch) Query() (pgx.Rows, error)         { return nil, r.err }
func (r errBatch) QueryRow() pgx.Row                { return errRow(r) }
func (r errBatch) Close() error                     { return r.err }
func (r errBatch) Tx() pgx.Tx                       { return nil }

// errRow is a pgx.Row whose Scan fails with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
