package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
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
