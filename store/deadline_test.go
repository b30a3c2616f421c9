package store_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
)

// TestPolicyRecordsOnce: each reminder number, policy action and policy
// decision exists at most once per (draft, revision, tier).
func TestPolicyRecordsOnce(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	w := newWorld(t, db)
	d := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		r := &approvals.Reminder{WorkspaceID: w.ws.ID, DraftID: d.ID, Revision: 1, Tier: approvals.TierClient, Number: 1, Recipients: 2, SentAt: t0}
		if err := tx.CreateReminder(ctx, r); err != nil {
			return err
		}
		wantErr(t, tx.CreateReminder(ctx, r), approvals.ECONFLICT, "reminder 1")

		a := &approvals.DeadlineAction{WorkspaceID: w.ws.ID, DraftID: d.ID, Revision: 1, Tier: approvals.TierClient,
			Policy: approvals.DeadlineExpire, Outcome: "expired", DeadlineAt: t0, AppliedAt: t0}
		if err := tx.CreateDeadlineAction(ctx, a); err != nil {
			return err
		}
		wantErr(t, tx.CreateDeadlineAction(ctx, a), approvals.ECONFLICT, "already acted")

		dec := &approvals.Decision{DraftID: d.ID, Revision: 1, Tier: approvals.TierClient, Verdict: approvals.VerdictApprove,
			Channel: approvals.ChannelSystem, Comment: "deadline", CreatedAt: t0}
		if err := tx.CreatePolicyDecision(ctx, dec); err != nil {
			return err
		}
		wantErr(t, tx.CreatePolicyDecision(ctx, dec), approvals.ECONFLICT, "already decided")
		ds, err := tx.Decisions(ctx, d.ID)
		if err != nil {
			return err
		}
		want := []*approvals.Decision{{ID: dec.ID, DraftID: d.ID, Revision: 1, Tier: approvals.TierClient, Approver: "Signoff policy",
			Verdict: approvals.VerdictApprove, Comment: "deadline", Channel: approvals.ChannelSystem, CreatedAt: t0}}
		if diff := cmp.Diff(want, ds); diff != "" {
			t.Errorf("decisions (-want +got)\n%s", diff)
		}

		if err := tx.AddBackupApprover(ctx, w.ws.ID, d.ID, 1, approvals.TierClient, w.client.ID, t0); err != nil {
			return err
		}
		wantErr(t, tx.AddBackupApprover(ctx, w.ws.ID, d.ID, 1, approvals.TierClient, w.client.ID, t0), approvals.ECONFLICT)
		extra, err := tx.BackupApprovers(ctx, w.ws.ID, d.ID, 1, approvals.TierClient)
		if err != nil {
			return err
		}
		if len(extra) != 1 || extra[0].ID != w.client.ID {
			t.Errorf("backup approvers = %+v, want the client", extra)
		}
		return nil
	})
	// The schema refuses a policy decision that rejects, or one by no one
	// on a channel other than system.
	err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
		return tx.CreatePolicyDecision(ctx, &approvals.Decision{DraftID: d.ID, Revision: 1, Tier: approvals.TierInternal,
			Verdict: approvals.VerdictApprove, Channel: approvals.ChannelEmail})
	})
	wantErr(t, err, approvals.EINVALID, "deadline policy")
	// Escalating needs a backup approver.
	err = inTx(db, func(ctx context.Context, tx approvals.Tx) error {
		acc := *w.account
		acc.DeadlinePolicy = approvals.DeadlineEscalate
		return tx.UpdateAccount(ctx, &acc)
	})
	wantErr(t, err, approvals.EINVALID, "backup approver")
}
