package bench

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// handwrittenScript is the pgbench script of the hand-written decision.
//
//go:embed handwritten.sql
var handwrittenScript string

// seedHandwritten gives each of clients pgbench clients per drafts to
// decide: copies, made in SQL, of tmpl, a draft submitted through the core
// and waiting on tmpl.Approver in the client tier, so the hand-written
// decision finds what a decision through HTTP finds.
func (e *env) seedHandwritten(ctx context.Context, tmpl pending, clients, per int) error {
	conn, err := pgx.Connect(ctx, e.cluster.DatabaseURL(benchDB))
	if err != nil {
		return fmt.Errorf("bench: hand-written seed: %w", err)
	}
	defer conn.Close(ctx)
	// Every column but the ones the copy sets, so a migration adding one
	// does not break the bench.
	columns := func(table string, except ...string) (string, error) {
		var cols string
		err := conn.QueryRow(ctx, `
			SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
			FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND NOT column_name = ANY ($2)`,
			table, except).Scan(&cols)
		return cols, err
	}
	dcols, err := columns("drafts", "id")
	if err != nil {
		return fmt.Errorf("bench: hand-written seed: %w", err)
	}
	rcols, err := columns("revisions", "draft_id")
	if err != nil {
		return fmt.Errorf("bench: hand-written seed: %w", err)
	}
	n := clients * per
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		stmts := []string{
			`CREATE TABLE IF NOT EXISTS bench_handwritten (
				client int, i int, draft_id bigint, workspace_id bigint, account_id bigint, approver_id bigint,
				PRIMARY KEY (client, i))`,
			`TRUNCATE bench_handwritten`,
			fmt.Sprintf(`
				WITH copies AS (
					INSERT INTO drafts (%[1]s)
					SELECT %[1]s FROM drafts, generate_series(1, %[2]d) WHERE id = %[3]d
					RETURNING id, workspace_id, account_id
				), numbered AS (
					SELECT c.*, row_number() OVER (ORDER BY c.id) - 1 AS k FROM copies c
				), revs AS (
					INSERT INTO revisions (draft_id, %[4]s)
					SELECT n.id, %[5]s FROM numbered n, revisions r WHERE r.draft_id = %[3]d
				)
				INSERT INTO bench_handwritten (client, i, draft_id, workspace_id, account_id, approver_id)
				SELECT k %% %[6]d, k / %[6]d + 1, id, workspace_id, account_id, %[7]d FROM numbered`,
				dcols, n, tmpl.DraftID, rcols, prefixed("r.", rcols), clients, tmpl.Approver.ID),
			`ANALYZE bench_handwritten`,
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("bench: hand-written seed: %w", err)
			}
		}
		return nil
	})
}

// prefixed qualifies each of a comma-separated column list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// handwritten runs the hand-written decision with clients for secs seconds
// on the drafts seedHandwritten made, and returns its TPS, how many
// transactions it ran and the CPU the run took. It then removes what the
// run left: the copies no client reached and the notifications it queued.
// stopProfile ends the run's profile (-profile), before that tidying.
func (e *env) handwritten(ctx context.Context, p *pgbench, clients, secs int, stopProfile func()) (tps float64, txs int, use cpuUse, err error) {
	stopProfile = sync.OnceFunc(stopProfile)
	defer stopProfile()
	dir, err := os.MkdirTemp("", "signoff-bench-")
	if err != nil {
		return 0, 0, cpuUse{}, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "handwritten.sql")
	if err := os.WriteFile(script, []byte(handwrittenScript), 0o644); err != nil {
		return 0, 0, cpuUse{}, fmt.Errorf("bench: %w", err)
	}
	// Prepared statements, as pgx's statement cache gives the server.
	c0 := e.cpu()
	out, err := p.run(ctx, "-n", "-M", "prepared", "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(secs),
		"-D", "i=0", "-f", script, e.cluster.DatabaseURL(benchDB))
	if err != nil {
		return 0, 0, cpuUse{}, err
	}
	use = c0.to(e.cpu())
	stopProfile()
	if tps, txs, err = parseTPS(out); err != nil {
		return 0, 0, cpuUse{}, err
	}
	// One transaction: a draft and its current revision point at each
	// other (the draft's key to it is deferred).
	const tidy = `
		DELETE FROM outbox WHERE idempotency_key LIKE 'handwritten:%';
		DELETE FROM revisions r USING bench_handwritten q, drafts d
		 WHERE r.draft_id = q.draft_id AND d.id = q.draft_id AND d.state = 'pending_client';
		DELETE FROM drafts d USING bench_handwritten q WHERE d.id = q.draft_id AND d.state = 'pending_client';
		TRUNCATE bench_handwritten`
	if err := e.exec(ctx, e.cluster.DatabaseURL(benchDB), tidy); err != nil {
		return 0, 0, cpuUse{}, err
	}
	return tps, txs, use, nil
}
