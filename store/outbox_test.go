package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/store"
)

func enqueue(t *testing.T, db *store.DB, wsID int64, keys ...string) []*approvals.OutboxMessage {
	t.Helper()
	var msgs []*approvals.OutboxMessage
	for _, k := range keys {
		msgs = append(msgs, &approvals.OutboxMessage{WorkspaceID: wsID, Channel: "email", IdempotencyKey: k, NextAttemptAt: t0, CreatedAt: t0,
			Payload: approvals.Notification{Event: approvals.EventApprovalRequested, WorkspaceID: wsID, DraftID: 1, Revision: 1, Target: "c@x.test"}})
	}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.EnqueueOutbox(ctx, msgs) })
	return msgs
}

func claim(t *testing.T, db *store.DB, now time.Time, limit int) []*approvals.OutboxMessage {
	t.Helper()
	var got []*approvals.OutboxMessage
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
		got, err = store.OutboxOf(tx).ClaimOutbox(ctx, now, limit, time.Minute)
		return err
	})
	return got
}

// outcome is the outcome state of claimed message m, with its claim's lease.
func outcome(m *approvals.OutboxMessage, state approvals.OutboxState, next time.Time, err string) approvals.OutboxOutcome {
	o := approvals.OutboxOutcome{ID: m.ID, State: state, NextAttemptAt: next, Error: err}
	if m.LeaseUntil != nil {
		o.Lease = *m.LeaseUntil
	}
	return o
}

// mark records outcomes at at and returns the IDs of those that were not
// their claim's (stale).
func mark(t *testing.T, db *store.DB, at time.Time, outcomes ...approvals.OutboxOutcome) []int64 {
	t.Helper()
	stale, err := db.MarkOutboxBatch(context.Background(), at, outcomes)
	if err != nil {
		t.Fatal(err)
	}
	return stale
}

func keys(ms []*approvals.OutboxMessage) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.IdempotencyKey)
	}
	return out
}

func TestOutbox(t *testing.T) {
	db := pgtest.MustOpen(t, env.NewDatabase(t)) // claims see every workspace's rows
	w := newWorld(t, db)

	t.Run("duplicates skipped", func(t *testing.T) {
		first := enqueue(t, db, w.ws.ID, "a", "b")
		again := enqueue(t, db, w.ws.ID, "b", "c")
		if first[1].ID == 0 || again[0].ID != 0 || again[1].ID == 0 {
			t.Errorf("IDs: first %d %d, again %d %d; want the duplicate b unset", first[0].ID, first[1].ID, again[0].ID, again[1].ID)
		}
		payload := approvals.Notification{Event: approvals.EventApprovalRequested, WorkspaceID: w.ws.ID, DraftID: 1, Revision: 1, Target: "c@x.test"}
		want := &approvals.OutboxMessage{ID: first[0].ID, WorkspaceID: w.ws.ID, Channel: "email", IdempotencyKey: "a",
			Payload: payload, State: approvals.OutboxPending, NextAttemptAt: t0, CreatedAt: t0}
		if diff := cmp.Diff(want, first[0]); diff != "" {
			t.Errorf("enqueued (-want +got)\n%s", diff)
		}
		var all []*approvals.OutboxMessage
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) { all, err = tx.Outbox(ctx, "", 0); return err })
		if diff := cmp.Diff([]string{"c", "b", "a"}, keys(all)); diff != "" {
			t.Fatalf("Outbox (-want +got)\n%s", diff)
		}
		// The answer, what the insert set and the rest as given, is the
		// row as stored, payload included.
		if diff := cmp.Diff(all[2], first[0]); diff != "" {
			t.Errorf("enqueued message differs from the stored row (-stored +answered)\n%s", diff)
		}
	})

	t.Run("claim, retry, lease, dead, sent", func(t *testing.T) {
		got := claim(t, db, t0, 2)
		if diff := cmp.Diff([]string{"a", "b"}, keys(got)); diff != "" {
			t.Fatalf("first claim (-want +got)\n%s", diff)
		}
		if got[0].Attempts != 1 {
			t.Errorf("attempts = %d, want 1", got[0].Attempts)
		}
		// Leased rows are not claimed again while the lease holds.
		if diff := cmp.Diff([]string{"c"}, keys(claim(t, db, t0.Add(30*time.Second), 10))); diff != "" {
			t.Errorf("claim under lease (-want +got)\n%s", diff)
		}
		a, b := got[0], got[1]
		if stale := mark(t, db, t0.Add(time.Second), outcome(a, approvals.OutboxPending, t0.Add(time.Hour), "421 try later"),
			outcome(b, approvals.OutboxSent, time.Time{}, "")); len(stale) != 0 {
			t.Fatalf("outcomes of a and b: %v stale, want none", stale)
		}
		// c's worker died: its lease runs out and c is due again; a waits for its retry time.
		c := claim(t, db, t0.Add(2*time.Minute), 10)
		if diff := cmp.Diff([]string{"c"}, keys(c)); diff != "" {
			t.Fatalf("claim after lease expiry (-want +got)\n%s", diff)
		}
		if c[0].Attempts != 2 {
			t.Errorf("c attempts = %d, want 2", c[0].Attempts)
		}
		if stale := mark(t, db, t0.Add(3*time.Minute), outcome(c[0], approvals.OutboxSent, time.Time{}, "")); len(stale) != 0 {
			t.Fatalf("c's outcome stale")
		}
		retried := claim(t, db, t0.Add(time.Hour), 10)
		if diff := cmp.Diff([]string{"a"}, keys(retried)); diff != "" {
			t.Fatalf("claim at retry time (-want +got)\n%s", diff)
		}
		if retried[0].Attempts != 2 || retried[0].LastError != "421 try later" {
			t.Errorf("retried: attempts %d, last error %q", retried[0].Attempts, retried[0].LastError)
		}
		if stale := mark(t, db, t0.Add(time.Hour), outcome(retried[0], approvals.OutboxDead, time.Time{}, "550 no such user")); len(stale) != 0 {
			t.Fatalf("a's outcome stale")
		}

		var dead, sent []*approvals.OutboxMessage
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
			if dead, err = tx.Outbox(ctx, approvals.OutboxDead, 10); err != nil {
				return err
			}
			sent, err = tx.Outbox(ctx, approvals.OutboxSent, 10)
			return err
		})
		if diff := cmp.Diff([]string{"a"}, keys(dead)); diff != "" {
			t.Errorf("dead (-want +got)\n%s", diff)
		}
		if diff := cmp.Diff([]string{"c", "b"}, keys(sent)); diff != "" {
			t.Errorf("sent (-want +got)\n%s", diff)
		}
		if at := sent[1].SentAt; at == nil || !at.Equal(t0.Add(time.Second)) {
			t.Errorf("b sent at %v, want %v", at, t0.Add(time.Second))
		}
		if got := claim(t, db, t0.Add(48*time.Hour), 10); len(got) != 0 {
			t.Errorf("claimed %v, want nothing left", keys(got))
		}

		// A sent message stays sent, whatever comes after: another
		// outcome is not its claim's and changes nothing; a missing one
		// is no one's.
		tests := []struct {
			name    string
			outcome approvals.OutboxOutcome
		}{
			{"retry a sent message", outcome(b, approvals.OutboxPending, t0, "x")},
			{"kill a sent message", outcome(b, approvals.OutboxDead, time.Time{}, "x")},
			{"send again", outcome(b, approvals.OutboxSent, time.Time{}, "")},
			{"missing", approvals.OutboxOutcome{ID: -1, State: approvals.OutboxSent}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if stale := mark(t, db, t0.Add(5*time.Hour), tt.outcome); !slices.Equal(stale, []int64{tt.outcome.ID}) {
					t.Errorf("stale %v, want %d", stale, tt.outcome.ID)
				}
				var sent []*approvals.OutboxMessage
				mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
					sent, err = tx.Outbox(ctx, approvals.OutboxSent, 10)
					return err
				})
				if len(sent) != 2 || sent[1].ID != b.ID || sent[1].SentAt == nil || !sent[1].SentAt.Equal(t0.Add(time.Second)) || sent[1].LastError != "" {
					t.Errorf("b after: %+v", sent)
				}
			})
		}
	})

	t.Run("concurrent claimers never share a row", func(t *testing.T) {
		var ks []string
		for i := 0; i < 200; i++ {
			ks = append(ks, fmt.Sprintf("bulk-%d", i))
		}
		enqueue(t, db, w.ws.ID, ks...)
		const workers = 8
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for i := 0; i < workers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					var got []*approvals.OutboxMessage
					err := inTx(db, func(ctx context.Context, tx approvals.Tx) (err error) {
						got, err = store.OutboxOf(tx).ClaimOutbox(ctx, t0.Add(72*time.Hour), 7, time.Hour)
						return err
					})
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, m := range got {
						seen[m.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for id, n := range seen {
			if n != 1 {
				t.Errorf("message %d claimed %d times", id, n)
			}
		}
		if len(seen) != 200 {
			t.Errorf("claimed %d messages, want 200", len(seen))
		}
	})
}

// TestOutboxBatch: MarkOutboxBatch records a batch's outcomes in one
// statement, inside a transaction or as one of its own; retry and dead
// apply only under the claim's own lease, sent applies to any pending row,
// and what was not this claim's is reported.
func TestOutboxBatch(t *testing.T) {
	type markFunc func(ctx context.Context, db *store.DB, at time.Time, outcomes []approvals.OutboxOutcome) ([]int64, error)
	tests := []struct {
		name string
		mark markFunc
	}{
		{"in a transaction", func(ctx context.Context, db *store.DB, at time.Time, outcomes []approvals.OutboxOutcome) (stale []int64, err error) {
			err = inTx(db, func(ctx context.Context, tx approvals.Tx) (err error) {
				stale, err = store.OutboxOf(tx).MarkOutboxBatch(ctx, at, outcomes)
				return err
			})
			return stale, err
		}},
		{"on its own", func(ctx context.Context, db *store.DB, at time.Time, outcomes []approvals.OutboxOutcome) ([]int64, error) {
			return db.MarkOutboxBatch(ctx, at, outcomes)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := pgtest.MustOpen(t, env.NewDatabase(t))
			w := newWorld(t, db)
			enqueue(t, db, w.ws.ID, "a", "b", "c", "d")
			first := claim(t, db, t0, 10)                     // leased until t0+1m
			second := claim(t, db, t0.Add(2*time.Minute), 10) // first's lease ran out: taken again
			if len(first) != 4 || len(second) != 4 || first[0].LeaseUntil == nil || !first[0].LeaseUntil.Equal(t0.Add(time.Minute)) {
				t.Fatalf("claims: %d and %d rows, first lease %v", len(first), len(second), first[0].LeaseUntil)
			}
			mark := func(lease *time.Time, at time.Time, outcomes ...approvals.OutboxOutcome) []int64 {
				t.Helper()
				for i := range outcomes {
					outcomes[i].Lease = *lease
				}
				stale, err := tt.mark(context.Background(), db, at, outcomes)
				if err != nil {
					t.Fatal(err)
				}
				return stale
			}
			a, b, c, d := first[0].ID, first[1].ID, first[2].ID, first[3].ID
			stale := mark(first[0].LeaseUntil, t0.Add(3*time.Minute),
				approvals.OutboxOutcome{ID: a, State: approvals.OutboxSent},
				approvals.OutboxOutcome{ID: b, State: approvals.OutboxPending, NextAttemptAt: t0.Add(time.Hour), Error: "421"},
				approvals.OutboxOutcome{ID: c, State: approvals.OutboxDead, Error: "550"})
			if diff := cmp.Diff([]int64{a, b, c}, stale); diff != "" {
				t.Errorf("stale of the expired claim (-want +got)\n%s", diff)
			}
			stale = mark(second[0].LeaseUntil, t0.Add(4*time.Minute),
				approvals.OutboxOutcome{ID: a, State: approvals.OutboxSent},
				approvals.OutboxOutcome{ID: b, State: approvals.OutboxPending, NextAttemptAt: t0.Add(time.Hour), Error: "421 try later"},
				approvals.OutboxOutcome{ID: c, State: approvals.OutboxDead, Error: "550 no such user"},
				approvals.OutboxOutcome{ID: d, State: approvals.OutboxSent})
			if diff := cmp.Diff([]int64{a}, stale); diff != "" {
				t.Errorf("stale of the live claim (-want +got)\n%s", diff)
			}
			var all []*approvals.OutboxMessage
			mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) { all, err = tx.Outbox(ctx, "", 0); return err })
			type row struct {
				Key, State, Err string
				Next            time.Time
				Sent            *time.Time
				Leased          bool
			}
			var got []row
			for _, m := range all {
				got = append(got, row{m.IdempotencyKey, string(m.State), m.LastError, m.NextAttemptAt, m.SentAt, m.LeaseUntil != nil})
			}
			sentA, sentD := t0.Add(3*time.Minute), t0.Add(4*time.Minute)
			want := []row{
				{"d", "sent", "", t0, &sentD, false},
				{"c", "dead", "550 no such user", t0, nil, false},
				{"b", "pending", "421 try later", t0.Add(time.Hour), nil, false},
				{"a", "sent", "", t0, &sentA, false},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rows (-want +got)\n%s", diff)
			}
			unknown := []approvals.OutboxOutcome{{ID: 1, State: "lost", Lease: *first[0].LeaseUntil}}
			if _, err := tt.mark(context.Background(), db, t0, unknown); approvals.ErrorCode(err) != approvals.EINVALID {
				t.Errorf("unknown outcome state: %v, want EINVALID", err)
			}
		})
	}
}

// TestOutboxBatchOfClaims: one call records the outcomes of several
// claims (the dispatcher's recorder serves all its batches), each under its
// own claim's lease.
func TestOutboxBatchOfClaims(t *testing.T) {
	db := pgtest.MustOpen(t, env.NewDatabase(t))
	w := newWorld(t, db)
	enqueue(t, db, w.ws.ID, "a", "b", "c")
	first := claim(t, db, t0, 1)                      // a, leased until t0+1m
	second := claim(t, db, t0.Add(10*time.Second), 2) // b and c, until t0+1m10s
	if len(first) != 1 || len(second) != 2 {
		t.Fatalf("claims: %d and %d rows", len(first), len(second))
	}
	a, b, c := first[0], second[0], second[1]
	next := t0.Add(time.Hour)
	stale, err := db.MarkOutboxBatch(context.Background(), t0.Add(20*time.Second), []approvals.OutboxOutcome{
		{ID: a.ID, State: approvals.OutboxPending, NextAttemptAt: next, Error: "421", Lease: *a.LeaseUntil},
		{ID: b.ID, State: approvals.OutboxDead, Error: "550", Lease: *b.LeaseUntil},
		// c's outcome names a's lease, which is not c's: left to its claim.
		{ID: c.ID, State: approvals.OutboxDead, Error: "550", Lease: *a.LeaseUntil},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{c.ID}, stale); diff != "" {
		t.Errorf("stale (-want +got)\n%s", diff)
	}
	var all []*approvals.OutboxMessage
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) { all, err = tx.Outbox(ctx, "", 0); return err })
	got := map[string]string{}
	for _, m := range all {
		got[m.IdempotencyKey] = fmt.Sprintf("%s %q leased=%v", m.State, m.LastError, m.LeaseUntil != nil)
	}
	want := map[string]string{"a": `pending "421" leased=false`, "b": `dead "550" leased=false`, "c": `pending "" leased=true`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got)\n%s", diff)
	}
}

// TestOutboxMarkPlan: MarkOutboxBatch finds its rows by primary key, not
// by walking the pending rows, even when the statistics were taken while
// the outbox was drained and a burst of rows came in since (what the
// planner then underrates is the partial index of pending rows).
func TestOutboxMarkPlan(t *testing.T) {
	conn := planConn(t,
		`INSERT INTO outbox (channel, idempotency_key, payload, state, sent_at)
			SELECT 'email', 'old' || g, '{}', 'sent', now() FROM generate_series(1, 5000) g`,
		`ANALYZE outbox`,
		`INSERT INTO outbox (channel, idempotency_key, payload, lease_until)
			SELECT 'email', 'burst' || g, '{}', now() + interval '1 minute' FROM generate_series(1, 2000) g`,
		`PREPARE mark AS `+store.MarkOutboxSQL)
	for _, ids := range []string{"{5001}", "{5001,5002,5003,5004,5005,5006,5007,5008}"} {
		plan := planOf(t, conn, `EXPLAIN EXECUTE mark('`+ids+`', NULL, NULL, NULL, NULL, now())`)
		if strings.Contains(plan, "outbox_due_idx") || strings.Contains(plan, "Seq Scan on outbox") {
			t.Errorf("plan for %s reads the pending rows:\n%s", ids, plan)
		}
	}
}

// TestOutboxClaimPlan: a claim reads the due rows and its groups by index,
// whatever waits behind them (a backlog, tomorrow's rows, grouped requests
// in their window), also under the generic plan a prepared claim gets
// after its fifth run, and after a burst of enqueues that the statistics,
// taken while the outbox was drained, do not know of.
func TestOutboxClaimPlan(t *testing.T) {
	backlog := []string{
		`INSERT INTO outbox (channel, idempotency_key, payload, next_attempt_at)
			SELECT 'email', 'tomorrow' || g, '{}', now() + interval '1 day' FROM generate_series(1, 40000) g`,
		`INSERT INTO outbox (channel, idempotency_key, payload, next_attempt_at, group_key)
			SELECT 'email', 'grouped' || g, '{}', now() + interval '5 minutes', 'requests/w1/m' || (g % 50) || '/email' FROM generate_series(1, 5000) g`,
		`INSERT INTO outbox (channel, idempotency_key, payload, next_attempt_at)
			SELECT 'slack', 'due' || g, '{}', now() - interval '1 second' FROM generate_series(1, 3000) g`,
		`ANALYZE outbox`,
	}
	burst := []string{
		`INSERT INTO outbox (channel, idempotency_key, payload, next_attempt_at)
			SELECT 'email', 'old' || g, '{}', now() - random() * interval '1 hour' FROM generate_series(1, 30000) g`,
		`UPDATE outbox SET state = 'sent', sent_at = now()`,
		`VACUUM ANALYZE outbox`,
		`INSERT INTO outbox (channel, idempotency_key, payload, next_attempt_at)
			SELECT 'email', 'burst' || g, '{}', now() FROM generate_series(1, 10000) g`,
	}
	for _, tt := range []struct {
		name  string
		setup []string
	}{{"backlog", backlog}, {"burst after drained statistics", burst}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			conn := planConn(t, append(tt.setup, `PREPARE claim AS `+store.ClaimOutboxSQL)...)
			for i := range 7 {
				tx, err := conn.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				plan := planOf(t, tx, `EXPLAIN EXECUTE claim(now(), 50, interval '2 minutes')`)
				_ = tx.Rollback(ctx)
				// outbox_due_idx is for the due rows alone: the mates read
				// through it would be every pending row.
				if strings.Contains(plan, "Seq Scan on outbox") || strings.Contains(plan, "outbox_state_idx") ||
					strings.Count(plan, "outbox_due_idx") != 1 {
					t.Fatalf("plan %d reads every pending row:\n%s", i+1, plan)
				}
			}
		})
	}
}

// TestOutboxStatsPlan: the metrics' count of pending and dead messages
// reads them by index, not every sent message of the retention period.
func TestOutboxStatsPlan(t *testing.T) {
	conn := planConn(t,
		`INSERT INTO outbox (channel, idempotency_key, payload, state, sent_at)
			SELECT 'email', 'old' || g, '{}', 'sent', now() FROM generate_series(1, 100000) g`,
		`INSERT INTO outbox (channel, idempotency_key, payload, state) SELECT 'email', 'dead' || g, '{}', 'dead' FROM generate_series(1, 50) g`,
		`INSERT INTO outbox (channel, idempotency_key, payload) SELECT 'slack', 'due' || g, '{}' FROM generate_series(1, 50) g`,
		`ANALYZE outbox`)
	plan := planOf(t, conn, `EXPLAIN `+store.OutboxStatsSQL)
	if strings.Contains(plan, "Seq Scan on outbox") {
		t.Fatalf("plan reads every message:\n%s", plan)
	}
}

// planConn returns a connection of a new database on which stmts ran, for
// a test of a statement's plan; it is released when the test ends.
func planConn(t *testing.T, stmts ...string) *pgxpool.Conn {
	t.Helper()
	db := pgtest.MustOpen(t, env.NewDatabase(t))
	ctx := context.Background()
	conn, err := db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Release)
	for _, sql := range stmts {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	return conn
}

// planOf runs explain, an EXPLAIN statement, on q and returns the plan.
func planOf(t *testing.T, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, explain string, args ...any) string {
	t.Helper()
	rows, err := q.Query(context.Background(), explain, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestOnEnqueue: the hook runs after a commit that added outbox rows, not
// after one that added none or rolled back.
func TestOnEnqueue(t *testing.T) {
	db := pgtest.MustOpen(t, env.NewDatabase(t))
	w := newWorld(t, db)
	var calls atomic.Int64
	db.OnEnqueue(func() { calls.Add(1) })
	defer db.OnEnqueue(nil)
	enqueue(t, db, w.ws.ID, "x")
	enqueue(t, db, w.ws.ID, "x") // a duplicate: nothing added
	_ = inTx(db, func(ctx context.Context, tx approvals.Tx) error {
		if err := tx.EnqueueOutbox(ctx, []*approvals.OutboxMessage{{WorkspaceID: w.ws.ID, Channel: "email", IdempotencyKey: "y"}}); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if got := calls.Load(); got != 1 {
		t.Errorf("hook called %d times, want 1", got)
	}
}

// TestEnqueueLeavesWorkspaceUnlocked: queuing notifications takes no lock on
// the workspace's row (migration 00008). With a foreign key it took FOR KEY
// SHARE, and every notifying transaction of a workspace shared that one row.
func TestEnqueueLeavesWorkspaceUnlocked(t *testing.T) {
	db := pgtest.MustOpen(t, env.NewDatabase(t))
	w := newWorld(t, db)
	ctx := context.Background()
	inTx, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.InTx(ctx, func(ctx context.Context, tx approvals.Tx) error {
			msgs := []*approvals.OutboxMessage{{WorkspaceID: w.ws.ID, Channel: "email", IdempotencyKey: "lock-probe", NextAttemptAt: t0, CreatedAt: t0,
				Payload: approvals.Notification{Event: approvals.EventApprovalRequested, WorkspaceID: w.ws.ID, DraftID: 1, Revision: 1}}}
			if err := tx.EnqueueOutbox(ctx, msgs); err != nil {
				return err
			}
			// A read sends the held INSERT: the row is in, uncommitted.
			if _, err := tx.WorkspaceByID(ctx, w.ws.ID); err != nil {
				return err
			}
			close(inTx)
			<-release
			return nil
		})
	}()
	select {
	case <-inTx:
	case err := <-done:
		t.Fatalf("enqueue: %v", err)
	}
	var locked bool
	_, err := db.Pool().Exec(ctx, `SELECT 1 FROM workspaces WHERE id = $1 FOR UPDATE NOWAIT`, w.ws.ID)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
		locked = true
	} else if err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if locked {
		t.Error("a transaction that queued a notification holds a lock on its workspace's row")
	}
	var n int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE idempotency_key = 'lock-probe'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("probe row: %d, %v", n, err)
	}
}
