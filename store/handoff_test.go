package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
)

// TestHandoffSeqCommitOrder: a second approval in the workspace waits for
// the first's transaction and takes the next number, so a reader never
// sees number 2 committed while 1 is still to come (the API's cursor would
// skip it).
func TestHandoffSeqCommitOrder(t *testing.T) {
	db := pgtest.MustOpen(t, env.NewDatabase(t))
	w := newWorld(t, db)
	d1 := w.draft(t, db, w.account, w.editor, approvals.StateApproved)
	d2 := w.draft(t, db, w.account, w.editor, approvals.StateApproved)
	h1 := &approvals.HandoffRecord{WorkspaceID: w.ws.ID, DraftID: d1.ID, AccountID: w.account.ID, Revision: 1, ApprovedAt: t0}
	h2 := &approvals.HandoffRecord{WorkspaceID: w.ws.ID, DraftID: d2.ID, AccountID: w.account.ID, Revision: 1, ApprovedAt: t0}
	err1, err2, waited := race(t, db,
		func(ctx context.Context, tx approvals.Tx) error { return tx.CreateHandoff(ctx, h1) },
		func(ctx context.Context, tx approvals.Tx) error { return tx.CreateHandoff(ctx, h2) })
	if err1 != nil || err2 != nil || !waited {
		t.Fatalf("errors %v, %v; waited %v (want the second to wait)", err1, err2, waited)
	}
	if h1.Seq != 1 || h2.Seq != 2 {
		t.Errorf("seqs %d, %d; want 1, 2 in commit order", h1.Seq, h2.Seq)
	}
	// Creating it again changes nothing.
	again := &approvals.HandoffRecord{WorkspaceID: w.ws.ID, DraftID: d1.ID, AccountID: w.account.ID, Revision: 1}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.CreateHandoff(ctx, again) })
	if again.Seq != 1 {
		t.Errorf("second CreateHandoff: seq %d, want 1", again.Seq)
	}
	// Another workspace counts from 1.
	other := newWorld(t, db)
	d3 := other.draft(t, db, other.account, other.editor, approvals.StateApproved)
	h3 := &approvals.HandoffRecord{WorkspaceID: other.ws.ID, DraftID: d3.ID, AccountID: other.account.ID, Revision: 1}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.CreateHandoff(ctx, h3) })
	if h3.Seq != 1 {
		t.Errorf("other workspace seq %d, want 1", h3.Seq)
	}

	var got []int64
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		hs, err := tx.Handoffs(ctx, w.ws.ID, []int64{w.account.ID, other.account.ID}, 1, 10)
		for _, h := range hs {
			got = append(got, h.DraftID)
		}
		return err
	})
	if diff := cmp.Diff([]int64{d2.ID}, got); diff != "" {
		t.Errorf("Handoffs after 1 (-want +got):\n%s", diff)
	}

	// Publishing is recorded once.
	var first, second bool
	var rec1, rec2 *approvals.HandoffRecord
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		var err error
		rec1, first, err = tx.MarkPublished(ctx, w.ws.ID, d1.ID, t0, "https://x.example/1", "token pub")
		if err != nil {
			return err
		}
		rec2, second, err = tx.MarkPublished(ctx, w.ws.ID, d1.ID, t0.Add(time.Hour), "https://x.example/other", "token pub")
		return err
	})
	if !first || second || !rec2.PublishedAt.Equal(t0) || rec2.PublishedURL != rec1.PublishedURL {
		t.Errorf("MarkPublished: first %v %+v, second %v %+v", first, rec1, second, rec2)
	}
	err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
		_, _, err := tx.MarkPublished(ctx, other.ws.ID, d1.ID, t0, "", "x")
		return err
	})
	wantErr(t, err, approvals.ENOTFOUND)
}

func TestAPITokens(t *testing.T) {
	db := pgtest.MustOpen(t, env.NewDatabase(t))
	w := newWorld(t, db)
	hash := func(b byte) []byte {
		h := make([]byte, 32)
		h[0] = b
		return h
	}
	k1 := &approvals.APIToken{WorkspaceID: w.ws.ID, Name: "zap", MemberID: w.editor.ID, Hash: hash(1)}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.CreateAPIToken(ctx, k1) })
	err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
		return tx.CreateAPIToken(ctx, &approvals.APIToken{WorkspaceID: w.ws.ID, Name: "zap", Hash: hash(2)})
	})
	wantErr(t, err, approvals.ECONFLICT, "zap")
	err = inTx(db, func(ctx context.Context, tx approvals.Tx) error {
		return tx.CreateAPIToken(ctx, &approvals.APIToken{WorkspaceID: w.ws.ID, Name: "bad name", Hash: hash(3)})
	})
	wantErr(t, err, approvals.EINVALID)

	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		got, err := tx.APITokenByHash(ctx, hash(1))
		if err != nil {
			return err
		}
		if got.Member != w.editor.Email || got.RevokedAt != nil {
			t.Errorf("APITokenByHash = %+v", got)
		}
		_, err = tx.RevokeAPIToken(ctx, w.ws.ID, "zap", t0)
		return err
	})
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		got, err := tx.APITokenByHash(ctx, hash(1))
		if err != nil {
			return err
		}
		if got.RevokedAt == nil || !got.RevokedAt.Equal(t0) {
			t.Errorf("revoked token: %+v", got)
		}
		// The name is free again.
		return tx.CreateAPIToken(ctx, &approvals.APIToken{WorkspaceID: w.ws.ID, Name: "zap", Hash: hash(4)})
	})
	err = inTx(db, func(ctx context.Context, tx approvals.Tx) error {
		_, err := tx.APITokenByHash(ctx, hash(9))
		return err
	})
	wantErr(t, err, approvals.ENOTFOUND)
}
