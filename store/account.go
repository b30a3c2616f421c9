package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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
