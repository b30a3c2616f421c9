package approvals

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// DeadlinePolicy is what happens to a draft still waiting on a tier at its
// deadline: the scheduled time of the revision minus the account's
// deadline margin, or, for an unscheduled revision, decide-within after the
// draft entered the tier (no deadline when that is unset).
type DeadlinePolicy string

const (
	DeadlineNone        DeadlinePolicy = "none"         // nothing happens; reminders go on
	DeadlineExpire      DeadlinePolicy = "expire"       // the draft becomes expired; the author is told
	DeadlineAutoApprove DeadlinePolicy = "auto-approve" // the policy approves the draft; author and approvers are told
	DeadlineEscalate    DeadlinePolicy = "escalate"     // the backup approver joins the tier for this draft and is asked
)

// DeadlinePolicies lists every policy.
var DeadlinePolicies = []DeadlinePolicy{DeadlineNone, DeadlineExpire, DeadlineAutoApprove, DeadlineEscalate}

// DefaultDeadlineMargin is the deadline margin of a new account.
const DefaultDeadlineMargin = 15 * time.Minute

// PolicyActor names the deadline policy where a person's name would go:
// the approver of its decisions, the actor of its audit entries.
const PolicyActor = "Signoff policy"

// ParseDeadlinePolicy parses a policy name. Errors: EINVALID.
func ParseDeadlinePolicy(s string) (DeadlinePolicy, error) {
	for _, p := range DeadlinePolicies {
		if string(p) == strings.ToLower(strings.TrimSpace(s)) {
			return p, nil
		}
	}
	return "", Errorf(EINVALID, "unknown deadline policy %q (want none, expire, auto-approve or escalate)", s)
}

// DeadlineAction records the one policy action on a (draft, revision, tier).
type DeadlineAction struct {
	WorkspaceID int64          `json:"workspace_id"`
	DraftID     int64          `json:"draft_id"`
	Revision    int            `json:"revision"`
	Tier        Tier           `json:"tier"`
	Policy      DeadlinePolicy `json:"policy"`
	Outcome     string         `json:"outcome"`
	DeadlineAt  time.Time      `json:"deadline_at"`
	AppliedAt   time.Time      `json:"applied_at"`
}

// DeadlineTx is the store's part for deadline policies (in ReminderTx).
type DeadlineTx interface {
	// DeadlineAction returns the action taken on (draft, revision, tier);
	// ENOTFOUND when none was.
	DeadlineAction(ctx context.Context, draftID int64, revision int, tier Tier) (*DeadlineAction, error)
	// CreateDeadlineAction records a; ECONFLICT when (draft, revision, tier)
	// has one already.
	CreateDeadlineAction(ctx context.Context, a *DeadlineAction) error
	// CreatePolicyDecision records an approval by the policy (ApproverID 0,
	// ChannelSystem) and fills ID and Approver; ECONFLICT when the policy
	// already decided that (draft, revision, tier).
	CreatePolicyDecision(ctx context.Context, d *Decision) error
	// AddBackupApprover makes the member an approver of one draft's revision
	// in one tier; ECONFLICT when they are one already.
	AddBackupApprover(ctx context.Context, workspaceID, draftID int64, revision int, tier Tier, memberID int64, at time.Time) error
	// BackupApprovers returns the members added to (draft, revision, tier).
	BackupApprovers(ctx context.Context, workspaceID, draftID int64, revision int, tier Tier) ([]*Member, error)
}

// DefaultMinReview is the review window of a new account.
const DefaultMinReview = 4 * time.Hour

// deadlineOf returns when the account's policy may act on the tier a clock
// runs for: the tier's deadline, but never before its approvers, asked when
// the clock started, had the account's review window.
func deadlineOf(acc *Account, rev *Revision, c *TierClock, asked time.Time) (time.Time, bool) {
	at, ok := tierDeadline(acc, rev, c.EnteredAt)
	if !ok {
		return time.Time{}, false
	}
	from := c.EnteredAt
	if asked.After(from) {
		from = asked
	}
	if earliest := from.Add(acc.MinReview); at.Before(earliest) {
		at = earliest
	}
	return at, true
}

// askedAt is when every approver of the tier entered at entered has been
// asked: a grouped request leaves after the workspace's window, a digest
// member reads it at their next digest. The review window runs from then,
// so no policy stands in for an approver who was not asked yet.
func (s *Service) askedAt(ctx context.Context, tx Tx, ws *Workspace, acc *Account, tier Tier, entered time.Time) (time.Time, error) {
	asked := entered.Add(ws.GroupWindow)
	approvers, err := tx.Approvers(ctx, ws.ID, acc.ID, tier)
	if err != nil {
		return time.Time{}, err
	}
	for _, m := range approvers {
		if !m.Active() || m.Notify != NotifyDigest {
			continue
		}
		at, err := nextDigest(m, entered)
		if err != nil {
			return time.Time{}, err
		}
		if at.After(asked) {
			asked = at
		}
	}
	return asked, nil
}

// tierDeadline is the deadline of a tier entered at entered: the scheduled
// time less the margin, or decide-within after it was entered.
func tierDeadline(acc *Account, rev *Revision, entered time.Time) (time.Time, bool) {
	switch {
	case acc.DeadlinePolicy == "" || acc.DeadlinePolicy == DeadlineNone:
		return time.Time{}, false
	case rev.ScheduledAt != nil:
		return rev.ScheduledAt.Add(-acc.DeadlineMargin), true
	case acc.DecideWithin > 0:
		return entered.Add(acc.DecideWithin), true
	}
	return time.Time{}, false
}

// reviewNotes says, for a revision just submitted in state st, which of its
// tiers the schedule leaves less than the review window: the policy waits
// for the window, so the post may miss its slot.
// asked is when the request goes out (after the workspace's grouping
// window); the window runs from then.
func reviewNotes(acc *Account, rev *Revision, st State, now, asked time.Time) []string {
	tier, ok := st.Tier()
	if !ok {
		return nil
	}
	var notes []string
	for t, ok := tier, true; ok; t, ok = nextTier(rev, t) {
		due, has := tierDeadline(acc, rev, now)
		earliest := asked.Add(acc.MinReview)
		if !has || !due.Before(earliest) {
			continue
		}
		notes = append(notes, fmt.Sprintf("the %s tier has until %s; %s will not act before %s (the account's review window is %s)",
			t, Stamp(due), acc.DeadlinePolicy, Stamp(earliest), acc.MinReview))
	}
	return notes
}

func (s *Service) deadlineDone(ctx context.Context, tx Tx, d *Draft, tier Tier) (bool, error) {
	_, err := tx.DeadlineAction(ctx, d.ID, d.Revision, tier)
	switch ErrorCode(err) {
	case "":
		return true, nil
	case ENOTFOUND:
		return false, nil
	}
	return false, err
}

// applyDeadline applies the account's policy to d, whose lock is held and
// whose deadline `at` passed while it waited on tier, and records the
// action and its outcome (audit log, draft history).
func (s *Service) applyDeadline(ctx context.Context, tx Tx, ws *Workspace, acc *Account, d *Draft, tier Tier, at time.Time) error {
	p := &principal{ws: ws}
	now := s.now()
	policy := acc.DeadlinePolicy
	why := fmt.Sprintf("no %s decision by the deadline, %s", tier, Stamp(at))
	var outcome string
	switch policy {
	case DeadlineExpire:
		d.moveTo(StateExpired)
		d.UpdatedAt = now
		if err := tx.UpdateDraft(ctx, d); err != nil {
			return err
		}
		if err := s.notifySuperseded(ctx, tx, p, acc, d, tier, EventExpired); err != nil {
			return err
		}
		author, err := tx.MemberByID(ctx, d.WorkspaceID, d.AuthorID)
		if err != nil {
			return err
		}
		n := Notification{Event: EventExpired, WorkspaceID: d.WorkspaceID, DraftID: d.ID, Revision: d.Revision, Tier: tier,
			Channel: ChannelSystem, Comment: "Expired: " + why + "."}
		if err := s.enqueue(ctx, tx, s.toMember(ws, n, author)); err != nil {
			return err
		}
		outcome = "expired: " + why
	case DeadlineAutoApprove:
		var err error
		if outcome, err = s.autoApprove(ctx, tx, p, acc, d, tier, why); err != nil {
			return err
		}
	case DeadlineEscalate:
		var err error
		if outcome, err = s.escalate(ctx, tx, ws, acc, d, tier, why); err != nil {
			return err
		}
	default:
		return Errorf(EINTERNAL, "account %q has unknown deadline policy %q", acc.Handle, policy)
	}
	action := &DeadlineAction{WorkspaceID: d.WorkspaceID, DraftID: d.ID, Revision: d.Revision, Tier: tier,
		Policy: policy, Outcome: outcome, DeadlineAt: at, AppliedAt: now}
	if err := tx.CreateDeadlineAction(ctx, action); err != nil {
		return err
	}
	if err := tx.AppendAudit(ctx, s.systemEntry(d, "deadline."+string(policy), outcome)); err != nil {
		return err
	}
	if s.Metrics != nil {
		s.Metrics.Deadline(strings.ReplaceAll(string(policy), "-", "_"))
	}
	return nil
}

// autoApprove records the policy's approval of the tier whose approvers
// were asked and had their window, tells those who had not decided, and
// moves the draft on: to the next required tier, whose approvers are then
// asked in turn, or to approved (which tells its author and hands it off).
func (s *Service) autoApprove(ctx context.Context, tx Tx, p *principal, acc *Account, d *Draft, tier Tier, why string) (string, error) {
	rev, err := s.revision(ctx, tx, d)
	if err != nil {
		return "", err
	}
	waiting, err := s.undecided(ctx, tx, acc, d, tier)
	if err != nil {
		return "", err
	}
	now := s.now()
	comment := "Approved by the account's deadline policy: " + why + "."
	dec := &Decision{DraftID: d.ID, Revision: d.Revision, Tier: tier, Verdict: VerdictApprove, Comment: comment,
		Channel: ChannelSystem, CreatedAt: now}
	if err := tx.CreatePolicyDecision(ctx, dec); err != nil {
		return "", err
	}
	if err := s.notifyDecision(ctx, tx, p, acc, d, dec); err != nil {
		return "", err
	}
	n := Notification{Event: EventAutoApproved, WorkspaceID: d.WorkspaceID, DraftID: d.ID, Revision: d.Revision, Tier: tier,
		Channel: ChannelSystem, Comment: comment}
	var msgs []*OutboxMessage
	for _, m := range waiting {
		msgs = append(msgs, s.toMember(p.ws, n, m)...)
	}
	if err := s.enqueue(ctx, tx, msgs); err != nil {
		return "", err
	}
	next, more := nextTier(rev, tier)
	if more {
		d.moveTo(pendingState(next))
	} else {
		d.moveTo(StateApproved)
	}
	d.UpdatedAt = now
	if err := tx.UpdateDraft(ctx, d); err != nil {
		return "", err
	}
	if err := s.enterState(ctx, tx, p, acc, d, ChannelSystem); err != nil {
		return "", err
	}
	if more {
		return fmt.Sprintf("auto-approved the %s tier; the %s tier is asked now: %s", tier, next, why), nil
	}
	return fmt.Sprintf("auto-approved (%s tier): %s", tier, why), nil
}

// escalate adds the account's backup approver to the tier for this draft's
// revision and asks them to decide, with fresh links and buttons. When the
// backup cannot decide here (none set, no access, a role of the other tier,
// the draft's author) nothing changes and the outcome says why.
func (s *Service) escalate(ctx context.Context, tx Tx, ws *Workspace, acc *Account, d *Draft, tier Tier, why string) (string, error) {
	if acc.BackupApproverID == 0 {
		return "not escalated: account " + acc.Handle + " has no backup approver; " + why, nil
	}
	m, err := tx.MemberByID(ctx, ws.ID, acc.BackupApproverID)
	if ErrorCode(err) == ENOTFOUND {
		return "not escalated: the backup approver is no longer a member; " + why, nil
	} else if err != nil {
		return "", err
	}
	if reason, err := s.backupProblem(ctx, tx, m, acc, d, tier); err != nil {
		return "", err
	} else if reason != "" {
		return "not escalated: " + reason + "; " + why, nil
	}
	if err := tx.AddBackupApprover(ctx, ws.ID, d.ID, d.Revision, tier, m.ID, s.now()); err != nil {
		return "", err
	}
	n := Notification{Event: EventEscalated, WorkspaceID: d.WorkspaceID, DraftID: d.ID, Revision: d.Revision, Tier: tier,
		Channel: ChannelSystem, Comment: "You were added as backup approver: " + why + "."}
	if err := s.enqueue(ctx, tx, s.toMember(ws, n, m)); err != nil {
		return "", err
	}
	return fmt.Sprintf("escalated: added backup approver %s to the %s tier; %s", m.Label(), tier, why), nil
}

// backupProblem says why member m cannot be the backup approver of d in
// tier, or "" when they can.
func (s *Service) backupProblem(ctx context.Context, tx Tx, m *Member, acc *Account, d *Draft, tier Tier) (string, error) {
	if t, ok := m.Role.ApproverTier(); !ok || t != tier {
		return fmt.Sprintf("backup approver %s (%s) cannot approve in the %s tier", m.Label(), m.Role, tier), nil
	}
	revs, err := tx.Revisions(ctx, d.ID)
	if err != nil {
		return "", err
	}
	if writers(d, revs)[m.ID] {
		return fmt.Sprintf("backup approver %s wrote the draft", m.Label()), nil
	}
	access, err := s.access(ctx, tx, m, acc)
	if err != nil {
		return "", err
	}
	if !canSee(m, access, d) {
		return fmt.Sprintf("backup approver %s has no access to account %q", m.Label(), acc.Handle), nil
	}
	if access.IsApprover(tier) {
		return fmt.Sprintf("backup approver %s already approves in the %s tier", m.Label(), tier), nil
	}
	return "", nil
}

// withBackupTiers adds to access the tiers an escalation made the member a
// backup approver of.
func withBackupTiers(access Access, tiers []Tier) Access {
	if len(tiers) == 0 {
		return access
	}
	have := map[Tier]bool{}
	for _, t := range access.Tiers {
		have[t] = true
	}
	for _, t := range tiers {
		have[t] = true
	}
	access.Tiers = sortedTiers(have)
	return access
}

// backupApproved reports whether an approver escalation added approved the
// tier: their approval completes it, whatever the tier's rule.
func backupApproved(backups []*Member, decisions []*Decision, rev int, tier Tier) bool {
	for _, m := range backups {
		for _, x := range decisions {
			if x.Revision == rev && x.Tier == tier && x.ApproverID == m.ID && x.Verdict == VerdictApprove {
				return true
			}
		}
	}
	return false
}

// setDeadlineSettings applies the reminder and deadline fields of set to
// acc (validated), appending what changed to changes. Called by SetAccount.
func (s *Service) setDeadlineSettings(ctx context.Context, tx Tx, p *principal, acc *Account, set AccountSettings, changes *[]string) (bool, error) {
	touched := set.RemindAfter != nil
	if set.RemindMax != nil {
		if *set.RemindMax < 0 || *set.RemindMax > MaxReminders {
			return false, Errorf(EINVALID, "remind-max must be from 0 to %d, got %d", MaxReminders, *set.RemindMax)
		}
		acc.RemindMax = *set.RemindMax
		*changes = append(*changes, fmt.Sprintf("remind-max=%d", acc.RemindMax))
		touched = true
	}
	if set.DeadlineMargin != nil {
		if *set.DeadlineMargin < 0 {
			return false, Errorf(EINVALID, "deadline-margin must not be negative")
		}
		acc.DeadlineMargin = *set.DeadlineMargin
		*changes = append(*changes, "deadline-margin="+acc.DeadlineMargin.String())
		touched = true
	}
	if set.DecideWithin != nil {
		if *set.DecideWithin != 0 && *set.DecideWithin < time.Minute {
			return false, Errorf(EINVALID, "decide-within must be at least 1m (or 0 for no deadline without a schedule)")
		}
		acc.DecideWithin = *set.DecideWithin
		*changes = append(*changes, "decide-within="+acc.DecideWithin.String())
		touched = true
	}
	if set.BackupApprover != nil {
		acc.BackupApproverID = 0
		label := "none"
		if email := normEmail(*set.BackupApprover); email != "" {
			m, err := s.memberByEmail(ctx, tx, p.ws, email)
			if err != nil {
				return false, err
			}
			if _, ok := m.Role.ApproverTier(); !ok {
				return false, Errorf(EINVALID, "backup approver %s is a %s and cannot approve; pick an owner, admin or client", m.Email, m.Role)
			}
			access, err := s.access(ctx, tx, m, acc)
			if err != nil {
				return false, err
			}
			if !access.Can(CapView) {
				return false, Errorf(EINVALID, "backup approver %s has no access to account %q; grant it first", m.Email, acc.Handle)
			}
			acc.BackupApproverID, label = m.ID, m.Email
		}
		*changes = append(*changes, "backup-approver="+label)
		touched = true
	}
	if set.MinReview != nil {
		if *set.MinReview < 0 || *set.MinReview > 30*24*time.Hour {
			return false, Errorf(EINVALID, "min-review must be from 0 to 720h, got %s", *set.MinReview)
		}
		acc.MinReview = *set.MinReview
		*changes = append(*changes, "min-review="+acc.MinReview.String())
		touched = true
	}
	if set.DeadlinePolicy != nil {
		policy, err := ParseDeadlinePolicy(string(*set.DeadlinePolicy))
		if err != nil {
			return false, err
		}
		acc.DeadlinePolicy = policy
		*changes = append(*changes, "deadline-policy="+string(policy))
		touched = true
	}
	if acc.DeadlinePolicy == DeadlineEscalate && acc.BackupApproverID == 0 {
		return false, Errorf(EINVALID, "account %q: the deadline policy escalate needs a backup approver (--backup-approver EMAIL)", acc.Handle)
	}
	return touched, nil
}
