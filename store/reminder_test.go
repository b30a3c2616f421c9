package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
)

// TestClaimDueDraft: sweepers claim due drafts earliest first, and never a
// draft another transaction holds.
func TestClaimDueDraft(t *testing.T) {
	db := pgtest.MustOpen(t, env.NewDatabase(t)) // a database of its own: claims see every workspace
	w := newWorld(t, db)
	d1 := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
	d2 := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
	d3 := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
	due := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		for _, c := range []*approvals.TierClock{
			{DraftID: d1.ID, WorkspaceID: w.ws.ID, Revision: 1, Tier: approvals.TierClient, EnteredAt: t0, DueAt: due(-time.Minute)},
			{DraftID: d2.ID, WorkspaceID: w.ws.ID, Revision: 1, Tier: approvals.TierClient, EnteredAt: t0, DueAt: due(-2 * time.Minute)},
			{DraftID: d3.ID, WorkspaceID: w.ws.ID, Revision: 1, Tier: approvals.TierClient, EnteredAt: t0, DueAt: due(time.Hour)}, // not due
		} {
			if err := tx.SetTierClock(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})

	// Hold claims open in goroutines, one after the other.
	type claim struct {
		id  int64
		err error
	}
	var releases []chan struct{}
	claimOne := func() claim {
		got, release := make(chan claim), make(chan struct{})
		releases = append(releases, release)
		go func() {
			_ = inTx(db, func(ctx context.Context, tx approvals.Tx) error {
				d, err := tx.ClaimDueDraft(ctx, t0)
				c := claim{err: err}
				if d != nil {
					c.id = d.ID
				}
				got <- c
				<-release
				return nil
			})
		}()
		return <-got
	}
	defer func() {
		for _, r := range releases {
			close(r)
		}
	}()
	var got []int64
	for range 3 {
		c := claimOne()
		if c.err != nil {
			wantErr(t, c.err, approvals.ENOTFOUND)
			continue
		}
		got = append(got, c.id)
	}
	if diff := cmp.Diff([]int64{d2.ID, d1.ID}, got); diff != "" {
		t.Errorf("claimed drafts (-want +got)\n%s", diff)
	}
}

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
