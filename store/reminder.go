package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// Reminders: the tier clock of each pending draft and the reminders sent
// (approvals.ReminderTx). The deadline policies' rows are in deadline.go.

// nullDuration maps 0 to NULL for optional intervals.
func nullDuration(d time.Duration) *time.Duration {
	if d == 0 {
		return nil
	}
	return &d
}

const clockColumns = `c.draft_id, c.workspace_id, c.revision, c.tier, c.entered_at, c.due_at`

func scanClock(row pgx.Row) (*approvals.TierClock, error) {
	var c approvals.TierClock
	if err := row.Scan(&c.DraftID, &c.WorkspaceID, &c.Revision, &c.Tier, &c.EnteredAt, &c.DueAt); err != nil {
		return nil, err
	}
	c.EnteredAt = c.EnteredAt.UTC()
	c.DueAt = utcPtr(c.DueAt)
	return &c, nil
}

// setTierClockSQL creates or replaces a draft's clock.
const setTierClockSQL = `
	INSERT INTO draft_clocks (draft_id, workspace_id, revision, tier, entered_at, due_at)
	VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT (draft_id) DO UPDATE SET revision = EXCLUDED.revision, tier = EXCLUDED.tier,
		entered_at = EXCLUDED.entered_at, due_at = EXCLUDED.due_at`

// SetTierClock creates or replaces the draft's clock.
func (t *tx) SetTierClock(ctx context.Context, c *approvals.TierClock) error {
	_, err := t.tx.Exec(ctx, setTierClockSQL, c.DraftID, c.WorkspaceID, c.Revision, c.Tier, c.EnteredAt, c.DueAt)
	return dbError(err, violations{
		"draft_clocks_draft_fkey": {Code: approvals.ENOTFOUND, Message: fmt.Sprintf("no draft #%d in this workspace", c.DraftID)},
	})
}

// SetTierClockHeld is SetTierClock held back (see txConn.hold). Its error,
// mapped where it surfaces, is dbError's without SetTierClock's names.
func (t *tx) SetTierClockHeld(_ context.Context, c *approvals.TierClock) error {
	t.tx.hold(setTierClockSQL, nil, c.DraftID, c.WorkspaceID, c.Revision, c.Tier, c.EnteredAt, c.DueAt)
	return nil
}

// TierClock returns the draft's clock; ENOTFOUND when it has none.
func (t *tx) TierClock(ctx context.Context, workspaceID, draftID int64) (*approvals.TierClock, error) {
	c, err := scanClock(t.tx.QueryRow(ctx, `
		SELECT `+clockColumns+` FROM draft_clocks c WHERE c.workspace_id = $1 AND c.draft_id = $2`, workspaceID, draftID))
	if err != nil {
		return nil, notFound(err, "draft #%d has no tier clock", draftID)
	}
	return c, nil
}

// SetClockDue sets when the sweeper looks at the draft next (nil: never).
func (t *tx) SetClockDue(ctx context.Context, workspaceID, draftID int64, due *time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE draft_clocks SET due_at = $3 WHERE workspace_id = $1 AND draft_id = $2`,
		workspaceID, draftID, due)
	return dbError(err, nil)
}

// ClaimDueDraft locks the draft whose clock is due first, skipping drafts
// locked by others. It takes the same lock as LockDraft, so a sweeper and a
// decision on one draft serialise, and two sweepers never share a draft.
// The clock is read again by the caller after the lock is held.
func (t *tx) ClaimDueDraft(ctx context.Context, now time.Time) (*approvals.Draft, error) {
	d, err := scanDraft(t.tx.QueryRow(ctx, `
		SELECT `+draftColumns+` FROM draft_clocks c JOIN drafts d ON d.id = c.draft_id
		WHERE c.due_at <= $1
		ORDER BY c.due_at, c.draft_id
		LIMIT 1
		FOR NO KEY UPDATE OF d SKIP LOCKED`, now), false)
	if err != nil {
		return nil, notFound(err, "no draft is due")
	}
	return d, nil
}

// WakeAccountClocks makes the clocks of the account's pending drafts due at
// `at`. It locks those drafts first (in ID order), so it waits for a sweeper
// working on one of them and the sweeper's next look sees the new settings.
func (t *tx) WakeAccountClocks(ctx context.Context, workspaceID, accountID int64, at time.Time) error {
	_, err := t.tx.Exec(ctx, `
		WITH locked AS (
			SELECT d.id FROM drafts d
			WHERE d.workspace_id = $1 AND d.account_id = $2 AND d.state = ANY ($4)
			ORDER BY d.id
			FOR NO KEY UPDATE
		)
		UPDATE draft_clocks c SET due_at = $3 FROM locked WHERE c.draft_id = locked.id`,
		workspaceID, accountID, at, pendingStates())
	return dbError(err, nil)
}

// Reminders returns the reminders of (draft, revision, tier), by number.
func (t *tx) Reminders(ctx context.Context, draftID int64, revision int, tier approvals.Tier) ([]*approvals.Reminder, error) {
	rows, err := t.tx.Query(ctx, `
		SELECT workspace_id, draft_id, revision, tier, number, recipients, sent_at FROM draft_reminders
		WHERE draft_id = $1 AND revision = $2 AND tier = $3 ORDER BY number`, draftID, revision, tier)
	if err != nil {
		return nil, dbError(err, nil)
	}
	defer rows.Close()
	var out []*approvals.Reminder
	for rows.Next() {
		var r approvals.Reminder
		if err := rows.Scan(&r.WorkspaceID, &r.DraftID, &r.Revision, &r.Tier, &r.Number, &r.Recipients, &r.SentAt); err != nil {
			return nil, dbError(err, nil)
		}
		r.SentAt = r.SentAt.UTC()
		out = append(out, &r)
	}
	return out, dbError(rows.Err(), nil)
}

// CreateReminder records r; ECONFLICT when its number was taken (the
// conflict does not abort the transaction).
func (t *tx) CreateReminder(ctx context.Context, r *approvals.Reminder) error {
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO draft_reminders (workspace_id, draft_id, revision, tier, number, recipients, sent_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT ON CONSTRAINT draft_reminders_pkey DO NOTHING`,
		r.WorkspaceID, r.DraftID, r.Revision, r.Tier, r.Number, r.Recipients, r.SentAt)
	if err != nil {
		return dbError(err, nil)
	}
	if tag.RowsAffected() == 0 {
		return approvals.Errorf(approvals.ECONFLICT, "reminder %d of draft #%d (revision %d, %s tier) was sent already", r.Number, r.DraftID, r.Revision, r.Tier)
	}
	return nil
}
