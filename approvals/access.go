package approvals

import "context"

// requireAdmin allows the operator and the workspace's owners and admins.
func requireAdmin(p *principal, what string) error {
	if p.member == nil || p.member.Role == RoleOwner || p.member.Role == RoleAdmin {
		return nil
	}
	return Errorf(EUNAUTHORIZED, "only an owner or admin may %s", what)
}

// requireManage allows the operator and members with "manage" on the account.
func (s *Service) requireManage(ctx context.Context, tx Tx, p *principal, acc *Account) error {
	if p.member == nil {
		return nil
	}
	access, err := s.access(ctx, tx, p.member, acc)
	if err != nil {
		return err
	}
	if !access.Can(CapManage) {
		return Errorf(EUNAUTHORIZED, "%s may not manage account %q", p.member.Email, acc.Handle)
	}
	return nil
}

// access returns a member's effective access to one account.
func (s *Service) access(ctx context.Context, tx Tx, m *Member, acc *Account) (Access, error) {
	raw, err := tx.AccountMemberAccess(ctx, m.WorkspaceID, acc.ID, m.ID)
	if err != nil {
		return Access{}, err
	}
	return effective(m, raw), nil
}

// effective is a member's access to raw's account: none at all once the
// member is deactivated (an owner's role would otherwise still give it).
func effective(m *Member, raw *AccountAccess) Access {
	if !m.Active() {
		return Access{Account: raw.Account, Caps: Caps{}}
	}
	return Access{Account: raw.Account, Caps: EffectiveCaps(m.Role, raw.Direct, raw.Groups...), Tiers: raw.Tiers}
}

// AccessScope says which accounts of the workspace Tx.MemberAccess returns.
type AccessScope int

const (
	// AllAccounts is every account, those with no grant to the member
	// included (with empty caps).
	AllAccounts AccessScope = iota
	// GrantedAccounts is the accounts with a grant to the member, in
	// person or through a group (whatever its caps).
	GrantedAccounts
)

// memberAccess returns m's effective access to the accounts of the
// workspace m may view.
func (s *Service) memberAccess(ctx context.Context, tx Tx, m *Member) ([]Access, error) {
	scope := AllAccounts
	if !EffectiveCaps(m.Role, Caps{}).Has(CapView) {
		// The role shows no account without a grant (every role but the
		// owner's): the accounts m may view are among those granted to
		// them, and the store need not read the workspace's others (a
		// client of a large agency is granted a few of its hundreds).
		scope = GrantedAccounts
	}
	raws, err := tx.MemberAccess(ctx, m.WorkspaceID, m.ID, scope)
	if err != nil {
		return nil, err
	}
	out := []Access{}
	for i := range raws {
		acc := effective(m, &raws[i])
		if !acc.Can(CapView) {
			continue
		}
		out = append(out, acc)
	}
	return out, nil
}

// managedAccount finds the account a change names, records it on the audit
// entry, requires "manage" on it and takes its lock (lock.go) for the rest
// of the transaction.
func (s *Service) managedAccount(ctx context.Context, tx Tx, p *principal, handle string, e *AuditEntry) (*Account, error) {
	acc, err := s.accountByHandle(ctx, tx, p.ws, handle)
	if err != nil {
		return nil, err
	}
	e.AccountID = acc.ID
	if err := s.requireManage(ctx, tx, p, acc); err != nil {
		return nil, err
	}
	if err := tx.LockAccount(ctx, p.ws.ID, acc.ID); err != nil {
		return nil, err
	}
	return acc, nil
}

// GrantTarget names who a grant is for: a member (by email) or a group.
type GrantTarget struct {
	Email string
	Group string
}

func (s *Service) grantFor(ctx context.Context, tx Tx, p *principal, handle string, to GrantTarget, e *AuditEntry) (*Grant, *Account, error) {
	acc, err := s.managedAccount(ctx, tx, p, handle, e)
	if err != nil {
		return nil, nil, err
	}
	g := &Grant{WorkspaceID: p.ws.ID, AccountID: acc.ID}
	switch {
	case to.Email != "" && to.Group != "":
		return nil, nil, Errorf(EINVALID, "name a member or a group, not both")
	case to.Email != "":
		m, err := s.memberByEmail(ctx, tx, p.ws, to.Email)
		if err != nil {
			return nil, nil, err
		}
		if !m.Active() {
			return nil, nil, Errorf(EINVALID, "%s is deactivated and cannot be given access", m.Email)
		}
		g.MemberID = m.ID
		e.Detail = acc.Handle + " member " + m.Email
	case to.Group != "":
		gr, err := s.groupByName(ctx, tx, p.ws, to.Group)
		if err != nil {
			return nil, nil, err
		}
		g.GroupID = gr.ID
		e.Detail = acc.Handle + " group " + gr.Name
	default:
		return nil, nil, Errorf(EINVALID, "name a member (--member) or a group (--group)")
	}
	return g, acc, nil
}

// Grant sets the capabilities of a member or group on an account (replacing
// an earlier grant). Errors: ENOTFOUND, EINVALID, EUNAUTHORIZED.
func (s *Service) Grant(ctx context.Context, a Actor, handle string, to GrantTarget, caps Caps) error {
	return s.change(ctx, a, "access.grant", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		g, _, err := s.grantFor(ctx, tx, p, handle, to, e)
		if err != nil {
			return err
		}
		for c := range caps {
			if !c.Valid() {
				return Errorf(EINVALID, "unknown capability %q", c)
			}
		}
		g.Caps = Caps{CapView: true}.Union(caps)
		e.Detail += " caps " + g.Caps.String()
		return tx.SetGrant(ctx, g)
	})
}

// Revoke removes the grant of a member or group on an account. Approver flags
// of members who thereby lose all access go in the same transaction; if that
// leaves a required tier without approvers, nothing changes.
// Errors: ENOTFOUND, EINVALID (names account and tier), EUNAUTHORIZED.
func (s *Service) Revoke(ctx context.Context, a Actor, handle string, from GrantTarget) error {
	return s.change(ctx, a, "access.revoke", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		g, acc, err := s.grantFor(ctx, tx, p, handle, from, e)
		if err != nil {
			return err
		}
		if err := tx.DeleteGrant(ctx, g); err != nil {
			return err
		}
		if err := s.requireApprovers(ctx, tx, p.ws, []*Account{acc}); err != nil {
			return err
		}
		return s.reevaluateAccount(ctx, tx, p, acc)
	})
}

// MemberAccess returns a member's effective access to each account they can
// view, or to one account (handle non-empty, shown even without access).
// Errors: ENOTFOUND, EUNAUTHORIZED (members may only look at themselves).
func (s *Service) MemberAccess(ctx context.Context, a Actor, email, handle string) ([]Access, error) {
	var out []Access
	err := s.read(ctx, a, "access.show", func(ctx context.Context, tx Tx, p *principal) error {
		m, err := s.memberByEmail(ctx, tx, p.ws, email)
		if err != nil {
			return err
		}
		if p.member != nil && p.member.ID != m.ID {
			if err := requireAdmin(p, "look at another member's access"); err != nil {
				return err
			}
		}
		if handle != "" {
			acc, err := s.accountByHandle(ctx, tx, p.ws, handle)
			if err != nil {
				return err
			}
			x, err := s.access(ctx, tx, m, acc)
			if err != nil {
				return err
			}
			out = []Access{x}
			return nil
		}
		out, err = s.memberAccess(ctx, tx, m)
		return err
	})
	return out, err
}
