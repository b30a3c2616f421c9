package approvals

import (
	"context"
	"fmt"
	"net/url"
	"slices"
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
// Content the account's network would refuse is refused, naming each rule
// and the excess (netlimits.go); what it would crop is a note.
// Errors: EINVALID (content, the network's limits, or a required tier with
// no approver but the author), ENOTFOUND (account), EUNAUTHORIZED.
func (s *Service) Submit(ctx context.Context, a Actor, in DraftInput) (*DraftView, error) {
	return s.submit(ctx, a, in, nil)
}

// submit is Submit; with key set, the key is claimed before and recorded
// after the submission, in its transaction (see SubmitOnce).
func (s *Service) submit(ctx context.Context, a Actor, in DraftInput, key *keyedSubmission) (*DraftView, error) {
	var out *DraftView
	pv := s.previewFor(ctx, a, in, 0)
	err := s.change(ctx, a, "draft.submit", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
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
		if err := checkNetwork(acc, in); err != nil {
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
		pv.give(rev)
		if err := tx.CreateRevision(ctx, rev); err != nil {
			return err
		}
		if err := pv.save(ctx, tx, p.ws, rev); err != nil {
			return err
		}
		e.DraftID, e.Revision, e.Detail = d.ID, 1, "state "+string(d.State)
		if err := s.enterState(ctx, tx, p, acc, d, a.Channel); err != nil {
			return err
		}
		if out, err = s.draftView(ctx, tx, p, d); err != nil {
			return err
		}
		out.Notes = append(reviewNotes(acc, rev, d.State, now, now.Add(p.ws.GroupWindow)), networkNotes(acc, out.Current.Text, out.Media)...)
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

// Revise makes a new revision of a draft that is not approved or withdrawn
// and restarts its first required tier. Media and schedule carry over unless
// in restates them; older decisions stay in the history
// but no longer count, and links to older revisions go stale.
// The new revision, media carried over included, must meet the account's
// network's limits, as in Submit.
// Errors: ENOTFOUND, EUNAUTHORIZED (not the author and no "create"),
// EINVALID (content, the network's limits), ECONFLICT (approved or withdrawn).
func (s *Service) Revise(ctx context.Context, a Actor, draftID int64, in DraftInput) (*DraftView, error) {
	var out *DraftView
	pv := s.previewFor(ctx, a, in, draftID)
	err := s.changeDraft(ctx, a, "draft.revise", draftID, func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
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
		// The same list restated (as Slack's revise form does) is carried
		// over too: those files were fetched for the previous revision.
		carried := in.MediaURLs == nil || slices.Equal(in.MediaURLs, prev.MediaURLs)
		if carried {
			in.MediaURLs = prev.MediaURLs
		}
		if in.ScheduledAt == nil {
			in.ScheduledAt = prev.ScheduledAt
		}
		if err := s.validateInput(in); err != nil {
			return err
		}
		if err := checkNetwork(acc, in); err != nil {
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
		if carried {
			rev.Media = prev.Media
		} else {
			pv.give(rev)
		}
		if err := tx.CreateRevision(ctx, rev); err != nil {
			return err
		}
		if carried && len(prev.Media) > 0 {
			if err := tx.CopyThumbs(ctx, p.ws.ID, d.ID, prev.Number, rev.Number); err != nil {
				return err
			}
		}
		if !carried {
			if err := pv.save(ctx, tx, p.ws, rev); err != nil {
				return err
			}
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
		out.Notes = append(reviewNotes(acc, rev, d.State, now, now.Add(p.ws.GroupWindow)), networkNotes(acc, out.Current.Text, out.Media)...)
		return nil
	})
	return out, err
}

// Withdraw withdraws a draft that is not yet approved.
// Errors: ENOTFOUND, EUNAUTHORIZED, ECONFLICT (approved or withdrawn).
func (s *Service) Withdraw(ctx context.Context, a Actor, draftID int64) (*DraftView, error) {
	var out *DraftView
	err := s.changeDraft(ctx, a, "draft.withdraw", draftID, func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
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

// sortMembers orders members by ID so outbox rows come out deterministically.
func sortMembers(ms []*Member) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
}

// CommentError checks a decision's comment by the rule Decide applies (a
// rejection needs one; an approval's is optional, blank being none), so a
// channel can show the error next to the field before it queues the
// decision. Errors: EINVALID.
func (s *Service) CommentError(v Verdict, comment string) error {
	return decisionCommentError(v, comment)
}

func decisionCommentError(v Verdict, comment string) error {
	if v == VerdictReject {
		return validateComment(comment, true)
	}
	return approvalCommentError(comment)
}

func approvalCommentError(comment string) error {
	if strings.TrimSpace(comment) == "" {
		return nil
	}
	return validateComment(comment, false)
}

// DraftField names a field of DraftInput, for channels that show an error
// next to the field it is about (Slack modals).
type DraftField string

const (
	FieldText     DraftField = "text"
	FieldMedia    DraftField = "media"
	FieldSchedule DraftField = "schedule"
)

// InputErrors checks a submission or revision field by field with the very
// rules Submit and Revise apply, and returns the error of each field that
// breaks one (an empty map when the content is acceptable). Access and the
// account's approvers are checked by Submit and Revise themselves.
func (s *Service) InputErrors(in DraftInput) map[DraftField]error {
	errs := map[DraftField]error{}
	if err := s.validateInput(DraftInput{Text: in.Text}); err != nil {
		errs[FieldText] = err
	}
	const ok = "x" // a text that passes, to check the other fields alone
	if err := s.validateInput(DraftInput{Text: ok, MediaURLs: in.MediaURLs}); err != nil {
		errs[FieldMedia] = err
	}
	if err := s.validateInput(DraftInput{Text: ok, ScheduledAt: in.ScheduledAt}); err != nil {
		errs[FieldSchedule] = err
	}
	return errs
}
