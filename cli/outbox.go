package cli

import (
	"fmt"
	"time"

	"github.com/signoff-app/signoff/outbox"
)

// OutboxConfig is the "outbox" section: how serve's dispatcher delivers
// outbox messages. A zero (unset) value keeps the dispatcher's default.
// Operators rarely need these; the fault suite sets a short lease and
// retry delay so that a crash or an outage heals within its time budget.
type OutboxConfig struct {
	// Lease is how long a claimed row stays with the process that claimed
	// it; after a crash, its rows are retried once the lease runs out
	// (default 2m). It must exceed the time two batches take to deliver
	// (the next batch is claimed while one is delivered): a row whose lease
	// ran out before its send is left to the next claim, unsent.
	Lease time.Duration `mapstructure:"lease"`
	// BaseDelay is the first retry delay, doubled at each attempt (default 5s).
	BaseDelay time.Duration `mapstructure:"base_delay"`
	// MaxDelay caps the retry delay (default 1h).
	MaxDelay time.Duration `mapstructure:"max_delay"`
	// MaxAttempts is how many attempts a row gets before it goes dead
	// (default 8).
	MaxAttempts int `mapstructure:"max_attempts"`
	// Workers is how many messages of one channel are delivered at once
	// (default 16); messages of one draft to one recipient stay in order.
	// With email, smtp.connections caps the SMTP sessions they share. A
	// crash may repeat the sends under way, at most this many per channel.
	Workers int `mapstructure:"workers"`
}

func (c OutboxConfig) validate() []error {
	var errs []error
	if c.Lease < 0 || (c.Lease > 0 && c.Lease < time.Second) {
		errs = append(errs, &ConfigError{Key: "outbox.lease", Message: fmt.Sprintf("must be at least 1s, got %s", c.Lease)})
	}
	if c.BaseDelay < 0 {
		errs = append(errs, &ConfigError{Key: "outbox.base_delay", Message: fmt.Sprintf("must be a positive duration, got %s", c.BaseDelay)})
	}
	if c.MaxDelay < 0 || (c.MaxDelay > 0 && c.MaxDelay < c.BaseDelay) {
		errs = append(errs, &ConfigError{Key: "outbox.max_delay", Message: fmt.Sprintf("must be positive and at least outbox.base_delay, got %s", c.MaxDelay)})
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, &ConfigError{Key: "outbox.max_attempts", Message: fmt.Sprintf("must be a positive number, got %d", c.MaxAttempts)})
	}
	if c.Workers < 0 || c.Workers > 64 {
		errs = append(errs, &ConfigError{Key: "outbox.workers", Message: fmt.Sprintf("must be from 1 to 64, got %d", c.Workers)})
	}
	return errs
}

// apply sets the configured values on d; unset ones keep d's defaults.
func (c OutboxConfig) apply(d *outbox.Dispatcher) {
	d.Lease, d.BaseDelay, d.MaxDelay, d.MaxAttempts, d.Workers = c.Lease, c.BaseDelay, c.MaxDelay, c.MaxAttempts, c.Workers
}
