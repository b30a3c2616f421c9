package approvals

import (
	"slices"
	"time"
)

// State is where a draft is in its lifecycle.
type State string

const (
	StatePendingInternal State = "pending_internal"
	StatePendingClient   State = "pending_client"
	StateApproved        State = "approved"
	StateRejected        State = "rejected"
	StateWithdrawn       State = "withdrawn"
	StateExpired         State = "expired" // ended by the deadline policy "expire"; terminal
)

// States lists every state.
var States = []State{StatePendingInternal, StatePendingClient, StateApproved, StateRejected, StateWithdrawn, StateExpired}

// PendingStates lists the states in which a draft waits on a tier; the
// store selects "pending" drafts by this list.
var PendingStates = []State{StatePendingInternal, StatePendingClient}

// ParseState parses a state name.
func ParseState(s string) (State, error) {
	for _, st := range States {
		if string(st) == s {
			return st, nil
		}
	}
	return "", Errorf(EINVALID, "unknown state %q (want pending_internal, pending_client, approved, rejected, withdrawn or expired)", s)
}

// Pending reports whether the draft waits on a tier.
func (s State) Pending() bool { return slices.Contains(PendingStates, s) }

// Describe says the state in words for messages to people: "waiting for
// client approval", "approved". Every channel says it the same way.
func (s State) Describe() string {
	switch s {
	case StatePendingInternal:
		return "waiting for internal approval"
	case StatePendingClient:
		return "waiting for client approval"
	}
	return string(s)
}

// Tier returns the tier a pending state waits on.
func (s State) Tier() (Tier, bool) {
	switch s {
	case StatePendingInternal:
		return TierInternal, true
	case StatePendingClient:
		return TierClient, true
	}
	return "", false
}

func pendingState(t Tier) State {
	if t == TierInternal {
		return StatePendingInternal
	}
	return StatePendingClient
}

// Draft is a post draft awaiting (or done with) sign-off.
type Draft struct {
	ID          int64 `json:"id"`
	WorkspaceID int64 `json:"workspace_id"`
	AccountID   int64 `json:"account_id"`
	AuthorID    int64 `json:"author_id"`
	State       State `json:"state"`
	Revision    int   `json:"revision"` // the current revision number, from 1
	// ClientRevisions lists, in order, the revisions that reached the
	// client tier: all that clients may ever see of the draft.
	ClientRevisions []int     `json:"-"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	// Text is the current revision's text; filled by Tx.Drafts for lists only.
	Text string `json:"-"`
}

// moveTo puts the draft in state st; entering the client tier makes the
// current revision one that clients see.
func (d *Draft) moveTo(st State) {
	d.State = st
	if st == StatePendingClient && !slices.Contains(d.ClientRevisions, d.Revision) {
		d.ClientRevisions = append(slices.Clip(d.ClientRevisions), d.Revision)
	}
}

// Revision is one version of a draft's content, with the approval settings
// in force when it was submitted.
type Revision struct {
	DraftID   int64    `json:"draft_id"`
	Number    int      `json:"number"`
	Text      string   `json:"text"`
	MediaURLs []string `json:"media_urls"`
	// Media is what fetching MediaURLs found, one per URL; nil when they
	// were not fetched (preview.go).
	Media         []Media    `json:"media,omitempty"`
	ScheduledAt   *time.Time `json:"scheduled_at,omitempty"`
	NeedsInternal bool       `json:"needs_internal"`
	NeedsClient   bool       `json:"needs_client"`
	InternalRule  Rule       `json:"internal_rule"`
	ClientRule    Rule       `json:"client_rule"`
	CreatedByID   int64      `json:"created_by_id"`
	CreatedAt     time.Time  `json:"created_at"`
}

// Needs reports whether the revision requires tier t.
func (r *Revision) Needs(t Tier) bool {
	if t == TierInternal {
		return r.NeedsInternal
	}
	return r.NeedsClient
}

// Rule returns the revision's rule for tier t.
func (r *Revision) Rule(t Tier) Rule {
	if t == TierInternal {
		return r.InternalRule
	}
	return r.ClientRule
}

// Verdict is what an approver decided.
type Verdict string

const (
	VerdictApprove Verdict = "approve"
	VerdictReject  Verdict = "reject"
)

// Channel is where an action came from.
type Channel string

const (
	ChannelCLI    Channel = "cli"
	ChannelSlack  Channel = "slack"
	ChannelEmail  Channel = "email"
	ChannelAPI    Channel = "api"
	ChannelSystem Channel = "system" // the service itself (policies, re-evaluation)
)

// Decision is one approver's verdict on one revision in one tier.
type Decision struct {
	ID         int64     `json:"id"`
	DraftID    int64     `json:"draft_id"`
	Revision   int       `json:"revision"`
	Tier       Tier      `json:"tier"`
	ApproverID int64     `json:"approver_id"`
	Approver   string    `json:"approver"` // the approver's label, filled on read
	Verdict    Verdict   `json:"verdict"`
	Comment    string    `json:"comment,omitempty"`
	Channel    Channel   `json:"channel"`
	CreatedAt  time.Time `json:"created_at"`
}

// Comment is a remark on a draft that is not a decision.
type Comment struct {
	ID       int64   `json:"id"`
	DraftID  int64   `json:"draft_id"`
	Revision int     `json:"revision"`
	AuthorID int64   `json:"author_id"`
	Author   string  `json:"author"` // label, filled on read
	Text     string  `json:"text"`
	Channel  Channel `json:"channel"`
	// Internal comments are for staff only; clients never see them.
	Internal  bool      `json:"internal,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// DraftFilter selects drafts for a list. The core fills AccountIDs with the
// accounts the viewer may see; the store never decides visibility.
type DraftFilter struct {
	WorkspaceID int64
	AccountIDs  []int64 // only these accounts (nil: none)
	States      []State // only these states (nil: all)
	// ClientReader, when set, is the client member the list is for: only
	// drafts that reached the client tier or that they wrote, each with the
	// text of the latest revision they may see.
	ClientReader int64
	Limit        int
}
