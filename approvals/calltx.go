package approvals

import (
	"cmp"
	"context"
	"slices"
)

// DecisionTx reads at once what a decision on a draft needs.
type DecisionTx interface {
	// DecisionRows returns, for a member deciding on d: their raw access
	// to d's account (as AccountMemberAccess), the tiers of d's revision
	// an escalation added them to (as BackupTiers), d's decisions,
	// revisions and comments (as Decisions, Revisions, Comments), the
	// account's approvers and the revision's backup approvers by tier (as
	// Approvers and BackupApprovers) and d's author (nil if gone). Errors:
	// ENOTFOUND (the account, or the member).
	DecisionRows(ctx context.Context, workspaceID int64, d *Draft, memberID int64) (*DecisionRows, error)
	// LockForDecision locks the draft as Tx.LockDraft does and returns it
	// with what DecisionRows returns for it and the member, read in the
	// same round trip once the lock is held. Errors: ENOTFOUND for the
	// draft, as LockDraft (nil draft); with the draft, DecisionRows's.
	LockForDecision(ctx context.Context, workspaceID, draftID, memberID int64) (*Draft, *DecisionRows, error)
	// CreateDecisionLocked is CreateDecision for a draft the transaction
	// locked and found no decision of d's approver on d's revision and
	// tier in, once locked: it sets ID only (Approver stays as given),
	// d.CreatedAt must be set (EINTERNAL if not) and is kept as stored, in
	// UTC to the microsecond, and a conflict (which the lock rules out)
	// fails the transaction with ECONFLICT.
	CreateDecisionLocked(ctx context.Context, workspaceID int64, d *Decision) error
}

// HeldTx has the writes that settle a decided draft, held: each is sent
// with the transaction's next statement or its commit, and an error
// surfaces there, failing that statement (or the commit) and so the call,
// whose transaction then commits nothing. Nothing is read back, so the
// caller must already hold what the row will hold. callTx uses them.
type HeldTx interface {
	// UpdateDraftHeld is UpdateDraft held. d.UpdatedAt must be set (the
	// service's clock; EINTERNAL if not), and is kept as stored: in UTC,
	// to the microsecond.
	UpdateDraftHeld(ctx context.Context, d *Draft) error
	// CreateHandoffHeld is CreateHandoff held: h stays as given (Seq 0).
	// The caller holds the draft's lock and has just moved it to approved,
	// so it has no hand-off: one it has already fails the commit
	// (ECONFLICT), where CreateHandoff would keep it.
	CreateHandoffHeld(ctx context.Context, h *HandoffRecord) error
	// SetTierClockHeld is SetTierClock held.
	SetTierClockHeld(ctx context.Context, c *TierClock) error
}

// DecisionRows is what DecisionTx.DecisionRows read.
type DecisionRows struct {
	Access          *AccountAccess
	BackupTiers     []Tier
	Decisions       []*Decision
	Revisions       []*Revision
	Comments        []*Comment
	Approvers       map[Tier][]*Member
	BackupApprovers map[Tier][]*Member
	Author          *Member
}

// callTx is one service call's view of its transaction: it remembers the
// rows the call has read, so that the steps of a decision (the check, the
// notifications, settling, the resulting view) each read a row once rather
// than once per step, and it sends the call's outbox messages in one
// statement when the call is done (flush).
//
// It only serves what the call itself could not have changed since it read
// it: the call's own writes keep it true (a decision it records joins the
// draft's decisions; a comment or revision it adds drops what it had of
// them), and nothing else writes the draft meanwhile, since the call holds
// the draft's row lock. Accounts, members and approvers do not change in
// the calls that use it. Returned rows are shared: callers must not change
// them (none does).
//
// Its draft update, hand-off and tier clock are held (HeldTx): nothing
// in a decision reads what they would return. The draft is the row the
// call locked, changed by settle itself (its state, client revisions and
// UpdatedAt from the service's clock), which is what the update would read
// back; the hand-off and the clock are not read again in the call. So a
// decision that settles its draft sends them with its commit.
type callTx struct {
	Tx
	ws        int64
	accounts  map[int64]*Account
	members   map[int64]*Member
	approvers map[int64]map[Tier][]*Member
	revisions map[int64][]*Revision
	decisions map[int64][]*Decision
	comments  map[int64][]*Comment
	backups   map[[2]int64]map[Tier][]*Member // by (draft, revision)
	outbox    []*OutboxMessage
	locked    *lockedRows // what LockForDecision read, for the next DecisionRows
}

// lockedRows are LockForDecision's answer, kept for the DecisionRows call
// (checkDecision's) that follows it.
type lockedRows struct {
	draft  Draft // the row as locked
	member int64
	rows   *DecisionRows
	err    error
}

// newCallTx returns a callTx over tx for a call in workspace ws, which
// knows the members given already (the actor).
func newCallTx(tx Tx, ws int64, known ...*Member) *callTx {
	t := &callTx{Tx: tx, ws: ws, accounts: map[int64]*Account{}, members: map[int64]*Member{},
		approvers: map[int64]map[Tier][]*Member{}, revisions: map[int64][]*Revision{},
		decisions: map[int64][]*Decision{}, comments: map[int64][]*Comment{}, backups: map[[2]int64]map[Tier][]*Member{}}
	for _, m := range known {
		if m != nil && m.WorkspaceID == ws {
			t.members[m.ID] = m
		}
	}
	return t
}

// DecisionRows reads the rows and keeps them for the lookups they answer.
// The first call after LockForDecision on the same draft, unchanged, and
// member is answered with what that read, without a statement.
func (t *callTx) DecisionRows(ctx context.Context, workspaceID int64, d *Draft, memberID int64) (*DecisionRows, error) {
	if l := t.locked; l != nil && workspaceID == t.ws && memberID == l.member && d.ID == l.draft.ID &&
		d.AccountID == l.draft.AccountID && d.Revision == l.draft.Revision && d.AuthorID == l.draft.AuthorID {
		t.locked = nil // its lists go stale with the call's own writes
		return l.rows, l.err
	}
	rows, err := t.Tx.DecisionRows(ctx, workspaceID, d, memberID)
	if err != nil || workspaceID != t.ws {
		return rows, err
	}
	t.keep(d, rows)
	return rows, nil
}

// LockForDecision locks and reads as the store does, keeps the rows for
// the lookups they answer, and keeps its answer for the DecisionRows call
// that follows.
func (t *callTx) LockForDecision(ctx context.Context, workspaceID, draftID, memberID int64) (*Draft, *DecisionRows, error) {
	d, rows, err := t.Tx.LockForDecision(ctx, workspaceID, draftID, memberID)
	if d == nil || workspaceID != t.ws {
		return d, rows, err
	}
	if err == nil {
		t.keep(d, rows)
	}
	t.locked = &lockedRows{draft: *d, member: memberID, rows: rows, err: err}
	return d, rows, err
}

// keep keeps the rows read for a decision on d for the lookups they answer.
func (t *callTx) keep(d *Draft, rows *DecisionRows) {
	acc := rows.Access.Account
	t.accounts[acc.ID] = &acc
	t.approvers[acc.ID] = rows.Approvers
	t.revisions[d.ID], t.decisions[d.ID], t.comments[d.ID] = rows.Revisions, rows.Decisions, rows.Comments
	t.backups[[2]int64{d.ID, int64(d.Revision)}] = rows.BackupApprovers
	if rows.Author != nil {
		t.members[rows.Author.ID] = rows.Author
	}
}

func (t *callTx) BackupApprovers(ctx context.Context, workspaceID, draftID int64, revision int, tier Tier) ([]*Member, error) {
	if byTier, ok := t.backups[[2]int64{draftID, int64(revision)}]; ok && workspaceID == t.ws {
		return byTier[tier], nil
	}
	return t.Tx.BackupApprovers(ctx, workspaceID, draftID, revision, tier)
}

// flush writes the outbox messages the call queued, in the order it
// queued them, with one EnqueueOutbox.
func (t *callTx) flush(ctx context.Context) error {
	msgs := t.outbox
	t.outbox = nil
	if len(msgs) == 0 {
		return nil
	}
	return t.Tx.EnqueueOutbox(ctx, msgs)
}

// EnqueueOutbox queues msgs until flush.
func (t *callTx) EnqueueOutbox(_ context.Context, msgs []*OutboxMessage) error {
	t.outbox = append(t.outbox, msgs...)
	return nil
}

// memo returns m[k], reading it with load on a miss and keeping what a
// successful read returned.
func memo[K comparable, V any](m map[K]V, k K, load func() (V, error)) (V, error) {
	if v, ok := m[k]; ok {
		return v, nil
	}
	v, err := load()
	if err == nil {
		m[k] = v
	}
	return v, err
}

func (t *callTx) AccountByID(ctx context.Context, workspaceID, id int64) (*Account, error) {
	if workspaceID != t.ws { // the cache is of the call's workspace
		return t.Tx.AccountByID(ctx, workspaceID, id)
	}
	return memo(t.accounts, id, func() (*Account, error) { return t.Tx.AccountByID(ctx, workspaceID, id) })
}

func (t *callTx) MemberByID(ctx context.Context, workspaceID, id int64) (*Member, error) {
	if workspaceID != t.ws {
		return t.Tx.MemberByID(ctx, workspaceID, id)
	}
	return memo(t.members, id, func() (*Member, error) { return t.Tx.MemberByID(ctx, workspaceID, id) })
}

// Approvers reads the approvers of every tier of the account at once.
func (t *callTx) Approvers(ctx context.Context, workspaceID, accountID int64, tier Tier) ([]*Member, error) {
	if workspaceID != t.ws {
		return t.Tx.Approvers(ctx, workspaceID, accountID, tier)
	}
	byTier, ok := t.approvers[accountID]
	if !ok {
		all, err := t.Tx.ApproversOf(ctx, workspaceID, []int64{accountID})
		if err != nil {
			return nil, err
		}
		byTier = all[accountID]
		t.approvers[accountID] = byTier
	}
	return byTier[tier], nil
}

func (t *callTx) Revisions(ctx context.Context, draftID int64) ([]*Revision, error) {
	return memo(t.revisions, draftID, func() ([]*Revision, error) { return t.Tx.Revisions(ctx, draftID) })
}

func (t *callTx) CreateRevision(ctx context.Context, r *Revision) error {
	delete(t.revisions, r.DraftID)
	t.locked = nil
	return t.Tx.CreateRevision(ctx, r)
}

func (t *callTx) Decisions(ctx context.Context, draftID int64) ([]*Decision, error) {
	return memo(t.decisions, draftID, func() ([]*Decision, error) { return t.Tx.Decisions(ctx, draftID) })
}

// CreateDecision records d and, when the draft's decisions were read, adds
// it to them where Decisions would list it (by time, then ID).
func (t *callTx) CreateDecision(ctx context.Context, d *Decision) error {
	return t.recorded(d, t.Tx.CreateDecision(ctx, d))
}

// CreateDecisionLocked records d as Tx's does and, as CreateDecision,
// adds it to the draft's decisions read.
func (t *callTx) CreateDecisionLocked(ctx context.Context, workspaceID int64, d *Decision) error {
	return t.recorded(d, t.Tx.CreateDecisionLocked(ctx, workspaceID, d))
}

// recorded keeps what the call read true after recording d (err nil) or
// failing to.
func (t *callTx) recorded(d *Decision, err error) error {
	t.locked = nil
	if err != nil {
		delete(t.decisions, d.DraftID)
		return err
	}
	ds, ok := t.decisions[d.DraftID]
	if !ok {
		return nil
	}
	x := *d
	i, _ := slices.BinarySearchFunc(ds, &x, func(a, b *Decision) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	t.decisions[d.DraftID] = slices.Insert(slices.Clip(ds), i, &x)
	return nil
}

func (t *callTx) Comments(ctx context.Context, draftID int64) ([]*Comment, error) {
	return memo(t.comments, draftID, func() ([]*Comment, error) { return t.Tx.Comments(ctx, draftID) })
}

func (t *callTx) CreateComment(ctx context.Context, c *Comment) error {
	delete(t.comments, c.DraftID)
	t.locked = nil
	return t.Tx.CreateComment(ctx, c)
}

// UpdateDraft is held (UpdateDraftHeld) when d carries its time, as
// settle's updates do; otherwise it runs at once, to read now() back.
func (t *callTx) UpdateDraft(ctx context.Context, d *Draft) error {
	if d.UpdatedAt.IsZero() {
		return t.Tx.UpdateDraft(ctx, d)
	}
	return t.Tx.UpdateDraftHeld(ctx, d)
}

// CreateHandoff is held (CreateHandoffHeld): handOff does not read the row.
func (t *callTx) CreateHandoff(ctx context.Context, h *HandoffRecord) error {
	return t.Tx.CreateHandoffHeld(ctx, h)
}

// SetTierClock is held (SetTierClockHeld): startClock does not read it.
func (t *callTx) SetTierClock(ctx context.Context, c *TierClock) error {
	return t.Tx.SetTierClockHeld(ctx, c)
}
