//go:build faults

package faults

import (
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// TestKillDuringDelivery kills `signoff serve` with SIGKILL twice while it
// delivers 1,000 outbox rows (500 approval requests, each one Slack post
// and one email) and restarts it each time. Every row is delivered. A row
// whose delivery was in flight at the kill (the sink took it, the process
// died before marking it sent) is sent again after the lease: at most the
// sends under way at once per kill (inFlightMax), and an email's copy
// carries the same Message-ID, which receiving systems fold into one.
func TestKillDuringDelivery(t *testing.T) {
	h := newHarness(t)
	h.account("crash", "C0CRASH", approvals.RuleAny, h.clients("k", 1))
	h.submit("crash", 500)
	pending, _, _ := h.outboxState()
	if pending != 1000 {
		t.Fatalf("%d outbox rows pending, want 1000", pending)
	}
	start := time.Now()
	srv := startServe(t, "serve", h.env())
	kills := 0
	var leased []int
	for _, at := range []int{250, 650} {
		h.waitSent(at, 60*time.Second)
		srv.Kill()
		kills++
		var n int
		h.ok(h.db.Pool().QueryRow(h.ctx, `SELECT count(*) FROM outbox WHERE state = 'pending' AND lease_until > now()`).Scan(&n))
		leased = append(leased, n)
		srv.Start()
	}
	h.waitDrained(90 * time.Second)
	took := time.Since(start)
	rep := h.deliveries()
	if len(rep.Missing) > 0 {
		t.Errorf("%d deliveries lost, e.g. %v", len(rep.Missing), rep.Missing[:min(5, len(rep.Missing))])
	}
	if len(rep.Unexpected) > 0 {
		t.Errorf("%d unexpected deliveries, e.g. %v", len(rep.Unexpected), rep.Unexpected[:min(5, len(rep.Unexpected))])
	}
	if rep.Expected != 1000 {
		t.Errorf("%d deliveries owed, want 1000", rep.Expected)
	}
	// Only a send under way at the kill can be ambiguous (the sink took
	// it, the sent mark was never written): at most inFlightMax per kill.
	if rep.Duplicates > kills*inFlightMax {
		t.Errorf("%d deliveries arrived twice after %d kills (%v); at most %d per kill may (the sends under way): are rows marked sent long after their send?",
			rep.Duplicates, kills, rep.Twice, inFlightMax)
	}
	t.Logf("kills: %d; rows leased by the killed process: %v; deliveries %d emails + %d Slack posts; in-flight duplicates %d (emails with the same Message-ID: %d); %s",
		kills, leased, rep.Emails, rep.SlackPosts, rep.Duplicates, rep.DupSameID, took.Round(time.Millisecond))
	suite.Summary.Add(headFaults, "kill -9 of serve ×%d while delivering 1,000 outbox rows (%v rows leased by the dead process), restarted: drained in %s",
		kills, leased, took.Round(100*time.Millisecond))
	suite.Summary.Add(headLost, "kill -9: 1,000/1,000 rows delivered (%d emails, %d Slack posts); %d sent twice because the kill fell between the sink's OK and the sent mark (bound: the %d sends under way per kill; email copies share the Message-ID)",
		rep.Emails, rep.SlackPosts, rep.Duplicates, inFlightMax)
}

// inFlightMax is how many sends one `serve` has under way at once: by
// default 16 emails (outbox.workers and smtp.connections) and one Slack
// call (Slack is sent one at a time). A worker starts a send only once
// the outcome of its last one is committed, so a crash or a database
// outage can leave at most these ambiguous (delivered, not yet marked
// sent), hence sent twice.
const inFlightMax = 16 + 1
