package approvals

import (
	"context"
	"time"
)

// Metrics receives the core's operational counts. The core calls it when
// set (Service.Metrics) and never depends on what it does; package metrics
// implements it for Prometheus. Implementations must be safe for
// concurrent use and must not block.
type Metrics interface {
	// Decision counts one call to decide: the channel it came through, the
	// verdict asked for, and its outcome (see DecisionOutcome).
	Decision(ch Channel, verdict Verdict, outcome string)
	// Reminder counts one reminder queued, by kind (e.g. "internal", "client").
	Reminder(kind string)
	// Deadline counts one deadline policy applied, by policy ("expire",
	// "auto_approve", "escalate").
	Deadline(policy string)
	// Refusal counts one refusal of a caller the core could not identify;
	// written is false when the per-source bound counted it without a row.
	Refusal(written bool)
}

// DecisionOutcome names the outcome of a Decide call for metrics:
// "approved", "rejected", "repeat", or the error's Reason or Code
// ("revised", "decided", "withdrawn", "unauthorized", "invalid", ...).
func DecisionOutcome(res *DecisionResult, err error) string {
	switch {
	case err != nil:
		if r := ErrorReason(err); r != "" {
			return r
		}
		return ErrorCode(err)
	case res == nil:
		return EINTERNAL
	case res.Noop:
		return "repeat"
	}
	return pastTense(res.Decision.Verdict)
}

// observeDecision reports a Decide call to s.Metrics.
func (s *Service) observeDecision(ch Channel, v Verdict, res *DecisionResult, err error) {
	if s.Metrics != nil {
		s.Metrics.Decision(ch, v, DecisionOutcome(res, err))
	}
}

// OutboxStat is the depth of one (channel, state) of the outbox: how many
// messages, and when the oldest of them was created.
type OutboxStat struct {
	Channel Channel     `json:"channel"`
	State   OutboxState `json:"state"`
	Count   int64       `json:"count"`
	Oldest  time.Time   `json:"oldest"`
}

// OutboxStatter reports the depth of the outbox's pending and dead
// messages; the store implements it outside any transaction.
type OutboxStatter interface {
	OutboxStats(ctx context.Context) ([]OutboxStat, error)
}
