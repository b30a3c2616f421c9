package approvals

import (
	"context"
)

// Store is the persistence the core needs. It runs fn in one database
// transaction: every change fn makes commits together or not at all, and
// constraint errors (including the invariants enforced by the database at
// commit) come back as *Error with codes EINVALID, ECONFLICT or ENOTFOUND.
// A database that cannot be reached gives EUNAVAILABLE.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
}

// Tx is one transaction's view of the store. Lookups that find nothing return
// an *Error with code ENOTFOUND naming what was looked for, never nil, nil.
// Every lookup is scoped to a workspace: nothing crosses workspaces.
// PrincipalKey names a workspace, by ID, slug or bound Slack team (the
// first set), and in it a member, by email (any case), ID or linked Slack
// user (the first set; none for the workspace alone).
type PrincipalKey struct {
	WorkspaceID int64
	Workspace   string
	SlackTeamID string

	Email       string
	MemberID    int64
	SlackUserID string
}

type Tx interface {
	HandoffTx     // hand-offs and API tokens (handoff.go, token.go)
	ReminderTx    // reminders and deadline policies (reminder.go, deadline.go)
	InboxTx       // bulk reads of the App Home inbox (inbox.go)
	ViewsTx       // bulk reads of a claimed batch's draft views (batch.go)
	DecisionTx    // what a decision reads, in one round trip (calltx.go)
	HeldTx        // what settling a decision writes, held to its commit (calltx.go)
	MemberTx      // offboarding (member.go)
	SlackLinkTx   // linking Slack users to members (slacklink.go)
	IdempotencyTx // idempotency keys of API submissions (idempotency.go)
	WebhookTx     // workspaces' own webhooks (webhook.go)
	DigestTx      // members' daily digests (digest.go)
	MediaTx       // thumbnails of media previews (preview.go)

	// Workspaces.
	CreateWorkspace(ctx context.Context, w *Workspace) error // ECONFLICT on a taken slug
	UpdateWorkspace(ctx context.Context, w *Workspace) error
	WorkspaceBySlug(ctx context.Context, slug string) (*Workspace, error)
	WorkspaceByID(ctx context.Context, id int64) (*Workspace, error)
	WorkspaceBySlackTeam(ctx context.Context, teamID string) (*Workspace, error)
	// Principal reads the workspace and the member k names, in one round
	// trip. Errors: ENOTFOUND with a nil workspace when there is no such
	// workspace; ENOTFOUND with the workspace when it has no such member.
	Principal(ctx context.Context, k PrincipalKey) (*Workspace, *Member, error)

	// Members.
	CreateMember(ctx context.Context, m *Member) error // ECONFLICT on a taken email
	UpdateMember(ctx context.Context, m *Member) error
	DeleteMember(ctx context.Context, workspaceID, memberID int64) error
	MemberByID(ctx context.Context, workspaceID, id int64) (*Member, error)
	MemberByEmail(ctx context.Context, workspaceID int64, email string) (*Member, error) // case-insensitive
	MemberBySlackUser(ctx context.Context, workspaceID int64, slackUserID string) (*Member, error)
	Members(ctx context.Context, workspaceID int64) ([]*Member, error)

	// Groups.
	CreateGroup(ctx context.Context, g *Group) error // ECONFLICT on a taken name
	GroupByName(ctx context.Context, workspaceID int64, name string) (*Group, error)
	AddGroupMember(ctx context.Context, workspaceID, groupID, memberID int64) error    // ECONFLICT if already in
	RemoveGroupMember(ctx context.Context, workspaceID, groupID, memberID int64) error // ENOTFOUND if not in

	// Accounts.
	CreateAccount(ctx context.Context, a *Account) error // ECONFLICT on a taken handle
	UpdateAccount(ctx context.Context, a *Account) error
	AccountByHandle(ctx context.Context, workspaceID int64, handle string) (*Account, error)
	AccountByID(ctx context.Context, workspaceID, id int64) (*Account, error)
	// LockAccount takes a row lock on the account until the transaction ends,
	// serialising changes to its access and approvers.
	LockAccount(ctx context.Context, workspaceID, accountID int64) error
	// ShareAccount returns the account with a row lock that conflicts with
	// LockAccount's but not with itself (see lock.go).
	ShareAccount(ctx context.Context, workspaceID, accountID int64) (*Account, error)
	// LockAccounts takes LockAccount's lock on every account of the
	// workspace, in id order.
	LockAccounts(ctx context.Context, workspaceID int64) error
	Accounts(ctx context.Context, workspaceID int64) ([]*Account, error)

	// Access. SetGrant replaces the grant of g's member or group on the account.
	// DeleteGrant removes it (ENOTFOUND if none) and, in the same statement,
	// the approver flags of members who thereby lose all access to the account.
	SetGrant(ctx context.Context, g *Grant) error
	DeleteGrant(ctx context.Context, g *Grant) error
	// MemberAccess returns the raw access of a member to the accounts of the
	// workspace that scope names, ordered by handle.
	MemberAccess(ctx context.Context, workspaceID, memberID int64, scope AccessScope) ([]AccountAccess, error)
	// AccountMemberAccess returns the raw access of one member on one account.
	AccountMemberAccess(ctx context.Context, workspaceID, accountID, memberID int64) (*AccountAccess, error)

	// Approvers. AddApprover fails with EINVALID when the member has no access
	// or the wrong role for the tier; RemoveApprover with ENOTFOUND when the
	// flag is not set. The last-approver invariant is checked at commit.
	AddApprover(ctx context.Context, a *Approver) error
	RemoveApprover(ctx context.Context, a *Approver) error
	// Approvers returns the members flagged as approvers of the account in tier t.
	Approvers(ctx context.Context, workspaceID, accountID int64, t Tier) ([]*Member, error)

	// Drafts. LockDraft returns the draft with a row lock held until the
	// transaction ends; all decisions on a draft serialise on it.
	CreateDraft(ctx context.Context, d *Draft) error
	UpdateDraft(ctx context.Context, d *Draft) error
	DraftByID(ctx context.Context, workspaceID, id int64) (*Draft, error)
	LockDraft(ctx context.Context, workspaceID, id int64) (*Draft, error)
	// LockPendingDrafts takes LockDraft's lock on every draft of the
	// workspace that waits on a tier, in id order, and returns them.
	LockPendingDrafts(ctx context.Context, workspaceID int64) ([]*Draft, error)
	Drafts(ctx context.Context, f DraftFilter) ([]*Draft, error)
	// PendingDrafts returns the drafts of the account that wait on a tier.
	PendingDrafts(ctx context.Context, workspaceID, accountID int64) ([]*Draft, error)
	CreateRevision(ctx context.Context, r *Revision) error
	Revisions(ctx context.Context, draftID int64) ([]*Revision, error) // oldest first

	// Decisions. CreateDecision fails with ECONFLICT when the approver already
	// decided this (draft, revision, tier).
	CreateDecision(ctx context.Context, d *Decision) error
	Decisions(ctx context.Context, draftID int64) ([]*Decision, error) // oldest first, Approver filled
	CreateComment(ctx context.Context, c *Comment) error
	Comments(ctx context.Context, draftID int64) ([]*Comment, error) // oldest first, Author filled

	// Audit log (append-only).
	AppendAudit(ctx context.Context, e *AuditEntry) error
	DraftAudit(ctx context.Context, workspaceID, draftID int64) ([]*AuditEntry, error) // oldest first

	// Outbox. EnqueueOutbox inserts messages, skipping any whose idempotency
	// key exists already. Delivering them is package outbox's, through a
	// store interface of its own.
	EnqueueOutbox(ctx context.Context, msgs []*OutboxMessage) error
	Outbox(ctx context.Context, state OutboxState, limit int) ([]*OutboxMessage, error) // newest first; "" for all
}
