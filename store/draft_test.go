package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/store"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// draft creates a draft of w's account by author in state, with revision 1.
func (w *world) draft(t *testing.T, db *store.DB, account *approvals.Account, author *approvals.Member, state approvals.State) *approvals.Draft {
	t.Helper()
	d := &approvals.Draft{WorkspaceID: w.ws.ID, AccountID: account.ID, AuthorID: author.ID, State: state, Revision: 1, CreatedAt: t0, UpdatedAt: t0}
	if state == approvals.StatePendingClient || state == approvals.StateApproved {
		d.ClientRevisions = []int{1}
	}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		if err := tx.CreateDraft(ctx, d); err != nil {
			return err
		}
		return tx.CreateRevision(ctx, &approvals.Revision{DraftID: d.ID, Number: 1, Text: "post", CreatedByID: author.ID, CreatedAt: t0})
	})
	return d
}

func TestDraft(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	w := newWorld(t, db)
	sched := t0.Add(48 * time.Hour)
	d := &approvals.Draft{WorkspaceID: w.ws.ID, AccountID: w.account.ID, AuthorID: w.editor.ID, State: approvals.StatePendingClient, CreatedAt: t0}
	r1 := &approvals.Revision{Number: 1, Text: "Hello <b>world</b> 👋\nline two", MediaURLs: []string{"https://x.test/a.png"},
		ScheduledAt: &sched, NeedsClient: true, ClientRule: approvals.RuleAll, CreatedByID: w.editor.ID, CreatedAt: t0}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		if err := tx.CreateDraft(ctx, d); err != nil {
			return err
		}
		r1.DraftID = d.ID
		return tx.CreateRevision(ctx, r1)
	})
	want := &approvals.Draft{ID: d.ID, WorkspaceID: w.ws.ID, AccountID: w.account.ID, AuthorID: w.editor.ID,
		State: approvals.StatePendingClient, Revision: 1, CreatedAt: t0, UpdatedAt: t0}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("CreateDraft (-want +got)\n%s", diff)
	}

	t.Run("revise", func(t *testing.T) {
		t1 := t0.Add(time.Hour)
		r2 := &approvals.Revision{DraftID: d.ID, Number: 2, Text: "v2", CreatedByID: w.editor.ID, CreatedAt: t1}
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
			locked, err := tx.LockDraft(ctx, w.ws.ID, d.ID)
			if err != nil {
				return err
			}
			locked.Revision, locked.UpdatedAt = 2, t1
			if err := tx.UpdateDraft(ctx, locked); err != nil {
				return err
			}
			return tx.CreateRevision(ctx, r2)
		})
		var got []*approvals.Revision
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) { got, err = tx.Revisions(ctx, d.ID); return err })
		wantR2 := *r2
		wantR2.InternalRule, wantR2.ClientRule = approvals.RuleAny, approvals.RuleAny
		if diff := cmp.Diff([]*approvals.Revision{r1, &wantR2}, got); diff != "" {
			t.Errorf("Revisions (-want +got)\n%s", diff)
		}
	})

	errs := []struct {
		name  string
		do    func(ctx context.Context, tx approvals.Tx) error
		code  string
		parts []string
	}{
		{"revision never stored", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateDraft(ctx, &approvals.Draft{WorkspaceID: w.ws.ID, AccountID: w.account.ID, AuthorID: w.editor.ID, State: approvals.StateApproved})
		}, approvals.EINTERNAL, nil},
		{"blank text", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateRevision(ctx, &approvals.Revision{DraftID: d.ID, Number: 9, Text: " \n", CreatedByID: w.editor.ID})
		}, approvals.EINVALID, []string{"blank"}},
		{"revision twice", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateRevision(ctx, &approvals.Revision{DraftID: d.ID, Number: 1, Text: "again", CreatedByID: w.editor.ID})
		}, approvals.ECONFLICT, []string{"already has a revision 1"}},
		{"draft of another workspace", func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.DraftByID(ctx, w.ws.ID+1000000, d.ID)
			return err
		}, approvals.ENOTFOUND, []string{"no draft #"}},
		{"bad state", func(ctx context.Context, tx approvals.Tx) error {
			return tx.UpdateDraft(ctx, &approvals.Draft{WorkspaceID: w.ws.ID, ID: d.ID, State: "lost", Revision: 1})
		}, approvals.EINVALID, nil},
		{"author keeps history", func(ctx context.Context, tx approvals.Tx) error {
			return tx.DeleteMember(ctx, w.ws.ID, w.editor.ID)
		}, approvals.EINVALID, []string{"editor@example.com has drafts"}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, inTx(db, tt.do), tt.code, tt.parts...)
		})
	}
}

func TestDrafts(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	w := newWorld(t, db)
	other := &approvals.Account{WorkspaceID: w.ws.ID, Handle: "acme-fb", Name: "Acme Facebook"}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.CreateAccount(ctx, other) })
	internalByEditor := w.draft(t, db, w.account, w.editor, approvals.StatePendingInternal)
	internalByClient := w.draft(t, db, w.account, w.client, approvals.StatePendingInternal)
	client := w.draft(t, db, w.account, w.editor, approvals.StatePendingClient)
	approved := w.draft(t, db, w.account, w.editor, approvals.StateApproved)
	otherAcc := w.draft(t, db, other, w.editor, approvals.StatePendingClient)
	// Another workspace's draft never shows, even for the same account ID list.
	w2 := newWorld(t, db)
	w2.draft(t, db, w2.account, w2.editor, approvals.StatePendingClient)

	ids := func(ds ...*approvals.Draft) []int64 {
		var out []int64
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	tests := []struct {
		name string
		f    approvals.DraftFilter
		want []int64 // newest first
	}{
		{"no accounts, nothing", approvals.DraftFilter{WorkspaceID: w.ws.ID}, nil},
		{"one account", approvals.DraftFilter{WorkspaceID: w.ws.ID, AccountIDs: []int64{w.account.ID}},
			ids(approved, client, internalByClient, internalByEditor)},
		{"both accounts", approvals.DraftFilter{WorkspaceID: w.ws.ID, AccountIDs: []int64{w.account.ID, other.ID, w2.account.ID}},
			ids(otherAcc, approved, client, internalByClient, internalByEditor)},
		{"states", approvals.DraftFilter{WorkspaceID: w.ws.ID, AccountIDs: []int64{w.account.ID, other.ID},
			States: []approvals.State{approvals.StatePendingClient, approvals.StateApproved}},
			ids(otherAcc, approved, client)},
		{"a client: what reached clients, and their own", approvals.DraftFilter{WorkspaceID: w.ws.ID, AccountIDs: []int64{w.account.ID},
			ClientReader: w.client.ID},
			ids(approved, client, internalByClient)},
		{"limit", approvals.DraftFilter{WorkspaceID: w.ws.ID, AccountIDs: []int64{w.account.ID}, Limit: 2},
			ids(approved, client)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []*approvals.Draft
			mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) { got, err = tx.Drafts(ctx, tt.f); return err })
			if diff := cmp.Diff(tt.want, ids(got...)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}

	t.Run("text of the current revision", func(t *testing.T) {
		var got []*approvals.Draft
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
			got, err = tx.Drafts(ctx, approvals.DraftFilter{WorkspaceID: w.ws.ID, AccountIDs: []int64{other.ID}})
			return err
		})
		want := *otherAcc
		want.Text = "post"
		if diff := cmp.Diff([]*approvals.Draft{&want}, got); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
	})

	var pending []*approvals.Draft
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
		pending, err = tx.PendingDrafts(ctx, w.ws.ID, w.account.ID)
		return err
	})
	if diff := cmp.Diff(ids(internalByEditor, internalByClient, client), ids(pending...)); diff != "" {
		t.Errorf("PendingDrafts (-want +got)\n%s", diff)
	}
}
