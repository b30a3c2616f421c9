package approvals

import (
	"context"
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
}

// Active reports whether the member may act at all.
func (m *Member) Active() bool { return m != nil && m.DeactivatedAt == nil }

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

// MemberTx is what offboarding and Slack identity read and write (embedded
// in Tx). Every lookup is scoped to the workspace.
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

	// BlockSlackLink records that an admin unlinked the Slack user from
	// the member (idempotent); UnblockSlackLink forgets it; SlackLinkBlocked
	// reports whether it is recorded.
	BlockSlackLink(ctx context.Context, workspaceID, memberID int64, slackUserID string) error
	UnblockSlackLink(ctx context.Context, workspaceID, memberID int64, slackUserID string) error
	SlackLinkBlocked(ctx context.Context, workspaceID, memberID int64, slackUserID string) (bool, error)

	// CreateSlackLinkRequest inserts r and sets its ID and CreatedAt.
	CreateSlackLinkRequest(ctx context.Context, r *SlackLinkRequest) error
	// OpenSlackLinkRequest returns the newest unused request of the pair
	// created at or after since. Errors: ENOTFOUND.
	OpenSlackLinkRequest(ctx context.Context, workspaceID, memberID int64, slackUserID string, since time.Time) (*SlackLinkRequest, error)
	// LockSlackLinkRequest returns the request with a row lock held until
	// the transaction ends. Errors: ENOTFOUND.
	LockSlackLinkRequest(ctx context.Context, workspaceID, id int64) (*SlackLinkRequest, error)
	// UseSlackLinkRequest marks the request used at at.
	UseSlackLinkRequest(ctx context.Context, workspaceID, id int64, at time.Time) error
}
