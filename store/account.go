package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// defaultRemindAfter applies when an account is created without a reminder
// interval; it matches the column default.
const defaultRemindAfter = 24 * time.Hour

const accountColumns = `a.id, a.workspace_id, a.handle, a.name, a.needs_internal_approval, a.needs_client_approval,
	a.internal_rule, a.client_rule, coalesce(a.slack_channel, ''), a.remind_after,
	a.remind_max, a.deadline_policy, a.deadline_margin, coalesce(a.decide_within, interval '0'), coalesce(a.backup_approver_id, 0),
	a.min_review, a.created_at, a.network`

// scanAccount scans accountColumns, then extra destinations.
func scanAccount(row pgx.Row, extra ...any) (*approvals.Account, error) {
	var a approvals.Account
	dest := append([]any{&a.ID, &a.WorkspaceID, &a.Handle, &a.Name, &a.NeedsInternalApproval, &a.NeedsClientApproval,
		&a.InternalRule, &a.ClientRule, &a.SlackChannel, &a.RemindAfter,
		&a.RemindMax, &a.DeadlinePolicy, &a.DeadlineMargin, &a.DecideWithin, &a.BackupApproverID,
		&a.MinReview, &a.CreatedAt, &a.Network}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return &a, nil
}

func accountViolations(a *approvals.Account) violations {
	return violations{
		"accounts_handle_key": {Code: approvals.ECONFLICT,
			Message: fmt.Sprintf("account handle %q already exists in this workspace", a.Handle)},
		"accounts_workspace_id_fkey": {Code: approvals.ENOTFOUND,
			Message: fmt.Sprintf("no workspace #%d", a.WorkspaceID)},
	}
}

// CreateAccount inserts a and sets its ID, CreatedAt and the defaults it
// left unset (rules "any", a 24h reminder). An account that needs a tier's
// approval must get an approver in that tier in the same transaction, or
// the commit is refused (EINVALID).
func (t *tx) CreateAccount(ctx context.Context, a *approvals.Account) error {
	remind := a.RemindAfter
	if remind == 0 {
		remind = defaultRemindAfter
	}
	row := t.tx.QueryRow(ctx, `
		INSERT INTO accounts AS a (workspace_id, handle, name, needs_internal_approval, needs_client_approval,
			internal_rule, client_rule, slack_channel, remind_after, created_at, network)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, now()), $11)
		RETURNING `+accountColumns,
		a.WorkspaceID, a.Handle, a.Name, a.NeedsInternalApproval, a.NeedsClientApproval,
		cmp.Or(a.InternalRule, approvals.RuleAny), cmp.Or(a.ClientRule, approvals.RuleAny),
		nullString(a.SlackChannel), remind, nullTime(a.CreatedAt), cmp.Or(a.Network, approvals.NetworkOther))
	got, err := scanAccount(row)
	if err != nil {
		return dbError(err, accountViolations(a))
	}
	*a = *got
	return nil
}

// UpdateAccount saves a's handle, name and settings. Turning a tier's
// approval on without an approver in it is refused at commit (EINVALID).
func (t *tx) UpdateAccount(ctx context.Context, a *approvals.Account) error {
	row := t.tx.QueryRow(ctx, `
		UPDATE accounts AS a SET handle = $3, name = $4, needs_internal_approval = $5, needs_client_approval = $6,
			internal_rule = $7, client_rule = $8, slack_channel = $9, remind_after = $10,
			remind_max = $11, deadline_policy = $12, deadline_margin = $13, decide_within = $14, backup_approver_id = $15,
			min_review = $16, network = $17
		WHERE a.workspace_id = $1 AND a.id = $2
		RETURNING `+accountColumns,
		a.WorkspaceID, a.ID, a.Handle, a.Name, a.NeedsInternalApproval, a.NeedsClientApproval,
		a.InternalRule, a.ClientRule, nullString(a.SlackChannel), a.RemindAfter,
		a.RemindMax, cmp.Or(a.DeadlinePolicy, approvals.DeadlineNone), a.DeadlineMargin, nullDuration(a.DecideWithin), nullID(a.BackupApproverID),
		a.MinReview, cmp.Or(a.Network, approvals.NetworkOther))
	got, err := scanAccount(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound(err, "no account #%d in %s", a.ID, t.workspaceName(ctx, a.WorkspaceID))
	}
	if err != nil {
		return dbError(err, accountViolations(a))
	}
	*a = *got
	return nil
}

func (t *tx) AccountByHandle(ctx context.Context, workspaceID int64, handle string) (*approvals.Account, error) {
	a, err := scanAccount(t.tx.QueryRow(ctx, `
		SELECT `+accountColumns+` FROM accounts a WHERE a.workspace_id = $1 AND a.handle = $2`, workspaceID, handle))
	if err != nil {
		return nil, notFound(err, "no account %q in %s", handle, t.workspaceName(ctx, workspaceID))
	}
	return a, nil
}

func (t *tx) AccountByID(ctx context.Context, workspaceID, id int64) (*approvals.Account, error) {
	a, err := scanAccount(t.tx.QueryRow(ctx, `
		SELECT `+accountColumns+` FROM accounts a WHERE a.workspace_id = $1 AND a.id = $2`, workspaceID, id))
	if err != nil {
		return nil, notFound(err, "no account #%d in %s", id, t.workspaceName(ctx, workspaceID))
	}
	return a, nil
}

// LockAccount takes the same row lock the schema's triggers take before any
// change to the account's access or approvers.
func (t *tx) LockAccount(ctx context.Context, workspaceID, accountID int64) error {
	var id int64
	err := t.tx.QueryRow(ctx, `
		SELECT id FROM accounts WHERE workspace_id = $1 AND id = $2 FOR NO KEY UPDATE`,
		workspaceID, accountID).Scan(&id)
	if err != nil {
		return notFound(err, "no account #%d in %s", accountID, t.workspaceName(ctx, workspaceID))
	}
	return nil
}

// Accounts returns the workspace's accounts ordered by handle.
func (t *tx) Accounts(ctx context.Context, workspaceID int64) ([]*approvals.Account, error) {
	rows, err := t.tx.Query(ctx, `
		SELECT `+accountColumns+` FROM accounts a WHERE a.workspace_id = $1 ORDER BY a.handle`, workspaceID)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return collect(rows, func(r pgx.Row) (*approvals.Account, error) { return scanAccount(r) })
}

// grantee names the two ends of a grant or approver flag for messages:
// the account's handle and the member's email or the group's name, in
// quotes. It fails with ENOTFOUND when either is not in the workspace.
func (t *tx) grantee(ctx context.Context, workspaceID, accountID, memberID, groupID int64) (account, who string, err error) {
	var handle, email, group *string
	err = t.tx.QueryRow(ctx, `
		SELECT (SELECT handle FROM accounts WHERE workspace_id = $1 AND id = $2),
		       (SELECT email FROM members WHERE workspace_id = $1 AND id = $3),
		       (SELECT name FROM groups WHERE workspace_id = $1 AND id = $4)`,
		workspaceID, accountID, memberID, groupID).Scan(&handle, &email, &group)
	switch {
	case err != nil:
		return "", "", dbError(err, nil)
	case handle == nil:
		return "", "", notFound(nil, "no account #%d in %s", accountID, t.workspaceName(ctx, workspaceID))
	case memberID != 0 && email == nil:
		return "", "", notFound(nil, "no member #%d in %s", memberID, t.workspaceName(ctx, workspaceID))
	case groupID != 0 && group == nil:
		return "", "", notFound(nil, "no group #%d in %s", groupID, t.workspaceName(ctx, workspaceID))
	case memberID != 0:
		return *handle, fmt.Sprintf("%q", *email), nil
	}
	return *handle, fmt.Sprintf("group %q", *group), nil
}

func checkGrantee(g *approvals.Grant) error {
	if (g.MemberID == 0) == (g.GroupID == 0) {
		return approvals.Errorf(approvals.EINVALID, "a grant goes to exactly one member or one group")
	}
	return nil
}

// capsToDB lists caps for the caps column; view is always included, since
// every grant implies it.
func capsToDB(c approvals.Caps) []string {
	return c.Union(approvals.NewCaps(approvals.CapView)).Strings()
}

func capsFromDB(s []string) approvals.Caps {
	c := approvals.Caps{}
	for _, x := range s {
		c[approvals.Capability(x)] = true
	}
	return c
}

// SetGrant creates or replaces the grant of g's member or group on the account.
func (t *tx) SetGrant(ctx context.Context, g *approvals.Grant) error {
	if err := checkGrantee(g); err != nil {
		return err
	}
	if _, _, err := t.grantee(ctx, g.WorkspaceID, g.AccountID, g.MemberID, g.GroupID); err != nil {
		return err
	}
	target := "(account_id, member_id)"
	if g.GroupID != 0 {
		target = "(account_id, group_id)"
	}
	_, err := t.tx.Exec(ctx, `
		INSERT INTO grants (workspace_id, account_id, member_id, group_id, caps)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT `+target+` DO UPDATE SET caps = excluded.caps`,
		g.WorkspaceID, g.AccountID, nullID(g.MemberID), nullID(g.GroupID), capsToDB(g.Caps))
	return dbError(err, nil)
}

// DeleteGrant removes the grant of g's member or group on the account
// (ENOTFOUND if there is none). A trigger drops, in the same statement, the
// approver flags of members who thereby lose all access to the account; if
// that leaves a required tier without approvers, the commit is refused.
func (t *tx) DeleteGrant(ctx context.Context, g *approvals.Grant) error {
	if err := checkGrantee(g); err != nil {
		return err
	}
	account, who, err := t.grantee(ctx, g.WorkspaceID, g.AccountID, g.MemberID, g.GroupID)
	if err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `
		DELETE FROM grants
		WHERE workspace_id = $1 AND account_id = $2
		  AND member_id IS NOT DISTINCT FROM $3 AND group_id IS NOT DISTINCT FROM $4`,
		g.WorkspaceID, g.AccountID, nullID(g.MemberID), nullID(g.GroupID))
	if err != nil {
		return dbError(err, nil)
	}
	if tag.RowsAffected() == 0 {
		return approvals.Errorf(approvals.ENOTFOUND, "%s has no grant on account %q", who, account)
	}
	return nil
}

// accessColumns follow accountColumns in the access queries: the member's
// direct caps, each group grant's caps (comma-joined, since Postgres arrays
// cannot be ragged) and the member's approver tiers, internal first.
const accessColumns = `,
	coalesce((SELECT g.caps FROM grants g WHERE g.account_id = a.id AND g.member_id = $2), '{}'),
	ARRAY(SELECT array_to_string(g.caps, ',') FROM grants g
	      JOIN group_members gm ON gm.group_id = g.group_id
	      WHERE g.account_id = a.id AND gm.member_id = $2 ORDER BY g.group_id),
	ARRAY(SELECT ap.tier FROM approvers ap
	      WHERE ap.account_id = a.id AND ap.member_id = $2 ORDER BY ap.tier = 'client')`

func scanAccess(row pgx.Row, extra ...any) (*approvals.AccountAccess, error) {
	var direct, groups, tiers []string
	a, err := scanAccount(row, append([]any{&direct, &groups, &tiers}, extra...)...)
	if err != nil {
		return nil, err
	}
	acc := &approvals.AccountAccess{Account: *a, Direct: capsFromDB(direct)}
	for _, g := range groups {
		acc.Groups = append(acc.Groups, capsFromDB(strings.Split(g, ",")))
	}
	for _, tier := range tiers {
		acc.Tiers = append(acc.Tiers, approvals.Tier(tier))
	}
	return acc, nil
}

// MemberAccess returns the member's raw access to every account of the
// workspace, ordered by handle; ENOTFOUND if the member is not in it.
func (t *tx) MemberAccess(ctx context.Context, workspaceID, memberID int64) ([]approvals.AccountAccess, error) {
	if _, err := t.MemberByID(ctx, workspaceID, memberID); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, `
		SELECT `+accountColumns+accessColumns+`
		FROM accounts a WHERE a.workspace_id = $1 ORDER BY a.handle`,
		workspaceID, memberID)
	if err != nil {
		return nil, dbError(err, nil)
	}
	defer rows.Close()
	var list []approvals.AccountAccess
	for rows.Next() {
		acc, err := scanAccess(rows)
		if err != nil {
			return nil, dbError(err, nil)
		}
		list = append(list, *acc)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, nil)
	}
	return list, nil
}

// AccountMemberAccess returns the member's raw access to one account;
// ENOTFOUND if either is not in the workspace.
func (t *tx) AccountMemberAccess(ctx context.Context, workspaceID, accountID, memberID int64) (*approvals.AccountAccess, error) {
	if _, _, err := t.grantee(ctx, workspaceID, accountID, memberID, 0); err != nil {
		return nil, err
	}
	acc, err := scanAccess(t.tx.QueryRow(ctx, `
		SELECT `+accountColumns+accessColumns+`
		FROM accounts a WHERE a.workspace_id = $1 AND a.id = $3`,
		workspaceID, memberID, accountID))
	if err != nil {
		return nil, notFound(err, "no account #%d in %s", accountID, t.workspaceName(ctx, workspaceID))
	}
	return acc, nil
}

func checkTier(tier approvals.Tier) error {
	if tier != approvals.TierInternal && tier != approvals.TierClient {
		return approvals.Errorf(approvals.EINVALID, "unknown tier %q (want internal or client)", tier)
	}
	return nil
}

// AddApprover flags the member as an approver of the account in a.Tier.
// The schema refuses (EINVALID, naming account, member and tier) a member
// without access or with the wrong role for the tier; ECONFLICT if the flag
// is already set.
func (t *tx) AddApprover(ctx context.Context, a *approvals.Approver) error {
	if err := checkTier(a.Tier); err != nil {
		return err
	}
	account, who, err := t.grantee(ctx, a.WorkspaceID, a.AccountID, a.MemberID, 0)
	if err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO approvers (workspace_id, account_id, member_id, tier) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`,
		a.WorkspaceID, a.AccountID, a.MemberID, a.Tier)
	if err != nil {
		return dbError(err, nil)
	}
	if tag.RowsAffected() == 0 {
		return approvals.Errorf(approvals.ECONFLICT, "%s is already %s approver of account %q", who, tierArticle(a.Tier), account)
	}
	return nil
}

// RemoveApprover clears the flag (ENOTFOUND if it is not set). Removing the
// last approver of a tier the account needs is refused at commit (EINVALID).
func (t *tx) RemoveApprover(ctx context.Context, a *approvals.Approver) error {
	if err := checkTier(a.Tier); err != nil {
		return err
	}
	account, who, err := t.grantee(ctx, a.WorkspaceID, a.AccountID, a.MemberID, 0)
	if err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `
		DELETE FROM approvers WHERE workspace_id = $1 AND account_id = $2 AND member_id = $3 AND tier = $4`,
		a.WorkspaceID, a.AccountID, a.MemberID, a.Tier)
	if err != nil {
		return dbError(err, nil)
	}
	if tag.RowsAffected() == 0 {
		return approvals.Errorf(approvals.ENOTFOUND, "%s is not %s approver of account %q", who, tierArticle(a.Tier), account)
	}
	return nil
}

func tierArticle(tier approvals.Tier) string {
	if tier == approvals.TierInternal {
		return "an internal"
	}
	return "a " + string(tier)
}

// Approvers returns the members flagged as approvers of the account in
// tier, ordered by email; ENOTFOUND if the account is not in the workspace.
func (t *tx) Approvers(ctx context.Context, workspaceID, accountID int64, tier approvals.Tier) ([]*approvals.Member, error) {
	if _, err := t.AccountByID(ctx, workspaceID, accountID); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, `
		SELECT `+memberColumns+`
		FROM approvers ap JOIN members m ON m.id = ap.member_id
		WHERE ap.workspace_id = $1 AND ap.account_id = $2 AND ap.tier = $3
		ORDER BY lower(m.email), m.id`,
		workspaceID, accountID, tier)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return scanMembers(rows)
}
