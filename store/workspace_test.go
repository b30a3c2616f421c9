package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
)

func TestWorkspace(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	w := &approvals.Workspace{Slug: uniqueSlug(t), Name: "Acme Agency", SlackTeamID: "T" + uniqueSlug(t), CreatedAt: at}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.CreateWorkspace(ctx, w) })
	if w.ID == 0 {
		t.Fatal("CreateWorkspace set no ID")
	}
	if !w.CreatedAt.Equal(at) || w.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", w.CreatedAt, at)
	}

	lookups := []struct {
		name string
		get  func(ctx context.Context, tx approvals.Tx) (*approvals.Workspace, error)
	}{
		{"by slug", func(ctx context.Context, tx approvals.Tx) (*approvals.Workspace, error) {
			return tx.WorkspaceBySlug(ctx, w.Slug)
		}},
		{"by id", func(ctx context.Context, tx approvals.Tx) (*approvals.Workspace, error) {
			return tx.WorkspaceByID(ctx, w.ID)
		}},
		{"by slack team", func(ctx context.Context, tx approvals.Tx) (*approvals.Workspace, error) {
			return tx.WorkspaceBySlackTeam(ctx, w.SlackTeamID)
		}},
	}
	for _, lk := range lookups {
		t.Run(lk.name, func(t *testing.T) {
			var got *approvals.Workspace
			mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) { got, err = lk.get(ctx, tx); return err })
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}

	t.Run("update", func(t *testing.T) {
		w.Name, w.InternalChannel, w.SlackTeamID = "Acme", "C123", ""
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.UpdateWorkspace(ctx, w) })
		var got *approvals.Workspace
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
			got, err = tx.WorkspaceByID(ctx, w.ID)
			return err
		})
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
	})

	errs := []struct {
		name  string
		do    func(ctx context.Context, tx approvals.Tx) error
		code  string
		parts []string
	}{
		{"taken slug", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateWorkspace(ctx, &approvals.Workspace{Slug: w.Slug, Name: "Other"})
		}, approvals.ECONFLICT, []string{`workspace slug "` + w.Slug + `" is already taken`}},
		{"bad slug", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateWorkspace(ctx, &approvals.Workspace{Slug: "Not A Slug", Name: "Other"})
		}, approvals.EINVALID, []string{"slug"}},
		{"missing slug", func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.WorkspaceBySlug(ctx, "nope")
			return err
		}, approvals.ENOTFOUND, []string{`no workspace "nope"`}},
		{"missing id", func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.WorkspaceByID(ctx, -1)
			return err
		}, approvals.ENOTFOUND, []string{"no workspace #-1"}},
		{"unbound team", func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.WorkspaceBySlackTeam(ctx, "TNOPE")
			return err
		}, approvals.ENOTFOUND, []string{`Slack team "TNOPE"`}},
		{"update missing", func(ctx context.Context, tx approvals.Tx) error {
			return tx.UpdateWorkspace(ctx, &approvals.Workspace{ID: -1, Slug: "x", Name: "x"})
		}, approvals.ENOTFOUND, []string{"no workspace #-1"}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, inTx(db, tt.do), tt.code, tt.parts...)
		})
	}

	t.Run("slack team bound twice", func(t *testing.T) {
		team := "T" + uniqueSlug(t)
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateWorkspace(ctx, &approvals.Workspace{Slug: uniqueSlug(t), Name: "One", SlackTeamID: team})
		})
		err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateWorkspace(ctx, &approvals.Workspace{Slug: uniqueSlug(t), Name: "Two", SlackTeamID: team})
		})
		wantErr(t, err, approvals.ECONFLICT, team)
	})
}
