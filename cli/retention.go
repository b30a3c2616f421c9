package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/store"
)

// RetentionConfig is the "retention" section: how long serve keeps rows
// that only served delivery or deduplication, and the audit log. Each is a
// duration such as "30d", "36h" or "90m"; "0" or "off" keeps rows for ever.
type RetentionConfig struct {
	// Outbox keeps sent outbox messages (default 30d); pending and dead
	// ones are always kept. A message pruned before an event is replayed
	// would be sent again, so keep it longer than any replay you plan.
	Outbox string `mapstructure:"outbox"`
	// SlackDeliveries keeps the record of Slack deliveries acted on
	// (default 30d); Slack retries within minutes.
	SlackDeliveries string `mapstructure:"slack_deliveries"`
	// IdempotencyKeys keeps API idempotency keys (default 24h, the least:
	// a key answers for 24 hours).
	IdempotencyKeys string `mapstructure:"idempotency_keys"`
	// Audit keeps audit entries; unset or "off" (the default) keeps them
	// for ever.
	Audit string `mapstructure:"audit"`
	// Interval is how often serve prunes (default 1h).
	Interval time.Duration `mapstructure:"interval"`
}

// Retention defaults.
const (
	DefaultRetention         = "30d"
	DefaultRetentionInterval = time.Hour
)

// DefaultRetentionConfig is the "retention" section's defaults.
func DefaultRetentionConfig() RetentionConfig {
	return RetentionConfig{Outbox: DefaultRetention, SlackDeliveries: DefaultRetention, IdempotencyKeys: "24h", Interval: DefaultRetentionInterval}
}

// parseRetention reads a retention: a Go duration, or a whole number of
// days ("30d"); "", "0" and "off" keep for ever (0).
func parseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "0", "off":
		return 0, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > 36500 {
			return 0, fmt.Errorf("must be a positive number of days such as 30d, got %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("must be a duration such as 30d or 36h, or off, got %q", s)
	}
	return d, nil
}

// Retention returns the parsed retention; call it on a validated config.
func (c RetentionConfig) Retention() store.Retention {
	var r store.Retention
	r.Outbox, _ = parseRetention(c.Outbox)
	r.SlackDeliveries, _ = parseRetention(c.SlackDeliveries)
	r.IdempotencyKeys, _ = parseRetention(c.IdempotencyKeys)
	r.Audit, _ = parseRetention(c.Audit)
	return r
}

func (c RetentionConfig) validate() []error {
	var errs []error
	for _, f := range []struct{ key, val string }{
		{"retention.outbox", c.Outbox},
		{"retention.slack_deliveries", c.SlackDeliveries},
		{"retention.idempotency_keys", c.IdempotencyKeys},
		{"retention.audit", c.Audit},
	} {
		d, err := parseRetention(f.val)
		if err != nil {
			errs = append(errs, &ConfigError{Key: f.key, Message: err.Error()})
			continue
		}
		if f.key == "retention.idempotency_keys" && d != 0 && d < approvals.IdempotencyTTL {
			errs = append(errs, &ConfigError{Key: f.key, Message: fmt.Sprintf("must be at least %s (a key answers that long), got %q", approvals.IdempotencyTTL, f.val)})
		}
	}
	if c.Interval < time.Minute || c.Interval > 7*24*time.Hour {
		errs = append(errs, &ConfigError{Key: "retention.interval", Message: fmt.Sprintf("must be from 1m to 168h, got %s", c.Interval)})
	}
	return errs
}

// runPruner prunes per retention.* every retention.interval until ctx
// ends, starting soon after serve starts. Replicas may prune at once: the
// deletes do not conflict.
func (m *Main) runPruner(ctx context.Context) {
	r := m.Config.Retention.Retention()
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pruned, err := m.DB.Prune(ctx, r, time.Now(), false)
		if err != nil && ctx.Err() == nil {
			m.Logger.Error("prune", "err", err)
		}
		for _, p := range pruned {
			if p.Rows > 0 {
				m.Logger.Info("pruned", "table", p.Table, "rows", p.Rows, "before", p.Before)
			}
		}
		t.Reset(m.Config.Retention.Interval)
	}
}

func (a *app) pruneCommand() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "prune [--dry-run]",
		Short: "Delete what the retention.* settings no longer keep (serve does it every retention.interval)",
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if _, err := a.service(cmd.Context()); err != nil {
				return err
			}
			pruned, err := a.main.DB.Prune(cmd.Context(), a.cfg.Retention.Retention(), time.Now(), dryRun)
			if err != nil {
				return err
			}
			verb := "DELETED"
			if dryRun {
				verb = "WOULD DELETE"
			}
			return printList(a, pruned, "nothing to prune: every retention.* is off", "TABLE\tOLDER THAN\t"+verb,
				func(p store.Pruned) string {
					return fmt.Sprintf("%s\t%s\t%d", p.Table, p.Before.Format(time.RFC3339), p.Rows)
				})
		}),
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count what would be deleted, delete nothing")
	return cmd
}
