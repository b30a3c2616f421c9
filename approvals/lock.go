package approvals

import "context"

// Lock order. Every transaction that touches a workspace's accounts,
// approvers, members and drafts takes its row locks in this order, and
// never one earlier in it than a lock it already holds:
//
//  1. accounts, by id. A change to an account's access, approvers or
//     settings takes Tx.LockAccount (FOR NO KEY UPDATE; the schema's
//     triggers take the same lock through lock_account()). Submit and
//     Revise take Tx.ShareAccount (FOR SHARE) before they check who may
//     approve the draft: it conflicts with LockAccount, not with itself.
//  2. drafts, by id: Tx.LockDraft (and Tx.LockForDecision, which sends its
//     statement), Tx.LockPendingDrafts, Tx.ClaimDueDraft (FOR NO KEY
//     UPDATE). All decisions on a draft serialise on it. Rows that hang
//     off a draft (its clock, revisions, decisions) come after it.
//  3. members: deleted or changed last; the foreign keys of a draft,
//     revision, decision or added approver take KEY SHARE on theirs, which
//     a member's deletion waits for.
//
// What each transaction does with it:
//   - Submit: ShareAccount, then inserts the draft. Revise and Withdraw:
//     ShareAccount on the draft's account, then LockDraft (lockEditable).
//     A removal of approvers thus either runs first, and the submission
//     sees it and is refused, or waits, and then finds the new pending
//     draft and settles it (returning it to its author if nobody is left
//     who may decide it).
//   - Decide, RequestNewLink and the sweeper start at step 2: they start no
//     tier a removal could miss (a draft they move on was pending, so every
//     removal settles it), and they change no approver.
//   - RemoveApprover and Revoke: LockAccount on their account, then settle
//     its pending drafts, each under LockDraft (reevaluateAccount). Grant,
//     AddApprover and SetAccount take LockAccount and no draft lock.
//   - RemoveMember and RemoveFromGroup, and any other change to a member
//     that may drop their approver flags on several accounts (a role
//     change, a deactivation), call lockForMemberChange before they touch
//     the member or their group rows: the schema's triggers would otherwise
//     lock the member first and the accounts and drafts after it, and a
//     decision holding one of those drafts and waiting on the member (its
//     foreign key) would deadlock with them.
//
// Under this order no two of these transactions wait on each other in a
// cycle, so none is chosen as a deadlock victim and nobody is told to try
// again.

// lockForMemberChange takes, before a change to a member that may remove
// approvers anywhere in the workspace, the locks the change will need:
// every account of the workspace, then every pending draft, in id order.
func (s *Service) lockForMemberChange(ctx context.Context, tx Tx, ws *Workspace) error {
	if err := tx.LockAccounts(ctx, ws.ID); err != nil {
		return err
	}
	_, err := tx.LockPendingDrafts(ctx, ws.ID)
	return err
}

// lockEditable locks a draft about to be revised or withdrawn, its account
// first (ShareAccount), and returns the draft as locked.
// Errors: ENOTFOUND.
func (s *Service) lockEditable(ctx context.Context, tx Tx, ws *Workspace, id int64) (*Draft, error) {
	d, err := tx.DraftByID(ctx, ws.ID, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "no draft %d in workspace %q", id, ws.Slug)
	} else if err != nil {
		return nil, err
	}
	// A draft never moves to another account, so the unlocked read names
	// the right one.
	if _, err := tx.ShareAccount(ctx, ws.ID, d.AccountID); err != nil {
		return nil, err
	}
	return s.lockDraft(ctx, tx, ws, id)
}

// removedWhileWaiting is the answer to a member whose call resolved them,
// then waited on a draft's lock for a removal that deleted them.
func removedWhileWaiting(p *principal) error {
	return Errorf(EUNAUTHORIZED, "%s is no longer a member of workspace %q", p.member.Email, p.ws.Slug)
}
