package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

const draftColumns = `d.id, d.workspace_id, d.account_id, d.author_id, d.state, d.revision, d.client_revisions, d.created_at, d.updated_at`

// scanDraft scans draftColumns, and the current revision's text when
// withText is set.
func scanDraft(row pgx.Row, withText bool) (*approvals.Draft, error) {
	var d approvals.Draft
	dest := []any{&d.ID, &d.WorkspaceID, &d.AccountID, &d.AuthorID, &d.State, &d.Revision, &d.ClientRevisions, &d.CreatedAt, &d.UpdatedAt}
	if withText {
		dest = append(dest, &d.Text)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	if len(d.ClientRevisions) == 0 {
		d.ClientRevisions = nil
	}
	return &d, nil
}

func scanDrafts(rows pgx.Rows, withText bool) ([]*approvals.Draft, error) {
	return collect(rows, func(r pgx.Row) (*approvals.Draft, error) { return scanDraft(r, withText) })
}

func draftViolations(d *approvals.Draft) violations {
	return violations{
		"drafts_account_fkey": {Code: approvals.ENOTFOUND, Message: fmt.Sprintf("no account #%d in this workspace", d.AccountID)},
		"drafts_author_fkey":  {Code: approvals.ENOTFOUND, Message: fmt.Sprintf("no member #%d in this workspace", d.AuthorID)},
	}
}

// CreateDraft inserts d and sets its ID and times (CreatedAt and UpdatedAt
// are kept when set, for the service's clock). Revision defaults to 1; that
// revision must be created in the same transaction (checked at commit).
func (t *tx) CreateDraft(ctx context.Context, d *approvals.Draft) error {
	rev := d.Revision
	if rev == 0 {
		rev = 1
	}
	row := t.tx.QueryRow(ctx, `
		INSERT INTO drafts AS d (workspace_id, account_id, author_id, state, revision, client_revisions, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $8, coalesce($6, now()), coalesce($7, $6, now()))
		RETURNING `+draftColumns,
		d.WorkspaceID, d.AccountID, d.AuthorID, d.State, rev, nullTime(d.CreatedAt), nullTime(d.UpdatedAt), intList(d.ClientRevisions))
	got, err := scanDraft(row, false)
	if err != nil {
		return dbError(err, draftViolations(d))
	}
	*d = *got
	return nil
}

// updateDraftSQL saves a draft's state, revision, UpdatedAt ($5; now()
// when NULL) and client revisions; UpdateDraft appends its RETURNING.
const updateDraftSQL = `
	UPDATE drafts AS d SET state = $3, revision = $4, updated_at = coalesce($5, now()), client_revisions = $6
	WHERE d.workspace_id = $1 AND d.id = $2`

// UpdateDraft saves d's state, revision, client revisions and UpdatedAt
// (now() when zero).
func (t *tx) UpdateDraft(ctx context.Context, d *approvals.Draft) error {
	row := t.tx.QueryRow(ctx, updateDraftSQL+`
		RETURNING `+draftColumns,
		d.WorkspaceID, d.ID, d.State, d.Revision, nullTime(d.UpdatedAt), intList(d.ClientRevisions))
	got, err := scanDraft(row, false)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound(err, "no draft #%d in %s", d.ID, t.workspaceName(ctx, d.WorkspaceID))
	}
	if err != nil {
		return dbError(err, draftViolations(d))
	}
	*d = *got
	return nil
}

// UpdateDraftHeld is UpdateDraft held back (see txConn.hold): nothing is
// read back, so d keeps its values, with UpdatedAt as the row stores it
// (pgx sends whole microseconds). The row is there: the caller holds its
// lock, taken in this transaction. Nothing checks its rows either: the
// statement travels with COMMIT, and a check of its answer would run once
// the commit was made, reporting a failure of what was committed. An
// error of the statement itself (a constraint) aborts the transaction
// before COMMIT.
func (t *tx) UpdateDraftHeld(_ context.Context, d *approvals.Draft) error {
	if d.UpdatedAt.IsZero() {
		return approvals.Errorf(approvals.EINTERNAL, "held update of draft #%d without its time", d.ID)
	}
	d.UpdatedAt = d.UpdatedAt.UTC().Truncate(time.Microsecond)
	t.tx.hold(updateDraftSQL, nil, d.WorkspaceID, d.ID, d.State, d.Revision, d.UpdatedAt, intList(d.ClientRevisions))
	return nil
}

func (t *tx) DraftByID(ctx context.Context, workspaceID, id int64) (*approvals.Draft, error) {
	d, err := scanDraft(t.tx.QueryRow(ctx, `
		SELECT `+draftColumns+` FROM drafts d WHERE d.workspace_id = $1 AND d.id = $2`, workspaceID, id), false)
	if err != nil {
		return nil, notFound(err, "no draft #%d in %s", id, t.workspaceName(ctx, workspaceID))
	}
	return d, nil
}

// LockDraft returns the draft with a row lock held until the transaction
// ends. NO KEY UPDATE conflicts with itself, so decisions on one draft
// serialise, but not with the KEY SHARE locks that inserting its
// revisions, decisions and comments takes.
func (t *tx) LockDraft(ctx context.Context, workspaceID, id int64) (*approvals.Draft, error) {
	d, err := scanDraft(t.tx.QueryRow(ctx, lockDraftSQL, workspaceID, id), false)
	if err != nil {
		return nil, t.draftNotFound(ctx, err, workspaceID, id)
	}
	return d, nil
}

// lockDraftSQL is LockDraft's statement ($1 the workspace, $2 the draft),
// which LockForDecision sends too.
const lockDraftSQL = `
	SELECT ` + draftColumns + ` FROM drafts d WHERE d.workspace_id = $1 AND d.id = $2 FOR NO KEY UPDATE`

// draftNotFound is LockDraft's error when reading the draft gave err.
func (t *tx) draftNotFound(ctx context.Context, err error, workspaceID, id int64) error {
	return notFound(err, "no draft #%d in %s", id, t.workspaceName(ctx, workspaceID))
}

// Drafts lists the drafts f selects, newest first, with Text set to the
// current revision's text (for f.ClientReader, the text of the latest
// revision that reached clients, unless they wrote the draft). A nil
// AccountIDs selects nothing: the core decides visibility and must say
// which accounts.
func (t *tx) Drafts(ctx context.Context, f approvals.DraftFilter) ([]*approvals.Draft, error) {
	if len(f.AccountIDs) == 0 {
		return nil, nil
	}
	var states []string
	for _, s := range f.States {
		states = append(states, string(s))
	}
	var limit *int
	if f.Limit > 0 {
		limit = &f.Limit
	}
	rows, err := t.tx.Query(ctx, `
		SELECT `+draftColumns+`, coalesce(r.text, '') FROM drafts d
		LEFT JOIN revisions r ON r.draft_id = d.id AND r.number = CASE
			WHEN $4 = 0 OR d.author_id = $4 THEN d.revision
			ELSE d.client_revisions[cardinality(d.client_revisions)] END
		WHERE d.workspace_id = $1
		  AND d.account_id = ANY ($2)
		  AND ($3::text[] IS NULL OR d.state = ANY ($3))
		  AND ($4 = 0 OR d.client_revisions <> '{}' OR d.author_id = $4)
		ORDER BY d.id DESC
		LIMIT $5`,
		f.WorkspaceID, f.AccountIDs, states, f.ClientReader, limit)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return scanDrafts(rows, true)
}

// PendingDrafts returns the account's drafts that wait on a tier, oldest first.
func (t *tx) PendingDrafts(ctx context.Context, workspaceID, accountID int64) ([]*approvals.Draft, error) {
	rows, err := t.tx.Query(ctx, `
		SELECT `+draftColumns+` FROM drafts d
		WHERE d.workspace_id = $1 AND d.account_id = $2 AND d.state = ANY ($3)
		ORDER BY d.id`,
		workspaceID, accountID, pendingStates())
	if err != nil {
		return nil, dbError(err, nil)
	}
	return scanDrafts(rows, false)
}

const revisionColumns = `r.draft_id, r.number, r.text, r.media_urls, r.scheduled_at, r.needs_internal, r.needs_client,
	r.internal_rule, r.client_rule, r.created_by_id, r.created_at, r.media`

func scanRevision(row pgx.Row) (*approvals.Revision, error) {
	var r approvals.Revision
	if err := row.Scan(&r.DraftID, &r.Number, &r.Text, &r.MediaURLs, &r.ScheduledAt, &r.NeedsInternal, &r.NeedsClient,
		&r.InternalRule, &r.ClientRule, &r.CreatedByID, &r.CreatedAt, &r.Media); err != nil {
		return nil, err
	}
	if len(r.Media) == 0 {
		r.Media = nil
	}
	r.CreatedAt = r.CreatedAt.UTC()
	r.ScheduledAt = utcPtr(r.ScheduledAt)
	if len(r.MediaURLs) == 0 {
		r.MediaURLs = nil
	}
	return &r, nil
}

// CreateRevision inserts r (its number chosen by the caller) and sets
// CreatedAt. The revision belongs to the draft's workspace; its creator must
// be a member of it.
func (t *tx) CreateRevision(ctx context.Context, r *approvals.Revision) error {
	media := r.MediaURLs
	if media == nil {
		media = []string{}
	}
	previews := r.Media
	if previews == nil {
		previews = []approvals.Media{}
	}
	row := t.tx.QueryRow(ctx, `
		INSERT INTO revisions AS r (workspace_id, draft_id, number, text, media_urls, scheduled_at,
			needs_internal, needs_client, internal_rule, client_rule, created_by_id, created_at, media)
		SELECT d.workspace_id, d.id, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11, now()), $12
		FROM drafts d WHERE d.id = $1
		RETURNING `+revisionColumns,
		r.DraftID, r.Number, r.Text, media, r.ScheduledAt, r.NeedsInternal, r.NeedsClient,
		defaultRule(r.InternalRule), defaultRule(r.ClientRule), r.CreatedByID, nullTime(r.CreatedAt), previews)
	got, err := scanRevision(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound(err, "no draft #%d", r.DraftID)
	}
	if err != nil {
		return dbError(err, violations{
			"revisions_pkey": {Code: approvals.ECONFLICT,
				Message: fmt.Sprintf("draft #%d already has a revision %d", r.DraftID, r.Number)},
			"revisions_created_by_fkey": {Code: approvals.ENOTFOUND,
				Message: fmt.Sprintf("no member #%d in the draft's workspace", r.CreatedByID)},
		})
	}
	*r = *got
	return nil
}

func defaultRule(r approvals.Rule) approvals.Rule {
	if r == "" {
		return approvals.RuleAny
	}
	return r
}

// Revisions returns the draft's revisions, oldest first.
func (t *tx) Revisions(ctx context.Context, draftID int64) ([]*approvals.Revision, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+revisionColumns+` FROM revisions r WHERE r.draft_id = $1 ORDER BY r.number`, draftID)
	if err != nil {
		return nil, dbError(err, nil)
	}
	return collect(rows, scanRevision)
}
