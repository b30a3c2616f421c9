package store

import (
	"cmp"
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/signoff-app/signoff/approvals"
)

// AppendAudit appends e to the audit log and sets its ID and At (kept when
// set). Zero IDs are stored as NULL. The log has no foreign keys, so it
// outlives what it talks about, and triggers refuse any UPDATE, DELETE or
// TRUNCATE of it.
func (t *tx) AppendAudit(ctx context.Context, e *approvals.AuditEntry) error {
	var rev *int
	if e.Revision != 0 {
		rev = &e.Revision
	}
	// Held back (see txConn): nothing in the transaction reads it, so it
	// goes out with the next statement or the commit, which sets e.ID and
	// e.At.
	t.tx.hold(`
		INSERT INTO audit_log (workspace_id, at, actor_id, actor, channel, action, outcome,
			draft_id, revision, account_id, detail, ip, user_agent, slack_user_id, slack_team_id, request_id)
		VALUES ($1, coalesce($2, now()), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		RETURNING id, at`,
		func(rows pgx.Rows) error {
			if !rows.Next() {
				return cmp.Or(rows.Err(), pgx.ErrNoRows)
			}
			if err := rows.Scan(&e.ID, &e.At); err != nil {
				return err
			}
			e.At = e.At.UTC()
			return nil
		},
		nullID(e.WorkspaceID), nullTime(e.At), nullID(e.ActorID), e.Actor, e.Channel, e.Action, e.Outcome,
		nullID(e.DraftID), rev, nullID(e.AccountID), e.Detail,
		e.Meta.IP, e.Meta.UserAgent, e.Meta.SlackUserID, e.Meta.SlackTeamID, e.Meta.RequestID)
	return nil
}

// DraftAudit returns the audit entries about a draft, oldest first.
func (t *tx) DraftAudit(ctx context.Context, workspaceID, draftID int64) ([]*approvals.AuditEntry, error) {
	rows, err := t.tx.Query(ctx, `
		SELECT id, coalesce(workspace_id, 0), at, coalesce(actor_id, 0), actor, channel, action, outcome,
			coalesce(draft_id, 0), coalesce(revision, 0), coalesce(account_id, 0), detail,
			ip, user_agent, slack_user_id, slack_team_id, request_id
		FROM audit_log
		WHERE workspace_id = $1 AND draft_id = $2
		ORDER BY id`,
		workspaceID, draftID)
	if err != nil {
		return nil, dbError(err, nil)
	}
	defer rows.Close()
	var es []*approvals.AuditEntry
	for rows.Next() {
		var e approvals.AuditEntry
		if err := rows.Scan(&e.ID, &e.WorkspaceID, &e.At, &e.ActorID, &e.Actor, &e.Channel, &e.Action, &e.Outcome,
			&e.DraftID, &e.Revision, &e.AccountID, &e.Detail,
			&e.Meta.IP, &e.Meta.UserAgent, &e.Meta.SlackUserID, &e.Meta.SlackTeamID, &e.Meta.RequestID); err != nil {
			return nil, dbError(err, nil)
		}
		e.At = e.At.UTC()
		es = append(es, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, nil)
	}
	return es, nil
}
