package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// txConn runs one transaction's statements on a pooled connection. BEGIN
// and the writes whose results the caller does not wait for (the audit
// entry, the outbox rows: see hold) are held back and sent in one
// pipelined batch with the next statement, or with COMMIT: a decision's
// BEGIN travels with its first read, and its last writes with its commit.
// Every statement of the transaction still runs, in the order it was
// issued.
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

// beginTx starts a READ COMMITTED transaction on a connection of pool. The
// BEGIN itself goes with the transaction's first statement.
func beginTx(ctx context.Context, pool *pgxpool.Pool) (*txConn, error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	t := &txConn{c: c}
	t.hold("BEGIN ISOLATION LEVEL READ COMMITTED", nil)
	return t, nil
}

// hold holds sql back until the next statement or the commit; read, if
// not nil, reads its rows then. Its error, if any, is that statement's (or
// the commit's).
func (t *txConn) hold(sql string, read func(pgx.Rows) error, args ...any) {
	t.later = append(t.later, laterStmt{sql: sql, args: args, read: read})
}

// queue adds the held-back statements to b, with the callbacks that read
// their results when the batch is closed.
func (t *txConn) queue(b *pgx.Batch) {
	for _, s := range t.later {
		q := b.Queue(s.sql, s.args...)
		if s.read != nil {
			q.Query(s.read)
		}
	}
	t.later = nil
}

// send sends the held-back statements followed by sql in one batch, and
// returns the batch with the held statements' results read: the next
// result is sql's. Without held statements it returns nil, and the
// caller sends sql alone.
func (t *txConn) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	if len(t.later) == 0 {
		return nil, nil
	}
	held := t.later
	t.later = nil
	b := &pgx.Batch{}
	for _, s := range held {
		b.Queue(s.sql, s.args...)
	}
	b.Queue(sql, args...)
	br := t.c.SendBatch(ctx, b)
	if err := readHeld(br, held); err != nil {
		_ = br.Close()
		return nil, err
	}
	return br, nil
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
	br, err := t.send(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	if br == nil {
		return t.c.Exec(ctx, sql, args...)
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (t *txConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	br, err := t.send(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	if br == nil {
		return t.c.Query(ctx, sql, args...)
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (t *txConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := t.Query(ctx, sql, args...)
	if err != nil {
		return errRow{err}
	}
	return rowOf{rows}
}

func (t *txConn) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if len(t.later) == 0 {
		return t.c.SendBatch(ctx, b)
	}
	// The held statements go first, in the same batch; their results are
	// read here, so the caller reads b's by position as it queued them.
	held := t.later
	t.later = nil
	all := &pgx.Batch{}
	for _, s := range held {
		all.Queue(s.sql, s.args...)
	}
	all.QueuedQueries = append(all.QueuedQueries, b.QueuedQueries...)
	br := t.c.SendBatch(ctx, all)
	if err := readHeld(br, held); err != nil {
		_ = br.Close()
		return errBatch{err}
	}
	return br
}

// readHeld reads the results of the held statements at the head of br.
func readHeld(br pgx.BatchResults, held []laterStmt) error {
	for _, s := range held {
		var err error
		if s.read != nil {
			var rows pgx.Rows
			if rows, err = br.Query(); err == nil {
				err = s.read(rows)
				rows.Close()
				if err == nil {
					err = rows.Err()
				}
			}
		} else {
			_, err = br.Exec()
		}
		if err != nil {
			// Mapped here: the statement that pays for the round trip is
			// not the one that failed, and its own mapping would not fit.
			return dbError(err, nil)
		}
	}
	return nil
}

// batchRows are the rows of a batch's last statement; the batch is closed
// with them.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.err = r.br.Close()
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// rowOf is pgx.Row over rows, as pgx's own QueryRow makes it: the first
// row, or pgx.ErrNoRows.
type rowOf struct{ rows pgx.Rows }

func (r rowOf) Scan(dest ...any) error {
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
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
