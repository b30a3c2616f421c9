package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
)

func TestAudit(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	w := newWorld(t, db)
	d := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
	entries := []*approvals.AuditEntry{
		{WorkspaceID: w.ws.ID, At: t0, ActorID: w.editor.ID, Actor: w.editor.Label(), Channel: approvals.ChannelSlack,
			Action: "draft.submit", Outcome: approvals.OutcomeOK, DraftID: d.ID, Revision: 1, AccountID: w.account.ID,
			Meta: approvals.Meta{SlackUserID: "U1", SlackTeamID: "T1", RequestID: "r1"}},
		{WorkspaceID: w.ws.ID, At: t0.Add(time.Minute), Actor: "someone@elsewhere.test", Channel: approvals.ChannelEmail,
			Action: "draft.approve", Outcome: approvals.OutcomeRefused, DraftID: d.ID, Revision: 1, Detail: "link expired",
			Meta: approvals.Meta{IP: "203.0.113.9", UserAgent: "Mail/1.0"}},
		// Not about this draft.
		{WorkspaceID: w.ws.ID, At: t0, Actor: "operator", Channel: approvals.ChannelCLI, Action: "member.add", Outcome: approvals.OutcomeOK},
	}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		for _, e := range entries {
			if err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	var got []*approvals.AuditEntry
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
		got, err = tx.DraftAudit(ctx, w.ws.ID, d.ID)
		return err
	})
	if diff := cmp.Diff(entries[:2], got); diff != "" {
		t.Errorf("DraftAudit (-want +got)\n%s", diff)
	}

	for _, sql := range []string{
		`UPDATE audit_log SET detail = 'edited' WHERE id = $1`,
		`DELETE FROM audit_log WHERE id = $1`,
		`TRUNCATE audit_log`,
	} {
		t.Run(sql, func(t *testing.T) {
			var args []any
			if sql != `TRUNCATE audit_log` {
				args = append(args, entries[0].ID)
			}
			_, err := db.Pool().Exec(context.Background(), sql, args...)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "SO003" {
				t.Fatalf("err = %v, want SQLSTATE SO003", err)
			}
		})
	}
}
