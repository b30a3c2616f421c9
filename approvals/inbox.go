package approvals

import "context"

// Inbox is what a member has on their plate: the drafts waiting on their
// decision and their own drafts still in flight.
type Inbox struct {
	Member *Member `json:"member"`
	// Waiting are drafts in a tier the member approves, on their current
	// revision, which the member has not decided yet (never their own).
	Waiting []*DraftView `json:"waiting"`
	// Mine are the member's own drafts that wait on a tier or were rejected.
	Mine []DraftSummary `json:"mine"`
}

// InboxTx is what Inbox reads in bulk: a handful of set-based queries for
// all of a member's drafts at once, however many there are. Every lookup is
// scoped to the workspace.
type InboxTx interface {
	// InboxRows reads at once what q names (see InboxQuery): the drafts of
	// the accounts that wait on a tier with their decisions, and the
	// author's own drafts.
	InboxRows(ctx context.Context, workspaceID int64, q InboxQuery) (*InboxRows, error)
	// MembersByID returns the members with the IDs by ID (absent IDs are
	// left out).
	MembersByID(ctx context.Context, workspaceID int64, ids []int64) (map[int64]*Member, error)
	// ApproversOf returns the approvers of the accounts by account and tier,
	// each list ordered as Tx.Approvers orders it.
	ApproversOf(ctx context.Context, workspaceID int64, accountIDs []int64) (map[int64]map[Tier][]*Member, error)
	// ViewRows reads at once what building views of drafts needs (see
	// ViewQuery): the drafts' revisions oldest first, their decisions and
	// comments each list oldest first with Approver and Author filled, and
	// the rest as the methods above read them.
	ViewRows(ctx context.Context, workspaceID int64, q ViewQuery) (*ViewRows, error)
}

// InboxQuery names what InboxRows reads: the drafts of the accounts
// Pending that wait on a tier, with their decisions; and, when Author is
// set, at most AuthoredLimit of Author's drafts on the accounts Authored in
// the states AuthoredStates.
type InboxQuery struct {
	Pending        []int64
	Author         int64
	Authored       []int64
	AuthoredStates []State
	AuthoredLimit  int
}

// InboxRows is what Tx.InboxRows read. The pending drafts and their
// decisions come from one statement, so that the decisions are those of
// exactly these drafts at one moment.
type InboxRows struct {
	// Pending are the waiting drafts, oldest first.
	Pending []*Draft
	// Decisions are the pending drafts' decisions by draft ID, each list
	// oldest first with Approver filled (as Tx.Decisions); never nil.
	Decisions map[int64][]*Decision
	// Authored are the author's drafts, newest first, with their current
	// text.
	Authored []*Draft
}

// ViewQuery names what ViewRows reads: the members and accounts with the
// IDs, the drafts' revisions, comments and (WithDecisions) decisions, and
// the approvers of the accounts in Approvers.
type ViewQuery struct {
	Members, Accounts, Drafts, Approvers []int64
	WithDecisions                        bool
}

// ViewRows is what ViewRows read, by ID (absent IDs left out); the
// decisions are empty unless asked for.
type ViewRows struct {
	Members   map[int64]*Member
	Accounts  map[int64]*Account
	Revisions map[int64][]*Revision
	Decisions map[int64][]*Decision
	Comments  map[int64][]*Comment
	Approvers map[int64]map[Tier][]*Member
}

// Inbox returns the actor's inbox (for Slack's App Home). It reads in a
// fixed number of round trips whatever the number of drafts: the member's
// access, one InboxRows batch (what waits on them, its decisions and their
// own drafts), and one ViewRows batch for the views of what waits.
// Errors: ENOTFOUND, EUNAUTHORIZED.
func (s *Service) Inbox(ctx context.Context, a Actor) (*Inbox, error) {
	var out *Inbox
	err := s.read(ctx, a, "draft.inbox", func(ctx context.Context, tx Tx, p *principal) error {
		if err := requireMember(p); err != nil {
			return err
		}
		access, err := s.memberAccess(ctx, tx, p.member)
		if err != nil {
			return err
		}
		in := &Inbox{Member: p.member, Waiting: []*DraftView{}, Mine: []DraftSummary{}}
		byAccount, approving := accessByAccount(access)
		if len(byAccount) == 0 {
			out = in
			return nil
		}
		q := InboxQuery{Pending: approving, Author: p.member.ID,
			AuthoredStates: []State{StatePendingInternal, StatePendingClient, StateRejected}, AuthoredLimit: 200}
		for _, acc := range access {
			q.Authored = append(q.Authored, acc.Account.ID)
		}
		rows, err := tx.InboxRows(ctx, p.ws.ID, q)
		if err != nil {
			return err
		}
		if in.Waiting, err = s.waiting(ctx, tx, p, byAccount, rows); err != nil {
			return err
		}
		for _, d := range rows.Authored {
			in.Mine = append(in.Mine, DraftSummary{ID: d.ID, Account: byAccount[d.AccountID].Account.Handle, Author: p.member.Label(),
				State: d.State, Revision: d.Revision, Text: d.Text, UpdatedAt: d.UpdatedAt})
		}
		out = in
		return nil
	})
	return out, err
}

// accessByAccount indexes the member's access by account, and lists the
// accounts on which they approve a tier.
func accessByAccount(access []Access) (map[int64]Access, []int64) {
	byAccount := map[int64]Access{}
	var approving []int64
	for _, acc := range access {
		byAccount[acc.Account.ID] = acc
		if len(acc.Tiers) > 0 {
			approving = append(approving, acc.Account.ID)
		}
	}
	return byAccount, approving
}

// waitingOn returns the drafts waiting on p's member, built for them.
func (s *Service) waitingOn(ctx context.Context, tx Tx, p *principal) ([]*DraftView, error) {
	access, err := s.memberAccess(ctx, tx, p.member)
	if err != nil {
		return nil, err
	}
	byAccount, approving := accessByAccount(access)
	if len(approving) == 0 {
		return []*DraftView{}, nil
	}
	rows, err := tx.InboxRows(ctx, p.ws.ID, InboxQuery{Pending: approving})
	if err != nil {
		return nil, err
	}
	return s.waiting(ctx, tx, p, byAccount, rows)
}

// waiting returns the pending drafts of rows that wait on the member's
// decision, as full views, oldest first.
func (s *Service) waiting(ctx context.Context, tx Tx, p *principal, byAccount map[int64]Access, rows *InboxRows) ([]*DraftView, error) {
	out := []*DraftView{}
	if len(rows.Pending) == 0 {
		return out, nil
	}
	var ds []*Draft
	for _, d := range rows.Pending {
		acc := byAccount[d.AccountID]
		t, _ := d.State.Tier()
		if !acc.IsApprover(t) || d.AuthorID == p.member.ID || !canSee(p.member, acc, d) {
			continue
		}
		decided := false
		for _, x := range rows.Decisions[d.ID] {
			if x.Revision == d.Revision && x.Tier == t && x.ApproverID == p.member.ID {
				decided = true
			}
		}
		if decided {
			continue
		}
		ds = append(ds, d)
	}
	if len(ds) == 0 {
		return out, nil
	}
	// The accounts and decisions are in hand already.
	pre := &preloadedTx{Tx: tx, ws: p.ws.ID, rows: ViewRows{Accounts: map[int64]*Account{}, Decisions: rows.Decisions}}
	for _, d := range ds {
		acc := byAccount[d.AccountID].Account
		pre.rows.Accounts[d.AccountID] = &acc
	}
	if err := pre.preload(ctx, ds, nil); err != nil {
		return nil, err
	}
	for _, d := range ds {
		v, err := loadDraftView(ctx, pre, p.ws, d)
		if err != nil {
			return nil, err
		}
		if writers(d, v.revisions)[p.member.ID] {
			continue // nobody decides on words they wrote
		}
		out = append(out, v.For(ReaderOf(p.member)))
	}
	return out, nil
}

// preloadedTx answers the lookups of draftView from rows read in bulk, so
// that building many views takes no further statement; anything it was not
// given goes to the transaction itself.
type preloadedTx struct {
	Tx
	ws     int64
	drafts map[int64]bool // the drafts whose revisions, decisions and comments were read
	rows   ViewRows       // what preload read, or was given
}

// preload reads, in a fixed number of statements whatever the number of
// drafts, what draftView needs for ds that t was not given already: their
// accounts, revisions, decisions and comments, their authors and the
// members also wanted, and the accounts' approvers.
func (t *preloadedTx) preload(ctx context.Context, ds []*Draft, alsoMembers []int64) error {
	var draftIDs, accountIDs []int64
	memberIDs := append([]int64(nil), alsoMembers...)
	seenAccount, seenMember := map[int64]bool{}, map[int64]bool{}
	for _, id := range alsoMembers {
		seenMember[id] = true
	}
	if t.drafts == nil {
		t.drafts = map[int64]bool{}
	}
	for _, d := range ds {
		t.drafts[d.ID] = true
		draftIDs = append(draftIDs, d.ID)
		if !seenAccount[d.AccountID] {
			seenAccount[d.AccountID] = true
			accountIDs = append(accountIDs, d.AccountID)
		}
		if !seenMember[d.AuthorID] {
			seenMember[d.AuthorID] = true
			memberIDs = append(memberIDs, d.AuthorID)
		}
	}
	q := ViewQuery{Members: memberIDs}
	if len(draftIDs) > 0 {
		q.Drafts, q.Approvers, q.WithDecisions = draftIDs, accountIDs, t.rows.Decisions == nil
		if t.rows.Accounts == nil {
			q.Accounts = accountIDs
		}
	}
	// One round trip for every kind of row.
	rows, err := t.Tx.ViewRows(ctx, t.ws, q)
	if err != nil {
		return err
	}
	t.rows.Members = rows.Members
	if len(draftIDs) == 0 {
		return nil
	}
	if t.rows.Accounts == nil {
		t.rows.Accounts = rows.Accounts
	}
	if t.rows.Decisions == nil {
		t.rows.Decisions = rows.Decisions
	}
	t.rows.Revisions, t.rows.Comments, t.rows.Approvers = rows.Revisions, rows.Comments, rows.Approvers
	return nil
}

func (t *preloadedTx) AccountByID(ctx context.Context, workspaceID, id int64) (*Account, error) {
	if a, ok := t.rows.Accounts[id]; ok && workspaceID == t.ws {
		return a, nil
	}
	return t.Tx.AccountByID(ctx, workspaceID, id)
}

func (t *preloadedTx) MemberByID(ctx context.Context, workspaceID, id int64) (*Member, error) {
	if m, ok := t.rows.Members[id]; ok && workspaceID == t.ws {
		return m, nil
	}
	return t.Tx.MemberByID(ctx, workspaceID, id)
}

func (t *preloadedTx) Revisions(ctx context.Context, draftID int64) ([]*Revision, error) {
	if t.drafts[draftID] {
		return t.rows.Revisions[draftID], nil
	}
	return t.Tx.Revisions(ctx, draftID)
}

func (t *preloadedTx) Decisions(ctx context.Context, draftID int64) ([]*Decision, error) {
	if t.drafts[draftID] {
		return t.rows.Decisions[draftID], nil
	}
	return t.Tx.Decisions(ctx, draftID)
}

func (t *preloadedTx) Comments(ctx context.Context, draftID int64) ([]*Comment, error) {
	if t.drafts[draftID] {
		return t.rows.Comments[draftID], nil
	}
	return t.Tx.Comments(ctx, draftID)
}

func (t *preloadedTx) Approvers(ctx context.Context, workspaceID, accountID int64, tier Tier) ([]*Member, error) {
	if _, ok := t.rows.Accounts[accountID]; ok && workspaceID == t.ws {
		return t.rows.Approvers[accountID][tier], nil
	}
	return t.Tx.Approvers(ctx, workspaceID, accountID, tier)
}
