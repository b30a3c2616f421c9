package approvals

import "time"

// Member is a person in a workspace.
type Member struct {
	ID          int64     `json:"id"`
	WorkspaceID int64     `json:"workspace_id"`
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	Role        Role      `json:"role"`
	SlackUserID string    `json:"slack_user_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
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
