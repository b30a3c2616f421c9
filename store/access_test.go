package store_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
)

func TestAccess(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	w := newWorld(t, db)
	other := &approvals.Account{WorkspaceID: w.ws.ID, Handle: "acme-fb", Name: "Acme Facebook"}
	g1 := &approvals.Group{WorkspaceID: w.ws.ID, Name: "client team"}
	g2 := &approvals.Group{WorkspaceID: w.ws.ID, Name: "reviewers"}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		for _, step := range []func() error{
			func() error { return tx.CreateAccount(ctx, other) },
			func() error { return tx.CreateGroup(ctx, g1) },
			func() error { return tx.CreateGroup(ctx, g2) },
			func() error { return tx.AddGroupMember(ctx, w.ws.ID, g1.ID, w.client.ID) },
			func() error { return tx.AddGroupMember(ctx, w.ws.ID, g2.ID, w.client.ID) },
			func() error {
				return tx.SetGrant(ctx, &approvals.Grant{WorkspaceID: w.ws.ID, AccountID: w.account.ID, MemberID: w.client.ID, Caps: approvals.NewCaps(approvals.CapComment)})
			},
			func() error {
				return tx.SetGrant(ctx, &approvals.Grant{WorkspaceID: w.ws.ID, AccountID: w.account.ID, GroupID: g1.ID, Caps: approvals.NewCaps(approvals.CapView, approvals.CapCreate)})
			},
			func() error {
				return tx.SetGrant(ctx, &approvals.Grant{WorkspaceID: w.ws.ID, AccountID: w.account.ID, GroupID: g2.ID, Caps: approvals.NewCaps(approvals.CapView)})
			},
			func() error {
				return tx.AddApprover(ctx, &approvals.Approver{WorkspaceID: w.ws.ID, AccountID: w.account.ID, MemberID: w.client.ID, Tier: approvals.TierClient})
			},
			// Replacing a grant: the direct grant now adds manage too.
			func() error {
				return tx.SetGrant(ctx, &approvals.Grant{WorkspaceID: w.ws.ID, AccountID: w.account.ID, MemberID: w.client.ID, Caps: approvals.NewCaps(approvals.CapComment, approvals.CapManage)})
			},
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	want := []approvals.AccountAccess{
		{Account: *other, Direct: approvals.Caps{}},
		{
			Account: *w.account,
			Direct:  approvals.NewCaps(approvals.CapView, approvals.CapComment, approvals.CapManage),
			Groups:  []approvals.Caps{approvals.NewCaps(approvals.CapView, approvals.CapCreate), approvals.NewCaps(approvals.CapView)},
			Tiers:   []approvals.Tier{approvals.TierClient},
		},
	}
	var got []approvals.AccountAccess
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
		got, err = tx.MemberAccess(ctx, w.ws.ID, w.client.ID, approvals.AllAccounts)
		return err
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MemberAccess (-want +got)\n%s", diff)
	}
	// Only the granted accounts: "acme-fb" has no grant to the client.
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
		got, err = tx.MemberAccess(ctx, w.ws.ID, w.client.ID, approvals.GrantedAccounts)
		return err
	})
	if diff := cmp.Diff(want[1:], got); diff != "" {
		t.Errorf("MemberAccess of the granted accounts (-want +got)\n%s", diff)
	}
	var one *approvals.AccountAccess
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
		one, err = tx.AccountMemberAccess(ctx, w.ws.ID, w.account.ID, w.client.ID)
		return err
	})
	if diff := cmp.Diff(&want[1], one); diff != "" {
		t.Errorf("AccountMemberAccess (-want +got)\n%s", diff)
	}
	var approvers []*approvals.Member
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
		approvers, err = tx.Approvers(ctx, w.ws.ID, w.account.ID, approvals.TierClient)
		return err
	})
	if diff := cmp.Diff([]*approvals.Member{w.client}, approvers); diff != "" {
		t.Errorf("Approvers (-want +got)\n%s", diff)
	}

	errs := []struct {
		name  string
		do    func(ctx context.Context, tx approvals.Tx) error
		code  string
		parts []string
	}{
		{"grant to both", func(ctx context.Context, tx approvals.Tx) error {
			return tx.SetGrant(ctx, &approvals.Grant{WorkspaceID: w.ws.ID, AccountID: w.account.ID, MemberID: w.editor.ID, GroupID: g1.ID})
		}, approvals.EINVALID, []string{"exactly one"}},
		{"delete missing grant", func(ctx context.Context, tx approvals.Tx) error {
			return tx.DeleteGrant(ctx, &approvals.Grant{WorkspaceID: w.ws.ID, AccountID: other.ID, MemberID: w.editor.ID})
		}, approvals.ENOTFOUND, []string{`"editor@example.com" has no grant on account "acme-fb"`}},
		{"remove unset approver", func(ctx context.Context, tx approvals.Tx) error {
			return tx.RemoveApprover(ctx, &approvals.Approver{WorkspaceID: w.ws.ID, AccountID: other.ID, MemberID: w.owner.ID, Tier: approvals.TierInternal})
		}, approvals.ENOTFOUND, []string{`"owner@example.com" is not an internal approver of account "acme-fb"`}},
		{"approver twice", func(ctx context.Context, tx approvals.Tx) error {
			return tx.AddApprover(ctx, &approvals.Approver{WorkspaceID: w.ws.ID, AccountID: w.account.ID, MemberID: w.client.ID, Tier: approvals.TierClient})
		}, approvals.ECONFLICT, []string{"already a client approver"}},
		{"access of a member of no workspace", func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.MemberAccess(ctx, w.ws.ID, -1, approvals.AllAccounts)
			return err
		}, approvals.ENOTFOUND, []string{"no member #-1"}},
		{"granted access of a member of no workspace", func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.MemberAccess(ctx, w.ws.ID, -1, approvals.GrantedAccounts)
			return err
		}, approvals.ENOTFOUND, []string{"no member #-1"}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, inTx(db, tt.do), tt.code, tt.parts...)
		})
	}
}
