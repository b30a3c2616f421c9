package approvals

import (
	"context"
	"regexp"
	"strings"
	"time"
)

// Account is a client's social page or profile.
type Account struct {
	ID          int64  `json:"id"`
	WorkspaceID int64  `json:"workspace_id"`
	Handle      string `json:"handle"`
	Name        string `json:"name"`
	// Network is where the account posts (network.go); NetworkOther when unset.
	Network               Network `json:"network"`
	NeedsInternalApproval bool    `json:"needs_internal_approval"`
	NeedsClientApproval   bool    `json:"needs_client_approval"`
	InternalRule          Rule    `json:"internal_rule"`
	ClientRule            Rule    `json:"client_rule"`
	// SlackChannel is the bound channel for client-tier requests; empty when unbound.
	SlackChannel string        `json:"slack_channel,omitempty"`
	RemindAfter  time.Duration `json:"remind_after"`
	// RemindMax, DeadlinePolicy, DeadlineMargin, DecideWithin and
	// BackupApproverID are the reminder and deadline settings (see
	// reminder.go and deadline.go).
	RemindMax        int            `json:"remind_max"`
	DeadlinePolicy   DeadlinePolicy `json:"deadline_policy"`
	DeadlineMargin   time.Duration  `json:"deadline_margin"`
	DecideWithin     time.Duration  `json:"decide_within,omitempty"`      // 0: no deadline without a schedule
	BackupApproverID int64          `json:"backup_approver_id,omitempty"` // for DeadlineEscalate
	// MinReview is the least time a tier's approvers have, once asked,
	// before the deadline policy may act on that tier.
	MinReview time.Duration `json:"min_review"`
	CreatedAt time.Time     `json:"created_at"`
}

// Needs reports whether the account requires approval in tier t.
func (a *Account) Needs(t Tier) bool {
	if t == TierInternal {
		return a.NeedsInternalApproval
	}
	return a.NeedsClientApproval
}

// Rule returns the account's rule for tier t.
func (a *Account) Rule(t Tier) Rule {
	if t == TierInternal {
		return a.InternalRule
	}
	return a.ClientRule
}

// AccountSettings is a partial update of an account's settings; nil fields
// are left as they are.
type AccountSettings struct {
	Name                  *string
	Network               *Network // the network's limits apply to drafts submitted or revised after the change
	NeedsInternalApproval *bool
	NeedsClientApproval   *bool
	InternalRule          *Rule
	ClientRule            *Rule
	SlackChannel          *string
	RemindAfter           *time.Duration
	RemindMax             *int
	DeadlinePolicy        *DeadlinePolicy
	DeadlineMargin        *time.Duration
	DecideWithin          *time.Duration // 0 turns the unscheduled deadline off
	BackupApprover        *string        // email; "" clears it
	MinReview             *time.Duration
}

// Grant gives capabilities on one account to a member or to a group; exactly
// one of MemberID and GroupID is set.
type Grant struct {
	WorkspaceID int64 `json:"workspace_id"`
	AccountID   int64 `json:"account_id"`
	MemberID    int64 `json:"member_id,omitempty"`
	GroupID     int64 `json:"group_id,omitempty"`
	Caps        Caps  `json:"-"`
}

// Approver flags a member as an approver of an account in one tier.
type Approver struct {
	WorkspaceID int64 `json:"workspace_id"`
	AccountID   int64 `json:"account_id"`
	MemberID    int64 `json:"member_id"`
	Tier        Tier  `json:"tier"`
}

// AccountAccess is what the store knows of one member on one account: the
// raw grants, before the role ceiling is applied.
type AccountAccess struct {
	Account Account
	Direct  Caps   // the member's own grant; empty if none
	Groups  []Caps // one entry per group grant that reaches the member
	Tiers   []Tier // approver flags the member holds on the account
}

// Access is a member's effective access to one account.
type Access struct {
	Account Account `json:"account"`
	Caps    Caps    `json:"-"`
	Tiers   []Tier  `json:"approver_tiers"`
}

// Can reports whether the access includes capability c.
func (a Access) Can(c Capability) bool { return a.Caps.Has(c) }

// IsApprover reports whether the member approves in tier t here.
func (a Access) IsApprover(t Tier) bool {
	for _, x := range a.Tiers {
		if x == t {
			return true
		}
	}
	return false
}

var handleRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

func (s *Service) accountByHandle(ctx context.Context, tx Tx, ws *Workspace, handle string) (*Account, error) {
	acc, err := tx.AccountByHandle(ctx, ws.ID, strings.ToLower(strings.TrimSpace(handle)))
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "no account %q in workspace %q", handle, ws.Slug)
	}
	return acc, err
}

// AddAccount adds a social account on no particular network (NetworkOther).
// Errors: EINVALID, ECONFLICT, EUNAUTHORIZED.
func (s *Service) AddAccount(ctx context.Context, a Actor, handle, name string) (*Account, error) {
	return s.AddNetworkAccount(ctx, a, handle, name, NetworkOther)
}

// AddNetworkAccount adds a social account that posts to network n ("" is
// other). Errors: EINVALID (handle, name, an unknown network), ECONFLICT,
// EUNAUTHORIZED.
func (s *Service) AddNetworkAccount(ctx context.Context, a Actor, handle, name string, n Network) (*Account, error) {
	var out *Account
	err := s.change(ctx, a, "account.add", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
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
		network, err := ParseNetwork(string(n))
		if err != nil {
			return err
		}
		acc := &Account{WorkspaceID: p.ws.ID, Handle: h, Name: name, Network: network, InternalRule: RuleAny, ClientRule: RuleAny, RemindAfter: 24 * time.Hour}
		e.Detail = h
		if network != NetworkOther {
			e.Detail += " network=" + string(network)
		}
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
	err := s.read(ctx, a, "account.show", func(ctx context.Context, tx Tx, p *principal) error {
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
	err := s.change(ctx, a, "account.set", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		acc, err := s.managedAccount(ctx, tx, p, handle, e)
		if err != nil {
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
		if set.Network != nil {
			n, err := ParseNetwork(string(*set.Network))
			if err != nil {
				return err
			}
			acc.Network = n
			changes = append(changes, "network="+string(n))
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
	err := s.read(ctx, a, "account.list", func(ctx context.Context, tx Tx, p *principal) error {
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
		out, err = s.memberAccess(ctx, tx, p.member)
		return err
	})
	return out, err
}

// BindChannel binds the account to a Slack channel: its client-tier
// requests are posted there. It needs "manage" on the account.
// Errors: ENOTFOUND, EINVALID, EUNAUTHORIZED.
func (s *Service) BindChannel(ctx context.Context, a Actor, handle, channelID string) (*Account, error) {
	channelID = strings.TrimSpace(channelID)
	if channelID == "" {
		return nil, Errorf(EINVALID, "no Slack channel given")
	}
	return s.SetAccount(ctx, a, handle, AccountSettings{SlackChannel: &channelID})
}

// Label names the account to a person: its name, else its handle.
func (a Account) Label() string {
	if a.Name != "" {
		return a.Name
	}
	return a.Handle
}
