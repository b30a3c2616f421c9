package store_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
)

// TestApproverNeedsAccess: invariant 1 on the way in.
func TestApproverNeedsAccess(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	tests := []struct {
		name  string
		setup func(w *world) []func(ctx context.Context, tx approvals.Tx) error
		who   func(w *world) *approvals.Member
		tier  approvals.Tier
		code  string // "" for success
		parts []string
	}{
		{name: "owner needs no grant", who: func(w *world) *approvals.Member { return w.owner }, tier: approvals.TierInternal},
		{name: "admin without access", who: func(w *world) *approvals.Member { return w.admin }, tier: approvals.TierInternal,
			code: approvals.EINTERNAL, parts: []string{"admin@example.com", `"acme-ig"`, "internal", "no access"}},
		{name: "admin with a grant", who: func(w *world) *approvals.Member { return w.admin }, tier: approvals.TierInternal,
			setup: func(w *world) []func(ctx context.Context, tx approvals.Tx) error {
				return []func(ctx context.Context, tx approvals.Tx) error{
					func(ctx context.Context, tx approvals.Tx) error { return tx.SetGrant(ctx, w.grant(w.admin)) },
				}
			}},
		{name: "editor cannot approve internally", who: func(w *world) *approvals.Member { return w.editor }, tier: approvals.TierInternal,
			setup: func(w *world) []func(ctx context.Context, tx approvals.Tx) error {
				return []func(ctx context.Context, tx approvals.Tx) error{
					func(ctx context.Context, tx approvals.Tx) error { return tx.SetGrant(ctx, w.grant(w.editor)) },
				}
			},
			code: approvals.EINTERNAL, parts: []string{"editor@example.com", `"acme-ig"`, "internal approvers must be owners or admins"}},
		{name: "owner cannot approve as client", who: func(w *world) *approvals.Member { return w.owner }, tier: approvals.TierClient,
			code: approvals.EINTERNAL, parts: []string{"owner@example.com", `"acme-ig"`, "client approvers must be clients"}},
		{name: "client without access", who: func(w *world) *approvals.Member { return w.client }, tier: approvals.TierClient,
			code: approvals.EINTERNAL, parts: []string{"client@example.com", `"acme-ig"`, "client approver", "no access"}},
		{name: "client through a group", who: func(w *world) *approvals.Member { return w.client }, tier: approvals.TierClient,
			setup: func(w *world) []func(ctx context.Context, tx approvals.Tx) error {
				g := &approvals.Group{WorkspaceID: w.ws.ID, Name: "clients"}
				return []func(ctx context.Context, tx approvals.Tx) error{
					func(ctx context.Context, tx approvals.Tx) error { return tx.CreateGroup(ctx, g) },
					func(ctx context.Context, tx approvals.Tx) error {
						return tx.AddGroupMember(ctx, w.ws.ID, g.ID, w.client.ID)
					},
					func(ctx context.Context, tx approvals.Tx) error {
						return tx.SetGrant(ctx, &approvals.Grant{WorkspaceID: w.ws.ID, AccountID: w.account.ID, GroupID: g.ID, Caps: approvals.NewCaps(approvals.CapView)})
					},
				}
			}},
		{name: "client of another account only", who: func(w *world) *approvals.Member { return w.client }, tier: approvals.TierClient,
			setup: func(w *world) []func(ctx context.Context, tx approvals.Tx) error {
				other := &approvals.Account{WorkspaceID: w.ws.ID, Handle: "other", Name: "Other"}
				return []func(ctx context.Context, tx approvals.Tx) error{
					func(ctx context.Context, tx approvals.Tx) error { return tx.CreateAccount(ctx, other) },
					func(ctx context.Context, tx approvals.Tx) error {
						return tx.SetGrant(ctx, &approvals.Grant{WorkspaceID: w.ws.ID, AccountID: other.ID, MemberID: w.client.ID, Caps: approvals.NewCaps(approvals.CapView)})
					},
				}
			},
			code: approvals.EINTERNAL, parts: []string{"no access"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, db)
			if tt.setup != nil {
				for _, step := range tt.setup(w) {
					mustTx(t, db, step)
				}
			}
			m := tt.who(w)
			err := inTx(db, func(ctx context.Context, tx approvals.Tx) error { return tx.AddApprover(ctx, w.approver(m, tt.tier)) })
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]approvals.Tier{tt.tier}, w.tiers(t, db, m)); diff != "" {
					t.Errorf("tiers (-want +got)\n%s", diff)
				}
				return
			}
			wantErr(t, err, tt.code, tt.parts...)
			if got := w.tiers(t, db, m); len(got) != 0 {
				t.Errorf("refused approver has tiers %v", got)
			}
		})
	}
}
