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

// approverWorld is a world whose account needs client approval, with the
// client c1 as approver and, when two is set, a second client c2 (with its
// own direct grant) as approver too. c1's access comes from a direct grant,
// or from the group g's grant when viaGroup is set.
type approverWorld struct {
	*world
	c1, c2 *approvals.Member
	g      *approvals.Group
}

func newApproverWorld(t *testing.T, db *store.DB, viaGroup, two bool) *approverWorld {
	t.Helper()
	w := &approverWorld{world: newWorld(t, db)}
	w.c1 = w.client
	w.c2 = w.member(t, db, "c2@example.com", approvals.RoleClient)
	w.g = &approvals.Group{WorkspaceID: w.ws.ID, Name: "clients"}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		if err := tx.CreateGroup(ctx, w.g); err != nil {
			return err
		}
		if viaGroup {
			if err := tx.AddGroupMember(ctx, w.ws.ID, w.g.ID, w.c1.ID); err != nil {
				return err
			}
			if err := tx.SetGrant(ctx, &approvals.Grant{WorkspaceID: w.ws.ID, AccountID: w.account.ID, GroupID: w.g.ID, Caps: approvals.NewCaps(approvals.CapView)}); err != nil {
				return err
			}
		} else if err := tx.SetGrant(ctx, w.grant(w.c1)); err != nil {
			return err
		}
		if err := tx.SetGrant(ctx, w.grant(w.c2)); err != nil {
			return err
		}
		if err := tx.AddApprover(ctx, w.approver(w.c1, approvals.TierClient)); err != nil {
			return err
		}
		if two {
			if err := tx.AddApprover(ctx, w.approver(w.c2, approvals.TierClient)); err != nil {
				return err
			}
		}
		w.account.NeedsClientApproval = true
		return tx.UpdateAccount(ctx, w.account)
	})
	return w
}

func (w *approverWorld) approvers(t *testing.T, db *store.DB) []string {
	t.Helper()
	var ms []*approvals.Member
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
		ms, err = tx.Approvers(ctx, w.ws.ID, w.account.ID, approvals.TierClient)
		return err
	})
	var emails []string
	for _, m := range ms {
		emails = append(emails, m.Email)
	}
	return emails
}

// accessLosses are the ways c1 can lose its access (or its role) on the account.
var accessLosses = []struct {
	name     string
	viaGroup bool
	revoke   func(ctx context.Context, tx approvals.Tx, w *approverWorld) error
}{
	{"delete direct grant", false, func(ctx context.Context, tx approvals.Tx, w *approverWorld) error {
		return tx.DeleteGrant(ctx, w.grant(w.c1))
	}},
	{"delete group grant", true, func(ctx context.Context, tx approvals.Tx, w *approverWorld) error {
		return tx.DeleteGrant(ctx, &approvals.Grant{WorkspaceID: w.ws.ID, AccountID: w.account.ID, GroupID: w.g.ID})
	}},
	{"remove from group", true, func(ctx context.Context, tx approvals.Tx, w *approverWorld) error {
		return tx.RemoveGroupMember(ctx, w.ws.ID, w.g.ID, w.c1.ID)
	}},
	{"delete member", false, func(ctx context.Context, tx approvals.Tx, w *approverWorld) error {
		return tx.DeleteMember(ctx, w.ws.ID, w.c1.ID)
	}},
	{"role change", false, func(ctx context.Context, tx approvals.Tx, w *approverWorld) error {
		m := *w.c1
		m.Role = approvals.RoleEditor
		return tx.UpdateMember(ctx, &m)
	}},
	{"remove approver", false, func(ctx context.Context, tx approvals.Tx, w *approverWorld) error {
		return tx.RemoveApprover(ctx, w.approver(w.c1, approvals.TierClient))
	}},
	{"deactivate member", true, func(ctx context.Context, tx approvals.Tx, w *approverWorld) error {
		return tx.DeactivateMember(ctx, w.ws.ID, w.c1.ID, time.Now())
	}},
}

// TestAccessLossDropsApprover: invariant 1 on the way out, bounded by
// invariant 2.
func TestAccessLossDropsApprover(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	for _, tt := range accessLosses {
		t.Run(tt.name+"/another approver left", func(t *testing.T) {
			w := newApproverWorld(t, db, tt.viaGroup, true)
			mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tt.revoke(ctx, tx, w) })
			if diff := cmp.Diff([]string{"c2@example.com"}, w.approvers(t, db)); diff != "" {
				t.Errorf("approvers (-want +got)\n%s", diff)
			}
		})
		t.Run(tt.name+"/last approver", func(t *testing.T) {
			w := newApproverWorld(t, db, tt.viaGroup, false)
			err := inTx(db, func(ctx context.Context, tx approvals.Tx) error { return tt.revoke(ctx, tx, w) })
			wantErr(t, err, approvals.EINTERNAL, `account "acme-ig"`, "client approval", "client approver")
			if diff := cmp.Diff([]string{"client@example.com"}, w.approvers(t, db)); diff != "" {
				t.Errorf("approvers after refusal (-want +got)\n%s", diff)
			}
		})
	}

	t.Run("access kept through another grant", func(t *testing.T) {
		w := newApproverWorld(t, db, true, false)
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
			if err := tx.SetGrant(ctx, w.grant(w.c1)); err != nil {
				return err
			}
			return tx.RemoveGroupMember(ctx, w.ws.ID, w.g.ID, w.c1.ID)
		})
		if diff := cmp.Diff([]string{"client@example.com"}, w.approvers(t, db)); diff != "" {
			t.Errorf("approvers (-want +got)\n%s", diff)
		}
	})

	t.Run("revoke then replace in one transaction", func(t *testing.T) {
		w := newApproverWorld(t, db, false, false)
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
			if err := tx.DeleteGrant(ctx, w.grant(w.c1)); err != nil {
				return err
			}
			return tx.AddApprover(ctx, w.approver(w.c2, approvals.TierClient))
		})
		if diff := cmp.Diff([]string{"c2@example.com"}, w.approvers(t, db)); diff != "" {
			t.Errorf("approvers (-want +got)\n%s", diff)
		}
	})
}

// TestTierNeedsApprover: invariant 2 when the setting changes.
func TestTierNeedsApprover(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	tests := []struct {
		name  string
		do    func(ctx context.Context, tx approvals.Tx, w *world) error
		parts []string // nil: succeeds
	}{
		{"turn client approval on without approver", func(ctx context.Context, tx approvals.Tx, w *world) error {
			acc := *w.account
			acc.NeedsClientApproval = true
			return tx.UpdateAccount(ctx, &acc)
		}, []string{`account "acme-ig" needs client approval`}},
		{"turn internal approval on without approver", func(ctx context.Context, tx approvals.Tx, w *world) error {
			acc := *w.account
			acc.NeedsInternalApproval = true
			return tx.UpdateAccount(ctx, &acc)
		}, []string{`account "acme-ig" needs internal approval`}},
		{"turn internal approval on with the owner as approver", func(ctx context.Context, tx approvals.Tx, w *world) error {
			if err := tx.AddApprover(ctx, w.approver(w.owner, approvals.TierInternal)); err != nil {
				return err
			}
			acc := *w.account
			acc.NeedsInternalApproval = true
			return tx.UpdateAccount(ctx, &acc)
		}, nil},
		{"create an account that needs approval", func(ctx context.Context, tx approvals.Tx, w *world) error {
			return tx.CreateAccount(ctx, &approvals.Account{WorkspaceID: w.ws.ID, Handle: "strict", Name: "Strict", NeedsClientApproval: true})
		}, []string{`account "strict" needs client approval`}},
		{"create it with its approver", func(ctx context.Context, tx approvals.Tx, w *world) error {
			acc := &approvals.Account{WorkspaceID: w.ws.ID, Handle: "strict", Name: "Strict", NeedsInternalApproval: true}
			if err := tx.CreateAccount(ctx, acc); err != nil {
				return err
			}
			return tx.AddApprover(ctx, &approvals.Approver{WorkspaceID: w.ws.ID, AccountID: acc.ID, MemberID: w.owner.ID, Tier: approvals.TierInternal})
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, db)
			err := inTx(db, func(ctx context.Context, tx approvals.Tx) error { return tt.do(ctx, tx, w) })
			if tt.parts == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, approvals.EINTERNAL, tt.parts...)
		})
	}

	t.Run("turning the setting off frees the last approver", func(t *testing.T) {
		w := newApproverWorld(t, db, false, false)
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
			w.account.NeedsClientApproval = false
			if err := tx.UpdateAccount(ctx, w.account); err != nil {
				return err
			}
			return tx.RemoveApprover(ctx, w.approver(w.c1, approvals.TierClient))
		})
	})
}
