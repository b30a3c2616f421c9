//go:build faults

package faults

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// probe is one request made during the outage scenario.
type probe struct {
	At      time.Time
	Draft   *approvals.DraftView // nil for /readyz
	Via     approvals.Channel
	Status  int
	Body    string
	Latency time.Duration
	Err     error
}

var approvedDraftRE = regexp.MustCompile(`^Approved draft (\d+) \(revision 1\)`)

// TestDatabaseOutage stops PostgreSQL for 20 s while approvers click
// Approve (Slack and email) and the outbox delivers. Requests keep being
// answered quickly (email links 503, Slack clicks an ephemeral "Signoff is
// unavailable"), /readyz goes 503, everything recovers without restarting
// serve, and no request is half-applied: a click has a decision if and
// only if it was told so, and every state change has its outbox rows.
func TestDatabaseOutage(t *testing.T) {
	const (
		before  = 4 * time.Second
		outage  = 20 * time.Second
		after   = 5 * time.Second // of load once /readyz is back
		workers = 4
		pause   = 150 * time.Millisecond
		quick   = 3 * time.Second // Slack's limit; the answers must come well within it
	)
	h := newHarness(t)
	approver := h.clients("o", 1)[0]
	h.account("outage", "C0OUT", approvals.RuleAny, []*approvals.Member{approver})
	drafts := h.submit("outage", 1000)
	srv := startServe(t, "serve", h.env())
	pid := srv.PID()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

	// Email clickers open their links first (a GET changes nothing).
	toks, csrfs := make([]string, len(drafts)), make([]string, len(drafts))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				toks[i] = h.token(drafts[i], approver)
				csrf, err := openLink(client, srv.URL(""), toks[i])
				if err != nil {
					t.Errorf("draft %d: %v", drafts[i].ID, err)
				}
				csrfs[i] = csrf
			}
		})
	}
	for i := range drafts {
		if i%2 == 1 {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var mu sync.Mutex
	var probes, ready []*probe
	record := func(list *[]*probe, p *probe) {
		mu.Lock()
		*list = append(*list, p)
		mu.Unlock()
	}
	todo := make(chan int, len(drafts))
	for i := range drafts {
		todo <- i
	}
	close(todo)
	var load sync.WaitGroup
	for range workers {
		load.Go(func() {
			for i := range todo {
				if ctx.Err() != nil {
					return
				}
				d := drafts[i]
				p := &probe{At: time.Now(), Draft: d, Via: approvals.ChannelSlack}
				var ans answer
				if i%2 == 0 {
					body := clickBody(h.slackOf[approver.ID], "C0OUT", "1700000000.000001", d.ID, i)
					ans = do(client, http.MethodPost, srv.URL("/slack/interactions"), slackHeader(signingSecret, time.Now(), body), body)
				} else {
					p.Via = approvals.ChannelEmail
					ans = postLink(client, srv.URL(""), toks[i], csrfs[i])
				}
				p.Status, p.Body, p.Latency, p.Err = ans.Status, ans.Body, ans.Latency, ans.Err
				record(&probes, p)
				time.Sleep(pause)
			}
		})
	}
	load.Go(func() {
		for ctx.Err() == nil {
			p := &probe{At: time.Now()}
			ans := do(client, http.MethodGet, srv.URL("/readyz"), nil, "")
			p.Status, p.Latency, p.Err = ans.Status, ans.Latency, ans.Err
			record(&ready, p)
			time.Sleep(100 * time.Millisecond)
		}
	})

	time.Sleep(before)
	downAt := time.Now()
	h.ok(suite.PG.StopServer(context.Background()))
	time.Sleep(outage)
	h.ok(suite.PG.StartServer(context.Background()))
	upAt := time.Now()
	// Wait for /readyz to say ready again, then keep the load on a while.
	var readyAt time.Time
	for deadline := upAt.Add(30 * time.Second); readyAt.IsZero(); {
		mu.Lock()
		for _, p := range ready {
			if p.At.After(upAt) && p.Status == http.StatusOK {
				readyAt = p.At
				break
			}
		}
		mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 within 30s of PostgreSQL's return:\n%s", srv.Tail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(after)
	stop()
	load.Wait()
	if srv.PID() != pid {
		t.Fatal("serve was restarted")
	}

	// /readyz: 503 during the outage, soon after it began.
	var first503 time.Time
	for _, p := range ready {
		if p.At.After(downAt) && p.At.Before(upAt) && p.Status == http.StatusServiceUnavailable && first503.IsZero() {
			first503 = p.At
		}
		if p.Err != nil || p.Latency > quick {
			t.Errorf("/readyz at %s: %v, after %s", p.At.Sub(downAt).Round(time.Millisecond), p.Err, p.Latency)
		}
	}
	if first503.IsZero() || first503.Sub(downAt) > 2*time.Second {
		t.Errorf("/readyz did not go 503 within 2s of the outage (first 503 at %s)", first503.Sub(downAt))
	}

	// Every click answered quickly; what it was told matches the database
	// (read once every Slack click was answered: Slack clicks are decided
	// after their acknowledgement).
	var told map[int64]bool // Slack: drafts whose clicker was told "approved"
	var unavailable int
	deadline := time.Now().Add(15 * time.Second)
	for {
		told, unavailable = map[int64]bool{}, 0
		eph := h.ephemerals("C0OUT")
		for _, e := range eph {
			if m := approvedDraftRE.FindStringSubmatch(e.Str("text")); m != nil {
				id, _ := strconv.ParseInt(m[1], 10, 64)
				told[id] = true
			} else if strings.Contains(e.Str("text"), "unavailable") {
				unavailable++
			}
		}
		slackClicks := 0
		for _, p := range probes {
			if p.Via == approvals.ChannelSlack {
				slackClicks++
			}
		}
		if len(eph) >= slackClicks || time.Now().After(deadline) {
			if len(eph) != slackClicks {
				t.Errorf("%d ephemeral answers for %d Slack clicks", len(eph), slackClicks)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	view := map[int64]bool{} // draft → has a decision
	rows, err := h.db.Pool().Query(h.ctx, `SELECT DISTINCT draft_id FROM decisions`)
	h.ok(err)
	for rows.Next() {
		var id int64
		h.ok(rows.Scan(&id))
		view[id] = true
	}
	rows.Close()
	var during []time.Duration
	var n503, decidedDuring, decidedAfter int
	for _, p := range probes {
		id := p.Draft.ID
		if p.Err != nil {
			t.Errorf("%s click on draft %d at %s: %v", p.Via, id, p.At.Sub(downAt).Round(time.Millisecond), p.Err)
			continue
		}
		if p.Latency > quick {
			t.Errorf("%s click on draft %d at %s took %s", p.Via, id, p.At.Sub(downAt).Round(time.Millisecond), p.Latency)
		}
		if p.At.After(downAt) && p.At.Before(upAt) {
			during = append(during, p.Latency)
			if view[id] {
				decidedDuring++
			}
		}
		if p.At.After(readyAt) && view[id] {
			decidedAfter++
		}
		switch p.Via {
		case approvals.ChannelEmail:
			ok := p.Status == http.StatusOK && strings.Contains(p.Body, "Thank you: approved")
			if p.Status == http.StatusServiceUnavailable {
				n503++
				if !strings.Contains(p.Body, "Nothing was recorded") {
					t.Errorf("draft %d: 503 page does not say nothing was recorded", id)
				}
			} else if !ok {
				t.Errorf("email click on draft %d: %d %q", id, p.Status, first(p.Body))
			}
			if ok != view[id] {
				t.Errorf("email click on draft %d was told approved=%v, but the database has decision=%v", id, ok, view[id])
			}
		case approvals.ChannelSlack:
			if p.Status != http.StatusOK {
				t.Errorf("Slack click on draft %d: status %d", id, p.Status)
			}
			if told[id] != view[id] {
				t.Errorf("Slack click on draft %d was told approved=%v, but the database has decision=%v", id, told[id], view[id])
			}
		}
	}
	if n503 == 0 || unavailable == 0 {
		t.Errorf("during the outage: %d email 503s and %d Slack 'unavailable' answers; want some of each", n503, unavailable)
	}
	if decidedAfter == 0 {
		t.Error("no click succeeded after PostgreSQL came back")
	}
	slices.Sort(during)
	if len(during) == 0 {
		t.Fatal("no click during the outage")
	}

	h.waitDrained(60 * time.Second)
	h.invariants()
	rep := h.deliveries()
	if len(rep.Missing) > 0 || len(rep.Unexpected) > 0 {
		h.exactlyOnce(rep)
	}
	// A delivery under way when the database went away cannot be marked
	// sent, and goes again after its lease: at most inFlightMax.
	if rep.Duplicates > inFlightMax {
		t.Errorf("%d deliveries arrived twice (%v); at most the %d under way at the outage may: are rows marked sent long after their send?",
			rep.Duplicates, rep.Twice, inFlightMax)
	}
	t.Logf("clicks %d (during outage %d: p50 %s, p99 %s, max %s; email 503s %d, Slack 'unavailable' %d); /readyz 503 after %s, 200 again %s after PostgreSQL restarted; decisions %d (%d from clicks after recovery); deliveries %d, duplicates %d",
		len(probes), len(during), during[len(during)/2], during[len(during)*99/100], during[len(during)-1], n503, unavailable,
		first503.Sub(downAt).Round(time.Millisecond), readyAt.Sub(upAt).Round(time.Millisecond), len(view), decidedAfter, rep.Expected, rep.Duplicates)
	suite.Summary.Add(headFaults, "PostgreSQL stopped %s under load (%d clicks, %d during the outage): answers in ≤ %s (p99 %s; email 503, Slack \"unavailable\"), /readyz 503 after %s and 200 %s after restart, serve never restarted",
		outage, len(probes), len(during), during[len(during)-1].Round(time.Millisecond), during[len(during)*99/100].Round(time.Millisecond),
		first503.Sub(downAt).Round(time.Millisecond), readyAt.Sub(upAt).Round(time.Millisecond))
	suite.Summary.Add(headLost, "database outage: %d decisions, each told to its clicker, none for a 503 or \"unavailable\"; 0 half-applied (SQL invariants); %d deliveries, %d sent twice",
		len(view), rep.Expected, rep.Duplicates)
}
