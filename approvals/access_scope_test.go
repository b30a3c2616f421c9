package approvals_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
)

// TestMemberAccessScope: the accounts a member is shown as visible are the
// same whether the store reads every account of the workspace or (as
// memberAccess asks for every role but the owner's) only those granted to
// the member. Grants in person and through groups, a client's group grant
// without view, accounts with no grant and a deactivated member are all
// tried, for every role.
func TestMemberAccessScope(t *testing.T) {
	w := standard(t)
	w.Member("ed2@acme.test", approvals.RoleEditor)
	w.Member("c4@client.test", approvals.RoleClient)
	w.Member("gone@client.test", approvals.RoleClient)
	w.Account("grouped", "", "", nil, nil)
	w.Account("bare", "", "", nil, nil)
	for _, g := range []struct {
		name, handle, caps string
		members            []string
	}{
		{"staff", "grouped", "view,comment,create", []string{"ed2@acme.test", "c4@client.test"}},
		{"creators", "free", "create", []string{"c4@client.test", "ed@acme.test"}},
	} {
		w.Must(w.Svc.CreateGroup(w.Ctx, w.Op(), g.name))
		caps, err := approvals.ParseCaps(g.caps)
		w.OK(err)
		w.OK(w.Svc.Grant(w.Ctx, w.Op(), g.handle, approvals.GrantTarget{Group: g.name}, caps))
		for _, m := range g.members {
			w.OK(w.Svc.AddToGroup(w.Ctx, w.Op(), g.name, m))
		}
	}
	w.OK(w.Svc.Grant(w.Ctx, w.Op(), "bare", approvals.GrantTarget{Email: "gone@client.test"}, approvals.NewCaps(approvals.CapView)))
	w.Must(w.Svc.DeactivateMember(w.Ctx, w.Op(), "gone@client.test"))

	emails := []string{"owner@acme.test", "admin@acme.test", "admin2@acme.test", "ed@acme.test", "ed2@acme.test",
		"c1@client.test", "c2@client.test", "c3@client.test", "c4@client.test", "gone@client.test"}
	for _, email := range emails {
		t.Run(email, func(t *testing.T) {
			// What every account's raw access says, under the rule.
			var want []string
			w.OK(w.DB.InTx(w.Ctx, func(ctx context.Context, tx approvals.Tx) error {
				ws, err := tx.WorkspaceBySlug(ctx, w.WS)
				if err != nil {
					return err
				}
				m, err := tx.MemberByEmail(ctx, ws.ID, email)
				if err != nil {
					return err
				}
				raws, err := tx.MemberAccess(ctx, ws.ID, m.ID, approvals.AllAccounts)
				for _, r := range raws {
					if m.Active() && approvals.EffectiveCaps(m.Role, r.Direct, r.Groups...).Has(approvals.CapView) {
						want = append(want, r.Account.Handle)
					}
				}
				return err
			}))
			shown, err := w.Svc.MemberAccess(w.Ctx, w.Op(), email, "")
			w.OK(err)
			got := []string{}
			for _, a := range shown {
				got = append(got, a.Account.Handle)
			}
			if want == nil {
				want = []string{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("visible accounts (-every account under the rule +shown)\n%s", diff)
			}
		})
	}
}
