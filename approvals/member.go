package approvals

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Member is a person in a workspace.
type Member struct {
	ID          int64     `json:"id"`
	WorkspaceID int64     `json:"workspace_id"`
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	Role        Role      `json:"role"`
	SlackUserID string    `json:"slack_user_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	// DeactivatedAt is when an admin deactivated the member (nil while
	// active). A deactivated member stays for the history but can do
	// nothing, through any channel.
	DeactivatedAt *time.Time `json:"deactivated_at,omitempty"`
	// Notify is how approval requests reach the member (see digest.go);
	// DigestAt (minutes after local midnight) and TimeZone (an IANA name)
	// are set for a digest member only.
	Notify   NotifyMode `json:"notify"`
	DigestAt int        `json:"digest_at,omitempty"`
	TimeZone string     `json:"time_zone,omitempty"`
}

// Active reports whether the member may act at all.
func (m *Member) Active() bool { return m != nil && m.DeactivatedAt == nil }

// DisplayName is how the member is called to others: their name, else
// their email.
func (m Member) DisplayName() string {
	if m.Name != "" {
		return m.Name
	}
	return m.Email
}

// Label returns how the member is named in messages: "Name <email>".
func (m *Member) Label() string {
	if m == nil {
		return "unknown"
	}
	if m.Name == "" {
		return m.Email
	}
	return m.Name + " <" + m.Email + ">"
}

// MemberTx is what offboarding reads and writes (embedded in Tx). Every
// lookup is scoped to the workspace.
type MemberTx interface {
	// DeactivateMember marks the member deactivated at at and, in the same
	// statement, removes their approver flags (account and escalation
	// ones), grants, group memberships, Slack link, API tokens (revoked)
	// and backup-approver settings. The approver invariants are the
	// caller's to check first; the database refuses at commit what breaks
	// them. Errors: ENOTFOUND.
	DeactivateMember(ctx context.Context, workspaceID, memberID int64, at time.Time) error
	// MemberHasHistory reports whether the member authored, revised,
	// decided or commented on a draft.
	MemberHasHistory(ctx context.Context, workspaceID, memberID int64) (bool, error)
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
	err := s.change(ctx, a, "member.add", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
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
	// Notify, with DigestAt and TimeZone for a digest (see digest.go).
	Notify *NotifySettings
}

// SetMember changes a member's name, Slack link, role or notification
// choice.
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
	err := s.change(ctx, a, "member.set", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
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
		if set.Notify != nil {
			if err := s.setNotify(ctx, tx, p.ws, m, *set.Notify); err != nil {
				return err
			}
			changes = append(changes, "notify="+m.NotifyLabel())
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
	err := s.change(ctx, a, "member.deactivate", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "deactivate members"); err != nil {
			return err
		}
		m, err := s.memberByEmail(ctx, tx, p.ws, email)
		if err != nil {
			return err
		}
		e.Detail = m.Email
		if !m.Active() {
			return Errorf(ECONFLICT, "%s was already deactivated at %s", m.Email, Stamp(*m.DeactivatedAt))
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
	return s.change(ctx, a, "member.remove", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
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
	err := s.read(ctx, a, "member.list", func(ctx context.Context, tx Tx, p *principal) error {
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
