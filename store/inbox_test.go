package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
)

// TestInboxRows: one batch reads the pending drafts of the accounts, each
// with exactly the decisions Tx.Decisions reads (none for a draft without
// any), and the author's drafts, and nothing of another workspace.
func TestInboxRows(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	w := newWorld(t, db)
	other := newWorld(t, db)
	internal := w.draft(t, db, w.account, w.editor, approvals.StatePendingInternal)
	client := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
	w.draft(t, db, w.account, w.editor, approvals.StateApproved)
	rejected := w.draft(t, db, w.account, w.editor, approvals.StateRejected)
	byAdmin := w.draft(t, db, w.account, w.admin, approvals.StatePendingClient)
	other.draft(t, db, other.account, other.editor, approvals.StatePendingClient)
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		for i, m := range []*approvals.Member{w.owner, w.admin, w.client} {
			tier := approvals.TierInternal
			if m == w.client {
				tier = approvals.TierClient
			}
			if err := tx.CreateDecision(ctx, &approvals.Decision{DraftID: client.ID, Revision: 1, Tier: tier, ApproverID: m.ID,
				Verdict: approvals.VerdictApprove, Channel: approvals.ChannelSlack, CreatedAt: t0.Add(time.Duration(3-i) * time.Minute)}); err != nil {
				return err
			}
		}
		return nil
	})

	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		got, err := tx.InboxRows(ctx, w.ws.ID, approvals.InboxQuery{Pending: []int64{w.account.ID, other.account.ID}, Author: w.editor.ID,
			Authored: []int64{w.account.ID}, AuthoredStates: []approvals.State{approvals.StatePendingInternal, approvals.StatePendingClient, approvals.StateRejected},
			AuthoredLimit: 10})
		if err != nil {
			return err
		}
		ids := func(ds []*approvals.Draft) (out []int64) {
			for _, d := range ds {
				out = append(out, d.ID)
			}
			return out
		}
		if diff := cmp.Diff([]int64{internal.ID, client.ID, byAdmin.ID}, ids(got.Pending)); diff != "" {
			t.Errorf("Pending (-want +got)\n%s", diff)
		}
		if diff := cmp.Diff([]int64{rejected.ID, client.ID, internal.ID}, ids(got.Authored)); diff != "" {
			t.Errorf("Authored (-want +got)\n%s", diff)
		}
		if len(got.Authored) > 0 && got.Authored[0].Text != "post" {
			t.Errorf("Authored[0].Text = %q, want the current revision's", got.Authored[0].Text)
		}
		want, err := tx.Decisions(ctx, client.ID)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(map[int64][]*approvals.Decision{client.ID: want}, got.Decisions); diff != "" {
			t.Errorf("Decisions (-want +got)\n%s", diff)
		}

		// Only what is asked for is read.
		got, err = tx.InboxRows(ctx, w.ws.ID, approvals.InboxQuery{Pending: []int64{w.account.ID}})
		if err != nil {
			return err
		}
		if len(got.Pending) != 3 || got.Authored != nil || got.Decisions == nil {
			t.Errorf("without an author: %d pending, authored %v, decisions %v", len(got.Pending), got.Authored, got.Decisions)
		}
		return nil
	})
}
