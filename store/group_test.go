package store_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
)

func TestGroup(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	a, b := newWorld(t, db), newWorld(t, db)
	ga := &approvals.Group{WorkspaceID: a.ws.ID, Name: "Acme Team"}
	gb := &approvals.Group{WorkspaceID: b.ws.ID, Name: "Acme Team"} // same name, other workspace
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		if err := tx.CreateGroup(ctx, ga); err != nil {
			return err
		}
		if err := tx.CreateGroup(ctx, gb); err != nil {
			return err
		}
		return tx.AddGroupMember(ctx, a.ws.ID, ga.ID, a.client.ID)
	})

	var got *approvals.Group
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
		got, err = tx.GroupByName(ctx, a.ws.ID, "acme team")
		return err
	})
	if diff := cmp.Diff(ga, got); diff != "" {
		t.Errorf("GroupByName (-want +got)\n%s", diff)
	}

	errs := []struct {
		name  string
		do    func(ctx context.Context, tx approvals.Tx) error
		code  string
		parts []string
	}{
		{"taken name", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateGroup(ctx, &approvals.Group{WorkspaceID: a.ws.ID, Name: "ACME TEAM"})
		}, approvals.ECONFLICT, []string{`group "ACME TEAM" already exists`}},
		{"missing", func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.GroupByName(ctx, a.ws.ID, "nope")
			return err
		}, approvals.ENOTFOUND, []string{`no group "nope" in workspace "` + a.ws.Slug + `"`}},
		{"already in", func(ctx context.Context, tx approvals.Tx) error {
			return tx.AddGroupMember(ctx, a.ws.ID, ga.ID, a.client.ID)
		}, approvals.ECONFLICT, []string{`client@example.com is already in group "Acme Team"`}},
		{"not in", func(ctx context.Context, tx approvals.Tx) error {
			return tx.RemoveGroupMember(ctx, a.ws.ID, ga.ID, a.editor.ID)
		}, approvals.ENOTFOUND, []string{`editor@example.com is not in group "Acme Team"`}},
		{"member of another workspace", func(ctx context.Context, tx approvals.Tx) error {
			return tx.AddGroupMember(ctx, a.ws.ID, ga.ID, b.client.ID)
		}, approvals.ENOTFOUND, []string{"no member #"}},
		{"group of another workspace", func(ctx context.Context, tx approvals.Tx) error {
			return tx.AddGroupMember(ctx, a.ws.ID, gb.ID, a.client.ID)
		}, approvals.ENOTFOUND, []string{"no group #"}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, inTx(db, tt.do), tt.code, tt.parts...)
		})
	}

	t.Run("conflict leaves the transaction usable", func(t *testing.T) {
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
			err := tx.AddGroupMember(ctx, a.ws.ID, ga.ID, a.client.ID)
			wantErr(t, err, approvals.ECONFLICT)
			return tx.AddGroupMember(ctx, a.ws.ID, ga.ID, a.editor.ID)
		})
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
			return tx.RemoveGroupMember(ctx, a.ws.ID, ga.ID, a.editor.ID)
		})
	})
}
