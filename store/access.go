package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// Access: the grants of members and groups on accounts and the raw access
// they add up to (approvals/access.go).

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

// MemberAccess returns the member's raw access to the accounts of the
// workspace that scope names, ordered by handle; ENOTFOUND if the member is
// not in it. The member's grants, group grants and approver flags are read
// once each and joined to the accounts (per-account subqueries would probe
// three indexes for each account of the workspace). GrantedAccounts reads
// only the accounts those grants name: the App Home of a client granted
// two accounts of an agency's hundred reads two.
func (t *tx) MemberAccess(ctx context.Context, workspaceID, memberID int64, scope approvals.AccessScope) ([]approvals.AccountAccess, error) {
	only := ""
	if scope == approvals.GrantedAccounts {
		only = `AND a.id IN (SELECT account_id FROM direct UNION SELECT account_id FROM grp)`
	}
	rows, err := t.tx.Query(ctx, `
		WITH direct AS (
			SELECT g.account_id, g.caps FROM grants g WHERE g.member_id = $2),
		grp AS (
			SELECT g.account_id, array_agg(array_to_string(g.caps, ',') ORDER BY g.group_id) AS caps
			FROM grants g JOIN group_members gm ON gm.group_id = g.group_id
			WHERE gm.member_id = $2 GROUP BY g.account_id),
		tiers AS (
			SELECT ap.account_id, array_agg(ap.tier ORDER BY ap.tier = 'client') AS tiers
			FROM approvers ap WHERE ap.member_id = $2 GROUP BY ap.account_id)
		SELECT `+accountColumns+`, coalesce(direct.caps, '{}'), coalesce(grp.caps, '{}'), coalesce(tiers.tiers, '{}')
		FROM accounts a
		LEFT JOIN direct ON direct.account_id = a.id
		LEFT JOIN grp ON grp.account_id = a.id
		LEFT JOIN tiers ON tiers.account_id = a.id
		WHERE a.workspace_id = $1 `+only+`
		  AND EXISTS (SELECT 1 FROM members m WHERE m.workspace_id = $1 AND m.id = $2)
		ORDER BY a.handle`,
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
	if len(list) == 0 {
		// No account, or no such member: which, the member's lookup says.
		if _, err := t.MemberByID(ctx, workspaceID, memberID); err != nil {
			return nil, err
		}
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
