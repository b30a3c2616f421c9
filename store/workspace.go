package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

const workspaceColumns = `id, slug, name, coalesce(slack_team_id, ''), coalesce(internal_channel, ''), created_at, group_window_ms,
	EXISTS (SELECT 1 FROM workspace_webhooks h WHERE h.workspace_id = workspaces.id), media_hosts`

func scanWorkspace(row pgx.Row) (*approvals.Workspace, error) {
	var w approvals.Workspace
	var windowMS int64
	if err := row.Scan(&w.ID, &w.Slug, &w.Name, &w.SlackTeamID, &w.InternalChannel, &w.CreatedAt, &windowMS, &w.OwnWebhook, &w.MediaHosts); err != nil {
		return nil, err
	}
	w.GroupWindow = time.Duration(windowMS) * time.Millisecond
	if len(w.MediaHosts) == 0 {
		w.MediaHosts = nil
	}
	w.CreatedAt = w.CreatedAt.UTC()
	return &w, nil
}

func workspaceViolations(w *approvals.Workspace) violations {
	return violations{
		"workspaces_slug_key": {Code: approvals.ECONFLICT,
			Message: `workspace slug "` + w.Slug + `" is already taken`},
		"workspaces_slack_team_key": {Code: approvals.ECONFLICT,
			Message: `Slack team "` + w.SlackTeamID + `" is already bound to another workspace`},
	}
}

// CreateWorkspace inserts w and sets its ID and CreatedAt.
func (t *tx) CreateWorkspace(ctx context.Context, w *approvals.Workspace) error {
	row := t.tx.QueryRow(ctx, `
		INSERT INTO workspaces (slug, name, slack_team_id, internal_channel, created_at)
		VALUES ($1, $2, $3, $4, coalesce($5, now()))
		RETURNING `+workspaceColumns,
		w.Slug, w.Name, nullString(w.SlackTeamID), nullString(w.InternalChannel), nullTime(w.CreatedAt))
	got, err := scanWorkspace(row)
	if err != nil {
		return dbError(err, workspaceViolations(w))
	}
	*w = *got
	return nil
}

// UpdateWorkspace saves w's slug, name, Slack team, internal channel and
// grouping window and media hosts.
func (t *tx) UpdateWorkspace(ctx context.Context, w *approvals.Workspace) error {
	hosts := w.MediaHosts
	if hosts == nil {
		hosts = []string{}
	}
	row := t.tx.QueryRow(ctx, `
		UPDATE workspaces
		SET slug = $2, name = $3, slack_team_id = $4, internal_channel = $5, group_window_ms = $6, media_hosts = $7
		WHERE id = $1
		RETURNING `+workspaceColumns,
		w.ID, w.Slug, w.Name, nullString(w.SlackTeamID), nullString(w.InternalChannel), w.GroupWindow.Milliseconds(), hosts)
	got, err := scanWorkspace(row)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(err, "no workspace #%d", w.ID)
		}
		return dbError(err, workspaceViolations(w))
	}
	*w = *got
	return nil
}

func (t *tx) WorkspaceBySlug(ctx context.Context, slug string) (*approvals.Workspace, error) {
	w, err := scanWorkspace(t.tx.QueryRow(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE slug = $1`, slug))
	if err != nil {
		return nil, notFound(err, "no workspace %q", slug)
	}
	return w, nil
}

func (t *tx) WorkspaceByID(ctx context.Context, id int64) (*approvals.Workspace, error) {
	w, err := scanWorkspace(t.tx.QueryRow(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "no workspace #%d", id)
	}
	return w, nil
}

func (t *tx) WorkspaceBySlackTeam(ctx context.Context, teamID string) (*approvals.Workspace, error) {
	w, err := scanWorkspace(t.tx.QueryRow(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE slack_team_id = $1`, teamID))
	if err != nil {
		return nil, notFound(err, "no workspace is bound to Slack team %q", teamID)
	}
	return w, nil
}

// Principal reads the workspace and the member k names in one batch: the
// member's statement finds the workspace by the same key itself.
func (t *tx) Principal(ctx context.Context, k approvals.PrincipalKey) (*approvals.Workspace, *approvals.Member, error) {
	var wsWhere, wsMissing string
	var wsArg any
	switch {
	case k.WorkspaceID != 0:
		wsWhere, wsArg, wsMissing = "id = $1", k.WorkspaceID, fmt.Sprintf("no workspace #%d", k.WorkspaceID)
	case k.Workspace != "":
		wsWhere, wsArg, wsMissing = "slug = $1", k.Workspace, fmt.Sprintf("no workspace %q", k.Workspace)
	case k.SlackTeamID != "":
		wsWhere, wsArg, wsMissing = "slack_team_id = $1", k.SlackTeamID, fmt.Sprintf("no workspace is bound to Slack team %q", k.SlackTeamID)
	default:
		return nil, nil, approvals.Errorf(approvals.EINVALID, "no workspace given")
	}
	var mWhere, mMissing string
	var mArg any
	switch {
	case k.Email != "":
		mWhere, mArg, mMissing = "lower(m.email) = lower($2)", k.Email, fmt.Sprintf("no member %q", k.Email)
	case k.MemberID != 0:
		mWhere, mArg, mMissing = "m.id = $2", k.MemberID, fmt.Sprintf("no member #%d", k.MemberID)
	case k.SlackUserID != "":
		mWhere, mArg, mMissing = "m.slack_user_id = $2", k.SlackUserID, fmt.Sprintf("no member is linked to Slack user %s", k.SlackUserID)
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT `+workspaceColumns+` FROM workspaces WHERE `+wsWhere, wsArg)
	if mWhere != "" {
		b.Queue(`SELECT `+memberColumns+` FROM members m
			WHERE m.workspace_id = (SELECT id FROM workspaces WHERE `+wsWhere+`) AND `+mWhere, wsArg, mArg)
	}
	br := t.tx.SendBatch(ctx, b)
	defer br.Close()
	w, err := scanWorkspace(br.QueryRow())
	if err != nil {
		return nil, nil, notFound(err, "%s", wsMissing)
	}
	if mWhere == "" {
		return w, nil, nil
	}
	m, err := scanMember(br.QueryRow())
	if err != nil {
		return w, nil, notFound(err, "%s in %s", mMissing, w.Name)
	}
	return w, m, nil
}
