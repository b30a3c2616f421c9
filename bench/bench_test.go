package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/internal/pgtest"
)

// TestSmoke runs every phase at a tiny size so the harness never rots. It
// checks that each figure was measured and written, not that targets were
// met (CI machines are noisy). Without PostgreSQL it fails, unless
// SIGNOFF_TEST_ALLOW_SKIP=1 outside CI, as the other packages' tests do.
func TestSmoke(t *testing.T) {
	pgtest.SkipShort(t, "the smoke run starts PostgreSQL")
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	cfg := SmokeConfig()
	var log strings.Builder
	cfg.Log = &log
	cfg.PlansPath = filepath.Join(t.TempDir(), "plans.txt")
	rep, err := Run(ctx, cfg)
	if errors.Is(err, pgtest.ErrNoPostgres) && os.Getenv("CI") != "true" && os.Getenv(pgtest.EnvAllowSkip) == "1" {
		t.Skipf("no PostgreSQL (%s=1): %v", pgtest.EnvAllowSkip, err)
	}
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	want := []string{
		"decisions/s ÷ pgbench TPS, 2 clients", "decisions/s ÷ hand-written decision TPS, 2 clients", "hand-written decision TPS, 2 clients", "/slack/interactions p99 at 50 req/s",
		"outbox emails/s ÷ plain go-mail emails/s", "submit → Slack post + email p99 at 20/s, grouping window 0",
		"grouped email lateness past a 2s window, max",
		"App Home query (Service.Inbox) p99", "approver's pending list (Service.List) p99",
		"seq scans of big tables in Inbox/List plans",
		// `signoff serve` runs as its own process: its memory apart from
		// the bench's.
		"server RSS, max during decisions", "server RSS, max during the scale phase", "server peak RSS over the run (VmHWM)",
		"bench process RSS, max during the scale phase",
		"review page p99 with 30 drafts waiting", "approve all of 10 drafts p99",
		// Where the CPU went (/proc). The dispatch's CPU figures are not
		// required: the tiny go-mail run may end within one clock tick.
		"CPU per decision ÷ per hand-written decision, 2 clients", "ratio bound by PostgreSQL's CPU per decision, 2 clients",
	}
	got := map[string]Figure{}
	for _, f := range rep.Figures {
		got[f.Name] = f
	}
	for _, name := range want {
		f, ok := got[name]
		if !ok {
			t.Errorf("figure %q missing", name)
			continue
		}
		if f.Goal != Info && f.Verdict != "PASS" && f.Verdict != "MISS" {
			t.Errorf("figure %q: verdict %q", name, f.Verdict)
		}
		if f.Value < 0 || (f.Unit != "" && f.Value == 0) {
			t.Errorf("figure %q: value %v", name, f.Value)
		}
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "ran as its own process (pid ") }) {
		t.Errorf("no note says signoff serve ran as its own process: %q", rep.Notes)
	}
	out := filepath.Join(t.TempDir(), "results.json")
	if err := rep.WriteJSON(out); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), `"verdict"`) {
		t.Errorf("results.json: %v %.200s", err, b)
	}
	if b, err := os.ReadFile(cfg.PlansPath); err != nil || !strings.Contains(string(b), "Index") {
		t.Errorf("plans.txt has no index use: %v", err)
	}
}

func TestJudge(t *testing.T) {
	tests := []struct {
		f    Figure
		want string
	}{
		{Figure{Value: 0.6, Goal: AtLeast, Target: 0.5}, "PASS"},
		{Figure{Value: 0.4, Goal: AtLeast, Target: 0.5}, "MISS"},
		{Figure{Value: 40, Goal: AtMost, Target: 50}, "PASS"},
		{Figure{Value: 60, Goal: AtMost, Target: 50}, "MISS"},
		{Figure{Value: 60}, ""},
	}
	for _, tt := range tests {
		tt.f.judge()
		if tt.f.Verdict != tt.want {
			t.Errorf("%+v: verdict %q, want %q", tt.f, tt.f.Verdict, tt.want)
		}
		if (tt.f.Verdict == "MISS") != (tt.f.Miss != "") {
			t.Errorf("%+v: miss %q", tt.f, tt.f.Miss)
		}
	}
}

func TestParsePlans(t *testing.T) {
	log := "2026-11-25 10:00:00.000 UTC [42] LOG:  duration: 0.050 ms  plan:\n" +
		"\tQuery Text: SELECT * FROM drafts\n\t\tWHERE id = $1\n" +
		"\tSeq Scan on drafts  (cost=0.00..1.00 rows=1 width=8)\n" +
		"2026-11-25 10:00:00.001 UTC [42] LOG:  statement: COMMIT\n" +
		"2026-11-25 10:00:00.002 UTC [42] LOG:  duration: 0.010 ms  plan:\n" +
		"\tQuery Text: SELECT * FROM workspaces\n" +
		"\tSeq Scan on workspaces  (cost=0.00..1.00 rows=1 width=8)\n"
	plans := parsePlans(log)
	if len(plans) != 2 || plans[0].Query != "SELECT * FROM drafts WHERE id = $1" {
		t.Fatalf("plans = %+v", plans)
	}
	got := bigSeqScans(plans, map[string]bool{"drafts": true})
	if len(got) != 1 || !strings.HasPrefix(got[0], "drafts in: ") {
		t.Errorf("bigSeqScans = %q", got)
	}
}
