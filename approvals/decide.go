package approvals

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// DecideInput is an approver's decision. Revision and Tier pin what the
// approver saw (a Slack message, an email link); zero values mean "the
// current revision" and "the tier the draft waits on".
type DecideInput struct {
	DraftID  int64
	Revision int
	Tier     Tier
	Verdict  Verdict
	// Comment says what to change (required to reject) or, with an
	// approval, a remark for the author; either is shown to a reader who
	// may see the decision's tier, so a client never reads an internal
	// approver's.
	Comment string
	// Delivery, when set, names the request that carries the decision (a
	// Slack delivery, which Slack may send again): it is recorded with the
	// decision, and a delivery recorded before fails with ECONFLICT,
	// Reason ReasonDelivered, having changed nothing. See RecordDelivery.
	Delivery string
}

// DecisionResult tells what a decision call did.
type DecisionResult struct {
	Draft    *DraftView `json:"draft"`
	Decision *Decision  `json:"decision"`
	// Noop is true when the approver had already made this same decision;
	// Decision is then the earlier one.
	Noop    bool   `json:"noop"`
	Message string `json:"message"`
}

// Approve records the actor's approval. See Decide.
func (s *Service) Approve(ctx context.Context, a Actor, draftID int64) (*DecisionResult, error) {
	return s.Decide(ctx, a, DecideInput{DraftID: draftID, Verdict: VerdictApprove})
}

// Reject records the actor's rejection with a comment. See Decide.
func (s *Service) Reject(ctx context.Context, a Actor, draftID int64, comment string) (*DecisionResult, error) {
	return s.Decide(ctx, a, DecideInput{DraftID: draftID, Verdict: VerdictReject, Comment: comment})
}

// Decide records an approver's verdict, through whatever channel. Decisions
// on one draft serialise on its row lock, so concurrent clicks yield one
// outcome and every caller a true answer.
// Errors: ENOTFOUND (draft); EUNAUTHORIZED (no access, not an approver of
// the tier, the author); EINVALID (reject without comment, a comment too
// long or not UTF-8); ECONFLICT with
// Reason ReasonRevised, ReasonDecided (Decision set) or ReasonWithdrawn.
func (s *Service) Decide(ctx context.Context, a Actor, in DecideInput) (*DecisionResult, error) {
	var out *DecisionResult
	action := "draft." + string(in.Verdict)
	err := s.changeDraft(ctx, a, action, in.DraftID, func(ctx context.Context, ptx Tx, p *principal, e *AuditEntry) error {
		if in.Verdict != VerdictApprove && in.Verdict != VerdictReject {
			return Errorf(EINVALID, "unknown verdict %q", in.Verdict)
		}
		if err := requireMember(p); err != nil {
			return err
		}
		// Each step reads what an earlier one read from the call's cache,
		// and the call's outbox messages go out in one statement.
		tx := newCallTx(ptx, p.ws.ID, p.member)
		e.DraftID = in.DraftID
		d, err := s.lockForDecision(ctx, tx, p, in.DraftID)
		if err != nil {
			return err
		}
		e.AccountID, e.Revision = d.AccountID, d.Revision
		c, err := s.checkDecision(ctx, tx, p, d, in.Tier, in.Revision)
		if err != nil {
			return err
		}
		acc, tier, rev := c.acc, c.tier, d.Revision
		if x := c.repeat; x != nil {
			if x.Verdict != in.Verdict {
				return &Error{Code: ECONFLICT, Reason: ReasonDecided, Decision: x,
					Message: fmt.Sprintf("you already %s draft %d at %s via %s", pastTense(x.Verdict), d.ID, Stamp(x.CreatedAt), x.Channel)}
			}
			view, err := s.draftView(ctx, tx, p, d)
			if err != nil {
				return err
			}
			e.Detail = "repeat: already " + pastTense(x.Verdict)
			out = &DecisionResult{Draft: view, Decision: x, Noop: true,
				Message: fmt.Sprintf("you already %s draft %d at %s", pastTense(x.Verdict), d.ID, Stamp(x.CreatedAt))}
			return recordDelivery(ctx, tx, in.Delivery)
		}
		if err := decisionCommentError(in.Verdict, in.Comment); err != nil {
			return err
		} else if in.Verdict == VerdictApprove && strings.TrimSpace(in.Comment) == "" {
			in.Comment = "" // an approval's remark is optional; blank is none
		}
		dec := &Decision{DraftID: d.ID, Revision: rev, Tier: tier, ApproverID: p.member.ID, Approver: p.member.Label(),
			Verdict: in.Verdict, Comment: in.Comment, Channel: a.Channel, CreatedAt: s.now()}
		// checkDecision found no decision of the actor's under the lock.
		if err := tx.CreateDecisionLocked(ctx, p.ws.ID, dec); err != nil {
			return err
		}
		e.Detail = string(tier) + " tier"
		if err := s.notifyDecision(ctx, tx, p, acc, d, dec); err != nil {
			return err
		}
		if err := s.settle(ctx, tx, p, acc, d, a.Channel); err != nil {
			return err
		}
		if err := tx.flush(ctx); err != nil {
			return err
		}
		view, err := s.draftView(ctx, tx, p, d)
		if err != nil {
			return err
		}
		out = &DecisionResult{Draft: view, Decision: dec, Message: fmt.Sprintf("%s draft %d (revision %d); it is now %s", pastTense(in.Verdict), d.ID, rev, view.StatusAfter(dec))}
		return recordDelivery(ctx, tx, in.Delivery)
	})
	s.observeDecision(a.Channel, in.Verdict, out, err)
	return out, err
}

// recordDelivery records the request's delivery key, if it has one, last:
// the statement then travels with COMMIT.
func recordDelivery(ctx context.Context, tx Tx, key string) error {
	if key == "" {
		return nil
	}
	return tx.RecordDelivery(ctx, key)
}

// decisionCheck is what checkDecision found.
type decisionCheck struct {
	acc       *Account
	tier      Tier
	decisions []*Decision
	repeat    *Decision // the actor's own earlier decision on this revision and tier
}

// checkDecision is the one place that says whether a member may decide on
// d in tier (the pending tier when empty) at revision rev (the current one
// when 0). Decide, PreviewDecision and RequestNewLink all go through it. An
// earlier decision of the actor is returned, not refused: Decide answers a
// repeat as a no-op.
func (s *Service) checkDecision(ctx context.Context, tx Tx, p *principal, d *Draft, tier Tier, rev int) (*decisionCheck, error) {
	rows, err := tx.DecisionRows(ctx, p.ws.ID, d, p.member.ID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, removedWhileWaiting(p) // lock.go
	} else if err != nil {
		return nil, err
	}
	acc := &rows.Access.Account
	access := withBackupTiers(effective(p.member, rows.Access), rows.BackupTiers)
	if !canSee(p.member, access, d) {
		return nil, hidden(p.ws, d.ID)
	}
	if tier == "" {
		tier = s.actorTier(d, access)
	}
	if tier == "" || !access.IsApprover(tier) {
		return nil, notApprover(p.member, acc, tier, access)
	}
	if writers(d, rows.Revisions)[p.member.ID] {
		return nil, Errorf(EUNAUTHORIZED, "you are an author of draft %d (you wrote one of its revisions); nobody decides on words they wrote", d.ID)
	}
	if rev != 0 && rev != d.Revision {
		if !ReaderOf(p.member).SeesRevision(d, d.Revision) {
			// The new revision is in internal review: a client learns that
			// a new version is coming, not its number.
			return nil, &Error{Code: ECONFLICT, Reason: ReasonRevised,
				Message: fmt.Sprintf("draft %d was revised; you will be asked about the new version when it is ready", d.ID)}
		}
		return nil, &Error{Code: ECONFLICT, Reason: ReasonRevised, Revision: d.Revision,
			Message: fmt.Sprintf("draft %d was revised; revision %d is current", d.ID, d.Revision)}
	}
	decisions := rows.Decisions
	c := &decisionCheck{acc: acc, tier: tier, decisions: decisions}
	for _, x := range decisions {
		if x.Revision == d.Revision && x.Tier == tier && x.ApproverID == p.member.ID {
			c.repeat = x
			return c, nil
		}
	}
	if d.State == StateWithdrawn {
		return nil, &Error{Code: ECONFLICT, Reason: ReasonWithdrawn, Message: fmt.Sprintf("draft %d was withdrawn by its author", d.ID)}
	}
	if d.State == StateExpired {
		return nil, &Error{Code: ECONFLICT, Reason: ReasonExpired, Message: fmt.Sprintf("draft %d expired: nobody decided by its deadline", d.ID)}
	}
	if cur, pending := d.State.Tier(); !pending || cur != tier {
		return nil, s.alreadyDecided(d, tier, decisions)
	}
	return c, nil
}

// actorTier picks the tier an actor decides in when the channel did not pin
// one: the tier the draft waits on, else the actor's only tier.
func (s *Service) actorTier(d *Draft, access Access) Tier {
	if t, ok := d.State.Tier(); ok && access.IsApprover(t) {
		return t
	}
	if len(access.Tiers) > 0 {
		return access.Tiers[len(access.Tiers)-1]
	}
	return ""
}

func notApprover(m *Member, acc *Account, tier Tier, access Access) error {
	if tier == "" || len(access.Tiers) == 0 {
		return Errorf(EUNAUTHORIZED, "%s is not an approver of account %q", m.Email, acc.Handle)
	}
	return Errorf(EUNAUTHORIZED, "%s is not a %s approver of account %q", m.Email, tier, acc.Handle)
}

// alreadyDecided explains why a tier no longer takes decisions.
func (s *Service) alreadyDecided(d *Draft, tier Tier, decisions []*Decision) error {
	if d.State == StatePendingInternal && tier == TierClient {
		return Errorf(ECONFLICT, "draft %d is still waiting for internal approval", d.ID)
	}
	// The deciding decision is the last one of this revision in that tier
	// (for a rejected or approved draft), or in any tier.
	var last *Decision
	for _, x := range decisions {
		if x.Revision != d.Revision {
			continue
		}
		if x.Tier == tier || last == nil || last.Tier != tier {
			if d.State == StateRejected && x.Verdict != VerdictReject {
				continue
			}
			last = x
		}
	}
	if last == nil {
		return &Error{Code: ECONFLICT, Reason: ReasonDecided, Message: fmt.Sprintf("draft %d is already %s", d.ID, d.State.Describe())}
	}
	return &Error{Code: ECONFLICT, Reason: ReasonDecided, Decision: last,
		Message: fmt.Sprintf("draft %d was already %s by %s at %s via %s", d.ID, pastTense(last.Verdict), last.Approver, Stamp(last.CreatedAt), last.Channel)}
}

func pastTense(v Verdict) string {
	if v == VerdictReject {
		return "rejected"
	}
	return "approved"
}

// Stamp words a time in the core's messages and in Slack: in UTC, since the
// reader's zone is unknown.
func Stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// lockForDecision locks the draft the member is about to decide on, as
// lockDraft, and reads with the lock, in the same round trip, the rows
// checkDecision asks for next: tx keeps them (and an error reading them,
// which is checkDecision's to answer).
func (s *Service) lockForDecision(ctx context.Context, tx *callTx, p *principal, id int64) (*Draft, error) {
	d, _, err := tx.LockForDecision(ctx, p.ws.ID, id, p.member.ID)
	if d != nil {
		return d, nil
	}
	if ErrorCode(err) == ENOTFOUND {
		return nil, notFound(p.ws, id)
	}
	return nil, err
}

func (s *Service) lockDraft(ctx context.Context, tx Tx, ws *Workspace, id int64) (*Draft, error) {
	d, err := tx.LockDraft(ctx, ws.ID, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, notFound(ws, id)
	}
	return d, err
}

// settle moves a pending draft on as far as its decisions and the current
// approvers allow: a reject ends it; a completed tier passes to the next
// required tier or approves it; a tier left with no eligible approver sends
// it back to its author (never approves it by default). It sets d's new
// values itself and reads nothing back from its writes: in a decision
// (callTx) they are held to the commit.
func (s *Service) settle(ctx context.Context, tx Tx, p *principal, acc *Account, d *Draft, ch Channel) error {
	tier, ok := d.State.Tier()
	if !ok {
		return nil
	}
	rev, err := s.revision(ctx, tx, d)
	if err != nil {
		return err
	}
	decisions, err := tx.Decisions(ctx, d.ID)
	if err != nil {
		return err
	}
	approvers, err := s.eligible(ctx, tx, acc, tier, d)
	if err != nil {
		return err
	}
	done, rejected := tierOutcome(rev.Rule(tier), approvers, decisions, d.Revision, tier)
	backups, err := tx.BackupApprovers(ctx, d.WorkspaceID, d.ID, d.Revision, tier) // added by escalation
	if err != nil {
		return err
	}
	done = done || (rejected == nil && backupApproved(backups, decisions, d.Revision, tier))
	now := s.now()
	switch {
	case rejected != nil:
		d.State = StateRejected
		d.UpdatedAt = now
		if err := tx.UpdateDraft(ctx, d); err != nil {
			return err
		}
		return s.enterState(ctx, tx, p, acc, d, ch, rejected)
	case len(approvers) == 0 && len(backups) == 0:
		// Only possible when approvers lost access after the draft entered the
		// tier and the account no longer requires it: hand it back.
		reason := fmt.Sprintf("No %s approver is left on account %q, so this revision cannot be approved. Revise it to resubmit under the account's current settings.", tier, acc.Handle)
		d.State = StateRejected
		d.UpdatedAt = now
		if err := tx.UpdateDraft(ctx, d); err != nil {
			return err
		}
		if err := tx.CreateComment(ctx, &Comment{DraftID: d.ID, Revision: d.Revision, Text: reason, Channel: ChannelSystem,
			Internal: !ClientReader.SeesTier(tier), CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, &AuditEntry{WorkspaceID: d.WorkspaceID, At: now, Actor: "signoff", Channel: ChannelSystem, Action: "draft.returned", Outcome: OutcomeOK, DraftID: d.ID, Revision: d.Revision, AccountID: d.AccountID, Detail: reason}); err != nil {
			return err
		}
		return s.enterState(ctx, tx, p, acc, d, ChannelSystem, &Decision{DraftID: d.ID, Revision: d.Revision, Tier: tier, Verdict: VerdictReject, Comment: reason, Channel: ChannelSystem, Approver: "Signoff", CreatedAt: now})
	case done:
		if next, ok := nextTier(rev, tier); ok {
			d.moveTo(pendingState(next))
		} else {
			d.moveTo(StateApproved)
		}
		d.UpdatedAt = now
		if err := tx.UpdateDraft(ctx, d); err != nil {
			return err
		}
		return s.enterState(ctx, tx, p, acc, d, ch)
	}
	return nil
}

// tierOutcome applies a tier's rule to the decisions of one revision: any
// reject rejects; "any" completes on one approval; "all" when every current
// eligible approver approved.
func tierOutcome(rule Rule, approvers []*Member, decisions []*Decision, rev int, tier Tier) (done bool, rejected *Decision) {
	approved := map[int64]bool{}
	for _, x := range decisions {
		if x.Revision != rev || x.Tier != tier {
			continue
		}
		if x.Verdict == VerdictReject {
			return false, x
		}
		approved[x.ApproverID] = true
	}
	if rule == RuleAll {
		if len(approvers) == 0 {
			return false, nil
		}
		for _, m := range approvers {
			if !approved[m.ID] {
				return false, nil
			}
		}
		return true, nil
	}
	return len(approved) > 0, nil
}

func (s *Service) revision(ctx context.Context, tx Tx, d *Draft) (*Revision, error) {
	revs, err := tx.Revisions(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range revs {
		if r.Number == d.Revision {
			return r, nil
		}
	}
	return nil, Errorf(EINTERNAL, "draft %d has no revision %d", d.ID, d.Revision)
}

// reevaluateAccount settles the account's pending drafts after its approver
// set changed: an "all" tier may now be complete, or have nobody left.
func (s *Service) reevaluateAccount(ctx context.Context, tx Tx, p *principal, acc *Account) error {
	ds, err := tx.PendingDrafts(ctx, acc.WorkspaceID, acc.ID)
	if err != nil {
		return err
	}
	for _, d := range ds {
		d, err := tx.LockDraft(ctx, d.WorkspaceID, d.ID)
		if err != nil {
			return err
		}
		if err := s.settle(ctx, tx, p, acc, d, ChannelSystem); err != nil {
			return err
		}
	}
	return nil
}

// reevaluateWorkspace does reevaluateAccount for every account; used when a
// change (a member or group membership removed) may touch many accounts.
func (s *Service) reevaluateWorkspace(ctx context.Context, tx Tx, p *principal) error {
	accs, err := tx.Accounts(ctx, p.ws.ID)
	if err != nil {
		return err
	}
	for _, acc := range accs {
		if err := s.reevaluateAccount(ctx, tx, p, acc); err != nil {
			return err
		}
	}
	return nil
}
