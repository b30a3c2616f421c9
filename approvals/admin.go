package approvals

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
)

var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
var handleRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

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

// CreateWorkspace creates a workspace. Only the operator may.
// Errors: EINVALID (slug, name), ECONFLICT (slug taken), EUNAUTHORIZED.
func (s *Service) CreateWorkspace(ctx context.Context, a Actor, slug, name string) (*Workspace, error) {
	if !a.isOperator() {
		return nil, Errorf(EUNAUTHORIZED, "only the operator may create workspaces")
	}
	slug = strings.TrimSpace(slug)
	if !slugRe.MatchString(slug) {
		return nil, Errorf(EINVALID, "invalid workspace slug %q: use lowercase letters, digits and dashes, starting with a letter or digit", slug)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, Errorf(EINVALID, "workspace name is empty")
	}
	w := &Workspace{Slug: slug, Name: name}
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.CreateWorkspace(ctx, w); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &AuditEntry{WorkspaceID: w.ID, At: s.now(), Actor: a.label(), Channel: a.Channel, Action: "workspace.create", Outcome: OutcomeOK, Detail: slug, Meta: a.Meta})
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// WorkspaceSettings is a partial update of a workspace.
type WorkspaceSettings struct {
	Name            *string
	SlackTeamID     *string
	InternalChannel *string
}

// SetWorkspace changes a workspace's settings.
// Errors: ENOTFOUND, EINVALID, ECONFLICT (Slack team bound elsewhere), EUNAUTHORIZED.
func (s *Service) SetWorkspace(ctx context.Context, a Actor, set WorkspaceSettings) (*Workspace, error) {
	var out *Workspace
	err := s.do(ctx, a, "workspace.set", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "change the workspace"); err != nil {
			return err
		}
		w := *p.ws
		if set.Name != nil {
			if strings.TrimSpace(*set.Name) == "" {
				return Errorf(EINVALID, "workspace name is empty")
			}
			w.Name = strings.TrimSpace(*set.Name)
		}
		if set.SlackTeamID != nil {
			w.SlackTeamID = strings.TrimSpace(*set.SlackTeamID)
		}
		if set.InternalChannel != nil {
			w.InternalChannel = strings.TrimSpace(*set.InternalChannel)
		}
		e.Detail = w.Slug
		out = &w
		return tx.UpdateWorkspace(ctx, &w)
	})
	return out, err
}

// Workspace returns the workspace the actor names.
// Errors: ENOTFOUND, EUNAUTHORIZED.
func (s *Service) Workspace(ctx context.Context, a Actor) (*Workspace, error) {
	var out *Workspace
	err := s.view(ctx, a, "workspace.show", func(ctx context.Context, tx Tx, p *principal) error {
		out = p.ws
		return nil
	})
	return out, err
}

// ValidateEmail checks an email address and returns it normalised.
func ValidateEmail(email string) (string, error) {
	e := normEmail(email)
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
		return "", Errorf(EINVALID, "malformed email address %q", email)
	}
	return e, nil
}

// AddMember adds a member to the actor's workspace.
// Errors: EINVALID (email, name, role), ECONFLICT (email taken), EUNAUTHORIZED.
func (s *Service) AddMember(ctx context.Context, a Actor, email, name string, role Role) (*Member, error) {
	var out *Member
	err := s.do(ctx, a, "member.add", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "add members"); err != nil {
			return err
		}
		em, err := ValidateEmail(email)
		if err != nil {
			return err
		}
		if !role.Valid() {
			return Errorf(EINVALID, "unknown role %q (want owner, admin, editor or client)", role)
		}
		if p.member != nil && role == RoleOwner && p.member.Role != RoleOwner {
			return Errorf(EUNAUTHORIZED, "only an owner may add an owner")
		}
		name = strings.TrimSpace(name)
		if name == "" {
			return Errorf(EINVALID, "member name is empty")
		}
		m := &Member{WorkspaceID: p.ws.ID, Email: em, Name: name, Role: role}
		if err := tx.CreateMember(ctx, m); err != nil {
			return err
		}
		e.Detail = em + " as " + string(role)
		out = m
		return nil
	})
	return out, err
}

// MemberSettings is a partial update of a member.
type MemberSettings struct {
	Name        *string
	SlackUserID *string // "" unlinks
	Role        *Role
}

// SetMember changes a member's name, Slack link or role.
//
// An admin's Slack link or unlink is explicit: unlinking a Slack user (or
// linking another in its place) keeps automatic linking from linking that
// user to the member again until an admin links them. A deactivated member
// cannot be linked.
//
// A role change keeps the approver invariants: the member loses the
// approver flags the new role cannot hold (a client's client tier, an
// admin's internal tier, an owner's flags on accounts only their role gave
// them access to), refused if that leaves an account needing the tier with
// no approver; pending drafts of the accounts concerned are settled again.
// Only an owner may make or unmake an owner, and the last active owner
// stays one.
// Errors: ENOTFOUND, EINVALID (name, role, names account and tier, last
// owner), ECONFLICT (Slack user linked to another member), EUNAUTHORIZED.
func (s *Service) SetMember(ctx context.Context, a Actor, email string, set MemberSettings) (*Member, error) {
	var out *Member
	err := s.do(ctx, a, "member.set", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "change members"); err != nil {
			return err
		}
		m, err := s.memberByEmail(ctx, tx, p.ws, email)
		if err != nil {
			return err
		}
		changes := []string{m.Email + ":"}
		if set.Name != nil {
			if strings.TrimSpace(*set.Name) == "" {
				return Errorf(EINVALID, "member name is empty")
			}
			m.Name = strings.TrimSpace(*set.Name)
			changes = append(changes, "name")
		}
		if set.SlackUserID != nil {
			if err := requireOwnerFor(p, m, "relink or unlink"); err != nil {
				return err
			}
			if err := s.adminLinkSlack(ctx, tx, p, m, strings.TrimSpace(*set.SlackUserID)); err != nil {
				return err
			}
			changes = append(changes, "slack-user="+dashIfEmpty(m.SlackUserID))
		}
		var lost []approverFlag
		if set.Role != nil && *set.Role != m.Role {
			if lost, err = s.changeRole(ctx, tx, p, m, *set.Role); err != nil {
				return err
			}
			changes = append(changes, "role="+string(m.Role))
			for _, f := range lost {
				changes = append(changes, fmt.Sprintf("dropped %s approver of %s", f.tier, f.acc.Handle))
			}
		}
		e.Detail = strings.Join(changes, " ")
		out = m
		if err := tx.UpdateMember(ctx, m); err != nil {
			return err
		}
		return s.resettle(ctx, tx, p, lost)
	})
	return out, err
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// adminLinkSlack sets m's Slack user as an admin asked: an unlink (or a
// replacement) is remembered so that automatic linking does not undo it,
// and a link forgets that the admin once unlinked the pair.
func (s *Service) adminLinkSlack(ctx context.Context, tx Tx, p *principal, m *Member, slackUserID string) error {
	if slackUserID != "" && !m.Active() {
		return Errorf(EINVALID, "%s is deactivated and cannot be linked to a Slack user", m.Email)
	}
	if old := m.SlackUserID; old != "" && old != slackUserID {
		if err := tx.BlockSlackLink(ctx, p.ws.ID, m.ID, old); err != nil {
			return err
		}
	}
	if slackUserID != "" {
		if err := tx.UnblockSlackLink(ctx, p.ws.ID, m.ID, slackUserID); err != nil {
			return err
		}
	}
	m.SlackUserID = slackUserID
	return nil
}

// changeRole gives m the role under the owner and approver rules (see
// SetMember), removing the approver flags the role cannot hold; it returns
// them. The caller saves m.
func (s *Service) changeRole(ctx context.Context, tx Tx, p *principal, m *Member, role Role) ([]approverFlag, error) {
	if !role.Valid() {
		return nil, Errorf(EINVALID, "unknown role %q (want owner, admin, editor or client)", role)
	}
	if role == RoleOwner && p.member != nil && p.member.Role != RoleOwner {
		return nil, Errorf(EUNAUTHORIZED, "only an owner may make an owner (%s)", m.Email)
	}
	if err := requireOwnerFor(p, m, "demote"); err != nil {
		return nil, err
	}
	if role != RoleOwner {
		if err := requireOtherOwner(ctx, tx, p.ws, m, "demoted"); err != nil {
			return nil, err
		}
	}
	raws, err := lockMemberAccess(ctx, tx, p.ws, m)
	if err != nil {
		return nil, err
	}
	lost := flagsLostTo(role, raws)
	if err := requireApproversRemain(ctx, tx, p.ws, m, lost); err != nil {
		return nil, err
	}
	if err := s.dropFlags(ctx, tx, p, m, lost); err != nil {
		return nil, err
	}
	m.Role = role
	return lost, nil
}

// DeactivateMember offboards a member: it keeps the member's row, history
// and audit trail, and takes away their grants, group memberships, approver
// flags (refused, naming account and tier, if that leaves an account
// needing the tier with no approver), backup-approver settings, Slack link
// and API tokens. A deactivated member can no longer act through any
// channel, and their emailed links answer that they are no longer valid.
// Pending drafts of the accounts concerned are settled again. Only an owner
// may deactivate an owner, and never the last active one.
// Errors: ENOTFOUND, EINVALID (names account and tier, last owner, backup
// approver of an escalating account), ECONFLICT (already deactivated),
// EUNAUTHORIZED.
func (s *Service) DeactivateMember(ctx context.Context, a Actor, email string) (*Member, error) {
	var out *Member
	err := s.do(ctx, a, "member.deactivate", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "deactivate members"); err != nil {
			return err
		}
		m, err := s.memberByEmail(ctx, tx, p.ws, email)
		if err != nil {
			return err
		}
		e.Detail = m.Email
		if !m.Active() {
			return Errorf(ECONFLICT, "%s was already deactivated at %s", m.Email, stamp(*m.DeactivatedAt))
		}
		if p.member != nil && p.member.ID == m.ID {
			return Errorf(EINVALID, "you cannot deactivate yourself; ask another admin or owner")
		}
		if err := requireOwnerFor(p, m, "deactivate"); err != nil {
			return err
		}
		if err := requireOtherOwner(ctx, tx, p.ws, m, "deactivated"); err != nil {
			return err
		}
		flags, err := s.releaseMember(ctx, tx, p, m)
		if err != nil {
			return err
		}
		if err := tx.DeactivateMember(ctx, p.ws.ID, m.ID, s.now()); err != nil {
			return err
		}
		if out, err = tx.MemberByID(ctx, p.ws.ID, m.ID); err != nil {
			return err
		}
		e.Detail += fmt.Sprintf(" (%d approver flags dropped)", len(flags))
		// Escalation may have made them an approver of any pending draft.
		return s.reevaluateWorkspace(ctx, tx, p)
	})
	return out, err
}

// releaseMember checks, under the locks of m's accounts, that m's approver
// flags and backup-approver settings may go, and removes the flags. It
// returns them.
func (s *Service) releaseMember(ctx context.Context, tx Tx, p *principal, m *Member) ([]approverFlag, error) {
	raws, err := lockMemberAccess(ctx, tx, p.ws, m)
	if err != nil {
		return nil, err
	}
	flags := allFlags(raws)
	if err := requireApproversRemain(ctx, tx, p.ws, m, flags); err != nil {
		return nil, err
	}
	accs, err := tx.Accounts(ctx, p.ws.ID)
	if err != nil {
		return nil, err
	}
	for _, acc := range accs {
		if acc.BackupApproverID == m.ID && acc.DeadlinePolicy == DeadlineEscalate {
			return nil, Errorf(EINVALID, "%s is the backup approver of account %q, whose deadline policy escalates to them; choose another backup approver or policy first", m.Email, acc.Handle)
		}
	}
	return flags, s.dropFlags(ctx, tx, p, m, flags)
}

// RemoveMember deletes a member who has no history, with their grants,
// group memberships and approver flags, under the approver invariants. A
// member who wrote, revised, decided or commented on a draft is kept for
// the history: deactivate them instead.
// Errors: ENOTFOUND, EINVALID (names account and tier, last owner),
// ECONFLICT (the member has history), EUNAUTHORIZED.
func (s *Service) RemoveMember(ctx context.Context, a Actor, email string) error {
	return s.do(ctx, a, "member.remove", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "remove members"); err != nil {
			return err
		}
		m, err := s.memberByEmail(ctx, tx, p.ws, email)
		if err != nil {
			return err
		}
		e.Detail = m.Email
		if err := requireOwnerFor(p, m, "remove"); err != nil {
			return err
		}
		// Under the member-change locks, a decision racing the removal has
		// either committed (and is history) or waits until the removal is
		// done.
		if err := s.lockForMemberChange(ctx, tx, p.ws); err != nil {
			return err
		}
		has, err := tx.MemberHasHistory(ctx, p.ws.ID, m.ID)
		if err != nil {
			return err
		}
		if has {
			return Errorf(ECONFLICT, "member %s has history (drafts, decisions or comments); use: signoff admin member deactivate --workspace %s --email %s", m.Email, p.ws.Slug, m.Email)
		}
		if m.Active() {
			if err := requireOtherOwner(ctx, tx, p.ws, m, "removed"); err != nil {
				return err
			}
		}
		if _, err := s.releaseMember(ctx, tx, p, m); err != nil {
			return err
		}
		if err := tx.DeleteMember(ctx, p.ws.ID, m.ID); err != nil {
			return err
		}
		if err := s.requireWorkspaceApprovers(ctx, tx, p.ws); err != nil {
			return err
		}
		return s.reevaluateWorkspace(ctx, tx, p)
	})
}

// Members lists the workspace's members. Errors: ENOTFOUND, EUNAUTHORIZED.
func (s *Service) Members(ctx context.Context, a Actor) ([]*Member, error) {
	var out []*Member
	err := s.view(ctx, a, "member.list", func(ctx context.Context, tx Tx, p *principal) error {
		if err := requireAdmin(p, "list members"); err != nil {
			return err
		}
		var err error
		out, err = tx.Members(ctx, p.ws.ID)
		return err
	})
	return out, err
}

func (s *Service) memberByEmail(ctx context.Context, tx Tx, ws *Workspace, email string) (*Member, error) {
	em, err := ValidateEmail(email)
	if err != nil {
		return nil, err
	}
	m, err := tx.MemberByEmail(ctx, ws.ID, em)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "no member %q in workspace %q", em, ws.Slug)
	}
	return m, err
}

func (s *Service) accountByHandle(ctx context.Context, tx Tx, ws *Workspace, handle string) (*Account, error) {
	acc, err := tx.AccountByHandle(ctx, ws.ID, strings.ToLower(strings.TrimSpace(handle)))
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "no account %q in workspace %q", handle, ws.Slug)
	}
	return acc, err
}

func (s *Service) groupByName(ctx context.Context, tx Tx, ws *Workspace, name string) (*Group, error) {
	g, err := tx.GroupByName(ctx, ws.ID, strings.TrimSpace(name))
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "no group %q in workspace %q", name, ws.Slug)
	}
	return g, err
}

// CreateGroup creates a group. Errors: EINVALID, ECONFLICT, EUNAUTHORIZED.
func (s *Service) CreateGroup(ctx context.Context, a Actor, name string) (*Group, error) {
	var out *Group
	err := s.do(ctx, a, "group.create", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "create groups"); err != nil {
			return err
		}
		name = strings.TrimSpace(name)
		if name == "" || len(name) > 100 {
			return Errorf(EINVALID, "group name must be 1 to 100 characters")
		}
		g := &Group{WorkspaceID: p.ws.ID, Name: name}
		e.Detail = name
		out = g
		return tx.CreateGroup(ctx, g)
	})
	return out, err
}

// AddToGroup adds a member to a group. Errors: ENOTFOUND, ECONFLICT, EUNAUTHORIZED.
func (s *Service) AddToGroup(ctx context.Context, a Actor, group, email string) error {
	return s.do(ctx, a, "group.add", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "change groups"); err != nil {
			return err
		}
		g, err := s.groupByName(ctx, tx, p.ws, group)
		if err != nil {
			return err
		}
		m, err := s.memberByEmail(ctx, tx, p.ws, email)
		if err != nil {
			return err
		}
		if !m.Active() {
			return Errorf(EINVALID, "%s is deactivated and cannot join groups", m.Email)
		}
		e.Detail = m.Email + " to " + g.Name
		return tx.AddGroupMember(ctx, p.ws.ID, g.ID, m.ID)
	})
}

// RemoveFromGroup removes a member from a group; approver flags that depended
// on the group's grants go too, unless that leaves an account without a
// required approver. Errors: ENOTFOUND, EINVALID (last approver), EUNAUTHORIZED.
func (s *Service) RemoveFromGroup(ctx context.Context, a Actor, group, email string) error {
	return s.do(ctx, a, "group.remove", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "change groups"); err != nil {
			return err
		}
		g, err := s.groupByName(ctx, tx, p.ws, group)
		if err != nil {
			return err
		}
		m, err := s.memberByEmail(ctx, tx, p.ws, email)
		if err != nil {
			return err
		}
		e.Detail = m.Email + " from " + g.Name
		if err := s.lockForMemberChange(ctx, tx, p.ws); err != nil {
			return err
		}
		if err := tx.RemoveGroupMember(ctx, p.ws.ID, g.ID, m.ID); err != nil {
			return err
		}
		if err := s.requireWorkspaceApprovers(ctx, tx, p.ws); err != nil {
			return err
		}
		return s.reevaluateWorkspace(ctx, tx, p)
	})
}

// AddAccount adds a social account. Errors: EINVALID, ECONFLICT, EUNAUTHORIZED.
func (s *Service) AddAccount(ctx context.Context, a Actor, handle, name string) (*Account, error) {
	var out *Account
	err := s.do(ctx, a, "account.add", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "add accounts"); err != nil {
			return err
		}
		h := strings.ToLower(strings.TrimSpace(handle))
		if !handleRe.MatchString(h) {
			return Errorf(EINVALID, "invalid account handle %q: use lowercase letters, digits, dots, dashes and underscores", handle)
		}
		name = strings.TrimSpace(name)
		if name == "" {
			return Errorf(EINVALID, "account name is empty")
		}
		acc := &Account{WorkspaceID: p.ws.ID, Handle: h, Name: name, InternalRule: RuleAny, ClientRule: RuleAny, RemindAfter: 24 * time.Hour}
		e.Detail = h
		out = acc
		if err := tx.CreateAccount(ctx, acc); err != nil {
			return err
		}
		e.AccountID = acc.ID
		return nil
	})
	return out, err
}

// Account returns one account the actor may view.
// Errors: ENOTFOUND, EUNAUTHORIZED.
func (s *Service) Account(ctx context.Context, a Actor, handle string) (*Account, error) {
	var out *Account
	err := s.view(ctx, a, "account.show", func(ctx context.Context, tx Tx, p *principal) error {
		acc, err := s.accountByHandle(ctx, tx, p.ws, handle)
		if err != nil {
			return err
		}
		if p.member != nil {
			access, err := s.access(ctx, tx, p.member, acc)
			if err != nil {
				return err
			}
			if !access.Can(CapView) {
				return Errorf(EUNAUTHORIZED, "%s has no access to account %q", p.member.Email, acc.Handle)
			}
		}
		out = acc
		return nil
	})
	return out, err
}

// SetAccount changes an account's settings. Switching a tier on needs an
// approver in that tier (checked by the store at commit). Reminder and
// deadline changes apply to drafts already waiting, from the next sweep.
// Errors: ENOTFOUND (account, backup approver), EINVALID (names the account
// and tier, or the reminder or deadline setting), EUNAUTHORIZED.
func (s *Service) SetAccount(ctx context.Context, a Actor, handle string, set AccountSettings) (*Account, error) {
	var out *Account
	err := s.do(ctx, a, "account.set", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		acc, err := s.accountByHandle(ctx, tx, p.ws, handle)
		if err != nil {
			return err
		}
		e.AccountID = acc.ID
		if err := s.requireManage(ctx, tx, p, acc); err != nil {
			return err
		}
		if err := tx.LockAccount(ctx, p.ws.ID, acc.ID); err != nil {
			return err
		}
		var changes []string
		if set.Name != nil {
			if strings.TrimSpace(*set.Name) == "" {
				return Errorf(EINVALID, "account name is empty")
			}
			acc.Name = strings.TrimSpace(*set.Name)
			changes = append(changes, "name")
		}
		if set.NeedsInternalApproval != nil {
			acc.NeedsInternalApproval = *set.NeedsInternalApproval
			changes = append(changes, "internal-approval="+onOff(*set.NeedsInternalApproval))
		}
		if set.NeedsClientApproval != nil {
			acc.NeedsClientApproval = *set.NeedsClientApproval
			changes = append(changes, "client-approval="+onOff(*set.NeedsClientApproval))
		}
		if set.InternalRule != nil {
			if _, err := ParseRule(string(*set.InternalRule)); err != nil {
				return err
			}
			acc.InternalRule = *set.InternalRule
			changes = append(changes, "internal-rule="+string(*set.InternalRule))
		}
		if set.ClientRule != nil {
			if _, err := ParseRule(string(*set.ClientRule)); err != nil {
				return err
			}
			acc.ClientRule = *set.ClientRule
			changes = append(changes, "client-rule="+string(*set.ClientRule))
		}
		if set.SlackChannel != nil {
			acc.SlackChannel = strings.TrimSpace(*set.SlackChannel)
			changes = append(changes, "slack-channel="+acc.SlackChannel)
		}
		if set.RemindAfter != nil {
			if *set.RemindAfter < time.Minute {
				return Errorf(EINVALID, "remind-after must be at least 1m")
			}
			acc.RemindAfter = *set.RemindAfter
			changes = append(changes, "remind-after="+set.RemindAfter.String())
		}
		clocks, err := s.setDeadlineSettings(ctx, tx, p, acc, set, &changes)
		if err != nil {
			return err
		}
		e.Detail = acc.Handle + ": " + strings.Join(changes, " ")
		out = acc
		if err := s.requireApprovers(ctx, tx, p.ws, []*Account{acc}); err != nil {
			return err
		}
		if err := tx.UpdateAccount(ctx, acc); err != nil {
			return err
		}
		if clocks { // pending drafts follow the new reminder and deadline settings
			return tx.WakeAccountClocks(ctx, p.ws.ID, acc.ID, s.now())
		}
		return nil
	})
	return out, err
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// Accounts lists the accounts the actor can view (all, for the operator).
// Errors: ENOTFOUND, EUNAUTHORIZED.
func (s *Service) Accounts(ctx context.Context, a Actor) ([]Access, error) {
	var out []Access
	err := s.view(ctx, a, "account.list", func(ctx context.Context, tx Tx, p *principal) error {
		if p.member == nil {
			accs, err := tx.Accounts(ctx, p.ws.ID)
			if err != nil {
				return err
			}
			for _, acc := range accs {
				out = append(out, Access{Account: *acc, Caps: RoleOwner.Ceiling()})
			}
			return nil
		}
		var err error
		out, err = s.memberAccess(ctx, tx, p.member, true)
		return err
	})
	return out, err
}

func (s *Service) memberAccess(ctx context.Context, tx Tx, m *Member, onlyVisible bool) ([]Access, error) {
	raws, err := tx.MemberAccess(ctx, m.WorkspaceID, m.ID)
	if err != nil {
		return nil, err
	}
	out := []Access{}
	for i := range raws {
		acc := effective(m, &raws[i])
		if onlyVisible && !acc.Can(CapView) {
			continue
		}
		out = append(out, acc)
	}
	return out, nil
}

// GrantTarget names who a grant is for: a member (by email) or a group.
type GrantTarget struct {
	Email string
	Group string
}

func (s *Service) grantFor(ctx context.Context, tx Tx, p *principal, handle string, to GrantTarget, e *AuditEntry) (*Grant, *Account, error) {
	acc, err := s.accountByHandle(ctx, tx, p.ws, handle)
	if err != nil {
		return nil, nil, err
	}
	e.AccountID = acc.ID
	if err := s.requireManage(ctx, tx, p, acc); err != nil {
		return nil, nil, err
	}
	if err := tx.LockAccount(ctx, p.ws.ID, acc.ID); err != nil {
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
	return s.do(ctx, a, "access.grant", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
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
	return s.do(ctx, a, "access.revoke", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
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

// AddApprover flags a member as an approver of an account in a tier.
// Errors: ENOTFOUND, EINVALID (no access, wrong role for the tier), ECONFLICT, EUNAUTHORIZED.
func (s *Service) AddApprover(ctx context.Context, a Actor, handle, email string, tier Tier) error {
	return s.do(ctx, a, "approver.add", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
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
	return s.do(ctx, a, "approver.remove", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
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
	acc, err := s.accountByHandle(ctx, tx, p.ws, handle)
	if err != nil {
		return nil, nil, err
	}
	e.AccountID = acc.ID
	if err := s.requireManage(ctx, tx, p, acc); err != nil {
		return nil, nil, err
	}
	if err := tx.LockAccount(ctx, p.ws.ID, acc.ID); err != nil {
		return nil, nil, err
	}
	m, err := s.memberByEmail(ctx, tx, p.ws, email)
	if err != nil {
		return nil, nil, err
	}
	e.Detail = acc.Handle + " " + m.Email + " tier " + string(tier)
	return &Approver{WorkspaceID: p.ws.ID, AccountID: acc.ID, MemberID: m.ID, Tier: tier}, acc, nil
}

// MemberAccess returns a member's effective access to each account they can
// view, or to one account (handle non-empty, shown even without access).
// Errors: ENOTFOUND, EUNAUTHORIZED (members may only look at themselves).
func (s *Service) MemberAccess(ctx context.Context, a Actor, email, handle string) ([]Access, error) {
	var out []Access
	err := s.view(ctx, a, "access.show", func(ctx context.Context, tx Tx, p *principal) error {
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
		out, err = s.memberAccess(ctx, tx, m, true)
		return err
	})
	return out, err
}
