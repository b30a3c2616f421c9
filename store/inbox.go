package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/signoff-app/signoff/approvals"
)

// The App Home inbox's bulk reads (approvals.InboxTx): one statement per
// kind of row for all of a member's drafts, each on an index, sent in
// batches.

// InboxRows reads what Inbox and the review page read in bulk, in one
// batch: the pending drafts of q.Pending's accounts with their decisions,
// and q.Author's own drafts.
func (t *tx) InboxRows(ctx context.Context, workspaceID int64, q approvals.InboxQuery) (*approvals.InboxRows, error) {
	out := &approvals.InboxRows{Decisions: map[int64][]*approvals.Decision{}}
	b := &pgx.Batch{}
	if len(q.Pending) > 0 {
		queuePendingWithDecisions(b, workspaceID, q.Pending, out)
	}
	if q.Author != 0 && len(q.Authored) > 0 && len(q.AuthoredStates) > 0 {
		queueAuthoredDrafts(b, workspaceID, q, out)
	}
	if b.Len() == 0 {
		return out, nil
	}
	return out, t.sendBatch(ctx, b)
}

// pendingDecisionColumns are decisionColumns read through a LEFT JOIN: a
// draft without decisions gives one row of zero values (ID 0).
const pendingDecisionColumns = `coalesce(x.id, 0), coalesce(x.revision, 0), coalesce(x.tier, ''),
	coalesce(x.approver_id, 0), coalesce(` + memberLabel + `, '` + policyApprover + `'),
	coalesce(x.verdict, ''), coalesce(x.comment, ''), coalesce(x.channel, ''), coalesce(x.created_at, d.created_at)`

// queuePendingWithDecisions queues the read of the drafts of the accounts
// that wait on a tier, oldest first, each with its decisions, into out
// (drafts_list_idx, then decisions_draft_idx per draft). It is one
// statement, not two, so that under READ COMMITTED the decisions are those
// of exactly these drafts in one snapshot: a second statement by the same
// condition would miss those of a draft that stopped waiting in between,
// and the decided check would then list it to an approver who decided it.
func queuePendingWithDecisions(b *pgx.Batch, workspaceID int64, accountIDs []int64, out *approvals.InboxRows) {
	b.Queue(`
		SELECT `+draftColumns+`, `+pendingDecisionColumns+`
		FROM drafts d
		LEFT JOIN decisions x ON x.draft_id = d.id AND x.workspace_id = $1
		LEFT JOIN members m ON m.id = x.approver_id
		WHERE d.workspace_id = $1 AND d.account_id = ANY ($2) AND d.state = ANY ($3)
		ORDER BY d.id, x.created_at, x.id`,
		workspaceID, accountIDs, pendingStates()).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		var last *approvals.Draft
		for rows.Next() {
			var x approvals.Decision
			d, err := scanDraft(extraDest{rows, []any{&x.ID, &x.Revision, &x.Tier, &x.ApproverID, &x.Approver,
				&x.Verdict, &x.Comment, &x.Channel, &x.CreatedAt}}, false)
			if err != nil {
				return dbError(err, nil)
			}
			if last == nil || last.ID != d.ID {
				out.Pending = append(out.Pending, d)
				last = d
			}
			if x.ID != 0 {
				x.DraftID, x.CreatedAt = d.ID, x.CreatedAt.UTC()
				out.Decisions[d.ID] = append(out.Decisions[d.ID], &x)
			}
		}
		return dbError(rows.Err(), nil)
	})
}

// extraDest is a row whose Scan fills dest and then extra: a scan function
// of the leading columns reads a row that carries more.
type extraDest struct {
	pgx.Row
	extra []any
}

func (r extraDest) Scan(dest ...any) error { return r.Row.Scan(append(dest, r.extra...)...) }

// queueAuthoredDrafts queues the read of at most q.AuthoredLimit of
// q.Author's drafts on the accounts in the states, newest first, with their
// current text, into out (drafts_list_idx, or drafts_author_idx for an
// author of many drafts).
func queueAuthoredDrafts(b *pgx.Batch, workspaceID int64, q approvals.InboxQuery, out *approvals.InboxRows) {
	ss := make([]string, len(q.AuthoredStates))
	for i, s := range q.AuthoredStates {
		ss[i] = string(s)
	}
	b.Queue(`
		SELECT `+draftColumns+`, coalesce(r.text, '') FROM drafts d
		LEFT JOIN revisions r ON r.draft_id = d.id AND r.number = d.revision
		WHERE d.author_id = $2 AND d.workspace_id = $1 AND d.account_id = ANY ($3) AND d.state = ANY ($4)
		ORDER BY d.id DESC
		LIMIT $5`,
		workspaceID, q.Author, q.Authored, ss, q.AuthoredLimit).Query(func(rows pgx.Rows) error {
		ds, err := scanDrafts(rows, true)
		out.Authored = ds
		return err
	})
}

// queueDecisionsOf queues the read of the drafts' decisions into out, by
// draft, each list oldest first (decisions_draft_idx).
func queueDecisionsOf(b *pgx.Batch, workspaceID int64, draftIDs []int64, out map[int64][]*approvals.Decision) {
	b.Queue(`
		SELECT `+decisionColumns+` FROM decisions x LEFT JOIN members m ON m.id = x.approver_id
		WHERE x.draft_id = ANY ($2) AND x.workspace_id = $1
		ORDER BY x.draft_id, x.created_at, x.id`, workspaceID, draftIDs).Query(func(rows pgx.Rows) error {
		return collectBy(rows, scanDecision, func(d *approvals.Decision) { out[d.DraftID] = append(out[d.DraftID], d) })
	})
}

// queueRevisionsOf queues the read of the drafts' revisions into out, by
// draft, oldest first (revisions_pkey).
func queueRevisionsOf(b *pgx.Batch, workspaceID int64, draftIDs []int64, out map[int64][]*approvals.Revision) {
	b.Queue(`
		SELECT `+revisionColumns+` FROM revisions r
		WHERE r.draft_id = ANY ($2) AND r.workspace_id = $1
		ORDER BY r.draft_id, r.number`, workspaceID, draftIDs).Query(func(rows pgx.Rows) error {
		return collectBy(rows, scanRevision, func(r *approvals.Revision) { out[r.DraftID] = append(out[r.DraftID], r) })
	})
}

// queueCommentsOf queues the read of the drafts' comments into out, by
// draft, each list oldest first (comments_draft_idx).
func queueCommentsOf(b *pgx.Batch, workspaceID int64, draftIDs []int64, out map[int64][]*approvals.Comment) {
	b.Queue(`
		SELECT `+commentColumns+` FROM comments x LEFT JOIN members m ON m.id = x.author_id
		WHERE x.draft_id = ANY ($2) AND x.workspace_id = $1
		ORDER BY x.draft_id, x.created_at, x.id`, workspaceID, draftIDs).Query(func(rows pgx.Rows) error {
		return collectBy(rows, scanComment, func(c *approvals.Comment) { out[c.DraftID] = append(out[c.DraftID], c) })
	})
}

// MembersByID returns the workspace's members with the IDs, by ID.
func (t *tx) MembersByID(ctx context.Context, workspaceID int64, ids []int64) (map[int64]*approvals.Member, error) {
	out := map[int64]*approvals.Member{}
	if len(ids) == 0 {
		return out, nil
	}
	b := &pgx.Batch{}
	queueMembersByID(b, workspaceID, ids, out)
	return out, t.sendBatch(ctx, b)
}

func queueMembersByID(b *pgx.Batch, workspaceID int64, ids []int64, out map[int64]*approvals.Member) {
	b.Queue(`
		SELECT `+memberColumns+` FROM members m WHERE m.id = ANY ($2) AND m.workspace_id = $1`, workspaceID, ids).Query(func(rows pgx.Rows) error {
		return collectBy(rows, scanMember, func(m *approvals.Member) { out[m.ID] = m })
	})
}

// ApproversOf returns the approvers of the accounts by account and tier,
// each list ordered by email as Approvers orders it (approvers_pkey).
func (t *tx) ApproversOf(ctx context.Context, workspaceID int64, accountIDs []int64) (map[int64]map[approvals.Tier][]*approvals.Member, error) {
	out := map[int64]map[approvals.Tier][]*approvals.Member{}
	if len(accountIDs) == 0 {
		return out, nil
	}
	b := &pgx.Batch{}
	queueApproversOf(b, workspaceID, accountIDs, out)
	return out, t.sendBatch(ctx, b)
}

func queueApproversOf(b *pgx.Batch, workspaceID int64, accountIDs []int64, out map[int64]map[approvals.Tier][]*approvals.Member) {
	b.Queue(`
		SELECT ap.account_id, ap.tier, `+memberColumns+`
		FROM approvers ap JOIN members m ON m.id = ap.member_id
		WHERE ap.account_id = ANY ($2) AND ap.workspace_id = $1
		ORDER BY ap.account_id, ap.tier, lower(m.email), m.id`,
		workspaceID, accountIDs).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		for rows.Next() {
			var accountID int64
			var tier approvals.Tier
			var m approvals.Member
			if err := rows.Scan(append([]any{&accountID, &tier}, memberDest(&m)...)...); err != nil {
				return dbError(err, nil)
			}
			m.CreatedAt = m.CreatedAt.UTC()
			if out[accountID] == nil {
				out[accountID] = map[approvals.Tier][]*approvals.Member{}
			}
			out[accountID][tier] = append(out[accountID][tier], &m)
		}
		return dbError(rows.Err(), nil)
	})
}

// ViewRows reads what building the views of drafts needs, in one batch:
// each kind of row with one statement on an index, as the single methods
// above read them.
func (t *tx) ViewRows(ctx context.Context, workspaceID int64, q approvals.ViewQuery) (*approvals.ViewRows, error) {
	out := &approvals.ViewRows{Members: map[int64]*approvals.Member{}, Accounts: map[int64]*approvals.Account{},
		Revisions: map[int64][]*approvals.Revision{}, Decisions: map[int64][]*approvals.Decision{},
		Comments: map[int64][]*approvals.Comment{}, Approvers: map[int64]map[approvals.Tier][]*approvals.Member{}}
	b := &pgx.Batch{}
	if len(q.Members) > 0 {
		queueMembersByID(b, workspaceID, q.Members, out.Members)
	}
	if len(q.Accounts) > 0 {
		queueAccountsByID(b, workspaceID, q.Accounts, out.Accounts)
	}
	if len(q.Drafts) > 0 {
		queueRevisionsOf(b, workspaceID, q.Drafts, out.Revisions)
		if q.WithDecisions {
			queueDecisionsOf(b, workspaceID, q.Drafts, out.Decisions)
		}
		queueCommentsOf(b, workspaceID, q.Drafts, out.Comments)
	}
	if len(q.Approvers) > 0 {
		queueApproversOf(b, workspaceID, q.Approvers, out.Approvers)
	}
	if b.Len() == 0 {
		return out, nil
	}
	return out, t.sendBatch(ctx, b)
}

// sendBatch sends b and runs its callbacks.
func (t *tx) sendBatch(ctx context.Context, b *pgx.Batch) error {
	return dbError(t.tx.SendBatch(ctx, b).Close(), nil)
}

// collectBy scans every row with scan and hands each value to add.
func collectBy[T any](rows pgx.Rows, scan func(pgx.Row) (T, error), add func(T)) error {
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return dbError(err, nil)
		}
		add(v)
	}
	if err := rows.Err(); err != nil {
		return dbError(err, nil)
	}
	return nil
}
