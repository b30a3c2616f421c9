package approvals

import "time"

// Account is a client's social page or profile.
type Account struct {
	ID                    int64  `json:"id"`
	WorkspaceID           int64  `json:"workspace_id"`
	Handle                string `json:"handle"`
	Name                  string `json:"name"`
	NeedsInternalApproval bool   `json:"needs_internal_approval"`
	NeedsClientApproval   bool   `json:"needs_client_approval"`
	InternalRule          Rule   `json:"internal_rule"`
	ClientRule            Rule   `json:"client_rule"`
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
