package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/store"
)

func TestPrune(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustOpen(t, pgtest.NewDatabase(t)) // its own database: pruning is global
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	old, recent := now.Add(-40*24*time.Hour), now.Add(-time.Hour)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool().Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO workspaces (slug, name) VALUES ('acme', 'Acme')`)
	exec(`INSERT INTO api_tokens (workspace_id, name, hash) SELECT id, 'pub', decode(repeat('ab', 32), 'hex') FROM workspaces`)
	for i, at := range []time.Time{old, recent} {
		exec(`INSERT INTO outbox (channel, idempotency_key, payload, state, sent_at, created_at) VALUES ('email', $1, '{}', 'sent', $2, $2)`, "sent"+string(rune('a'+i)), at)
		exec(`INSERT INTO outbox (channel, idempotency_key, payload, state, created_at) VALUES ('email', $1, '{}', 'pending', $2)`, "pending"+string(rune('a'+i)), at)
		exec(`INSERT INTO outbox (channel, idempotency_key, payload, state, created_at) VALUES ('email', $1, '{}', 'dead', $2)`, "dead"+string(rune('a'+i)), at)
		exec(`INSERT INTO slack_deliveries (key, created_at) VALUES ($1, $2)`, "d"+string(rune('a'+i)), at)
		exec(`INSERT INTO idempotency_keys (token_id, key, request_hash, created_at) SELECT id, $1, decode(repeat('cd', 32), 'hex'), $2 FROM api_tokens`, "k"+string(rune('a'+i)), at)
		exec(`INSERT INTO audit_log (channel, action, outcome, at) VALUES ('cli', 'test', 'ok', $1)`, at)
	}
	counts := func() map[string]int {
		got := map[string]int{}
		for _, table := range []string{"outbox", "slack_deliveries", "idempotency_keys", "audit_log"} {
			var n int
			if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			got[table] = n
		}
		return got
	}
	days := func(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }
	r := store.Retention{Outbox: days(30), SlackDeliveries: days(30), IdempotencyKeys: time.Hour} // keys: at least 24h

	want := []store.Pruned{
		{Table: "outbox", Before: now.Add(-days(30)), Rows: 1},
		{Table: "slack_deliveries", Before: now.Add(-days(30)), Rows: 1},
		{Table: "idempotency_keys", Before: now.Add(-24 * time.Hour), Rows: 1},
	}
	t.Run("dry run", func(t *testing.T) {
		got, err := db.Prune(ctx, r, now, true)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("dry run (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]int{"outbox": 6, "slack_deliveries": 2, "idempotency_keys": 2, "audit_log": 2}, counts()); diff != "" {
			t.Errorf("a dry run deleted (-want +got):\n%s", diff)
		}
	})
	t.Run("prune keeps the audit log by default", func(t *testing.T) {
		got, err := db.Prune(ctx, r, now, false)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pruned (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]int{"outbox": 5, "slack_deliveries": 1, "idempotency_keys": 1, "audit_log": 2}, counts()); diff != "" {
			t.Errorf("rows left (-want +got):\n%s", diff)
		}
	})
	t.Run("retention.audit prunes old entries", func(t *testing.T) {
		r.Audit = days(30)
		got, err := db.Prune(ctx, r, now, false)
		if err != nil {
			t.Fatal(err)
		}
		if n := got[len(got)-1]; n.Table != "audit_log" || n.Rows != 1 {
			t.Errorf("audit pruned: %+v", got)
		}
		if n := counts()["audit_log"]; n != 1 {
			t.Errorf("%d audit rows left, want 1", n)
		}
	})
	t.Run("the audit log stays append-only otherwise", func(t *testing.T) {
		if _, err := db.Pool().Exec(ctx, `DELETE FROM audit_log`); err == nil {
			t.Errorf("a plain DELETE of the audit log went through")
		}
	})
}
