package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/signoff-app/signoff/approvals"
)

// RemindersConfig is the "reminders" section: how serve's sweeper runs.
type RemindersConfig struct {
	// Interval is how often the sweeper looks for due reminders and
	// deadlines (default 30s).
	Interval time.Duration `mapstructure:"interval"`
}

// DefaultRemindersInterval is reminders.interval's default.
const DefaultRemindersInterval = 30 * time.Second

func (c RemindersConfig) validate() []error {
	if c.Interval < time.Second || c.Interval > time.Hour {
		return []error{&ConfigError{Key: "reminders.interval", Message: fmt.Sprintf("must be from 1s to 1h, got %s", c.Interval)}}
	}
	return nil
}

// runSweeper applies reminders and deadline policies until ctx ends. Every
// serve replica runs one; they never act twice on one draft.
func (m *Main) runSweeper(ctx context.Context) {
	w := &approvals.Sweeper{Service: m.Service, Logger: m.Logger, Interval: m.Config.Reminders.Interval}
	if err := w.Run(ctx); err != nil {
		m.Logger.Error("reminder sweeper stopped", "err", err)
	}
}

// deadlineFlags are the reminder and deadline flags of `admin account set`.
type deadlineFlags struct {
	remindMax      int
	policy         approvals.DeadlinePolicy
	margin, within time.Duration
	minReview      time.Duration
	backup         string
}

func (f *deadlineFlags) add(fs *pflag.FlagSet) {
	fs.IntVar(&f.remindMax, "remind-max", approvals.DefaultRemindMax, "remind each tier's approvers at most this many times per revision (0: never)")
	fs.Var(policyValue{&f.policy}, "deadline-policy", "at the deadline: none, expire, auto-approve or escalate (to --backup-approver)")
	fs.DurationVar(&f.margin, "deadline-margin", approvals.DefaultDeadlineMargin, "the deadline of a scheduled draft is this long before its scheduled time")
	fs.DurationVar(&f.within, "decide-within", 0, "the deadline of an unscheduled draft is this long after it reached a tier (0: none)")
	fs.StringVar(&f.backup, "backup-approver", "", "member added to a tier at its deadline by the escalate policy (\"\" clears it)")
	fs.DurationVar(&f.minReview, "min-review", approvals.DefaultMinReview, "the deadline policy never acts on a tier before its approvers had this long")
}

func (f *deadlineFlags) apply(fs *pflag.FlagSet, set *approvals.AccountSettings) {
	if changed(fs, "remind-max") {
		set.RemindMax = &f.remindMax
	}
	if changed(fs, "deadline-policy") {
		set.DeadlinePolicy = &f.policy
	}
	if changed(fs, "deadline-margin") {
		set.DeadlineMargin = &f.margin
	}
	if changed(fs, "decide-within") {
		set.DecideWithin = &f.within
	}
	if changed(fs, "backup-approver") {
		set.BackupApprover = &f.backup
	}
	if changed(fs, "min-review") {
		set.MinReview = &f.minReview
	}
}

type policyValue struct{ p *approvals.DeadlinePolicy }

func (v policyValue) String() string {
	if v.p == nil || *v.p == "" {
		return string(approvals.DeadlineNone)
	}
	return string(*v.p)
}
func (v policyValue) Type() string { return "policy" }
func (v policyValue) Set(s string) error {
	p, err := approvals.ParseDeadlinePolicy(s)
	if err != nil {
		return fmt.Errorf("%s", approvals.ErrorMessage(err))
	}
	*v.p = p
	return nil
}

// describeDeadline says an account's reminder and deadline settings.
func describeDeadline(acc *approvals.Account) string {
	parts := []string{fmt.Sprintf("at most %d reminders", acc.RemindMax)}
	policy := acc.DeadlinePolicy
	if policy == "" {
		policy = approvals.DeadlineNone
	}
	d := "deadline policy " + string(policy)
	if policy != approvals.DeadlineNone {
		d += fmt.Sprintf(" (%s before the scheduled time", acc.DeadlineMargin)
		if acc.DecideWithin > 0 {
			d += fmt.Sprintf(", else %s after reaching a tier", acc.DecideWithin)
		}
		d += ")"
	}
	if acc.BackupApproverID != 0 {
		d += fmt.Sprintf(", backup approver member #%d", acc.BackupApproverID)
	}
	return strings.Join(append(parts, d, fmt.Sprintf("review window %s", acc.MinReview)), ", ")
}
