package approvals

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Reminder defaults, the column defaults of a new account.
const (
	DefaultRemindAfter = 24 * time.Hour
	DefaultRemindMax   = 3
	// MaxReminders caps RemindMax.
	MaxReminders = 100
)

// TierClock is the clock of the tier a draft waits on: when the draft
// entered it (revision and tier) and when the sweeper should look at it
// next. DueAt is only a wake-up time; the sweeper recomputes what is due
// from the account's current settings each time it looks.
type TierClock struct {
	DraftID     int64
	WorkspaceID int64
	Revision    int
	Tier        Tier
	EnteredAt   time.Time
	DueAt       *time.Time // nil: nothing left to do in this tier
}

// Reminder is one reminder round sent for a (draft, revision, tier).
type Reminder struct {
	WorkspaceID int64     `json:"workspace_id"`
	DraftID     int64     `json:"draft_id"`
	Revision    int       `json:"revision"`
	Tier        Tier      `json:"tier"`
	Number      int       `json:"number"`     // from 1
	Recipients  int       `json:"recipients"` // approvers reminded
	SentAt      time.Time `json:"sent_at"`
}

// ReminderTx is the store's part for reminders and deadlines (embedded in
// Tx). Every write to a draft's clock, reminders or deadline actions is made
// with the draft's row lock held (LockDraft or ClaimDueDraft), so a reader
// holding that lock sees them fresh.
type ReminderTx interface {
	DeadlineTx
	// SetTierClock creates or replaces the draft's clock.
	SetTierClock(ctx context.Context, c *TierClock) error
	// TierClock returns the draft's clock; ENOTFOUND when it has none.
	TierClock(ctx context.Context, workspaceID, draftID int64) (*TierClock, error)
	// SetClockDue sets when the sweeper should look at the draft next (nil:
	// never, until the draft enters another tier).
	SetClockDue(ctx context.Context, workspaceID, draftID int64, due *time.Time) error
	// ClaimDueDraft returns the draft whose clock is due earliest (due_at <=
	// now), with its row lock held until the transaction ends, skipping drafts
	// another transaction holds (FOR NO KEY UPDATE SKIP LOCKED), so concurrent
	// sweepers never work on one draft at once; ENOTFOUND when none is due.
	ClaimDueDraft(ctx context.Context, now time.Time) (*Draft, error)
	// WakeAccountClocks makes the clocks of the account's pending drafts due
	// at `at`, taking their drafts' locks: their settings changed.
	WakeAccountClocks(ctx context.Context, workspaceID, accountID int64, at time.Time) error
	// Reminders returns the reminders of (draft, revision, tier), by number.
	Reminders(ctx context.Context, draftID int64, revision int, tier Tier) ([]*Reminder, error)
	// CreateReminder records r; ECONFLICT when its number was taken.
	CreateReminder(ctx context.Context, r *Reminder) error
}

// startClock starts the clock of the tier d just entered. Called by
// enterState with the draft's lock held. Nothing reads the clock back: a
// decision (callTx) holds it to the commit.
func (s *Service) startClock(ctx context.Context, tx Tx, acc *Account, d *Draft, tier Tier) error {
	c := &TierClock{DraftID: d.ID, WorkspaceID: d.WorkspaceID, Revision: d.Revision, Tier: tier, EnteredAt: s.now()}
	rev, err := s.revision(ctx, tx, d)
	if err != nil {
		return err
	}
	// The sweep at that time learns when the tier's approvers are asked
	// (askedAt) and waits for them if it must.
	c.DueAt = nextDue(acc, rev, c, c.EnteredAt, nil, false)
	return tx.SetTierClock(ctx, c)
}

// nextReminder returns when the next reminder of a tier is due: remind_after
// after the tier was entered or the last reminder went out, as long as
// fewer than remind_max went out.
func nextReminder(acc *Account, c *TierClock, sent []*Reminder) (time.Time, bool) {
	if acc.RemindAfter <= 0 || len(sent) >= acc.RemindMax {
		return time.Time{}, false
	}
	from := c.EnteredAt
	if n := len(sent); n > 0 && sent[n-1].SentAt.After(from) {
		from = sent[n-1].SentAt
	}
	return from.Add(acc.RemindAfter), true
}

// nextDue is the earliest of the next reminder and the deadline, unless the
// deadline was acted on already; nil when neither is left.
func nextDue(acc *Account, rev *Revision, c *TierClock, asked time.Time, sent []*Reminder, deadlineDone bool) *time.Time {
	var due *time.Time
	if t, ok := nextReminder(acc, c, sent); ok {
		due = &t
	}
	if t, ok := deadlineOf(acc, rev, c, asked); ok && !deadlineDone && (due == nil || t.Before(*due)) {
		due = &t
	}
	return due
}

// Sweeper applies reminders and deadline policies to drafts waiting on a
// tier, using the Service's clock. Several sweepers (in one process or in
// several `serve` replicas) may run on one database: each draft is worked on
// by one of them at a time (ClaimDueDraft skips locked drafts), in one
// transaction that writes the outbox rows and audit entries, and the
// database refuses a second reminder of one number or a second policy
// action on one (draft, revision, tier).
type Sweeper struct {
	Service  *Service
	Logger   *slog.Logger
	Interval time.Duration // poll interval (default 30s)
	Batch    int           // drafts per RunOnce at most (default 100)
	// Retry is how long a draft whose sweep failed waits before the next
	// try (default 5m), so one broken draft cannot stall the others.
	Retry time.Duration
}

func (w *Sweeper) defaults() {
	if w.Interval <= 0 {
		w.Interval = 30 * time.Second
	}
	if w.Batch <= 0 {
		w.Batch = 100
	}
	if w.Retry <= 0 {
		w.Retry = 5 * time.Minute
	}
	if w.Logger == nil {
		w.Logger = w.Service.Logger
	}
}

// Run sweeps every Interval until ctx is done.
func (w *Sweeper) Run(ctx context.Context) error {
	w.defaults()
	for {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.Logger.WarnContext(ctx, "sweep", "err", err)
		}
		if n > 0 && err == nil {
			continue // a full batch: more may be due
		}
		w.Service.FlushRefusals(ctx)
		t := time.NewTimer(w.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// RunOnce works through the drafts that are due now, up to Batch of them,
// and returns how many reminders and policy actions it applied. A draft
// whose sweep fails is logged and retried after Retry; the error returned
// is the first such failure.
func (w *Sweeper) RunOnce(ctx context.Context) (int, error) {
	w.defaults()
	acted := 0
	var first error
	for range w.Batch {
		n, d, err := w.Service.sweepOne(ctx)
		acted += n
		if err != nil {
			if ctx.Err() != nil {
				return acted, ctx.Err()
			}
			if d == nil {
				return acted, fmt.Errorf("sweep: %w", err)
			}
			w.Logger.ErrorContext(ctx, "sweep draft", "draft", d.ID, "err", err)
			if first == nil {
				first = fmt.Errorf("sweep draft %d: %w", d.ID, err)
			}
			if rerr := w.Service.postpone(ctx, d, w.Retry); rerr != nil {
				return acted, fmt.Errorf("postpone draft %d: %w", d.ID, rerr)
			}
			continue
		}
		if d == nil {
			break // nothing due
		}
	}
	return acted, first
}

// sweepOne claims the draft due first and applies what is due on it, in one
// transaction. It returns the number of actions, and the draft (nil when
// nothing was due).
func (s *Service) sweepOne(ctx context.Context) (acted int, claimed *Draft, err error) {
	err = s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		acted, claimed = 0, nil
		now := s.now()
		d, err := tx.ClaimDueDraft(ctx, now)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		c := *d
		claimed = &c
		acted, err = s.sweepDraft(ctx, tx, d, now)
		return err
	})
	if err != nil {
		acted = 0 // rolled back
	}
	return acted, claimed, err
}

// sweepDraft applies, to a draft whose lock is held, the deadline policy
// when its deadline passed and the next reminder when it is due, then sets
// the clock's next wake-up.
func (s *Service) sweepDraft(ctx context.Context, tx Tx, d *Draft, now time.Time) (int, error) {
	c, err := tx.TierClock(ctx, d.WorkspaceID, d.ID)
	if err != nil {
		return 0, err
	}
	if c.DueAt == nil || c.DueAt.After(now) {
		return 0, nil // another sweeper was first
	}
	tier, pending := d.State.Tier()
	if !pending || tier != c.Tier || d.Revision != c.Revision {
		return 0, tx.SetClockDue(ctx, d.WorkspaceID, d.ID, nil) // the draft moved on
	}
	ws, err := tx.WorkspaceByID(ctx, d.WorkspaceID)
	if err != nil {
		return 0, err
	}
	acc, err := tx.AccountByID(ctx, d.WorkspaceID, d.AccountID)
	if err != nil {
		return 0, err
	}
	rev, err := s.revision(ctx, tx, d)
	if err != nil {
		return 0, err
	}
	acted := 0
	done, err := s.deadlineDone(ctx, tx, d, tier)
	if err != nil {
		return 0, err
	}
	asked, err := s.askedAt(ctx, tx, ws, acc, tier, c.EnteredAt)
	if err != nil {
		return 0, err
	}
	if at, ok := deadlineOf(acc, rev, c, asked); ok && !done && !now.Before(at) {
		if err := s.applyDeadline(ctx, tx, ws, acc, d, tier, at); err != nil {
			return 0, err
		}
		acted++
		done = true
		if cur, still := d.State.Tier(); !still || cur != tier {
			// Expired or approved: the clock of a next tier (if any) was
			// started by enterState; this one is over.
			if !still {
				return acted, tx.SetClockDue(ctx, d.WorkspaceID, d.ID, nil)
			}
			return acted, nil
		}
	}
	sent, err := tx.Reminders(ctx, d.ID, d.Revision, tier)
	if err != nil {
		return 0, err
	}
	if at, ok := nextReminder(acc, c, sent); ok && !now.Before(at) {
		r, err := s.remind(ctx, tx, ws, acc, d, tier, len(sent)+1)
		if err != nil {
			return 0, err
		}
		sent = append(sent, r)
		acted++
	}
	return acted, tx.SetClockDue(ctx, d.WorkspaceID, d.ID, nextDue(acc, rev, c, asked, sent, done))
}

// remind sends reminder number n of the tier to its approvers who have not
// decided on the current revision: an email with fresh links, and in Slack a
// mention in the request's thread (when it was posted to a channel) and a
// DM. The outbox keys carry the number (message), so each reminder is sent
// once.
func (s *Service) remind(ctx context.Context, tx Tx, ws *Workspace, acc *Account, d *Draft, tier Tier, n int) (*Reminder, error) {
	waiting, err := s.undecided(ctx, tx, acc, d, tier)
	if err != nil {
		return nil, err
	}
	now := s.now()
	r := &Reminder{WorkspaceID: d.WorkspaceID, DraftID: d.ID, Revision: d.Revision, Tier: tier, Number: n, Recipients: len(waiting), SentAt: now}
	if err := tx.CreateReminder(ctx, r); err != nil {
		return nil, err
	}
	note := Notification{Event: EventReminder, WorkspaceID: d.WorkspaceID, DraftID: d.ID, Revision: d.Revision, Tier: tier,
		Channel: ChannelSystem, Reminder: n}
	var msgs []*OutboxMessage
	if len(waiting) > 0 && slackOn(ws) {
		target := acc.SlackChannel
		if tier == TierInternal {
			target = ws.InternalChannel
		}
		if target != "" {
			thread := note
			for _, m := range waiting {
				if m.SlackUserID != "" && !m.Digest() { // a digest member hears at their digest time
					thread.Mentions = append(thread.Mentions, m.SlackUserID)
				}
			}
			if len(thread.Mentions) > 0 {
				msgs = append(msgs, s.message(ChannelSlack, thread, 0, target))
			}
		}
	}
	for _, m := range waiting {
		msgs = append(msgs, s.toMember(ws, note, m)...)
	}
	if err := s.enqueue(ctx, tx, msgs); err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("reminder %d of %d in the %s tier to %d approver(s)", n, acc.RemindMax, tier, len(waiting))
	if len(waiting) > 0 {
		detail += ": " + labels(waiting)
	}
	if err := tx.AppendAudit(ctx, s.systemEntry(d, "draft.remind", detail)); err != nil {
		return nil, err
	}
	if s.Metrics != nil {
		s.Metrics.Reminder(string(tier))
	}
	return r, nil
}

// undecided returns the approvers of the tier (the account's and any the
// policy added to this draft) who have not decided on the current revision.
func (s *Service) undecided(ctx context.Context, tx Tx, acc *Account, d *Draft, tier Tier) ([]*Member, error) {
	approvers, err := s.tierApprovers(ctx, tx, acc, d, tier)
	if err != nil {
		return nil, err
	}
	decisions, err := tx.Decisions(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	decided := map[int64]bool{}
	for _, x := range decisions {
		if x.Revision == d.Revision && x.Tier == tier {
			decided[x.ApproverID] = true
		}
	}
	var out []*Member
	for _, m := range approvers {
		if !decided[m.ID] {
			out = append(out, m)
		}
	}
	return out, nil
}

// tierApprovers is eligible plus the approvers escalation added to d's
// current revision in the tier, sorted by ID.
func (s *Service) tierApprovers(ctx context.Context, tx Tx, acc *Account, d *Draft, tier Tier) ([]*Member, error) {
	approvers, err := s.eligible(ctx, tx, acc, tier, d)
	if err != nil {
		return nil, err
	}
	extra, err := tx.BackupApprovers(ctx, d.WorkspaceID, d.ID, d.Revision, tier)
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	for _, m := range approvers {
		seen[m.ID] = true
	}
	revs, err := tx.Revisions(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	wrote := writers(d, revs)
	for _, m := range extra {
		if !seen[m.ID] && !wrote[m.ID] {
			approvers = append(approvers, m)
		}
	}
	sortMembers(approvers)
	return approvers, nil
}

// systemEntry is an audit entry for something the service did by itself.
func (s *Service) systemEntry(d *Draft, action, detail string) *AuditEntry {
	return &AuditEntry{WorkspaceID: d.WorkspaceID, At: s.now(), Actor: PolicyActor, Channel: ChannelSystem, Action: action,
		Outcome: OutcomeOK, DraftID: d.ID, Revision: d.Revision, AccountID: d.AccountID, Detail: detail}
}

// postpone makes a draft whose sweep failed due again after wait.
func (s *Service) postpone(ctx context.Context, d *Draft, wait time.Duration) error {
	return s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if _, err := tx.LockDraft(ctx, d.WorkspaceID, d.ID); err != nil {
			return err
		}
		due := s.now().Add(wait)
		return tx.SetClockDue(ctx, d.WorkspaceID, d.ID, &due)
	})
}

func labels(ms []*Member) string {
	out := ""
	for i, m := range ms {
		if i > 0 {
			out += ", "
		}
		out += m.Label()
	}
	return out
}
