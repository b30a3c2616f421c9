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
