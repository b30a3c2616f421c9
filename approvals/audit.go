package approvals

import "time"

// Meta is what a channel knows of the request behind an action.
type Meta struct {
	IP          string `json:"ip,omitempty"`
	UserAgent   string `json:"user_agent,omitempty"`
	SlackUserID string `json:"slack_user_id,omitempty"`
	SlackTeamID string `json:"slack_team_id,omitempty"`
	RequestID   string `json:"request_id,omitempty"`
}

// AuditEntry is one line of the append-only audit log: a state change or a
// refused attempt at one.
type AuditEntry struct {
	ID          int64     `json:"id"`
	WorkspaceID int64     `json:"workspace_id,omitempty"`
	At          time.Time `json:"at"`
	ActorID     int64     `json:"actor_id,omitempty"`
	Actor       string    `json:"actor"` // who, as named by the channel when not a member
	Channel     Channel   `json:"channel"`
	Action      string    `json:"action"`  // e.g. "draft.approve", "approver.add"
	Outcome     string    `json:"outcome"` // "ok" or "refused"
	DraftID     int64     `json:"draft_id,omitempty"`
	Revision    int       `json:"revision,omitempty"`
	AccountID   int64     `json:"account_id,omitempty"`
	Detail      string    `json:"detail,omitempty"`
	Meta        Meta      `json:"meta"`
}

// Audit outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeRefused = "refused"
)
