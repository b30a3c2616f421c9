//go:build faults

package faults

import (
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// TestSinksDown takes the SMTP sink down for 60 s and has Slack answer 429
// with Retry-After for 30 s while 40 drafts (40 Slack posts, 80 emails) are
// submitted. Afterwards every message is delivered exactly once, and no
// Slack call came before the Retry-After of an earlier 429 had elapsed.
func TestSinksDown(t *testing.T) {
	const (
		smtpDown   = 60 * time.Second
		slackLimit = 30 * time.Second
		retryAfter = 5 * time.Second
	)
	h := newHarness(t)
	h.account("sink", "C0SINK", approvals.RuleAny, h.clients("s", 2))
	srv := startServe(t, "serve", h.env())

	h.mail.Stop()
	downAt := time.Now()
	h.slack.RateLimit(slackLimit, retryAfter, "chat.postMessage", "chat.update")
	h.submit("sink", 40)

	time.Sleep(time.Until(downAt.Add(smtpDown)))
	_, sentWhileDown, _ := h.outboxState()
	h.mail.Start()
	upAt := time.Now()
	h.waitDrained(60 * time.Second)
	healed := time.Since(upAt)

	rep := h.deliveries()
	h.exactlyOnce(rep)
	if rep.Emails != 80 || rep.SlackPosts != 40 {
		t.Errorf("%d emails and %d Slack posts, want 80 and 40", rep.Emails, rep.SlackPosts)
	}

	// Retry-After: after a 429 at T saying N seconds, no call before T+N.
	// The dispatcher sends to one channel from several workers, so calls
	// already under way when the 429 came may arrive just after it: those
	// (within inFlight of the 429) are counted apart, not as violations.
	const inFlight = 250 * time.Millisecond
	calls := h.slack.Calls()
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].At.Before(calls[j].At) })
	var notBefore, pausedAt time.Time
	limited, early, overlapped := 0, 0, 0
	var lastOK time.Time
	for _, c := range calls {
		if c.Method != "chat.postMessage" && c.Method != "chat.update" {
			continue
		}
		if c.At.Before(notBefore.Add(-10*time.Millisecond)) && c.At.Before(pausedAt.Add(inFlight)) {
			overlapped++
		} else if c.At.Before(notBefore.Add(-10 * time.Millisecond)) {
			early++
			if early <= 5 {
				t.Errorf("Slack called at %s, %s before the Retry-After of an earlier 429 elapsed",
					c.At.Sub(downAt).Round(time.Millisecond), notBefore.Sub(c.At).Round(time.Millisecond))
			}
		}
		if c.Status == http.StatusTooManyRequests {
			limited++
			if end := c.At.Add(c.RetryAfter); end.After(notBefore) {
				if !c.At.Before(notBefore) {
					pausedAt = c.At // a new pause, not one drawn by an in-flight call
				}
				notBefore = end
			}
		} else {
			lastOK = c.At
		}
	}
	if limited == 0 {
		t.Error("Slack never answered 429: the scenario did not happen")
	}
	if sentWhileDown > 0 {
		// Only Slack rows may have gone out while SMTP was down.
		t.Logf("%d rows sent while SMTP was down (Slack, after its 429s)", sentWhileDown)
	}
	retries := srv.LogCount("outbox retry")
	t.Logf("429s answered: %d; calls before Retry-After elapsed: %d (plus %d already in flight at the 429); retries logged: %d; emails delivered %s after SMTP came back; last Slack post %s after the 429s ended",
		limited, early, overlapped, retries, healed.Round(time.Millisecond), lastOK.Sub(downAt.Add(slackLimit)).Round(time.Millisecond))
	suite.Summary.Add(headFaults, "SMTP sink down %s and Slack answering 429 (Retry-After %s) for %s: %d 429s, %d delivery retries, drained %s after SMTP came back; %d Slack calls before Retry-After elapsed",
		smtpDown, retryAfter, slackLimit, limited, retries, healed.Round(100*time.Millisecond), early)
	suite.Summary.Add(headLost, "sinks down: %d/80 emails and %d/40 Slack posts delivered after the outage, %d twice",
		rep.Emails, rep.SlackPosts, rep.Duplicates)
}
