package store_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
)

func TestMember(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	a, b := newWorld(t, db), newWorld(t, db)
	// Same email in two workspaces: two independent members.
	ma := a.member(t, db, "Sam@Example.com", approvals.RoleEditor)
	mb := b.member(t, db, "sam@example.com", approvals.RoleClient)
	if ma.ID == mb.ID {
		t.Fatal("one member for two workspaces")
	}

	t.Run("lookups stay in their workspace", func(t *testing.T) {
		for _, tt := range []struct {
			w    *world
			want *approvals.Member
		}{{a, ma}, {b, mb}} {
			mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
				got, err := tx.MemberByEmail(ctx, tt.w.ws.ID, "SAM@example.COM")
				if err != nil {
					return err
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("MemberByEmail (-want +got)\n%s", diff)
				}
				got, err = tx.MemberByID(ctx, tt.w.ws.ID, tt.want.ID)
				if err != nil {
					return err
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("MemberByID (-want +got)\n%s", diff)
				}
				return nil
			})
		}
		err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.MemberByID(ctx, b.ws.ID, ma.ID)
			return err
		})
		wantErr(t, err, approvals.ENOTFOUND, "no member #", `workspace "`+b.ws.Slug+`"`)
	})

	t.Run("list", func(t *testing.T) {
		var got []*approvals.Member
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
			got, err = tx.Members(ctx, a.ws.ID)
			return err
		})
		want := []*approvals.Member{a.admin, a.client, a.editor, a.owner, ma}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
	})

	t.Run("update and slack link", func(t *testing.T) {
		ma.Name, ma.SlackUserID = "Sam Smith", "U1"
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.UpdateMember(ctx, ma) })
		var got *approvals.Member
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
			got, err = tx.MemberBySlackUser(ctx, a.ws.ID, "U1")
			return err
		})
		if diff := cmp.Diff(ma, got); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
		// The same Slack user ID may be linked in another workspace.
		mb.SlackUserID = "U1"
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.UpdateMember(ctx, mb) })
	})

	errs := []struct {
		name  string
		do    func(ctx context.Context, tx approvals.Tx) error
		code  string
		parts []string
	}{
		{"taken email, other case", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateMember(ctx, &approvals.Member{WorkspaceID: a.ws.ID, Email: "SAM@example.com", Role: approvals.RoleEditor})
		}, approvals.ECONFLICT, []string{`email "SAM@example.com" is already a member of this workspace`}},
		{"taken slack user", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateMember(ctx, &approvals.Member{WorkspaceID: a.ws.ID, Email: "new@example.com", Role: approvals.RoleEditor, SlackUserID: "U1"})
		}, approvals.ECONFLICT, []string{"Slack user U1"}},
		{"bad role", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateMember(ctx, &approvals.Member{WorkspaceID: a.ws.ID, Email: "x@example.com", Role: "boss"})
		}, approvals.EINVALID, []string{"role"}},
		{"bad email", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateMember(ctx, &approvals.Member{WorkspaceID: a.ws.ID, Email: "nope", Role: approvals.RoleEditor})
		}, approvals.EINVALID, []string{"email"}},
		{"no workspace", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateMember(ctx, &approvals.Member{WorkspaceID: -1, Email: "x@example.com", Role: approvals.RoleEditor})
		}, approvals.ENOTFOUND, []string{"no workspace #-1"}},
		{"missing email", func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.MemberByEmail(ctx, a.ws.ID, "x@y.z")
			return err
		}, approvals.ENOTFOUND, []string{`no member "x@y.z" in workspace "` + a.ws.Slug + `"`}},
		{"missing slack user", func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.MemberBySlackUser(ctx, a.ws.ID, "U404")
			return err
		}, approvals.ENOTFOUND, []string{"U404"}},
		{"update missing", func(ctx context.Context, tx approvals.Tx) error {
			return tx.UpdateMember(ctx, &approvals.Member{WorkspaceID: a.ws.ID, ID: -1, Email: "x@example.com", Role: approvals.RoleEditor})
		}, approvals.ENOTFOUND, []string{"no member #-1"}},
		{"delete missing", func(ctx context.Context, tx approvals.Tx) error {
			return tx.DeleteMember(ctx, a.ws.ID, mb.ID) // b's member, not a's
		}, approvals.ENOTFOUND, []string{"no member #"}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, inTx(db, tt.do), tt.code, tt.parts...)
		})
	}

	t.Run("delete", func(t *testing.T) {
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.DeleteMember(ctx, a.ws.ID, ma.ID) })
		err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.MemberByID(ctx, a.ws.ID, ma.ID)
			return err
		})
		wantErr(t, err, approvals.ENOTFOUND)
		// b's member with the same email is untouched.
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.MemberByID(ctx, b.ws.ID, mb.ID)
			return err
		})
	})
}
