package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// Decisions on drafts (approvals/decide.go), and all a decision reads in
// one round trip (approvals.DecisionTx, in approvals/calltx.go).

// DecisionRows reads what a decision on d by the member needs
// (approvals.DecisionTx), in one round trip: the statements go to the
// server as one pipelined batch. Each is the statement the single lookup
// it stands for runs (AccountMemberAccess, Decisions, Revisions,
// Comments, Approvers, BackupApprovers, MemberByID), on the same indexes;
// the member's backup tiers are read off the backup approvers.
func (t *tx) DecisionRows(ctx context.Context, workspaceID int64, d *approvals.Draft, memberID int64) (*approvals.DecisionRows, error) {
	b := &pgx.Batch{}
	l := queueDecisionLookups(b, draftValues(workspaceID, d), memberID)
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, dbError(err, nil)
	}
	return l.result(ctx, t, workspaceID, d.AccountID, memberID)
}

// LockForDecision locks the draft as LockDraft does and reads what
// DecisionRows reads for it, in one round trip: LockDraft's statement
// goes first in the batch, and the lookups name the draft's columns by
// subqueries on its row. The server runs a batch's statements one after
// another, each (READ COMMITTED) with a snapshot taken as it starts, so the
// lookups run once the lock is granted and read the row as locked.
func (t *tx) LockForDecision(ctx context.Context, workspaceID, draftID, memberID int64) (*approvals.Draft, *approvals.DecisionRows, error) {
	var d *approvals.Draft
	b := &pgx.Batch{}
	b.Queue(lockDraftSQL, workspaceID, draftID).QueryRow(func(row pgx.Row) error {
		var err error
		if d, err = scanDraft(row, false); errors.Is(err, pgx.ErrNoRows) {
			return nil // reported below; the lookups then found nothing
		}
		return err
	})
	l := queueDecisionLookups(b, decisionDraft{ws: workspaceID, id: draftID, byRow: true}, memberID)
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, dbError(err, nil)
	}
	if d == nil {
		return nil, nil, t.draftNotFound(ctx, pgx.ErrNoRows, workspaceID, draftID)
	}
	rows, err := l.result(ctx, t, workspaceID, d.AccountID, memberID)
	return d, rows, err
}

// decisionDraft names the draft in a decision's lookups: by the values of
// the row the caller read, or (byRow) by its ID alone, each column then
// read from its row by a subquery on (workspace_id, id).
type decisionDraft struct {
	ws, id, account, author int64
	revision                int
	byRow                   bool
}

func draftValues(workspaceID int64, d *approvals.Draft) decisionDraft {
	return decisionDraft{ws: workspaceID, id: d.ID, account: d.AccountID, author: d.AuthorID, revision: d.Revision}
}

// col adds the draft's column col, whose value the caller read is v, to a
// statement's args and returns the SQL that stands for it.
func (r decisionDraft) col(args *[]any, col string, v any) string {
	next := func(v any) string {
		*args = append(*args, v)
		return "$" + strconv.Itoa(len(*args))
	}
	if r.byRow {
		return "(SELECT d." + col + " FROM drafts d WHERE d.workspace_id = " + next(r.ws) + " AND d.id = " + next(r.id) + ")"
	}
	return next(v)
}

// decisionLookups are a decision's lookups queued in a batch; their
// results are read as the batch is closed.
type decisionLookups struct {
	out                        *approvals.DecisionRows
	memberExists, accountFound bool
	authorErr                  error
}

// queueDecisionLookups queues in b the lookups DecisionRows makes for the
// member deciding on the draft r names.
func queueDecisionLookups(b *pgx.Batch, r decisionDraft, memberID int64) *decisionLookups {
	l := &decisionLookups{out: &approvals.DecisionRows{Approvers: map[approvals.Tier][]*approvals.Member{}, BackupApprovers: map[approvals.Tier][]*approvals.Member{}}}
	out := l.out
	args := []any{r.ws, memberID}
	b.Queue(`
		SELECT `+accountColumns+accessColumns+`,
			EXISTS (SELECT 1 FROM members WHERE workspace_id = $1 AND id = $2)
		FROM accounts a WHERE a.workspace_id = $1 AND a.id = `+r.col(&args, "account_id", r.account),
		args...).QueryRow(func(row pgx.Row) error {
		acc, err := scanAccess(row, &l.memberExists)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		l.accountFound, out.Access = err == nil, acc
		return err
	})
	args = nil
	b.Queue(`
		SELECT `+decisionColumns+` FROM decisions x LEFT JOIN members m ON m.id = x.approver_id
		WHERE x.draft_id = `+r.col(&args, "id", r.id)+` ORDER BY x.created_at, x.id`, args...).Query(func(rows pgx.Rows) error {
		return collectBy(rows, scanDecision, func(x *approvals.Decision) { out.Decisions = append(out.Decisions, x) })
	})
	args = nil
	b.Queue(`SELECT `+revisionColumns+` FROM revisions r WHERE r.draft_id = `+r.col(&args, "id", r.id)+` ORDER BY r.number`, args...).Query(func(rows pgx.Rows) error {
		return collectBy(rows, scanRevision, func(r *approvals.Revision) { out.Revisions = append(out.Revisions, r) })
	})
	args = nil
	b.Queue(`
		SELECT `+commentColumns+` FROM comments x LEFT JOIN members m ON m.id = x.author_id
		WHERE x.draft_id = `+r.col(&args, "id", r.id)+` ORDER BY x.created_at, x.id`, args...).Query(func(rows pgx.Rows) error {
		return collectBy(rows, scanComment, func(c *approvals.Comment) { out.Comments = append(out.Comments, c) })
	})
	args = []any{r.ws}
	b.Queue(`
		SELECT ap.tier, `+memberColumns+`
		FROM approvers ap JOIN members m ON m.id = ap.member_id
		WHERE ap.account_id = `+r.col(&args, "account_id", r.account)+` AND ap.workspace_id = $1
		ORDER BY ap.tier, lower(m.email), m.id`, args...).Query(func(rows pgx.Rows) error {
		return collectTierMembers(rows, out.Approvers)
	})
	args = []any{r.ws}
	b.Queue(`
		SELECT x.tier, `+memberColumns+` FROM draft_extra_approvers x JOIN members m ON m.id = x.member_id
		WHERE x.workspace_id = $1 AND x.draft_id = `+r.col(&args, "id", r.id)+` AND x.revision = `+r.col(&args, "revision", r.revision)+`
		ORDER BY m.id`, args...).Query(func(rows pgx.Rows) error {
		return collectTierMembers(rows, out.BackupApprovers)
	})
	args = []any{r.ws}
	b.Queue(`SELECT `+memberColumns+` FROM members m WHERE m.workspace_id = $1 AND m.id = `+r.col(&args, "author_id", r.author), args...).QueryRow(func(row pgx.Row) error {
		out.Author, l.authorErr = scanMember(row)
		if errors.Is(l.authorErr, pgx.ErrNoRows) {
			return nil
		}
		return l.authorErr
	})
	return l
}

// result is what the lookups found, once their batch is closed: ENOTFOUND
// when the account or the member is missing.
func (l *decisionLookups) result(ctx context.Context, t *tx, workspaceID, accountID, memberID int64) (*approvals.DecisionRows, error) {
	switch {
	case !l.accountFound:
		return nil, notFound(pgx.ErrNoRows, "no account #%d in %s", accountID, t.workspaceName(ctx, workspaceID))
	case !l.memberExists:
		return nil, notFound(nil, "no member #%d in %s", memberID, t.workspaceName(ctx, workspaceID))
	}
	if l.authorErr != nil {
		l.out.Author = nil // MemberByID reports it, if it is asked for
	}
	// The member's backup tiers are those of the backup approvers read.
	for _, tier := range approvals.Tiers {
		if slices.ContainsFunc(l.out.BackupApprovers[tier], func(m *approvals.Member) bool { return m.ID == memberID }) {
			l.out.BackupTiers = append(l.out.BackupTiers, tier)
		}
	}
	return l.out, nil
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
		return dbError(err, decisionViolations(d))
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

// CreateDecisionLocked records d as a plain insert and sets its ID: the
// caller holds the draft's row lock, taken in this transaction, and found
// no decision of d's approver on its revision and tier once it held it, so
// there is no conflict to look for, no draft to join for the workspace and
// nothing else to read back. d.CreatedAt must be set (EINTERNAL if not) and
// is kept as stored: in UTC, to the microsecond. A conflict all the same
// (a writer that skipped the lock) fails the statement, and so the
// transaction, with ECONFLICT.
func (t *tx) CreateDecisionLocked(ctx context.Context, workspaceID int64, d *approvals.Decision) error {
	if d.CreatedAt.IsZero() {
		return approvals.Errorf(approvals.EINTERNAL, "decision on draft #%d without its time", d.DraftID)
	}
	d.CreatedAt = d.CreatedAt.UTC().Truncate(time.Microsecond)
	err := t.tx.QueryRow(ctx, `
		INSERT INTO decisions (workspace_id, draft_id, revision, tier, approver_id, verdict, comment, channel, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		workspaceID, d.DraftID, d.Revision, d.Tier, d.ApproverID, d.Verdict, d.Comment, d.Channel, d.CreatedAt).Scan(&d.ID)
	if err == nil {
		return nil
	}
	v := decisionViolations(d)
	v["decisions_once_key"] = approvals.Error{Code: approvals.ECONFLICT, Reason: approvals.ReasonDecided,
		Message: fmt.Sprintf("draft #%d was decided meanwhile", d.DraftID)}
	return dbError(err, v)
}

// decisionViolations names what inserting d can violate that a caller can
// be told of.
func decisionViolations(d *approvals.Decision) violations {
	return violations{
		"decisions_revision_fkey": {Code: approvals.ENOTFOUND,
			Message: fmt.Sprintf("draft #%d has no revision %d", d.DraftID, d.Revision)},
		"decisions_approver_fkey": {Code: approvals.ENOTFOUND,
			Message: fmt.Sprintf("no member #%d in the draft's workspace", d.ApproverID)},
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
