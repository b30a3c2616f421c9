package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// Deadline policies: the action taken when a tier's deadline passed and
// the backup approvers escalation added to one draft (approvals.DeadlineTx).

// DeadlineAction returns the action taken on (draft, revision, tier).
func (t *tx) DeadlineAction(ctx context.Context, draftID int64, revision int, tier approvals.Tier) (*approvals.DeadlineAction, error) {
	var a approvals.DeadlineAction
	err := t.tx.QueryRow(ctx, `
		SELECT workspace_id, draft_id, revision, tier, policy, outcome, deadline_at, applied_at FROM draft_deadlines
		WHERE draft_id = $1 AND revision = $2 AND tier = $3`, draftID, revision, tier).
		Scan(&a.WorkspaceID, &a.DraftID, &a.Revision, &a.Tier, &a.Policy, &a.Outcome, &a.DeadlineAt, &a.AppliedAt)
	if err != nil {
		return nil, notFound(err, "no deadline action on draft #%d (revision %d, %s tier)", draftID, revision, tier)
	}
	a.DeadlineAt, a.AppliedAt = a.DeadlineAt.UTC(), a.AppliedAt.UTC()
	return &a, nil
}

// CreateDeadlineAction records a; ECONFLICT when one exists.
func (t *tx) CreateDeadlineAction(ctx context.Context, a *approvals.DeadlineAction) error {
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO draft_deadlines (workspace_id, draft_id, revision, tier, policy, outcome, deadline_at, applied_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT ON CONSTRAINT draft_deadlines_pkey DO NOTHING`,
		a.WorkspaceID, a.DraftID, a.Revision, a.Tier, a.Policy, a.Outcome, a.DeadlineAt, a.AppliedAt)
	if err != nil {
		return dbError(err, nil)
	}
	if tag.RowsAffected() == 0 {
		return approvals.Errorf(approvals.ECONFLICT, "the deadline policy already acted on draft #%d (revision %d, %s tier)", a.DraftID, a.Revision, a.Tier)
	}
	return nil
}

// CreatePolicyDecision records an approval by the deadline policy (no
// approver, channel system); ECONFLICT when there is one for (draft,
// revision, tier) already.
func (t *tx) CreatePolicyDecision(ctx context.Context, d *approvals.Decision) error {
	row := t.tx.QueryRow(ctx, `
		WITH x AS (
			INSERT INTO decisions (workspace_id, draft_id, revision, tier, approver_id, verdict, comment, channel, created_at)
			SELECT dr.workspace_id, dr.id, $2, $3, NULL, $4, $5, $6, coalesce($7, now())
			FROM drafts dr WHERE dr.id = $1
			ON CONFLICT (draft_id, revision, tier) WHERE approver_id IS NULL DO NOTHING
			RETURNING *
		)
		SELECT `+decisionColumns+` FROM x LEFT JOIN members m ON m.id = x.approver_id`,
		d.DraftID, d.Revision, d.Tier, d.Verdict, d.Comment, d.Channel, nullTime(d.CreatedAt))
	got, err := scanDecision(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return approvals.Errorf(approvals.ECONFLICT, "the deadline policy already decided draft #%d (revision %d, %s tier), or it does not exist", d.DraftID, d.Revision, d.Tier)
	}
	if err != nil {
		return dbError(err, violations{
			"decisions_revision_fkey": {Code: approvals.ENOTFOUND,
				Message: fmt.Sprintf("draft #%d has no revision %d", d.DraftID, d.Revision)},
		})
	}
	*d = *got
	return nil
}

// AddBackupApprover makes the member an approver of one draft's revision in
// one tier; ECONFLICT when they are one already.
func (t *tx) AddBackupApprover(ctx context.Context, workspaceID, draftID int64, revision int, tier approvals.Tier, memberID int64, at time.Time) error {
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO draft_extra_approvers (workspace_id, draft_id, revision, tier, member_id, added_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT ON CONSTRAINT draft_extra_approvers_pkey DO NOTHING`,
		workspaceID, draftID, revision, tier, memberID, at)
	if err != nil {
		return dbError(err, violations{
			"draft_extra_approvers_member_fkey": {Code: approvals.ENOTFOUND, Message: fmt.Sprintf("no member #%d in this workspace", memberID)},
			"draft_extra_approvers_draft_fkey":  {Code: approvals.ENOTFOUND, Message: fmt.Sprintf("no draft #%d in this workspace", draftID)},
		})
	}
	if tag.RowsAffected() == 0 {
		return approvals.Errorf(approvals.ECONFLICT, "member #%d is already a backup approver of draft #%d (revision %d, %s tier)", memberID, draftID, revision, tier)
	}
	return nil
}

// BackupApprovers returns the members added to (draft, revision, tier), by ID.
func (t *tx) BackupApprovers(ctx context.Context, workspaceID, draftID int64, revision int, tier approvals.Tier) ([]*approvals.Member, error) {
	rows, err := t.tx.Query(ctx, `
		SELECT `+memberColumns+` FROM draft_extra_approvers x JOIN members m ON m.id = x.member_id
		WHERE x.workspace_id = $1 AND x.draft_id = $2 AND x.revision = $3 AND x.tier = $4
		ORDER BY m.id`, workspaceID, draftID, revision, tier)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return scanMembers(rows)
}
