package store

import (
	"context"

	"github.com/signoff-app/signoff/approvals"
)

// Approvers: the flags that make a member an approver of an account's
// tier (approvals/approver.go).

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
