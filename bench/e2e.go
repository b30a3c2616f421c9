package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signoff-app/signoff/internal/slackfake"
)

// e2eResult is the end-to-end latency of submissions.
type e2eResult struct {
	Sent, Arrived int
	Errors        int
	FirstErr      error
	Latency       samples
}

// measureE2E submits n drafts open-loop at rate per second with the signed
// slash command `/signoff submit HANDLE TEXT` and measures, for each, the
// time from its scheduled send until both the client channel post reached
// the fake Slack and the approvers' emails reached the sink.
func (e *env) measureE2E(ctx context.Context, w *world, n, rate int) *e2eResult {
	res := &e2eResult{}
	type sub struct {
		marker string
		due    time.Time
		ok     bool
	}
	subs := make([]sub, n)
	var failed atomic.Int64
	var once sync.Once
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		acc := w.Accounts[i%len(w.Accounts)]
		ed := w.Editors[i%len(w.Editors)]
		subs[i] = sub{marker: w.marker(), due: due}
		wg.Go(func() {
			text := fmt.Sprintf("submit %s E2E draft %s: spring launch, see link.", acc.Handle, subs[i].marker)
			body := slackfake.Command(slackTeam, ed.SlackUser, "CSTAFF", text, fmt.Sprintf("1337.%d.e2e", i))
			if err := e.postSlack(ctx, "/slack/commands", body); err != nil {
				failed.Add(1)
				once.Do(func() { res.FirstErr = err })
				return
			}
			subs[i].ok = true
		})
	}
	wg.Wait()
	res.Sent = n
	// Wait (bounded) for every notification to arrive.
	deadline := time.Now().Add(30 * time.Second)
	for {
		missing := 0
		for _, s := range subs {
			if !s.ok {
				continue
			}
			_, okS := e.posts.arrival(s.marker)
			_, okM := e.smtp.arrival(s.marker)
			if !okS || !okM {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range subs {
		if !s.ok {
			continue
		}
		ts, okS := e.posts.arrival(s.marker)
		tm, okM := e.smtp.arrival(s.marker)
		if !okS || !okM {
			failed.Add(1)
			once.Do(func() { res.FirstErr = fmt.Errorf("draft %s: slack post %v, email %v after 30s", s.marker, okS, okM) })
			continue
		}
		res.Arrived++
		res.Latency.add(maxTime(ts, tm).Sub(s.due))
	}
	res.Errors = int(failed.Load())
	return res
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
