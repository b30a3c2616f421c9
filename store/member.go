package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

const memberColumns = `m.id, m.workspace_id, m.email, m.name, m.role, coalesce(m.slack_user_id, ''), m.created_at, m.deactivated_at,
	m.notify, coalesce(m.digest_at, 0), coalesce(m.time_zone, '')`

func scanMember(row pgx.Row) (*approvals.Member, error) {
	var m approvals.Member
	if err := row.Scan(memberDest(&m)...); err != nil {
		return nil, err
	}
	m.CreatedAt = m.CreatedAt.UTC()
	if m.DeactivatedAt != nil {
		at := m.DeactivatedAt.UTC()
		m.DeactivatedAt = &at
	}
	return &m, nil
}

// memberDest is where a row of memberColumns is scanned to, for queries
// that select more columns before them.
func memberDest(m *approvals.Member) []any {
	return []any{&m.ID, &m.WorkspaceID, &m.Email, &m.Name, &m.Role, &m.SlackUserID, &m.CreatedAt, &m.DeactivatedAt,
		&m.Notify, &m.DigestAt, &m.TimeZone}
}

// notifyOf, digestAtOf and digestZoneOf are the notification columns of
// m: the digest time and zone are kept only for a digest member.
func notifyOf(m *approvals.Member) string {
	if m.Notify == "" {
		return string(approvals.NotifyImmediate)
	}
	return string(m.Notify)
}

func digestAtOf(m *approvals.Member) *int {
	if m.Notify != approvals.NotifyDigest {
		return nil
	}
	at := m.DigestAt
	return &at
}

func digestZoneOf(m *approvals.Member) string {
	if m.Notify != approvals.NotifyDigest {
		return ""
	}
	return m.TimeZone
}

func scanMembers(rows pgx.Rows) ([]*approvals.Member, error) {
	return collect(rows, scanMember)
}

func memberViolations(m *approvals.Member) violations {
	return violations{
		"members_email_key": {Code: approvals.ECONFLICT,
			Message: fmt.Sprintf("email %q is already a member of this workspace", m.Email)},
		"members_slack_user_key": {Code: approvals.ECONFLICT,
			Message: fmt.Sprintf("Slack user %s is already linked to another member of this workspace", m.SlackUserID)},
		"members_workspace_id_fkey": {Code: approvals.ENOTFOUND,
			Message: fmt.Sprintf("no workspace #%d", m.WorkspaceID)},
	}
}

// CreateMember inserts m and sets its ID and CreatedAt.
func (t *tx) CreateMember(ctx context.Context, m *approvals.Member) error {
	row := t.tx.QueryRow(ctx, `
		INSERT INTO members AS m (workspace_id, email, name, role, slack_user_id, created_at)
		VALUES ($1, $2, $3, $4, $5, coalesce($6, now()))
		RETURNING `+memberColumns,
		m.WorkspaceID, m.Email, m.Name, m.Role, nullString(m.SlackUserID), nullTime(m.CreatedAt))
	got, err := scanMember(row)
	if err != nil {
		return dbError(err, memberViolations(m))
	}
	*m = *got
	return nil
}

// UpdateMember saves m's email, name, role, Slack user and notification
// choice. A role change
// drops the approver flags the new role cannot hold (a trigger); if that
// leaves a tier without approvers the commit is refused.
func (t *tx) UpdateMember(ctx context.Context, m *approvals.Member) error {
	row := t.tx.QueryRow(ctx, `
		UPDATE members AS m SET email = $3, name = $4, role = $5, slack_user_id = $6,
			notify = $7, digest_at = $8, time_zone = $9
		WHERE m.workspace_id = $1 AND m.id = $2
		RETURNING `+memberColumns,
		m.WorkspaceID, m.ID, m.Email, m.Name, m.Role, nullString(m.SlackUserID), notifyOf(m), digestAtOf(m), nullString(digestZoneOf(m)))
	got, err := scanMember(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound(err, "no member #%d in %s", m.ID, t.workspaceName(ctx, m.WorkspaceID))
	}
	if err != nil {
		return dbError(err, memberViolations(m))
	}
	*m = *got
	return nil
}

// DeleteMember removes the member, their group memberships, grants and
// approver flags. A member who authored, decided or commented on a draft is
// kept for the history: EINVALID.
func (t *tx) DeleteMember(ctx context.Context, workspaceID, memberID int64) error {
	m, err := t.MemberByID(ctx, workspaceID, memberID)
	if err != nil {
		return err
	}
	refused := approvals.Error{Code: approvals.EINVALID,
		Message: fmt.Sprintf("%s has drafts, decisions or comments and cannot be deleted; remove their access instead", m.Email)}
	_, err = t.tx.Exec(ctx, `DELETE FROM members WHERE workspace_id = $1 AND id = $2`, workspaceID, memberID)
	return dbError(err, violations{
		"drafts_author_fkey":        refused,
		"revisions_created_by_fkey": refused,
		"decisions_approver_fkey":   refused,
		"comments_author_fkey":      refused,
	})
}

func (t *tx) MemberByID(ctx context.Context, workspaceID, id int64) (*approvals.Member, error) {
	m, err := scanMember(t.tx.QueryRow(ctx, `
		SELECT `+memberColumns+` FROM members m WHERE m.workspace_id = $1 AND m.id = $2`, workspaceID, id))
	if err != nil {
		return nil, notFound(err, "no member #%d in %s", id, t.workspaceName(ctx, workspaceID))
	}
	return m, nil
}

// MemberByEmail finds a member by email, whatever its case.
func (t *tx) MemberByEmail(ctx context.Context, workspaceID int64, email string) (*approvals.Member, error) {
	m, err := scanMember(t.tx.QueryRow(ctx, `
		SELECT `+memberColumns+` FROM members m WHERE m.workspace_id = $1 AND lower(m.email) = lower($2)`,
		workspaceID, email))
	if err != nil {
		return nil, notFound(err, "no member %q in %s", email, t.workspaceName(ctx, workspaceID))
	}
	return m, nil
}

func (t *tx) MemberBySlackUser(ctx context.Context, workspaceID int64, slackUserID string) (*approvals.Member, error) {
	m, err := scanMember(t.tx.QueryRow(ctx, `
		SELECT `+memberColumns+` FROM members m WHERE m.workspace_id = $1 AND m.slack_user_id = $2`,
		workspaceID, slackUserID))
	if err != nil {
		return nil, notFound(err, "no member of %s is linked to Slack user %s", t.workspaceName(ctx, workspaceID), slackUserID)
	}
	return m, nil
}

// Members returns the workspace's members ordered by email.
func (t *tx) Members(ctx context.Context, workspaceID int64) ([]*approvals.Member, error) {
	rows, err := t.tx.Query(ctx, `
		SELECT `+memberColumns+` FROM members m WHERE m.workspace_id = $1 ORDER BY lower(m.email), m.id`,
		workspaceID)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return scanMembers(rows)
}

// DeactivateMember marks the member deactivated and takes away everything
// that lets them act or be waited on: approver flags (the account's and
// those an escalation added), grants, group memberships, backup-approver
// settings, the Slack link and their API tokens. The row stays for the
// history. The core checked the approver invariants first; the triggers of
// migration 00001 refuse at commit what would still break them.
func (t *tx) DeactivateMember(ctx context.Context, workspaceID, memberID int64, at time.Time) error {
	if _, err := t.MemberByID(ctx, workspaceID, memberID); err != nil {
		return err
	}
	for _, q := range []string{
		`UPDATE accounts SET backup_approver_id = NULL WHERE workspace_id = $1 AND backup_approver_id = $2`,
		`DELETE FROM approvers WHERE workspace_id = $1 AND member_id = $2`,
		`DELETE FROM draft_extra_approvers WHERE workspace_id = $1 AND member_id = $2`,
		`DELETE FROM grants WHERE workspace_id = $1 AND member_id = $2`,
		`DELETE FROM group_members WHERE workspace_id = $1 AND member_id = $2`,
	} {
		if _, err := t.tx.Exec(ctx, q, workspaceID, memberID); err != nil {
			return dbError(err, nil)
		}
	}
	if _, err := t.tx.Exec(ctx, `
		UPDATE api_tokens SET revoked_at = $3 WHERE workspace_id = $1 AND member_id = $2 AND revoked_at IS NULL`,
		workspaceID, memberID, at); err != nil {
		return dbError(err, nil)
	}
	_, err := t.tx.Exec(ctx, `
		UPDATE members SET deactivated_at = coalesce(deactivated_at, $3), slack_user_id = NULL
		WHERE workspace_id = $1 AND id = $2`, workspaceID, memberID, at)
	return dbError(err, nil)
}

// MemberHasHistory reports whether the member wrote, revised, decided or
// commented on any draft.
func (t *tx) MemberHasHistory(ctx context.Context, workspaceID, memberID int64) (bool, error) {
	var has bool
	err := t.tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM drafts WHERE workspace_id = $1 AND author_id = $2)
		    OR EXISTS (SELECT 1 FROM revisions WHERE workspace_id = $1 AND created_by_id = $2)
		    OR EXISTS (SELECT 1 FROM decisions WHERE workspace_id = $1 AND approver_id = $2)
		    OR EXISTS (SELECT 1 FROM comments WHERE workspace_id = $1 AND author_id = $2)`,
		workspaceID, memberID).Scan(&has)
	if err != nil {
		return false, dbError(err, nil)
	}
	return has, nil
}

// memberLabel is the SQL for approvals.Member.Label: "Name <email>", or the
// email alone when the name is blank.
const memberLabel = `CASE WHEN m.name = '' THEN m.email ELSE m.name || ' <' || m.email || '>' END`
