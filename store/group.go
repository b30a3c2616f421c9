package store

import (
	"context"
	"fmt"

	"github.com/signoff-app/signoff/approvals"
)

// CreateGroup inserts g and sets its ID. Names are unique per workspace,
// whatever their case.
func (t *tx) CreateGroup(ctx context.Context, g *approvals.Group) error {
	err := t.tx.QueryRow(ctx, `
		INSERT INTO groups (workspace_id, name) VALUES ($1, $2) RETURNING id`,
		g.WorkspaceID, g.Name).Scan(&g.ID)
	return dbError(err, violations{
		"groups_name_key": {Code: approvals.ECONFLICT,
			Message: fmt.Sprintf("group %q already exists in this workspace", g.Name)},
		"groups_workspace_id_fkey": {Code: approvals.ENOTFOUND,
			Message: fmt.Sprintf("no workspace #%d", g.WorkspaceID)},
	})
}

// GroupByName finds a group by name, whatever its case.
func (t *tx) GroupByName(ctx context.Context, workspaceID int64, name string) (*approvals.Group, error) {
	var g approvals.Group
	err := t.tx.QueryRow(ctx, `
		SELECT id, workspace_id, name FROM groups WHERE workspace_id = $1 AND lower(name) = lower($2)`,
		workspaceID, name).Scan(&g.ID, &g.WorkspaceID, &g.Name)
	if err != nil {
		return nil, notFound(err, "no group %q in %s", name, t.workspaceName(ctx, workspaceID))
	}
	return &g, nil
}

// groupAndMember reads the names of a group and a member of one workspace,
// for messages, and fails with ENOTFOUND if either is missing.
func (t *tx) groupAndMember(ctx context.Context, workspaceID, groupID, memberID int64) (group, email string, err error) {
	var g, e *string
	err = t.tx.QueryRow(ctx, `
		SELECT (SELECT name FROM groups WHERE workspace_id = $1 AND id = $2),
		       (SELECT email FROM members WHERE workspace_id = $1 AND id = $3)`,
		workspaceID, groupID, memberID).Scan(&g, &e)
	switch {
	case err != nil:
		return "", "", dbError(err, nil)
	case g == nil:
		return "", "", notFound(nil, "no group #%d in %s", groupID, t.workspaceName(ctx, workspaceID))
	case e == nil:
		return "", "", notFound(nil, "no member #%d in %s", memberID, t.workspaceName(ctx, workspaceID))
	}
	return *g, *e, nil
}

// AddGroupMember puts the member in the group; ECONFLICT if already in. The
// conflict is detected without failing the statement, so the transaction
// stays usable.
func (t *tx) AddGroupMember(ctx context.Context, workspaceID, groupID, memberID int64) error {
	group, email, err := t.groupAndMember(ctx, workspaceID, groupID, memberID)
	if err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO group_members (workspace_id, group_id, member_id) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`,
		workspaceID, groupID, memberID)
	if err != nil {
		return dbError(err, nil)
	}
	if tag.RowsAffected() == 0 {
		return approvals.Errorf(approvals.ECONFLICT, "%s is already in group %q", email, group)
	}
	return nil
}

// RemoveGroupMember takes the member out of the group; ENOTFOUND if not in.
// Approver flags on accounts the member thereby loses all access to are
// dropped by a trigger in the same statement (and the commit is refused if
// that leaves a required tier without approvers).
func (t *tx) RemoveGroupMember(ctx context.Context, workspaceID, groupID, memberID int64) error {
	group, email, err := t.groupAndMember(ctx, workspaceID, groupID, memberID)
	if err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `
		DELETE FROM group_members WHERE workspace_id = $1 AND group_id = $2 AND member_id = $3`,
		workspaceID, groupID, memberID)
	if err != nil {
		return dbError(err, nil)
	}
	if tag.RowsAffected() == 0 {
		return approvals.Errorf(approvals.ENOTFOUND, "%s is not in group %q", email, group)
	}
	return nil
}
