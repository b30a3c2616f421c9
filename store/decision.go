package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

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
