package store_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/bot/slackstate"
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

// TestSlackMessages: a grouped DM's requests are saved in one call, each
// with its time; they are found by target and drafts, and by message, in
// draft order; saving one again moves it to the new message. A draft of
// another workspace is refused and nothing of the call is kept.
func TestSlackMessages(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustOpen(t, env.URL())
	w := newWorld(t, db)
	d1 := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
	d2 := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
	other := newWorld(t, db)
	d3 := other.draft(t, db, other.account, other.editor, approvals.StatePendingClient)
	msg := func(d *approvals.Draft, target, ts string) *slackstate.Message {
		return &slackstate.Message{WorkspaceID: d.WorkspaceID, DraftID: d.ID, Revision: 1, Tier: approvals.TierClient,
			Target: target, Channel: "D" + target, TS: ts}
	}
	// Saved in the order given, found in draft order.
	saved := []*slackstate.Message{msg(d2, "U1", "1.1"), msg(d1, "U1", "1.1")}
	if err := db.SaveSlackMessages(ctx, saved...); err != nil {
		t.Fatal(err)
	}
	for _, m := range saved {
		if m.CreatedAt.IsZero() {
			t.Errorf("draft %d saved without its time", m.DraftID)
		}
	}
	want := []*slackstate.Message{saved[1], saved[0]}
	at, err := db.SlackMessagesAt(ctx, "DU1", "1.1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, at); diff != "" {
		t.Errorf("SlackMessagesAt (-want +got):\n%s", diff)
	}
	to, err := db.SlackMessagesTo(ctx, "U1", []int64{d1.ID, d2.ID, d3.ID})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, to); diff != "" {
		t.Errorf("SlackMessagesTo (-want +got):\n%s", diff)
	}
	if to, err := db.SlackMessagesTo(ctx, "U2", []int64{d1.ID, d2.ID}); err != nil || len(to) != 0 {
		t.Errorf("SlackMessagesTo another target = %d messages, %v; want none", len(to), err)
	}

	// Saved again: moved to the new message, as one.
	again := msg(d1, "U1", "2.2")
	if err := db.SaveSlackMessages(ctx, again); err != nil {
		t.Fatal(err)
	}
	if at, err := db.SlackMessagesAt(ctx, "DU1", "2.2"); err != nil || len(at) != 1 || at[0].DraftID != d1.ID {
		t.Errorf("SlackMessagesAt the new message = %v, %v; want draft %d", at, err, d1.ID)
	}
	if at, err := db.SlackMessagesAt(ctx, "DU1", "1.1"); err != nil || len(at) != 1 || at[0].DraftID != d2.ID {
		t.Errorf("SlackMessagesAt the old message = %v, %v; want draft %d alone", at, err, d2.ID)
	}

	// Another workspace's draft under this one's ID: refused, nothing kept.
	forged := msg(d3, "U3", "3.3")
	forged.WorkspaceID = w.ws.ID
	if err := db.SaveSlackMessages(ctx, msg(d1, "U3", "3.3"), forged); err == nil {
		t.Fatal("saved a request of another workspace's draft")
	}
	if at, err := db.SlackMessagesAt(ctx, "DU3", "3.3"); err != nil || len(at) != 0 {
		t.Errorf("a refused save kept %d messages, %v", len(at), err)
	}
}
