package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
)

// TestHandoffNumbering: approvals in one workspace do not wait for each
// other (their hand-offs are inserted unnumbered); a reader numbers the
// committed ones in approval order; a hand-off committed after a read gets
// a number above every number read, so the API's cursor skips nothing; and
// two readers numbering at once take turns.
func TestHandoffNumbering(t *testing.T) {
	db := pgtest.MustOpen(t, env.NewDatabase(t))
	w := newWorld(t, db)
	d1 := w.draft(t, db, w.account, w.editor, approvals.StateApproved)
	d2 := w.draft(t, db, w.account, w.editor, approvals.StateApproved)
	d3 := w.draft(t, db, w.account, w.editor, approvals.StateApproved)
	d4 := w.draft(t, db, w.account, w.editor, approvals.StateApproved)
	record := func(d *approvals.Draft, at time.Time) *approvals.HandoffRecord {
		return &approvals.HandoffRecord{WorkspaceID: w.ws.ID, DraftID: d.ID, AccountID: w.account.ID, Revision: 1, ApprovedAt: at}
	}
	// d2 is approved first but commits second: numbers follow approval
	// order within one numbering.
	h1, h2 := record(d1, t0.Add(time.Second)), record(d2, t0)
	err1, err2, waited := race(t, db,
		func(ctx context.Context, tx approvals.Tx) error { return tx.CreateHandoff(ctx, h1) },
		func(ctx context.Context, tx approvals.Tx) error { return tx.CreateHandoff(ctx, h2) })
	if err1 != nil || err2 != nil || waited {
		t.Fatalf("errors %v, %v; waited %v (want no wait between approvals)", err1, err2, waited)
	}
	if h1.Seq != 0 || h2.Seq != 0 {
		t.Errorf("numbered at approval: %d, %d", h1.Seq, h2.Seq)
	}
	type seen struct{ Draft, Seq int64 }
	read := func(after int64) []seen {
		t.Helper()
		var got []seen
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
			hs, err := tx.Handoffs(ctx, w.ws.ID, []int64{w.account.ID}, after, 10)
			for _, h := range hs {
				got = append(got, seen{h.DraftID, h.Seq})
			}
			return err
		})
		return got
	}

	// d3's approval is under way (uncommitted) while a publisher reads.
	created, commit, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- inTx(db, func(ctx context.Context, tx approvals.Tx) error {
			err := tx.CreateHandoff(ctx, record(d3, t0.Add(-time.Hour)))
			close(created)
			<-commit
			return err
		})
	}()
	<-created
	if diff := cmp.Diff([]seen{{d2.ID, 1}, {d1.ID, 2}}, read(0)); diff != "" {
		t.Errorf("first read (-want +got):\n%s", diff)
	}
	close(commit)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Approved earliest, committed last: numbered after what was read.
	if diff := cmp.Diff([]seen{{d3.ID, 3}}, read(2)); diff != "" {
		t.Errorf("read after 2 (-want +got):\n%s", diff)
	}

	// Two readers at once: the second waits for the first's numbering and
	// sees its number.
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.CreateHandoff(ctx, record(d4, t0)) })
	var r1, r2 *approvals.HandoffRecord
	err1, err2, waited = race(t, db,
		func(ctx context.Context, tx approvals.Tx) (err error) {
			r1, err = tx.HandoffByDraft(ctx, w.ws.ID, d4.ID)
			return err
		},
		func(ctx context.Context, tx approvals.Tx) (err error) {
			r2, err = tx.HandoffByDraft(ctx, w.ws.ID, d4.ID)
			return err
		})
	if err1 != nil || err2 != nil || !waited {
		t.Fatalf("errors %v, %v; waited %v (want the second reader to wait)", err1, err2, waited)
	}
	if r1.Seq != 4 || r2.Seq != 4 {
		t.Errorf("d4 numbered %d and %d, want 4", r1.Seq, r2.Seq)
	}

	// Creating it again changes nothing.
	again := &approvals.HandoffRecord{WorkspaceID: w.ws.ID, DraftID: d2.ID, AccountID: w.account.ID, Revision: 1}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.CreateHandoff(ctx, again) })
	if again.Seq != 1 || !again.ApprovedAt.Equal(t0) {
		t.Errorf("second CreateHandoff: %+v, want the first row (seq 1)", again)
	}
	// Another workspace counts from 1.
	other := newWorld(t, db)
	d5 := other.draft(t, db, other.account, other.editor, approvals.StateApproved)
	h5 := &approvals.HandoffRecord{WorkspaceID: other.ws.ID, DraftID: d5.ID, AccountID: other.account.ID, Revision: 1}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		if err := tx.CreateHandoff(ctx, h5); err != nil {
			return err
		}
		var err error
		h5, err = tx.HandoffByDraft(ctx, other.ws.ID, d5.ID)
		return err
	})
	if h5.Seq != 1 {
		t.Errorf("other workspace seq %d, want 1", h5.Seq)
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
