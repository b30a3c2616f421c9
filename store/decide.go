package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// Decisions on drafts (approvals/decide.go), and all a decision reads in
// one round trip (approvals.DecisionTx, in approvals/calltx.go).

// DecisionRows reads what a decision on d by the member needs
// (approvals.DecisionTx), in one round trip: the statements go to the
// server as one pipelined batch. Each is the statement the single lookup
// it stands for runs (AccountMemberAccess, BackupTiers, Decisions,
// Revisions, Comments, Approvers, BackupApprovers, MemberByID), on the same
// indexes.
func (t *tx) DecisionRows(ctx context.Context, workspaceID int64, d *approvals.Draft, memberID int64) (*approvals.DecisionRows, error) {
	out := &approvals.DecisionRows{Approvers: map[approvals.Tier][]*approvals.Member{}, BackupApprovers: map[approvals.Tier][]*approvals.Member{}}
	var memberExists, accountFound bool
	var authorErr error
	b := &pgx.Batch{}
	b.Queue(`
		SELECT `+accountColumns+accessColumns+`,
			EXISTS (SELECT 1 FROM members WHERE workspace_id = $1 AND id = $2)
		FROM accounts a WHERE a.workspace_id = $1 AND a.id = $3`,
		workspaceID, memberID, d.AccountID).QueryRow(func(row pgx.Row) error {
		acc, err := scanAccess(row, &memberExists)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		accountFound, out.Access = err == nil, acc
		return err
	})
	b.Queue(`
		SELECT tier FROM draft_extra_approvers
		WHERE workspace_id = $1 AND draft_id = $2 AND revision = $3 AND member_id = $4
		ORDER BY tier DESC`, workspaceID, d.ID, d.Revision, memberID).Query(func(rows pgx.Rows) error {
		var err error
		out.BackupTiers, err = pgx.CollectRows(rows, pgx.RowTo[approvals.Tier])
		return err
	})
	b.Queue(`
		SELECT `+decisionColumns+` FROM decisions x LEFT JOIN members m ON m.id = x.approver_id
		WHERE x.draft_id = $1 ORDER BY x.created_at, x.id`, d.ID).Query(func(rows pgx.Rows) error {
		return collectBy(rows, scanDecision, func(x *approvals.Decision) { out.Decisions = append(out.Decisions, x) })
	})
	b.Queue(`SELECT `+revisionColumns+` FROM revisions r WHERE r.draft_id = $1 ORDER BY r.number`, d.ID).Query(func(rows pgx.Rows) error {
		return collectBy(rows, scanRevision, func(r *approvals.Revision) { out.Revisions = append(out.Revisions, r) })
	})
	b.Queue(`
		SELECT `+commentColumns+` FROM comments x LEFT JOIN members m ON m.id = x.author_id
		WHERE x.draft_id = $1 ORDER BY x.created_at, x.id`, d.ID).Query(func(rows pgx.Rows) error {
		return collectBy(rows, scanComment, func(c *approvals.Comment) { out.Comments = append(out.Comments, c) })
	})
	b.Queue(`
		SELECT ap.tier, `+memberColumns+`
		FROM approvers ap JOIN members m ON m.id = ap.member_id
		WHERE ap.account_id = $2 AND ap.workspace_id = $1
		ORDER BY ap.tier, lower(m.email), m.id`, workspaceID, d.AccountID).Query(func(rows pgx.Rows) error {
		return collectTierMembers(rows, out.Approvers)
	})
	b.Queue(`
		SELECT x.tier, `+memberColumns+` FROM draft_extra_approvers x JOIN members m ON m.id = x.member_id
		WHERE x.workspace_id = $1 AND x.draft_id = $2 AND x.revision = $3
		ORDER BY m.id`, workspaceID, d.ID, d.Revision).Query(func(rows pgx.Rows) error {
		return collectTierMembers(rows, out.BackupApprovers)
	})
	b.Queue(`SELECT `+memberColumns+` FROM members m WHERE m.workspace_id = $1 AND m.id = $2`, workspaceID, d.AuthorID).QueryRow(func(row pgx.Row) error {
		out.Author, authorErr = scanMember(row)
		if errors.Is(authorErr, pgx.ErrNoRows) {
			return nil
		}
		return authorErr
	})
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, dbError(err, nil)
	}
	switch {
	case !accountFound:
		return nil, notFound(pgx.ErrNoRows, "no account #%d in %s", d.AccountID, t.workspaceName(ctx, workspaceID))
	case !memberExists:
		return nil, notFound(nil, "no member #%d in %s", memberID, t.workspaceName(ctx, workspaceID))
	}
	if authorErr != nil {
		out.Author = nil // MemberByID reports it, if it is asked for
	}
	return out, nil
}

// collectTierMembers adds rows of (tier, member columns) to byTier, in order.
func collectTierMembers(rows pgx.Rows, byTier map[approvals.Tier][]*approvals.Member) error {
	defer rows.Close()
	for rows.Next() {
		var tier approvals.Tier
		var m approvals.Member
		if err := rows.Scan(append([]any{&tier}, memberDest(&m)...)...); err != nil {
			return err
		}
		m.CreatedAt = m.CreatedAt.UTC()
		byTier[tier] = append(byTier[tier], &m)
	}
	return rows.Err()
}

// policyApprover labels decisions made by a deadline policy (no approver).
const policyApprover = "Signoff policy"

const decisionColumns = `x.id, x.draft_id, x.revision, x.tier, coalesce(x.approver_id, 0),
	coalesce(` + memberLabel + `, '` + policyApprover + `'), x.verdict, x.comment, x.channel, x.created_at`

func scanDecision(row pgx.Row) (*approvals.Decision, error) {
	var d approvals.Decision
	if err := row.Scan(&d.ID, &d.DraftID, &d.Revision, &d.Tier, &d.ApproverID, &d.Approver,
		&d.Verdict, &d.Comment, &d.Channel, &d.CreatedAt); err != nil {
		return nil, err
	}
	d.CreatedAt = d.CreatedAt.UTC()
	return &d, nil
}

// CreateDecision records d and sets its ID, Approver and CreatedAt (kept
// when set). When the approver already decided this (draft, revision, tier)
// it fails with ECONFLICT, Reason ReasonDecided and the existing decision in
// Error.Decision; that conflict does not abort the transaction.
func (t *tx) CreateDecision(ctx context.Context, d *approvals.Decision) error {
	row := t.tx.QueryRow(ctx, `
		WITH x AS (
			INSERT INTO decisions (workspace_id, draft_id, revision, tier, approver_id, verdict, comment, channel, created_at)
			SELECT dr.workspace_id, dr.id, $2, $3, $4, $5, $6, $7, coalesce($8, now())
			FROM drafts dr WHERE dr.id = $1
			ON CONFLICT ON CONSTRAINT decisions_once_key DO NOTHING
			RETURNING *
		)
		SELECT `+decisionColumns+` FROM x LEFT JOIN members m ON m.id = x.approver_id`,
		d.DraftID, d.Revision, d.Tier, d.ApproverID, d.Verdict, d.Comment, d.Channel, nullTime(d.CreatedAt))
	got, err := scanDecision(row)
	if err == nil {
		*d = *got
		return nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return dbError(err, violations{
			"decisions_revision_fkey": {Code: approvals.ENOTFOUND,
				Message: fmt.Sprintf("draft #%d has no revision %d", d.DraftID, d.Revision)},
			"decisions_approver_fkey": {Code: approvals.ENOTFOUND,
				Message: fmt.Sprintf("no member #%d in the draft's workspace", d.ApproverID)},
		})
	}
	// Nothing inserted: either the draft does not exist or the decision was
	// already made.
	prev, err := scanDecision(t.tx.QueryRow(ctx, `
		SELECT `+decisionColumns+` FROM decisions x LEFT JOIN members m ON m.id = x.approver_id
		WHERE x.draft_id = $1 AND x.revision = $2 AND x.tier = $3 AND x.approver_id = $4`,
		d.DraftID, d.Revision, d.Tier, d.ApproverID))
	if err != nil {
		return notFound(err, "no draft #%d", d.DraftID)
	}
	return &approvals.Error{
		Code:   approvals.ECONFLICT,
		Reason: approvals.ReasonDecided,
		Message: fmt.Sprintf("%s already decided revision %d of draft #%d (%s, %s via %s)",
			prev.Approver, prev.Revision, prev.DraftID, prev.Verdict, prev.CreatedAt.Format("2006-01-02 15:04 UTC"), prev.Channel),
		Decision: prev,
	}
}

// Decisions returns the draft's decisions, oldest first, Approver filled
// ("Signoff policy", ApproverID 0, for a deadline policy's decision).
func (t *tx) Decisions(ctx context.Context, draftID int64) ([]*approvals.Decision, error) {
	rows, err := t.tx.Query(ctx, `
		SELECT `+decisionColumns+` FROM decisions x LEFT JOIN members m ON m.id = x.approver_id
		WHERE x.draft_id = $1 ORDER BY x.created_at, x.id`, draftID)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return collect(rows, scanDecision)
}
