package store_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/store"
)

func TestDecision(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	w := newWorld(t, db)
	d := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
	first := &approvals.Decision{DraftID: d.ID, Revision: 1, Tier: approvals.TierClient, ApproverID: w.client.ID,
		Verdict: approvals.VerdictApprove, Channel: approvals.ChannelEmail, CreatedAt: t0}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.CreateDecision(ctx, first) })
	if first.ID == 0 || first.Approver != "Client <client@example.com>" {
		t.Errorf("CreateDecision set ID %d, Approver %q", first.ID, first.Approver)
	}

	t.Run("once per approver, revision and tier", func(t *testing.T) {
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
			again := &approvals.Decision{DraftID: d.ID, Revision: 1, Tier: approvals.TierClient, ApproverID: w.client.ID,
				Verdict: approvals.VerdictReject, Comment: "no", Channel: approvals.ChannelSlack}
			err := tx.CreateDecision(ctx, again)
			wantErr(t, err, approvals.ECONFLICT, "Client <client@example.com> already decided")
			if got := approvals.ErrorReason(err); got != approvals.ReasonDecided {
				t.Errorf("reason = %q", got)
			}
			var e *approvals.Error
			if errors.As(err, &e); e == nil || e.Decision == nil || e.Decision.ID != first.ID {
				t.Errorf("conflict carries decision %+v, want #%d", e, first.ID)
			}
			// The transaction is still usable.
			_, err = tx.Decisions(ctx, d.ID)
			return err
		})
	})

	t.Run("reject needs a comment", func(t *testing.T) {
		err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateDecision(ctx, &approvals.Decision{DraftID: d.ID, Revision: 1, Tier: approvals.TierInternal, ApproverID: w.admin.ID,
				Verdict: approvals.VerdictReject, Comment: "  \n", Channel: approvals.ChannelSlack})
		})
		wantErr(t, err, approvals.EINVALID, "reject needs a comment")
	})

	t.Run("no such revision", func(t *testing.T) {
		err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateDecision(ctx, &approvals.Decision{DraftID: d.ID, Revision: 7, Tier: approvals.TierInternal, ApproverID: w.admin.ID,
				Verdict: approvals.VerdictApprove, Channel: approvals.ChannelSlack})
		})
		wantErr(t, err, approvals.ENOTFOUND, "has no revision 7")
	})

	t.Run("history", func(t *testing.T) {
		text := "Nice 👍\n<i>really</i>  "
		second := &approvals.Decision{DraftID: d.ID, Revision: 1, Tier: approvals.TierInternal, ApproverID: w.admin.ID,
			Verdict: approvals.VerdictReject, Comment: text, Channel: approvals.ChannelSlack, CreatedAt: t0.Add(time.Minute)}
		c := &approvals.Comment{DraftID: d.ID, Revision: 1, AuthorID: w.client.ID, Text: text, Channel: approvals.ChannelEmail, CreatedAt: t0}
		note := &approvals.Comment{DraftID: d.ID, Revision: 1, Text: "No client approver left.", Channel: approvals.ChannelSystem, CreatedAt: t0.Add(time.Second)}
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
			if err := tx.CreateDecision(ctx, second); err != nil {
				return err
			}
			if err := tx.CreateComment(ctx, c); err != nil {
				return err
			}
			return tx.CreateComment(ctx, note)
		})
		var ds []*approvals.Decision
		var cs []*approvals.Comment
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
			if ds, err = tx.Decisions(ctx, d.ID); err != nil {
				return err
			}
			cs, err = tx.Comments(ctx, d.ID)
			return err
		})
		if diff := cmp.Diff([]*approvals.Decision{first, second}, ds); diff != "" {
			t.Errorf("Decisions (-want +got)\n%s", diff)
		}
		wantC := []*approvals.Comment{
			{ID: c.ID, DraftID: d.ID, Revision: 1, AuthorID: w.client.ID, Author: "Client <client@example.com>", Text: text, Channel: approvals.ChannelEmail, CreatedAt: t0},
			{ID: note.ID, DraftID: d.ID, Revision: 1, Author: "Signoff", Text: "No client approver left.", Channel: approvals.ChannelSystem, CreatedAt: t0.Add(time.Second)},
		}
		if diff := cmp.Diff(wantC, cs); diff != "" {
			t.Errorf("Comments (-want +got)\n%s", diff)
		}
	})

	t.Run("concurrent clicks", func(t *testing.T) {
		d := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
		const n = 8
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			go func() {
				errs <- inTx(db, func(ctx context.Context, tx approvals.Tx) error {
					return tx.CreateDecision(ctx, &approvals.Decision{DraftID: d.ID, Revision: 1, Tier: approvals.TierClient,
						ApproverID: w.client.ID, Verdict: approvals.VerdictApprove, Channel: approvals.ChannelSlack})
				})
			}()
		}
		ok := 0
		for i := 0; i < n; i++ {
			err := <-errs
			switch approvals.ErrorCode(err) {
			case "":
				ok++
			case approvals.ECONFLICT:
			default:
				t.Errorf("click: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d clicks recorded a decision, want 1", ok)
		}
	})
}

// TestCreateDecisionLocked: the plain insert a decision makes under its
// draft's lock stores what CreateDecision stores, and the conflict the lock
// rules out still fails (aborting the transaction: nothing of it commits).
func TestCreateDecisionLocked(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	w := newWorld(t, db)
	d := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
	at := t0.Add(1500 * time.Nanosecond).In(time.FixedZone("CET", 3600))
	dec := &approvals.Decision{DraftID: d.ID, Revision: 1, Tier: approvals.TierClient, ApproverID: w.client.ID,
		Approver: w.client.Label(), Verdict: approvals.VerdictReject, Comment: "the logo is old", Channel: approvals.ChannelSlack, CreatedAt: at}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		if _, err := tx.LockDraft(ctx, w.ws.ID, d.ID); err != nil {
			return err
		}
		return tx.CreateDecisionLocked(ctx, w.ws.ID, dec)
	})
	if dec.ID == 0 || !dec.CreatedAt.Equal(t0.Add(time.Microsecond)) || dec.CreatedAt.Location() != time.UTC {
		t.Errorf("CreateDecisionLocked set ID %d, CreatedAt %v; want an ID and %v in UTC", dec.ID, dec.CreatedAt, t0.Add(time.Microsecond))
	}
	var got []*approvals.Decision
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
		got, err = tx.Decisions(ctx, d.ID)
		return err
	})
	if diff := cmp.Diff([]*approvals.Decision{dec}, got); diff != "" {
		t.Errorf("Decisions (-want +got)\n%s", diff)
	}

	t.Run("conflict", func(t *testing.T) {
		again := &approvals.Decision{DraftID: d.ID, Revision: 1, Tier: approvals.TierClient, ApproverID: w.client.ID,
			Verdict: approvals.VerdictApprove, Channel: approvals.ChannelEmail, CreatedAt: t0}
		err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
			if err := tx.AppendAudit(ctx, &approvals.AuditEntry{WorkspaceID: w.ws.ID, Actor: "test", Channel: approvals.ChannelCLI,
				Action: "draft.approve", Outcome: "ok", Detail: "locked conflict"}); err != nil {
				return err
			}
			return tx.CreateDecisionLocked(ctx, w.ws.ID, again)
		})
		wantErr(t, err, approvals.ECONFLICT, "was decided meanwhile")
		if got := approvals.ErrorReason(err); got != approvals.ReasonDecided {
			t.Errorf("reason = %q", got)
		}
		var audited int
		if err := db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE detail = 'locked conflict'`).Scan(&audited); err != nil {
			t.Fatal(err)
		} else if audited != 0 {
			t.Errorf("the failed transaction's audit entry was committed")
		}
	})

	t.Run("no time", func(t *testing.T) {
		err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateDecisionLocked(ctx, w.ws.ID, &approvals.Decision{DraftID: d.ID, Revision: 1, Tier: approvals.TierInternal,
				ApproverID: w.admin.ID, Verdict: approvals.VerdictApprove, Channel: approvals.ChannelSlack})
		})
		wantErr(t, err, approvals.EINTERNAL)
	})

	t.Run("no such revision", func(t *testing.T) {
		err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateDecisionLocked(ctx, w.ws.ID, &approvals.Decision{DraftID: d.ID, Revision: 7, Tier: approvals.TierInternal,
				ApproverID: w.admin.ID, Verdict: approvals.VerdictApprove, Channel: approvals.ChannelSlack, CreatedAt: t0})
		})
		wantErr(t, err, approvals.ENOTFOUND, "has no revision 7")
	})

	t.Run("another workspace's draft", func(t *testing.T) {
		other := newWorld(t, db)
		err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateDecisionLocked(ctx, other.ws.ID, &approvals.Decision{DraftID: d.ID, Revision: 1, Tier: approvals.TierInternal,
				ApproverID: other.admin.ID, Verdict: approvals.VerdictApprove, Channel: approvals.ChannelSlack, CreatedAt: t0})
		})
		wantErr(t, err, approvals.ENOTFOUND)
	})
}

// TestLockForDecision: the draft as LockDraft returns it and the rows as
// DecisionRows reads them, in one call; LockDraft's error for a draft that
// is missing or in another workspace, DecisionRows's for a missing member.
func TestLockForDecision(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	w := newWorld(t, db)
	d := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		if err := tx.SetGrant(ctx, w.grant(w.client)); err != nil {
			return err
		}
		if err := tx.AddApprover(ctx, w.approver(w.client, approvals.TierClient)); err != nil {
			return err
		}
		if err := tx.CreateComment(ctx, &approvals.Comment{DraftID: d.ID, Revision: 1, AuthorID: w.editor.ID, Text: "see caption", Channel: approvals.ChannelCLI, CreatedAt: t0}); err != nil {
			return err
		}
		return tx.CreateDecision(ctx, &approvals.Decision{DraftID: d.ID, Revision: 1, Tier: approvals.TierClient, ApproverID: w.client.ID,
			Verdict: approvals.VerdictApprove, Channel: approvals.ChannelEmail, CreatedAt: t0})
	})

	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		got, rows, err := tx.LockForDecision(ctx, w.ws.ID, d.ID, w.client.ID)
		if err != nil {
			return err
		}
		want, err := tx.LockDraft(ctx, w.ws.ID, d.ID)
		if err != nil {
			return err
		}
		wantRows, err := tx.DecisionRows(ctx, w.ws.ID, want, w.client.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("draft (-LockDraft +LockForDecision)\n%s", diff)
		}
		if diff := cmp.Diff(wantRows, rows); diff != "" {
			t.Errorf("rows (-DecisionRows +LockForDecision)\n%s", diff)
		}
		if len(rows.Decisions) != 1 || len(rows.Comments) != 1 || len(rows.Revisions) != 1 || len(rows.Approvers[approvals.TierClient]) != 1 || rows.Author == nil {
			t.Errorf("rows read too little: %+v", rows)
		}
		return nil
	})

	other := newWorld(t, db)
	for _, tt := range []struct {
		name      string
		ws, draft int64
	}{{"missing draft", w.ws.ID, d.ID + 1000}, {"draft of another workspace", other.ws.ID, d.ID}} {
		t.Run(tt.name, func(t *testing.T) {
			var lockErr error
			err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
				_, lockErr = tx.LockDraft(ctx, tt.ws, tt.draft)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			err = inTx(db, func(ctx context.Context, tx approvals.Tx) error {
				got, rows, err := tx.LockForDecision(ctx, tt.ws, tt.draft, w.client.ID)
				if got != nil || rows != nil {
					t.Errorf("got draft %+v, rows %+v", got, rows)
				}
				return err
			})
			wantErr(t, err, approvals.ENOTFOUND, "no draft #")
			if got, want := approvals.ErrorMessage(err), approvals.ErrorMessage(lockErr); got != want {
				t.Errorf("message %q, LockDraft's %q", got, want)
			}
		})
	}

	t.Run("missing member", func(t *testing.T) {
		err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
			got, rows, err := tx.LockForDecision(ctx, w.ws.ID, d.ID, other.client.ID)
			if got == nil || got.ID != d.ID || rows != nil {
				t.Errorf("got draft %+v, rows %+v; want the draft, no rows", got, rows)
			}
			return err
		})
		wantErr(t, err, approvals.ENOTFOUND, fmt.Sprintf("no member #%d", other.client.ID))
	})
}

// TestLockForDecisionWaits: the lookups run once the lock is granted, so a
// decision waiting on another's lock reads what that one committed (its
// decision, its new revision) with the draft.
func TestLockForDecisionWaits(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	w := newWorld(t, db)
	d := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
	var got *approvals.Draft
	var rows *approvals.DecisionRows
	err1, err2, waited := race(t, db, func(ctx context.Context, tx approvals.Tx) error {
		locked, _, err := tx.LockForDecision(ctx, w.ws.ID, d.ID, w.admin.ID)
		if err != nil {
			return err
		}
		if err := tx.CreateDecision(ctx, &approvals.Decision{DraftID: d.ID, Revision: 1, Tier: approvals.TierClient, ApproverID: w.admin.ID,
			Verdict: approvals.VerdictReject, Comment: "no", Channel: approvals.ChannelCLI, CreatedAt: t0}); err != nil {
			return err
		}
		locked.Revision, locked.State = 2, approvals.StatePendingInternal
		if err := tx.UpdateDraft(ctx, locked); err != nil {
			return err
		}
		return tx.CreateRevision(ctx, &approvals.Revision{DraftID: d.ID, Number: 2, Text: "v2", CreatedByID: w.editor.ID, CreatedAt: t0})
	}, func(ctx context.Context, tx approvals.Tx) (err error) {
		got, rows, err = tx.LockForDecision(ctx, w.ws.ID, d.ID, w.admin.ID)
		return err
	})
	if err1 != nil || err2 != nil {
		t.Fatalf("errors: %v, %v", err1, err2)
	}
	if !waited {
		t.Fatal("the second LockForDecision did not wait for the first's lock")
	}
	if got.Revision != 2 || got.State != approvals.StatePendingInternal {
		t.Errorf("draft at revision %d, %s; want the first's revision 2, pending_internal", got.Revision, got.State)
	}
	if len(rows.Decisions) != 1 || len(rows.Revisions) != 2 {
		t.Errorf("read %d decisions, %d revisions; want the first's 1 and 2", len(rows.Decisions), len(rows.Revisions))
	}
}

// TestDecisionLookupsPlan: LockForDecision's lookups, naming the draft by
// subqueries on its row, scan no table DecisionRows's (keyed by values)
// read by index, and never drafts, decisions, revisions, comments or
// members whole.
func TestDecisionLookupsPlan(t *testing.T) {
	ctx := context.Background()
	conn := planConn(t,
		`SET session_replication_role = replica`, // bulk rows without triggers: consistent enough for plans
		`INSERT INTO workspaces (slug, name) VALUES ('plan', 'Plan')`,
		`INSERT INTO members (workspace_id, email, name, role)
			SELECT w.id, 'm' || g || '@plan.test', 'M' || g, 'client' FROM workspaces w, generate_series(1, 2000) g`,
		`INSERT INTO accounts (workspace_id, handle, name)
			SELECT w.id, 'acc-' || g, 'Account ' || g FROM workspaces w, generate_series(1, 20) g`,
		`INSERT INTO approvers (workspace_id, account_id, member_id, tier)
			SELECT a.workspace_id, a.id, (SELECT min(id) FROM members) + (a.id % 20) * 3 + k, 'client'
			FROM accounts a, generate_series(0, 2) k`,
		`INSERT INTO drafts (workspace_id, account_id, author_id, state)
			SELECT w.id, (SELECT min(id) FROM accounts) + g % 20, (SELECT min(id) FROM members) + g % 2000, 'approved'
			FROM workspaces w, generate_series(1, 20000) g`,
		`INSERT INTO revisions (workspace_id, draft_id, number, text, needs_internal, needs_client, internal_rule, client_rule, created_by_id)
			SELECT workspace_id, id, 1, 'post', false, true, 'any', 'any', author_id FROM drafts`,
		`INSERT INTO decisions (workspace_id, draft_id, revision, tier, approver_id, verdict, channel)
			SELECT workspace_id, id, 1, 'client', author_id, 'approve', 'email' FROM drafts`,
		`INSERT INTO comments (workspace_id, draft_id, revision, author_id, text, channel)
			SELECT workspace_id, id, 1, author_id, 'ok', 'email' FROM drafts`,
		`INSERT INTO draft_extra_approvers (workspace_id, draft_id, revision, tier, member_id, added_at)
			SELECT workspace_id, id, 1, 'client', author_id, now() FROM drafts`,
		`SET session_replication_role = DEFAULT`,
		`ANALYZE`)
	var d approvals.Draft
	if err := conn.QueryRow(ctx, `SELECT d.workspace_id, d.id, d.account_id, d.author_id, d.revision FROM drafts d ORDER BY d.id OFFSET 10000 LIMIT 1`).
		Scan(&d.WorkspaceID, &d.ID, &d.AccountID, &d.AuthorID, &d.Revision); err != nil {
		t.Fatal(err)
	}
	member := d.AuthorID
	seqScans := regexp.MustCompile(`Seq Scan on (\w+)`)
	explain := func(q *pgx.QueuedQuery) (string, map[string]bool) {
		t.Helper()
		plan := planOf(t, conn, "EXPLAIN "+q.SQL, q.Arguments...)
		seq := map[string]bool{}
		for _, m := range seqScans.FindAllStringSubmatch(plan, -1) {
			seq[m[1]] = true
		}
		return plan, seq
	}
	byValues := store.DecisionLookups(d.WorkspaceID, &d, d.ID, member)
	locked := store.DecisionLookups(d.WorkspaceID, nil, d.ID, member)
	if len(locked) != len(byValues)+1 {
		t.Fatalf("%d statements after the lock, DecisionRows sends %d", len(locked)-1, len(byValues))
	}
	if plan, seq := explain(locked[0]); len(seq) > 0 {
		t.Errorf("the lock scans a table:\n%s", plan)
	}
	for i, q := range locked[1:] {
		plan, seq := explain(q)
		wantPlan, wantSeq := explain(byValues[i])
		for table := range seq {
			switch table {
			case "drafts", "decisions", "revisions", "comments", "members":
			default:
				if wantSeq[table] {
					continue // as DecisionRows's: the planner's choice on a small table
				}
			}
			t.Errorf("%s\nscans %s:\n%s\nDecisionRows's:\n%s", strings.Join(strings.Fields(q.SQL), " "), table, plan, wantPlan)
		}
	}
}
