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
