package pgtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signoff-app/signoff/store"
)

// Trips counts the round trips a pool's connections make while counting:
// every query outside a batch, and every batch (its queries travel
// together) once. Connections are told apart, so concurrent callers (a
// dispatcher's workers) are counted right.
type Trips struct {
	mu      sync.Mutex
	on      bool
	n       int
	inBatch map[*pgx.Conn]bool
	log     []string
}

var (
	_ pgx.QueryTracer = (*Trips)(nil)
	_ pgx.BatchTracer = (*Trips)(nil)
)

// OpenCounted opens the database at url, as MustOpen does, with its round
// trips counted by the Trips returned. maxConns 0 keeps pgx's default.
func OpenCounted(tb testing.TB, url string, maxConns int32) (*store.DB, *Trips) {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatal(err)
	}
	tr := &Trips{inBatch: map[*pgx.Conn]bool{}}
	cfg.ConnConfig.Tracer = tr
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	db := mustOpen(tb, func(ctx context.Context) (*store.DB, error) { return store.OpenConfig(ctx, cfg) })
	return db, tr
}

func (c *Trips) TraceQueryStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.on && !c.inBatch[conn] {
		c.n++
		c.log = append(c.log, strings.Join(strings.Fields(d.SQL), " "))
	}
	return ctx
}

func (c *Trips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *Trips) TraceBatchStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inBatch[conn] = true
	if c.on {
		c.n++
		c.log = append(c.log, fmt.Sprintf("batch of %d", d.Batch.Len()))
	}
	return ctx
}

func (c *Trips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (c *Trips) TraceBatchEnd(_ context.Context, conn *pgx.Conn, _ pgx.TraceBatchEndData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.inBatch, conn)
}

// Count runs f with counting on and returns the round trips made
// meanwhile; with -v it logs their statements.
func (c *Trips) Count(tb testing.TB, f func()) int {
	tb.Helper()
	c.mu.Lock()
	c.log, c.n, c.on = nil, 0, true
	c.mu.Unlock()
	f()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	if testing.Verbose() {
		for _, q := range c.log {
			if len(q) > 110 {
				q = q[:110]
			}
			tb.Log(q)
		}
	}
	return c.n
}
