package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/slackfake"
	"github.com/signoff-app/signoff/mailer"
)

// slackClick posts a signed block_actions payload: the approver presses
// Approve on the draft's request message, as Slack would deliver it.
func (e *env) slackClick(ctx context.Context, w *world, p pending, seq int64) error {
	acc := w.Accounts[p.Account]
	click := slackfake.Click(slackfake.Button{Team: slackTeam, User: p.Approver.SlackUser, ActionID: "signoff_approve",
		Value: fmt.Sprintf("%d/1/client", p.DraftID), BlockID: fmt.Sprintf("decide_%d_1_client", p.DraftID),
		Channel: acc.Channel, TS: fmt.Sprintf("1600000000.%09d", p.DraftID), Seq: seq})
	return e.postSlack(ctx, "/slack/interactions", slackfake.Payload(click))
}

// postSlack posts a form body signed with the signing secret, as Slack does.
func (e *env) postSlack(ctx context.Context, path, body string) error {
	req, err := e.slackRequest(ctx, path, "application/x-www-form-urlencoded", body)
	if err != nil {
		return err
	}
	return e.do(req, http.StatusOK)
}

// slackAnswer posts a signed body and returns the server's answer.
func (e *env) slackAnswer(ctx context.Context, path, contentType, body string) (string, error) {
	req, err := e.slackRequest(ctx, path, contentType, body)
	if err != nil {
		return "", err
	}
	return e.page(req)
}

func (e *env) slackRequest(ctx context.Context, path, contentType, body string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.base+path, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("slack request: %w", err)
	}
	req.Header = slackfake.Sign(signingSecret, time.Now(), body)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	return req, nil
}

// linkPost posts the Approve form of the approver's emailed link, with
// the CSRF token the link page would have rendered.
func (e *env) linkPost(ctx context.Context, w *world, p pending) error {
	tok, err := e.codec.Encode(mailer.Link{WorkspaceID: w.WorkspaceID, DraftID: p.DraftID, Revision: 1,
		Tier: approvals.TierClient, MemberID: p.Approver.ID, Action: approvals.VerdictApprove})
	if err != nil {
		return fmt.Errorf("mint link: %w", err)
	}
	form := url.Values{"csrf": {e.codec.CSRF(tok, "decide")}, "verdict": {string(approvals.VerdictApprove)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.base+"/l/"+tok, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("link request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Mozilla/5.0 (bench)")
	return e.do(req, http.StatusOK)
}

func (e *env) do(req *http.Request, want int) error {
	resp, err := e.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %.200s", req.Method, shortPath(req.URL.Path), resp.StatusCode, body)
	}
	return nil
}

func shortPath(p string) string {
	if strings.HasPrefix(p, "/l/") {
		return "/l/…"
	}
	return p
}

// decideResult is what a closed-loop decision run did.
type decideResult struct {
	Done    int
	Errors  int
	Elapsed time.Duration
	Latency samples
	FirstEr error
}

func (r *decideResult) perSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Done) / r.Elapsed.Seconds()
}

// decideClosed runs `clients` closed-loop clients, each approving the next
// draft of items through the real handlers (even items by Slack button,
// odd ones by email link) until dur passes or the items run out.
func (e *env) decideClosed(ctx context.Context, w *world, items []pending, clients int, dur time.Duration) *decideResult {
	res := &decideResult{}
	var next, seq atomic.Int64
	var done, failed atomic.Int64
	var once sync.Once
	ctx, cancel := context.WithTimeout(ctx, dur+30*time.Second)
	defer cancel()
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(items) {
					return
				}
				t0 := time.Now()
				var err error
				if i%2 == 0 {
					err = e.slackClick(ctx, w, items[i], seq.Add(1))
				} else {
					err = e.linkPost(ctx, w, items[i])
				}
				if err != nil {
					failed.Add(1)
					once.Do(func() { res.FirstEr = err })
					continue
				}
				res.Latency.add(time.Since(t0))
				done.Add(1)
			}
		})
	}
	wg.Wait()
	// A Slack click the database could not decide within the request's
	// budget was queued: the run ends when the last one has committed.
	if err := e.drainSlackActions(ctx); err != nil {
		once.Do(func() { res.FirstEr = err })
	}
	res.Elapsed = time.Since(start)
	res.Done, res.Errors = int(done.Load()), int(failed.Load())
	return res
}

// drainSlackActions waits until the server has acted on every queued Slack
// click (they are acknowledged first, decided after).
func (e *env) drainSlackActions(ctx context.Context) error {
	// EXISTS every 10 ms: a count(*) every 2 ms over the queue's dead rows
	// took a quarter of a core from the server it measures.
	for {
		var queued bool
		err := e.main.DB.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM slack_actions)`).Scan(&queued)
		if err == nil && !queued {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("slack clicks still queued: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// clickOpen sends Slack Approve clicks open-loop at rate per second, one
// per item, and measures each acknowledgement from its scheduled send
// time (so a stalled server cannot hide its queueing).
func (e *env) clickOpen(ctx context.Context, w *world, items []pending, rate int) *decideResult {
	res := &decideResult{}
	var failed atomic.Int64
	var once sync.Once
	var seq atomic.Int64
	seq.Store(1 << 40)
	interval := time.Second / time.Duration(rate)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(len(items))*interval+60*time.Second)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i, it := range items {
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
		wg.Go(func() {
			if err := e.slackClick(ctx, w, it, seq.Add(1)); err != nil {
				failed.Add(1)
				once.Do(func() { res.FirstEr = err })
				return
			}
			res.Latency.add(time.Since(due))
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Done, res.Errors = res.Latency.len(), int(failed.Load())
	return res
}
