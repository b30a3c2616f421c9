package store_test

import (
	"context"
	"strings"
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

// TestPrincipal: the workspace and the member read together answer as the
// two lookups would, whichever key names them.
func TestPrincipal(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	w := newWorld(t, db)
	team := "T" + strings.ToUpper(w.ws.Slug)
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		w.ws.SlackTeamID = team
		if err := tx.UpdateWorkspace(ctx, w.ws); err != nil {
			return err
		}
		w.client.SlackUserID = "U0CLIENT"
		return tx.UpdateMember(ctx, w.client)
	})
	tests := []struct {
		name       string
		k          approvals.PrincipalKey
		ws, member bool // found
	}{
		{"by id and member id", approvals.PrincipalKey{WorkspaceID: w.ws.ID, MemberID: w.editor.ID}, true, true},
		{"by slug and email in another case", approvals.PrincipalKey{Workspace: w.ws.Slug, Email: strings.ToUpper(w.editor.Email)}, true, true},
		{"by team and Slack user", approvals.PrincipalKey{SlackTeamID: team, SlackUserID: "U0CLIENT"}, true, true},
		{"the workspace alone", approvals.PrincipalKey{Workspace: w.ws.Slug}, true, false},
		{"no such member", approvals.PrincipalKey{WorkspaceID: w.ws.ID, Email: "nobody@example.com"}, true, false},
		{"no member with that ID", approvals.PrincipalKey{Workspace: w.ws.Slug, MemberID: -1}, true, false},
		{"no such workspace", approvals.PrincipalKey{Workspace: "no-such-slug", Email: w.editor.Email}, false, false},
		{"no such team", approvals.PrincipalKey{SlackTeamID: "TNONE", SlackUserID: "U0CLIENT"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = inTx(db, func(ctx context.Context, tx approvals.Tx) error {
				ws, m, err := tx.Principal(ctx, tt.k)
				if (ws != nil) != tt.ws || (m != nil) != tt.member {
					t.Fatalf("found workspace %v, member %v (%v); want %v, %v", ws != nil, m != nil, err, tt.ws, tt.member)
				}
				wantMember := tt.k.Email != "" || tt.k.MemberID != 0 || tt.k.SlackUserID != ""
				if found := tt.ws && (tt.member || !wantMember); found != (err == nil) {
					t.Errorf("err = %v", err)
				} else if err != nil && approvals.ErrorCode(err) != approvals.ENOTFOUND {
					t.Errorf("err = %v, want ENOTFOUND", err)
				}
				if ws != nil && ws.ID != w.ws.ID || m != nil && m.WorkspaceID != w.ws.ID {
					t.Errorf("read workspace %+v, member %+v", ws, m)
				}
				return nil
			})
		})
	}
}
