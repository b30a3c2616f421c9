package approvals

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// The approver invariants, checked here under the accounts' row locks
// before any change that can take approver flags away (the SQL triggers of
// migration 00001 are a backstop):
//
//  1. an approver holds the role of the tier (owner or admin for internal,
//     client for client) and has access to the account;
//  2. an account that needs a tier's approval keeps at least one approver in
//     that tier.

// approverFlag is one (account, tier) approver flag of a member.
type approverFlag struct {
	acc  *Account
	tier Tier
}

// canHold reports whether a member of role, with the raw grants of raw,
// may hold an approver flag of tier on raw's account (invariant 1).
func canHold(role Role, raw *AccountAccess, tier Tier) bool {
	t, ok := role.ApproverTier()
	return ok && t == tier && EffectiveCaps(role, raw.Direct, raw.Groups...).Has(CapView)
}

// lockMemberAccess takes the locks a change to m that may drop approver
// flags needs, in the lock order (lock.go): every account of the workspace,
// then its pending drafts; and returns m's raw access to every account as
// read under those locks.
func lockMemberAccess(ctx context.Context, tx Tx, ws *Workspace, m *Member) ([]AccountAccess, error) {
	if err := tx.LockAccounts(ctx, ws.ID); err != nil {
		return nil, err
	}
	if _, err := tx.LockPendingDrafts(ctx, ws.ID); err != nil {
		return nil, err
	}
	return tx.MemberAccess(ctx, ws.ID, m.ID, AllAccounts)
}

// requireApproversRemain refuses, naming the account and the tier, the loss
// of m's flags that would leave an account needing that tier with no
// approver in it (invariant 2). The accounts must be locked.
func requireApproversRemain(ctx context.Context, tx Tx, ws *Workspace, m *Member, lost []approverFlag) error {
	slices.SortFunc(lost, func(a, b approverFlag) int {
		return cmp.Or(cmp.Compare(a.acc.Handle, b.acc.Handle), cmp.Compare(a.tier, b.tier))
	})
	for _, f := range lost {
		if !f.acc.Needs(f.tier) {
			continue
		}
		approvers, err := tx.Approvers(ctx, ws.ID, f.acc.ID, f.tier)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(approvers, func(x *Member) bool { return x.ID != m.ID }) {
			return Errorf(EINVALID, "%s is the only %s approver of account %q, which needs %s approval; add another %s approver first or turn %s approval off",
				m.Email, f.tier, f.acc.Handle, f.tier, f.tier, f.tier)
		}
	}
	return nil
}

// requireOtherOwner refuses to take the owner role or the membership away
// from m when m is the workspace's last active owner.
func requireOtherOwner(ctx context.Context, tx Tx, ws *Workspace, m *Member, what string) error {
	if m.Role != RoleOwner {
		return nil
	}
	ms, err := tx.Members(ctx, ws.ID)
	if err != nil {
		return err
	}
	for _, x := range ms {
		if x.ID != m.ID && x.Role == RoleOwner && x.Active() {
			return nil
		}
	}
	return Errorf(EINVALID, "%s is the last active owner of workspace %q and cannot be %s; make another member owner first", m.Email, ws.Slug, what)
}

// requireOwnerFor refuses a non-owner's change to an owner's standing: only
// an owner (or the operator) may make, unmake or cut off an owner.
func requireOwnerFor(p *principal, m *Member, what string) error {
	if p.member == nil || p.member.Role == RoleOwner || m.Role != RoleOwner {
		return nil
	}
	return Errorf(EUNAUTHORIZED, "only an owner may %s an owner (%s)", what, m.Email)
}

// flagsLostTo returns the approver flags of raws that a member of role could
// no longer hold.
func flagsLostTo(role Role, raws []AccountAccess) []approverFlag {
	var lost []approverFlag
	for i := range raws {
		for _, t := range raws[i].Tiers {
			if !canHold(role, &raws[i], t) {
				lost = append(lost, approverFlag{acc: &raws[i].Account, tier: t})
			}
		}
	}
	return lost
}

// allFlags returns every approver flag of raws.
func allFlags(raws []AccountAccess) []approverFlag {
	var out []approverFlag
	for i := range raws {
		for _, t := range raws[i].Tiers {
			out = append(out, approverFlag{acc: &raws[i].Account, tier: t})
		}
	}
	return out
}

// dropFlags removes the approver flags of m; the caller re-settles the
// pending drafts of their accounts (resettle).
func (s *Service) dropFlags(ctx context.Context, tx Tx, p *principal, m *Member, flags []approverFlag) error {
	for _, f := range flags {
		if err := tx.RemoveApprover(ctx, &Approver{WorkspaceID: p.ws.ID, AccountID: f.acc.ID, MemberID: m.ID, Tier: f.tier}); err != nil {
			return err
		}
	}
	return nil
}

// resettle re-evaluates the pending drafts of the flags' accounts, once each.
func (s *Service) resettle(ctx context.Context, tx Tx, p *principal, flags []approverFlag) error {
	seen := map[int64]bool{}
	for _, f := range flags {
		if seen[f.acc.ID] {
			continue
		}
		seen[f.acc.ID] = true
		if err := s.reevaluateAccount(ctx, tx, p, f.acc); err != nil {
			return fmt.Errorf("re-settle drafts of %s: %w", f.acc.Handle, err)
		}
	}
	return nil
}

// requireApprovers refuses a change that would leave one of accs, as they
// are in memory, needing a tier's approval with no approver in it (as the
// transaction has them).
func (s *Service) requireApprovers(ctx context.Context, tx Tx, ws *Workspace, accs []*Account) error {
	if len(accs) == 0 {
		return nil
	}
	ids := make([]int64, len(accs))
	for i, acc := range accs {
		ids[i] = acc.ID
	}
	byAccount, err := tx.ApproversOf(ctx, ws.ID, ids)
	if err != nil {
		return err
	}
	for _, acc := range accs {
		for _, t := range Tiers {
			if acc.Needs(t) && len(byAccount[acc.ID][t]) == 0 {
				return Errorf(EINVALID, "account %q needs %s approval but would have no %s approver; add another %s approver first or turn %s approval off",
					acc.Handle, t, t, t, t)
			}
		}
	}
	return nil
}

// requireWorkspaceApprovers is requireApprovers for every account of the
// workspace, after a change that may reach many (a member or a group
// membership removed).
func (s *Service) requireWorkspaceApprovers(ctx context.Context, tx Tx, ws *Workspace) error {
	accs, err := tx.Accounts(ctx, ws.ID)
	if err != nil {
		return err
	}
	return s.requireApprovers(ctx, tx, ws, accs)
}

// AddApprover flags a member as an approver of an account in a tier.
// Errors: ENOTFOUND, EINVALID (no access, wrong role for the tier), ECONFLICT, EUNAUTHORIZED.
func (s *Service) AddApprover(ctx context.Context, a Actor, handle, email string, tier Tier) error {
	return s.change(ctx, a, "approver.add", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		ap, acc, err := s.approverFor(ctx, tx, p, handle, email, tier, e)
		if err != nil {
			return err
		}
		if err := s.requireCanApprove(ctx, tx, ap, acc); err != nil {
			return err
		}
		return tx.AddApprover(ctx, ap)
	})
}

// RemoveApprover removes an approver flag; refused for the last approver of
// a tier the account needs. Errors: ENOTFOUND, EINVALID, EUNAUTHORIZED.
func (s *Service) RemoveApprover(ctx context.Context, a Actor, handle, email string, tier Tier) error {
	return s.change(ctx, a, "approver.remove", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		ap, acc, err := s.approverFor(ctx, tx, p, handle, email, tier, e)
		if err != nil {
			return err
		}
		if err := tx.RemoveApprover(ctx, ap); err != nil {
			return err
		}
		if err := s.requireApprovers(ctx, tx, p.ws, []*Account{acc}); err != nil {
			return err
		}
		return s.reevaluateAccount(ctx, tx, p, acc)
	})
}

// requireCanApprove refuses to make ap's member an approver unless they
// are active, hold the tier's role and have access (invariant 1); the
// account is locked.
func (s *Service) requireCanApprove(ctx context.Context, tx Tx, ap *Approver, acc *Account) error {
	m, err := tx.MemberByID(ctx, acc.WorkspaceID, ap.MemberID)
	if err != nil {
		return err
	}
	if !m.Active() {
		return Errorf(EINVALID, "%s is deactivated and cannot be an approver of account %q", m.Email, acc.Handle)
	}
	raw, err := tx.AccountMemberAccess(ctx, acc.WorkspaceID, acc.ID, m.ID)
	if err != nil {
		return err
	}
	if t, ok := m.Role.ApproverTier(); !ok || t != ap.Tier {
		want := "clients"
		if ap.Tier == TierInternal {
			want = "owners or admins"
		}
		return Errorf(EINVALID, "%s cannot be a %s approver of account %q: %s approvers must be %s, and %s is %s", m.Email, ap.Tier, acc.Handle, ap.Tier, want, m.Email, article(m.Role))
	}
	if !canHold(m.Role, raw, ap.Tier) {
		return Errorf(EINVALID, "%s cannot be a %s approver of account %q: they have no access to it; grant access first", m.Email, ap.Tier, acc.Handle)
	}
	return nil
}

// article names a role with its indefinite article: "an admin", "a client".
func article(r Role) string {
	if r == RoleAdmin || r == RoleOwner || r == RoleEditor {
		return "an " + string(r)
	}
	return "a " + string(r)
}

func (s *Service) approverFor(ctx context.Context, tx Tx, p *principal, handle, email string, tier Tier, e *AuditEntry) (*Approver, *Account, error) {
	if _, err := ParseTier(string(tier)); err != nil {
		return nil, nil, err
	}
	acc, err := s.managedAccount(ctx, tx, p, handle, e)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.memberByEmail(ctx, tx, p.ws, email)
	if err != nil {
		return nil, nil, err
	}
	e.Detail = acc.Handle + " " + m.Email + " tier " + string(tier)
	return &Approver{WorkspaceID: p.ws.ID, AccountID: acc.ID, MemberID: m.ID, Tier: tier}, acc, nil
}
