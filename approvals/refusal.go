package approvals

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"
)

// What a caller who is nobody (a forged Slack signature, a made-up link
// token) can make Signoff write is bounded: every field of an audit entry
// is capped, and past refusalBurst refusals a minute from one source the
// rest are counted, and the count written once, instead of a row each.
const (
	refusalBurst      = 20
	refusalWindow     = time.Minute
	maxRefusalSources = 10_000
)

// RecordRefusal audits an attempt a channel refused before it could reach
// the core (a forged Slack signature, a tampered link token): who is known
// is in a, what and why in action and detail. It never fails the caller;
// a failure to write is logged.
func (s *Service) RecordRefusal(ctx context.Context, a Actor, action, detail string) {
	now := s.now()
	write, summaries := s.refusals.admit(a.Meta.IP, now)
	if s.Metrics != nil {
		s.Metrics.Refusal(write)
	}
	var entries []*AuditEntry
	for _, x := range summaries {
		entries = append(entries, x.entry(now))
	}
	if write {
		entries = append(entries, &AuditEntry{At: now, Actor: a.label(), Channel: a.Channel, Action: action,
			Outcome: OutcomeRefused, Detail: detail, Meta: a.Meta, WorkspaceID: a.WorkspaceID})
	}
	s.appendAudit(ctx, entries)
}

// FlushRefusals writes the counts of refusals counted but not written whose
// minute is over. The sweeper calls it, so a flood that stopped is still
// recorded.
func (s *Service) FlushRefusals(ctx context.Context) {
	now := s.now()
	var entries []*AuditEntry
	for _, x := range s.refusals.flush(now) {
		entries = append(entries, x.entry(now))
	}
	s.appendAudit(ctx, entries)
}

func (s *Service) appendAudit(ctx context.Context, entries []*AuditEntry) {
	if len(entries) == 0 {
		return
	}
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		for _, e := range entries {
			e.bound()
			if err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.Logger.ErrorContext(ctx, "audit refused attempt", "entries", len(entries), "err", err)
	}
}

// bound caps each field a caller supplies.
func (e *AuditEntry) bound() {
	e.Actor = capText(e.Actor, 200)
	e.Detail = capText(e.Detail, 500)
	e.Meta.IP = capText(e.Meta.IP, 64)
	e.Meta.UserAgent = capText(e.Meta.UserAgent, 256)
	e.Meta.RequestID = capText(e.Meta.RequestID, 80)
	e.Meta.SlackUserID = capText(e.Meta.SlackUserID, 32)
	e.Meta.SlackTeamID = capText(e.Meta.SlackTeamID, 32)
}

// capText cuts s to at most n runes, marking the cut, and replaces what is
// not UTF-8.
func capText(s string, n int) string {
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // invalid bytes become U+FFFD
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// refusalLimiter counts refusals per source and minute.
type refusalLimiter struct {
	mu      sync.Mutex
	sources map[string]*refusalCount
}

type refusalCount struct {
	source  string
	start   time.Time
	written int
	counted int // refused, not written
}

func (c *refusalCount) entry(now time.Time) *AuditEntry {
	return &AuditEntry{At: now, Actor: "unauthenticated", Channel: ChannelSystem, Action: "refusal.counted",
		Outcome: OutcomeRefused, Meta: Meta{IP: c.source},
		Detail: fmt.Sprintf("%d more refusals from %s between %s and %s were counted, not written one by one",
			c.counted, c.source, c.start.Format(time.RFC3339), c.start.Add(refusalWindow).Format(time.RFC3339))}
}

func newRefusalLimiter() *refusalLimiter {
	return &refusalLimiter{sources: map[string]*refusalCount{}}
}

// admit says whether to write a refusal from source at now, and returns the
// finished counts to write first (the source's last minute, and any other
// whose minute is over when the table is full).
func (l *refusalLimiter) admit(source string, now time.Time) (bool, []refusalCount) {
	if source == "" {
		source = "unknown"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var done []refusalCount
	c, ok := l.sources[source]
	if ok && now.Sub(c.start) >= refusalWindow {
		if c.counted > 0 {
			done = append(done, *c)
		}
		delete(l.sources, source)
		ok = false
	}
	if !ok {
		if len(l.sources) >= maxRefusalSources {
			done = append(done, l.flushLocked(now)...)
		}
		if len(l.sources) >= maxRefusalSources {
			source = "other sources" // the table is full of live minutes: pool the rest
			if c, ok = l.sources[source]; ok {
				c.counted++
				return false, done
			}
		}
		c = &refusalCount{source: source, start: now}
		l.sources[source] = c
	}
	if c.written < refusalBurst {
		c.written++
		return true, done
	}
	c.counted++
	return false, done
}

func (l *refusalLimiter) flush(now time.Time) []refusalCount {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked(now)
}

func (l *refusalLimiter) flushLocked(now time.Time) []refusalCount {
	var done []refusalCount
	for k, c := range l.sources {
		if now.Sub(c.start) < refusalWindow {
			continue
		}
		if c.counted > 0 {
			done = append(done, *c)
		}
		delete(l.sources, k)
	}
	return done
}
