//go:build faults

package faults

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// TestReplicas runs three `serve` replicas on one database. They share the
// outbox (600 approval requests, then the notifications of 150 approvals
// clicked through all three), and every row is delivered exactly once.
func TestReplicas(t *testing.T) {
	h := newHarness(t)
	approvers := h.clients("r", 2)
	h.account("shared", "C0SHARED", approvals.RuleAny, approvers)
	var replicas []*serve
	for i := range 3 {
		replicas = append(replicas, startServe(t, fmt.Sprintf("replica%d", i+1), h.env()))
	}
	start := time.Now()
	drafts := h.submit("shared", 300)
	h.waitDrained(60 * time.Second)

	// Approvals through every replica, by email and by Slack.
	client := &http.Client{Timeout: 30 * time.Second}
	var reqTS sync.Map
	for _, c := range h.slack.Calls() {
		if m := draftNumRE.FindStringSubmatch(c.Str("text")); m != nil && c.Method == "chat.postMessage" {
			reqTS.Store(m[1], c.TS)
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, d := range drafts[:150] {
		srv := replicas[i%3]
		a := approvers[i%2]
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if i%2 == 0 {
				tok := h.token(d, a)
				csrf, err := openLink(client, srv.URL(""), tok)
				if err != nil {
					t.Errorf("draft %d: %v", d.ID, err)
					return
				}
				if ans := postLink(client, srv.URL(""), tok, csrf); ans.Status != http.StatusOK || !strings.Contains(ans.Body, "Thank you: approved") {
					t.Errorf("draft %d by email: %d %v %.200q", d.ID, ans.Status, ans.Err, ans.Body)
				}
				return
			}
			ts, _ := reqTS.Load(strconv.FormatInt(d.ID, 10))
			tsStr, _ := ts.(string)
			body := clickBody(h.slackOf[a.ID], "C0SHARED", tsStr, d.ID, i)
			if ans := do(client, http.MethodPost, srv.URL("/slack/interactions"), slackHeader(signingSecret, time.Now(), body), body); ans.Status != http.StatusOK {
				t.Errorf("draft %d by Slack: %d %v", d.ID, ans.Status, ans.Err)
			}
		})
	}
	wg.Wait()
	h.waitDrained(60 * time.Second)
	took := time.Since(start)
	h.invariants()
	var approved int
	h.ok(h.db.Pool().QueryRow(h.ctx, `SELECT count(*) FROM drafts WHERE state = 'approved'`).Scan(&approved))
	if approved != 150 {
		t.Errorf("%d drafts approved, want 150", approved)
	}
	rep := h.deliveries()
	h.exactlyOnce(rep)

	// Who delivered what, from each replica's /metrics (when served).
	var shares []string
	busy := 0
	for _, r := range replicas {
		n, ok := sentMetric(client, r)
		if !ok {
			shares = nil
			break
		}
		if n > 0 {
			busy++
		}
		shares = append(shares, strconv.Itoa(n))
	}
	if shares != nil && busy < 2 {
		t.Errorf("deliveries per replica %v: the replicas did not share the outbox", shares)
	}
	share := "per-replica split not measured (no /metrics)"
	if shares != nil {
		share = "split " + strings.Join(shares, "/") + " across the replicas"
	}
	t.Logf("%d rows owed, %d emails, %d Slack posts, %s, %s", rep.Expected, rep.Emails, rep.SlackPosts, share, took.Round(time.Millisecond))
	suite.Summary.Add(headLoad, "three serve replicas on one database: 300 drafts and 150 approvals through all three, outbox drained in %s", took.Round(100*time.Millisecond))
	suite.Summary.Add(headLost, "replicas: %d outbox deliveries (%d emails, %d Slack posts) %s, each exactly once",
		rep.Expected, rep.Emails, rep.SlackPosts, share)
}

// sentMetric sums signoff_outbox_sent_total from a replica's /metrics.
func sentMetric(c *http.Client, s *serve) (int, bool) {
	ans := do(c, http.MethodGet, s.URL("/metrics"), nil, "")
	if ans.Err != nil || ans.Status != http.StatusOK {
		return 0, false
	}
	total, found := 0, false
	for _, line := range strings.Split(ans.Body, "\n") {
		if !strings.HasPrefix(line, "signoff_outbox_sent_total") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			total += int(v)
			found = true
		}
	}
	return total, found
}
