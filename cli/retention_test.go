package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/internal/pgtest"
)

// signoff prune --dry-run counts per table and deletes nothing; prune
// deletes; the audit log is kept unless retention.audit is set.
func TestPruneCommand(t *testing.T) {
	dbURL := testDB(t)
	c := newCLI(t, dbURL)
	c.ok("migrate")
	db := pgtest.MustOpen(t, dbURL)
	ctx := context.Background()
	old := time.Now().Add(-40 * 24 * time.Hour)
	for _, sql := range []string{
		`INSERT INTO outbox (channel, idempotency_key, payload, state, sent_at, created_at) VALUES ('email', 'old-sent', '{}', 'sent', $1, $1)`,
		`INSERT INTO outbox (channel, idempotency_key, payload, state, created_at) VALUES ('email', 'old-dead', '{}', 'dead', $1)`,
		`INSERT INTO slack_deliveries (key, created_at) VALUES ('old', $1)`,
		`INSERT INTO audit_log (channel, action, outcome, at) VALUES ('cli', 'test', 'ok', $1)`,
	} {
		if _, err := db.Pool().Exec(ctx, sql, old); err != nil {
			t.Fatal(err)
		}
	}
	count := func(table string) int {
		var n int
		if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	rows := func(out string) map[string]string {
		m := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			f := strings.Fields(line)
			m[f[0]] = f[len(f)-1]
		}
		return m
	}

	out := c.ok("prune", "--dry-run")
	if !strings.Contains(out, "WOULD DELETE") {
		t.Errorf("dry run header: %q", out)
	}
	if got := rows(out); got["outbox"] != "1" || got["slack_deliveries"] != "1" || got["idempotency_keys"] != "0" || got["audit_log"] != "" {
		t.Errorf("dry run counts %v:\n%s", got, out)
	}
	if count("outbox") != 2 || count("slack_deliveries") != 1 {
		t.Errorf("a dry run deleted rows")
	}

	out = c.ok("prune")
	if got := rows(out); got["outbox"] != "1" || got["slack_deliveries"] != "1" {
		t.Errorf("prune counts %v:\n%s", got, out)
	}
	if count("outbox") != 1 || count("slack_deliveries") != 0 || count("audit_log") == 0 {
		t.Errorf("after prune: outbox %d (the dead row stays), slack_deliveries %d, audit_log %d", count("outbox"), count("slack_deliveries"), count("audit_log"))
	}

	c.env["SIGNOFF_RETENTION_AUDIT"] = "30d"
	if got := rows(c.ok("prune")); got["audit_log"] != "1" {
		t.Errorf("retention.audit=30d: %v", got)
	}
}
