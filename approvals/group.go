package approvals

import (
	"context"
	"strings"
)

// Group is a named set of members of one workspace; grants to a group apply
// to each member, within that member's role ceiling.
type Group struct {
	ID          int64  `json:"id"`
	WorkspaceID int64  `json:"workspace_id"`
	Name        string `json:"name"`
}

func (s *Service) groupByName(ctx context.Context, tx Tx, ws *Workspace, name string) (*Group, error) {
	g, err := tx.GroupByName(ctx, ws.ID, strings.TrimSpace(name))
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "no group %q in workspace %q", name, ws.Slug)
	}
	return g, err
}

// CreateGroup creates a group. Errors: EINVALID, ECONFLICT, EUNAUTHORIZED.
func (s *Service) CreateGroup(ctx context.Context, a Actor, name string) (*Group, error) {
	var out *Group
	err := s.change(ctx, a, "group.create", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "create groups"); err != nil {
			return err
		}
		name = strings.TrimSpace(name)
		if name == "" || len(name) > 100 {
			return Errorf(EINVALID, "group name must be 1 to 100 characters")
		}
		g := &Group{WorkspaceID: p.ws.ID, Name: name}
		e.Detail = name
		out = g
		return tx.CreateGroup(ctx, g)
	})
	return out, err
}

// AddToGroup adds a member to a group. Errors: ENOTFOUND, ECONFLICT, EUNAUTHORIZED.
func (s *Service) AddToGroup(ctx context.Context, a Actor, group, email string) error {
	return s.change(ctx, a, "group.add", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "change groups"); err != nil {
			return err
		}
		g, err := s.groupByName(ctx, tx, p.ws, group)
		if err != nil {
			return err
		}
		m, err := s.memberByEmail(ctx, tx, p.ws, email)
		if err != nil {
			return err
		}
		if !m.Active() {
			return Errorf(EINVALID, "%s is deactivated and cannot join groups", m.Email)
		}
		e.Detail = m.Email + " to " + g.Name
		return tx.AddGroupMember(ctx, p.ws.ID, g.ID, m.ID)
	})
}

// RemoveFromGroup removes a member from a group; approver flags that depended
// on the group's grants go too, unless that leaves an account without a
// required approver. Errors: ENOTFOUND, EINVALID (last approver), EUNAUTHORIZED.
func (s *Service) RemoveFromGroup(ctx context.Context, a Actor, group, email string) error {
	return s.change(ctx, a, "group.remove", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "change groups"); err != nil {
			return err
		}
		g, err := s.groupByName(ctx, tx, p.ws, group)
		if err != nil {
			return err
		}
		m, err := s.memberByEmail(ctx, tx, p.ws, email)
		if err != nil {
			return err
		}
		e.Detail = m.Email + " from " + g.Name
		if err := s.lockForMemberChange(ctx, tx, p.ws); err != nil {
			return err
		}
		if err := tx.RemoveGroupMember(ctx, p.ws.ID, g.ID, m.ID); err != nil {
			return err
		}
		if err := s.requireWorkspaceApprovers(ctx, tx, p.ws); err != nil {
			return err
		}
		return s.reevaluateWorkspace(ctx, tx, p)
	})
}
