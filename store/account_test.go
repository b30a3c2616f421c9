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

func TestAccount(t *testing.T) {
	db := pgtest.MustOpen(t, env.URL())
	a, b := newWorld(t, db), newWorld(t, db) // both have an account "acme-ig"

	t.Run("defaults", func(t *testing.T) {
		want := approvals.Account{ID: a.account.ID, WorkspaceID: a.ws.ID, Handle: "acme-ig", Name: "Acme Instagram",
			Network: approvals.NetworkOther, InternalRule: approvals.RuleAny, ClientRule: approvals.RuleAny, RemindAfter: 24 * time.Hour,
			RemindMax: approvals.DefaultRemindMax, DeadlinePolicy: approvals.DeadlineNone, DeadlineMargin: approvals.DefaultDeadlineMargin, MinReview: approvals.DefaultMinReview,
			CreatedAt: a.account.CreatedAt}
		if diff := cmp.Diff(want, *a.account); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
	})

	t.Run("lookups stay in their workspace", func(t *testing.T) {
		for _, w := range []*world{a, b} {
			mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
				got, err := tx.AccountByHandle(ctx, w.ws.ID, "acme-ig")
				if err != nil {
					return err
				}
				if diff := cmp.Diff(w.account, got); diff != "" {
					t.Errorf("AccountByHandle (-want +got)\n%s", diff)
				}
				list, err := tx.Accounts(ctx, w.ws.ID)
				if err != nil {
					return err
				}
				if diff := cmp.Diff([]*approvals.Account{w.account}, list); diff != "" {
					t.Errorf("Accounts (-want +got)\n%s", diff)
				}
				return nil
			})
		}
		err := inTx(db, func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.AccountByID(ctx, a.ws.ID, b.account.ID)
			return err
		})
		wantErr(t, err, approvals.ENOTFOUND, "no account #")
	})

	t.Run("update", func(t *testing.T) {
		acc := *a.account
		acc.Name, acc.ClientRule, acc.SlackChannel, acc.RemindAfter = "Acme IG", approvals.RuleAll, "C42", 2*time.Hour
		acc.Network = approvals.NetworkTikTok
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.UpdateAccount(ctx, &acc) })
		var got *approvals.Account
		mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
			got, err = tx.AccountByID(ctx, a.ws.ID, acc.ID)
			return err
		})
		if diff := cmp.Diff(&acc, got); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
	})

	errs := []struct {
		name  string
		do    func(ctx context.Context, tx approvals.Tx) error
		code  string
		parts []string
	}{
		{"taken handle", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateAccount(ctx, &approvals.Account{WorkspaceID: a.ws.ID, Handle: "acme-ig", Name: "Again"})
		}, approvals.ECONFLICT, []string{`account handle "acme-ig" already exists`}},
		{"bad handle", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateAccount(ctx, &approvals.Account{WorkspaceID: a.ws.ID, Handle: "Acme IG", Name: "Bad"})
		}, approvals.EINVALID, []string{"handle"}},
		{"bad rule", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateAccount(ctx, &approvals.Account{WorkspaceID: a.ws.ID, Handle: "rule", Name: "Bad", ClientRule: "most"})
		}, approvals.EINVALID, []string{"any or all"}},
		{"unknown network", func(ctx context.Context, tx approvals.Tx) error {
			return tx.CreateAccount(ctx, &approvals.Account{WorkspaceID: a.ws.ID, Handle: "myspace", Name: "Bad", Network: "myspace"})
		}, approvals.EINVALID, []string{"a network is one of instagram,"}},
		{"network created", func(ctx context.Context, tx approvals.Tx) error {
			acc := &approvals.Account{WorkspaceID: a.ws.ID, Handle: "acme-yt", Name: "Acme YouTube", Network: approvals.NetworkYouTube}
			if err := tx.CreateAccount(ctx, acc); err != nil {
				return err
			}
			got, err := tx.AccountByHandle(ctx, a.ws.ID, "acme-yt")
			if err == nil && got.Network != approvals.NetworkYouTube {
				return approvals.Errorf(approvals.EINTERNAL, "network read back as %q", got.Network)
			}
			return approvals.Errorf(approvals.ECONFLICT, "created and read back") // roll back
		}, approvals.ECONFLICT, []string{"created and read back"}},
		{"missing handle", func(ctx context.Context, tx approvals.Tx) error {
			_, err := tx.AccountByHandle(ctx, a.ws.ID, "nope")
			return err
		}, approvals.ENOTFOUND, []string{`no account "nope" in workspace "` + a.ws.Slug + `"`}},
		{"lock missing", func(ctx context.Context, tx approvals.Tx) error {
			return tx.LockAccount(ctx, a.ws.ID, b.account.ID)
		}, approvals.ENOTFOUND, []string{"no account #"}},
		{"update missing", func(ctx context.Context, tx approvals.Tx) error {
			acc := *b.account
			acc.WorkspaceID = a.ws.ID
			return tx.UpdateAccount(ctx, &acc)
		}, approvals.ENOTFOUND, []string{"no account #"}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, inTx(db, tt.do), tt.code, tt.parts...)
		})
	}
}

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
		got, err = tx.MemberAccess(ctx, w.ws.ID, w.client.ID)
		return err
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MemberAccess (-want +got)\n%s", diff)
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
			_, err := tx.MemberAccess(ctx, w.ws.ID, -1)
			return err
		}, approvals.ENOTFOUND, []string{"no member #-1"}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, inTx(db, tt.do), tt.code, tt.parts...)
		})
	}
}

// approver returns an Approver of w's account.
func (w *world) approver(m *approvals.Member, tier approvals.Tier) *approvals.Approver {
	return &approvals.Approver{WorkspaceID: w.ws.ID, AccountID: w.account.ID, MemberID: m.ID, Tier: tier}
}

func (w *world) grant(m *approvals.Member) *approvals.Grant {
	return &approvals.Grant{WorkspaceID: w.ws.ID, AccountID: w.account.ID, MemberID: m.ID, Caps: approvals.NewCaps(approvals.CapView)}
}

func (w *world) tiers(t *testing.T, db *store.DB, m *approvals.Member) []approvals.Tier {
	t.Helper()
	var acc *approvals.AccountAccess
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) (err error) {
		acc, err = tx.AccountMemberAccess(ctx, w.ws.ID, w.account.ID, m.ID)
		return err
	})
	return acc.Tiers
}

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
