package approvals

import "time"

// Workspace is one agency tenant. Nothing ever crosses workspaces.
type Workspace struct {
	ID   int64  `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
	// SlackTeamID binds the workspace to a Slack team; empty when unbound.
	SlackTeamID string `json:"slack_team_id,omitempty"`
	// InternalChannel, when set, receives internal-tier requests instead of DMs.
	InternalChannel string `json:"internal_channel,omitempty"`
	// OwnWebhook is true when the workspace has a webhook of its own
	// (see SetWebhook); read-only here.
	OwnWebhook bool      `json:"own_webhook,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}
