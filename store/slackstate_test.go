package store_test

import (
	"context"
	"testing"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
)

// TestRecordDelivery: a delivery's key travels with the commit, and a key
// recorded before fails that commit, so nothing of the transaction stays.
func TestRecordDelivery(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	w := newWorld(t, db)
	d := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
	decide := func(ctx context.Context, tx approvals.Tx) error {
		if err := tx.RecordDelivery(ctx, "action:T1:U1:1.0:approve"); err != nil {
			return err
		}
		return tx.CreateDecision(ctx, &approvals.Decision{DraftID: d.ID, Revision: 1, Tier: approvals.TierClient, ApproverID: w.client.ID,
			Verdict: approvals.VerdictApprove, Channel: approvals.ChannelSlack, CreatedAt: t0})
	}
	mustTx(t, db, decide)
	if ok, err := db.ClaimSlackDelivery(context.Background(), "action:T1:U1:1.0:approve"); err != nil || ok {
		t.Fatalf("the key was not recorded with the commit: claim = %v, %v", ok, err)
	}
	// The same delivery again: the decision would be refused anyway, so
	// write something that would not: a comment.
	err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
		if err := tx.RecordDelivery(ctx, "action:T1:U1:1.0:approve"); err != nil {
			return err
		}
		return tx.CreateComment(ctx, &approvals.Comment{DraftID: d.ID, Revision: 1, AuthorID: w.editor.ID, Text: "kept?", Channel: approvals.ChannelSlack, CreatedAt: t0})
	})
	wantErr(t, err, approvals.ECONFLICT, "acted on already")
	if got := approvals.ErrorReason(err); got != approvals.ReasonDelivered {
		t.Errorf("reason = %q, want %q", got, approvals.ReasonDelivered)
	}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		cs, err := tx.Comments(ctx, d.ID)
		if err == nil && len(cs) != 0 {
			t.Errorf("the failed commit kept %d comments", len(cs))
		}
		return err
	})
}
