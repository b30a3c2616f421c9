package approvals

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on draft content.
const (
	MaxTextLen    = 10_000 // characters of a draft's text
	MaxCommentLen = 4_000  // characters of a comment or reject reason
	MaxMedia      = 10     // media URLs per revision
)

// DraftInput is the content of a submission or revision.
type DraftInput struct {
	Account     string // handle; ignored by Revise
	Text        string
	MediaURLs   []string
	ScheduledAt *time.Time
}

func (s *Service) validateInput(in DraftInput) error {
	if strings.TrimSpace(in.Text) == "" {
		return Errorf(EINVALID, "draft text is empty")
	}
	if !utf8.ValidString(in.Text) {
		return Errorf(EINVALID, "draft text is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(in.Text); n > MaxTextLen {
		return Errorf(EINVALID, "draft text is %d characters; the limit is %d", n, MaxTextLen)
	}
	if len(in.MediaURLs) > MaxMedia {
		return Errorf(EINVALID, "%d media URLs; the limit is %d", len(in.MediaURLs), MaxMedia)
	}
	for _, raw := range in.MediaURLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Errorf(EINVALID, "media URL %q must be an absolute http or https URL", raw)
		}
	}
	if in.ScheduledAt != nil && !in.ScheduledAt.After(s.now()) {
		return Errorf(EINVALID, "scheduled time %s is not in the future", in.ScheduledAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func validateComment(text string, required bool) error {
	if strings.TrimSpace(text) == "" {
		if required {
			return Errorf(EINVALID, "a rejection needs a comment that says what to change")
		}
		return Errorf(EINVALID, "comment is empty")
	}
	if !utf8.ValidString(text) {
		return Errorf(EINVALID, "comment is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(text); n > MaxCommentLen {
		return Errorf(EINVALID, "comment is %d characters; the limit is %d", n, MaxCommentLen)
	}
	return nil
}

func requireMember(p *principal) error {
	if p.member == nil {
		return Errorf(EUNAUTHORIZED, "name the acting member (--as EMAIL)")
	}
	return nil
}

// Submit creates a draft on an account the actor may create on, and starts
// its first required tier (or approves it at once when none is required).
// Errors: EINVALID (content, or a required tier with no approver but the
// author), ENOTFOUND (account), EUNAUTHORIZED.
func (s *Service) Submit(ctx context.Context, a Actor, in DraftInput) (*DraftView, error) {
	return s.submit(ctx, a, in, nil)
}

// submit is Submit; with key set, the key is claimed before and recorded
// after the submission, in its transaction (see SubmitOnce).
func (s *Service) submit(ctx context.Context, a Actor, in DraftInput, key *keyedSubmission) (*DraftView, error) {
	var out *DraftView
	err := s.do(ctx, a, "draft.submit", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireMember(p); err != nil {
			return err
		}
		if replayed, err := key.claim(ctx, s, tx, p, e); replayed || err != nil {
			return err
		}
		acc, err := s.accountByHandle(ctx, tx, p.ws, in.Account)
		if err != nil {
			return err
		}
		// What follows reads the account as a removal of approvers leaves it (lock.go).
		if acc, err = tx.ShareAccount(ctx, p.ws.ID, acc.ID); err != nil {
			return err
		}
		e.AccountID = acc.ID
		access, err := s.access(ctx, tx, p.member, acc)
		if err != nil {
			return err
		}
		if !access.Can(CapCreate) {
			return Errorf(EUNAUTHORIZED, "%s may not create drafts on account %q", p.member.Email, acc.Handle)
		}
		if err := s.validateInput(in); err != nil {
			return err
		}
		now := s.now()
		d := &Draft{WorkspaceID: p.ws.ID, AccountID: acc.ID, AuthorID: p.member.ID, Revision: 1, CreatedAt: now, UpdatedAt: now}
		rev := newRevision(acc, in, p.member.ID, 1, now)
		if err := s.requireEligible(ctx, tx, acc, rev, map[int64]bool{p.member.ID: true}); err != nil {
			return err
		}
		d.moveTo(StateApproved)
		if t, ok := firstTier(rev); ok {
			d.moveTo(pendingState(t))
		}
		if err := tx.CreateDraft(ctx, d); err != nil {
			return err
		}
		rev.DraftID = d.ID
		if err := tx.CreateRevision(ctx, rev); err != nil {
			return err
		}
		e.DraftID, e.Revision, e.Detail = d.ID, 1, "state "+string(d.State)
		if err := s.enterState(ctx, tx, p, acc, d, a.Channel); err != nil {
			return err
		}
		if out, err = s.draftView(ctx, tx, p, d); err != nil {
			return err
		}
		out.Notes = reviewNotes(acc, rev, d.State, now)
		return key.record(ctx, s, tx, p, d, out)
	})
	return out, err
}

func newRevision(acc *Account, in DraftInput, by int64, n int, now time.Time) *Revision {
	media := append([]string{}, in.MediaURLs...)
	var at *time.Time
	if in.ScheduledAt != nil {
		t := in.ScheduledAt.UTC().Truncate(time.Second)
		at = &t
	}
	return &Revision{
		Number: n, Text: in.Text, MediaURLs: media, ScheduledAt: at,
		NeedsInternal: acc.NeedsInternalApproval, NeedsClient: acc.NeedsClientApproval,
		InternalRule: acc.InternalRule, ClientRule: acc.ClientRule,
		CreatedByID: by, CreatedAt: now,
	}
}

func firstTier(rev *Revision) (Tier, bool) {
	for _, t := range Tiers {
		if rev.Needs(t) {
			return t, true
		}
	}
	return "", false
}

func nextTier(rev *Revision, after Tier) (Tier, bool) {
	passed := false
	for _, t := range Tiers {
		if passed && rev.Needs(t) {
			return t, true
		}
		if t == after {
			passed = true
		}
	}
	return "", false
}

// requireEligible refuses a submission or revision whose required tiers
// have no approver besides those who wrote the draft: it could never
// complete.
func (s *Service) requireEligible(ctx context.Context, tx Tx, acc *Account, rev *Revision, wrote map[int64]bool) error {
	for _, t := range Tiers {
		if !rev.Needs(t) {
			continue
		}
		ids, err := s.eligibleExcept(ctx, tx, acc, t, wrote)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return Errorf(EINVALID, "account %q needs %s approval but has no %s approver who did not write this draft; ask an admin to add one", acc.Handle, t, t)
		}
	}
	return nil
}

// eligible returns the approvers of tier t on the account who may decide
// d: everyone but those who wrote one of its revisions.
func (s *Service) eligible(ctx context.Context, tx Tx, acc *Account, t Tier, d *Draft) ([]*Member, error) {
	revs, err := tx.Revisions(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	return s.eligibleExcept(ctx, tx, acc, t, writers(d, revs))
}

// eligibleExcept returns the approvers of tier t on the account who are
// not in wrote.
func (s *Service) eligibleExcept(ctx context.Context, tx Tx, acc *Account, t Tier, wrote map[int64]bool) ([]*Member, error) {
	ms, err := tx.Approvers(ctx, acc.WorkspaceID, acc.ID, t)
	if err != nil {
		return nil, err
	}
	out := ms[:0:0]
	for _, m := range ms {
		if !wrote[m.ID] {
			out = append(out, m)
		}
	}
	return out, nil
}

// DecideInput is an approver's decision. Revision and Tier pin what the
// approver saw (a Slack message, an email link); zero values mean "the
// current revision" and "the tier the draft waits on".
type DecideInput struct {
	DraftID  int64
	Revision int
	Tier     Tier
	Verdict  Verdict
	Comment  string
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
// the tier, the author); EINVALID (reject without comment); ECONFLICT with
// Reason ReasonRevised, ReasonDecided (Decision set) or ReasonWithdrawn.
func (s *Service) Decide(ctx context.Context, a Actor, in DecideInput) (*DecisionResult, error) {
	var out *DecisionResult
	action := "draft." + string(in.Verdict)
	err := s.doOn(ctx, a, action, in.DraftID, func(ctx context.Context, ptx Tx, p *principal, e *AuditEntry) error {
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
		d, err := s.lockDraft(ctx, tx, p.ws, in.DraftID)
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
					Message: fmt.Sprintf("you already %s draft %d at %s via %s", pastTense(x.Verdict), d.ID, stamp(x.CreatedAt), x.Channel)}
			}
			view, err := s.draftView(ctx, tx, p, d)
			if err != nil {
				return err
			}
			e.Detail = "repeat: already " + pastTense(x.Verdict)
			out = &DecisionResult{Draft: view, Decision: x, Noop: true,
				Message: fmt.Sprintf("you already %s draft %d at %s", pastTense(x.Verdict), d.ID, stamp(x.CreatedAt))}
			return nil
		}
		if in.Verdict == VerdictReject {
			if err := validateComment(in.Comment, true); err != nil {
				return err
			}
		}
		dec := &Decision{DraftID: d.ID, Revision: rev, Tier: tier, ApproverID: p.member.ID, Approver: p.member.Label(),
			Verdict: in.Verdict, Comment: in.Comment, Channel: a.Channel, CreatedAt: s.now()}
		if err := tx.CreateDecision(ctx, dec); err != nil {
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
		return nil
	})
	s.observeDecision(a.Channel, in.Verdict, out, err)
	return out, err
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
	access := escalated(effective(p.member, rows.Access), rows.ExtraTiers)
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
		Message: fmt.Sprintf("draft %d was already %s by %s at %s via %s", d.ID, pastTense(last.Verdict), last.Approver, stamp(last.CreatedAt), last.Channel)}
}

func pastTense(v Verdict) string {
	if v == VerdictReject {
		return "rejected"
	}
	return "approved"
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

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
// it back to its author (never approves it by default).
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
	backups, err := tx.ExtraApprovers(ctx, d.WorkspaceID, d.ID, d.Revision, tier) // added by escalation
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

// Revise makes a new revision of a draft that is not approved or withdrawn
// and restarts its first required tier. Media and schedule carry over unless
// in restates them; older decisions stay in the history
// but no longer count, and links to older revisions go stale.
// Errors: ENOTFOUND, EUNAUTHORIZED (not the author and no "create"),
// EINVALID (content), ECONFLICT (approved or withdrawn).
func (s *Service) Revise(ctx context.Context, a Actor, draftID int64, in DraftInput) (*DraftView, error) {
	var out *DraftView
	err := s.doOn(ctx, a, "draft.revise", draftID, func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		d, acc, err := s.editable(ctx, tx, p, draftID, e, "revise")
		if err != nil {
			return err
		}
		prev, err := s.revision(ctx, tx, d)
		if err != nil {
			return err
		}
		// What the revision does not restate carries over: nil media keeps
		// the media (an empty list clears it), a nil time keeps the schedule.
		if in.MediaURLs == nil {
			in.MediaURLs = prev.MediaURLs
		}
		if in.ScheduledAt == nil {
			in.ScheduledAt = prev.ScheduledAt
		}
		if err := s.validateInput(in); err != nil {
			return err
		}
		revs, err := tx.Revisions(ctx, d.ID)
		if err != nil {
			return err
		}
		wrote := writers(d, revs)
		wrote[p.member.ID] = true
		now := s.now()
		old := d.State
		rev := newRevision(acc, in, p.member.ID, d.Revision+1, now)
		rev.DraftID = d.ID
		if err := s.requireEligible(ctx, tx, acc, rev, wrote); err != nil {
			return err
		}
		if err := tx.CreateRevision(ctx, rev); err != nil {
			return err
		}
		if t, ok := old.Tier(); ok {
			if err := s.notifySuperseded(ctx, tx, p, acc, d, t, EventRevised); err != nil {
				return err
			}
		}
		d.Revision = rev.Number
		d.moveTo(StateApproved)
		if t, ok := firstTier(rev); ok {
			d.moveTo(pendingState(t))
		}
		d.UpdatedAt = now
		if err := tx.UpdateDraft(ctx, d); err != nil {
			return err
		}
		e.Revision, e.Detail = d.Revision, "state "+string(d.State)
		if err := s.enterState(ctx, tx, p, acc, d, a.Channel); err != nil {
			return err
		}
		if out, err = s.draftView(ctx, tx, p, d); err != nil {
			return err
		}
		out.Notes = reviewNotes(acc, rev, d.State, now)
		return nil
	})
	return out, err
}

// Withdraw withdraws a draft that is not yet approved.
// Errors: ENOTFOUND, EUNAUTHORIZED, ECONFLICT (approved or withdrawn).
func (s *Service) Withdraw(ctx context.Context, a Actor, draftID int64) (*DraftView, error) {
	var out *DraftView
	err := s.doOn(ctx, a, "draft.withdraw", draftID, func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		d, acc, err := s.editable(ctx, tx, p, draftID, e, "withdraw")
		if err != nil {
			return err
		}
		if t, ok := d.State.Tier(); ok {
			if err := s.notifySuperseded(ctx, tx, p, acc, d, t, EventWithdrawn); err != nil {
				return err
			}
		}
		d.moveTo(StateWithdrawn)
		d.UpdatedAt = s.now()
		if err := tx.UpdateDraft(ctx, d); err != nil {
			return err
		}
		out, err = s.draftView(ctx, tx, p, d)
		return err
	})
	return out, err
}

// editable locks a draft the actor may change (author, or "create" on its
// account) and that is neither approved nor withdrawn.
func (s *Service) editable(ctx context.Context, tx Tx, p *principal, draftID int64, e *AuditEntry, verb string) (*Draft, *Account, error) {
	if err := requireMember(p); err != nil {
		return nil, nil, err
	}
	e.DraftID = draftID
	d, err := s.lockEditable(ctx, tx, p.ws, draftID)
	if err != nil {
		return nil, nil, err
	}
	e.AccountID, e.Revision = d.AccountID, d.Revision
	acc, err := tx.AccountByID(ctx, p.ws.ID, d.AccountID)
	if err != nil {
		return nil, nil, err
	}
	access, err := s.access(ctx, tx, p.member, acc)
	if err != nil {
		return nil, nil, err
	}
	if !canSee(p.member, access, d) {
		return nil, nil, hidden(p.ws, draftID)
	}
	if d.AuthorID != p.member.ID {
		if !access.Can(CapCreate) {
			return nil, nil, Errorf(EUNAUTHORIZED, "%s may not %s draft %d: only its author or a member who may create on account %q can", p.member.Email, verb, d.ID, acc.Handle)
		}
	}
	switch d.State {
	case StateApproved:
		return nil, nil, &Error{Code: ECONFLICT, Reason: ReasonDecided, Message: fmt.Sprintf("draft %d is already approved; it can no longer be changed", d.ID)}
	case StateWithdrawn:
		return nil, nil, &Error{Code: ECONFLICT, Reason: ReasonWithdrawn, Message: fmt.Sprintf("draft %d was withdrawn", d.ID)}
	case StateExpired:
		return nil, nil, &Error{Code: ECONFLICT, Reason: ReasonExpired, Message: fmt.Sprintf("draft %d expired at its deadline; it can no longer be changed (submit it again as a new draft)", d.ID)}
	}
	return d, acc, nil
}

// CommentInput is a comment to add. Internal keeps it from clients; only
// staff may mark a comment internal.
type CommentInput struct {
	Text     string
	Internal bool
}

// AddComment adds a comment (not a decision) to a draft.
// Errors: ENOTFOUND, EUNAUTHORIZED (no "comment"), EINVALID.
func (s *Service) AddComment(ctx context.Context, a Actor, draftID int64, in CommentInput) (*Comment, error) {
	text := in.Text
	var out *Comment
	err := s.doOn(ctx, a, "draft.comment", draftID, func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireMember(p); err != nil {
			return err
		}
		e.DraftID = draftID
		d, acc, access, err := s.visibleDraft(ctx, tx, p, draftID)
		if err != nil {
			return err
		}
		e.AccountID, e.Revision = d.AccountID, d.Revision
		if !access.Can(CapComment) {
			return Errorf(EUNAUTHORIZED, "%s may not comment on account %q", p.member.Email, acc.Handle)
		}
		if err := validateComment(text, false); err != nil {
			return err
		}
		if in.Internal && !ReaderOf(p.member).staff() {
			return Errorf(EINVALID, "only staff can mark a comment internal")
		}
		c := &Comment{DraftID: d.ID, Revision: d.Revision, AuthorID: p.member.ID, Author: p.member.Label(), Text: text,
			Channel: a.Channel, Internal: in.Internal, CreatedAt: s.now()}
		out = c
		return tx.CreateComment(ctx, c)
	})
	return out, err
}

// visibleDraft returns a draft the member may see (see canSee); any other
// is "not found", whether it exists or not.
func (s *Service) visibleDraft(ctx context.Context, tx Tx, p *principal, id int64) (*Draft, *Account, Access, error) {
	d, err := tx.DraftByID(ctx, p.ws.ID, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, Access{}, notFound(p.ws, id)
	} else if err != nil {
		return nil, nil, Access{}, err
	}
	acc, err := tx.AccountByID(ctx, p.ws.ID, d.AccountID)
	if err != nil {
		return nil, nil, Access{}, err
	}
	if p.member == nil {
		return d, acc, Access{Account: *acc, Caps: RoleOwner.Ceiling()}, nil
	}
	access, err := s.access(ctx, tx, p.member, acc)
	if err != nil {
		return nil, nil, Access{}, err
	}
	if !canSee(p.member, access, d) {
		return nil, nil, Access{}, hidden(p.ws, id)
	}
	return d, acc, access, nil
}

// Show returns a draft the actor may see (any, for the operator).
// Errors: ENOTFOUND, EUNAUTHORIZED.
func (s *Service) Show(ctx context.Context, a Actor, draftID int64) (*DraftView, error) {
	var out *DraftView
	err := s.view(ctx, a, "draft.show", func(ctx context.Context, tx Tx, p *principal) error {
		d, _, _, err := s.visibleDraft(ctx, tx, p, draftID)
		if err != nil {
			return err
		}
		out, err = s.draftView(ctx, tx, p, d)
		return err
	})
	return out, err
}

// ListInput filters a draft list.
type ListInput struct {
	Account string // handle; "" for all visible accounts
	State   State  // "" for every state
	Limit   int    // 0 for the default (200)
}

// DraftSummary is one line of a draft list.
type DraftSummary struct {
	ID        int64     `json:"id"`
	Account   string    `json:"account"`
	Author    string    `json:"author"`
	State     State     `json:"state"`
	Revision  int       `json:"revision"`
	Text      string    `json:"text"`
	UpdatedAt time.Time `json:"updated_at"`
}

// List returns the drafts the actor may see, newest first.
// Errors: ENOTFOUND (account), EUNAUTHORIZED, EINVALID.
func (s *Service) List(ctx context.Context, a Actor, in ListInput) ([]DraftSummary, error) {
	var out []DraftSummary
	err := s.view(ctx, a, "draft.list", func(ctx context.Context, tx Tx, p *principal) error {
		if err := requireMember(p); err != nil {
			return err
		}
		access, err := s.memberAccess(ctx, tx, p.member, true)
		if err != nil {
			return err
		}
		f := DraftFilter{WorkspaceID: p.ws.ID, Limit: in.Limit}
		if f.Limit <= 0 || f.Limit > 1000 {
			f.Limit = 200
		}
		handles := map[int64]string{}
		for _, x := range access {
			handles[x.Account.ID] = x.Account.Handle
			if in.Account == "" || strings.EqualFold(in.Account, x.Account.Handle) {
				f.AccountIDs = append(f.AccountIDs, x.Account.ID)
			}
		}
		if in.Account != "" && len(f.AccountIDs) == 0 {
			if _, err := s.accountByHandle(ctx, tx, p.ws, in.Account); err != nil {
				return err
			}
			return Errorf(EUNAUTHORIZED, "%s has no access to account %q", p.member.Email, in.Account)
		}
		if in.State != "" {
			if _, err := ParseState(string(in.State)); err != nil {
				return err
			}
			f.States = []State{in.State}
		}
		if !ReaderOf(p.member).staff() {
			f.ClientReader = p.member.ID
		}
		ds, err := tx.Drafts(ctx, f)
		if err != nil {
			return err
		}
		// The authors in one statement, not one per author.
		var authorIDs []int64
		seen := map[int64]bool{}
		for _, d := range ds {
			if !seen[d.AuthorID] {
				seen[d.AuthorID] = true
				authorIDs = append(authorIDs, d.AuthorID)
			}
		}
		authors, err := tx.MembersByID(ctx, p.ws.ID, authorIDs)
		if err != nil {
			return err
		}
		out = []DraftSummary{}
		for _, d := range ds {
			m, ok := authors[d.AuthorID]
			if !ok {
				return Errorf(EINTERNAL, "author #%d of draft %d not found", d.AuthorID, d.ID)
			}
			rev := d.Revision // the revision whose text the store gave: a client's latest
			if f.ClientReader != 0 && d.AuthorID != f.ClientReader && len(d.ClientRevisions) > 0 {
				rev = d.ClientRevisions[len(d.ClientRevisions)-1]
			}
			out = append(out, DraftSummary{ID: d.ID, Account: handles[d.AccountID], Author: m.Label(), State: d.State, Revision: rev, Text: d.Text, UpdatedAt: d.UpdatedAt})
		}
		return nil
	})
	return out, err
}

// History is everything that happened to a draft.
type History struct {
	Draft     *DraftView    `json:"draft"`
	Revisions []*Revision   `json:"revisions"`
	Decisions []*Decision   `json:"decisions"`
	Comments  []*Comment    `json:"comments"`
	Audit     []*AuditEntry `json:"audit"`
}

// DraftHistory returns a draft's full history.
// Errors: ENOTFOUND, EUNAUTHORIZED.
func (s *Service) DraftHistory(ctx context.Context, a Actor, draftID int64) (*History, error) {
	var out *History
	err := s.view(ctx, a, "draft.history", func(ctx context.Context, tx Tx, p *principal) error {
		d, _, _, err := s.visibleDraft(ctx, tx, p, draftID)
		if err != nil {
			return err
		}
		view, err := s.draftView(ctx, tx, p, d)
		if err != nil {
			return err
		}
		audit, err := tx.DraftAudit(ctx, p.ws.ID, d.ID)
		if err != nil {
			return err
		}
		if !view.Reader.staff() {
			// The audit trail records staff's work too; a client reads only
			// their own entries.
			mine := []*AuditEntry{}
			for _, x := range audit {
				if x.ActorID == p.member.ID {
					mine = append(mine, x)
				}
			}
			audit = mine
		}
		out = &History{Draft: view, Revisions: view.Revisions(), Decisions: view.Decisions, Comments: view.Comments, Audit: audit}
		return nil
	})
	return out, err
}

// sortMembers orders members by ID so outbox rows come out deterministically.
func sortMembers(ms []*Member) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
}
