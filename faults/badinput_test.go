//go:build faults

package faults

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/mailer"
)

// forgery is one kind of bad input and the answers that refuse it.
type forgery struct {
	name string
	want []int
	make func(r *rand.Rand) (method, path string, hd http.Header, body string)
}

// TestBadInput sends 10,000 forged or broken requests (Slack requests with
// wrong signatures, stale timestamps, altered or oversized bodies; link
// tokens truncated, garbled, random or from other keys; link forms with
// forged CSRF tokens or oversized bodies). Every one is refused, nothing
// changes but the audit log of refusals, and the server's memory stays flat.
func TestBadInput(t *testing.T) {
	const total = 10_000
	h := newHarness(t)
	approver := h.clients("b", 1)[0]
	h.account("bad", "C0BAD", approvals.RuleAny, []*approvals.Member{approver})
	d := h.submit("bad", 1)[0]
	srv := startServe(t, "serve", h.env())
	h.waitDrained(30 * time.Second)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	tok := h.token(d, approver)
	csrf, err := openLink(client, srv.URL(""), tok)
	h.ok(err)
	otherKeys, err := mailer.ParseKeys([]string{mailer.GenerateKeyPair()})
	h.ok(err)
	otherCodec, err := mailer.NewCodec(otherKeys, time.Hour)
	h.ok(err)
	foreign, err := otherCodec.Encode(mailer.Link{WorkspaceID: h.wsID, DraftID: d.ID, Revision: 1, Tier: approvals.TierClient, MemberID: approver.ID, Action: approvals.VerdictApprove})
	h.ok(err)
	user := h.slackOf[approver.ID]
	click := func(r *rand.Rand) string { return clickBody(user, "C0BAD", "1700000000.000001", d.ID, r.IntN(1e9)) }
	slackPaths := []string{"/slack/interactions", "/slack/commands", "/slack/events"}
	form := func(csrf string) string { return url.Values{"csrf": {csrf}, "verdict": {"approve"}}.Encode() }
	formHd := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	// garble changes one to three characters of s, never among its last
	// three: the last character of unpadded base64 carries bits that
	// decoding ignores, so changing it may spell the same bytes (the same
	// token or CSRF value, which is no forgery).
	// (Two changes may also undo each other: the result must differ.)
	garble := func(r *rand.Rand, s string) string {
		for {
			b := []byte(s)
			for range 1 + r.IntN(3) {
				b[r.IntN(len(b)-3)] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~"[r.IntN(65)]
			}
			if string(b) != s {
				return string(b)
			}
		}
	}
	randText := func(r *rand.Rand, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	}
	big := strings.Repeat("x", 1<<20+1024)
	kinds := []forgery{
		{"slack: wrong signature", []int{401}, func(r *rand.Rand) (string, string, http.Header, string) {
			body := click(r)
			hd := slackHeader(signingSecret, time.Now(), body)
			hd.Set("X-Slack-Signature", "v0="+fmt.Sprintf("%064x", r.Uint64()))
			return http.MethodPost, slackPaths[r.IntN(3)], hd, body
		}},
		{"slack: stale timestamp", []int{401}, func(r *rand.Rand) (string, string, http.Header, string) {
			body := click(r)
			return http.MethodPost, slackPaths[r.IntN(3)], slackHeader(signingSecret, time.Now().Add(-time.Duration(6+r.IntN(600))*time.Minute), body), body
		}},
		{"slack: future timestamp", []int{401}, func(r *rand.Rand) (string, string, http.Header, string) {
			body := click(r)
			return http.MethodPost, slackPaths[r.IntN(3)], slackHeader(signingSecret, time.Now().Add(time.Duration(6+r.IntN(600))*time.Minute), body), body
		}},
		{"slack: altered body", []int{401}, func(r *rand.Rand) (string, string, http.Header, string) {
			body := click(r)
			hd := slackHeader(signingSecret, time.Now(), body)
			return http.MethodPost, slackPaths[r.IntN(3)], hd, garble(r, body)
		}},
		{"slack: no signature", []int{401}, func(r *rand.Rand) (string, string, http.Header, string) {
			return http.MethodPost, slackPaths[r.IntN(3)], http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, click(r)
		}},
		{"slack: garbage signed with another secret", []int{401}, func(r *rand.Rand) (string, string, http.Header, string) {
			body := randText(r, 1+r.IntN(4096))
			return http.MethodPost, slackPaths[r.IntN(3)], slackHeader("not-the-secret", time.Now(), body), body
		}},
		{"link: truncated token", []int{400}, func(r *rand.Rand) (string, string, http.Header, string) {
			cut := tok[:1+r.IntN(len(tok)-1)]
			if r.IntN(2) == 0 {
				return http.MethodGet, "/l/" + cut, nil, ""
			}
			return http.MethodPost, "/l/" + cut, formHd, form(csrf)
		}},
		{"link: garbled token", []int{400}, func(r *rand.Rand) (string, string, http.Header, string) {
			if r.IntN(2) == 0 {
				return http.MethodGet, "/l/" + garble(r, tok), nil, ""
			}
			return http.MethodPost, "/l/" + garble(r, tok), formHd, form(csrf)
		}},
		{"link: random token", []int{400}, func(r *rand.Rand) (string, string, http.Header, string) {
			return http.MethodPost, "/l/" + url.PathEscape(randText(r, 1+r.IntN(400))), formHd, form(csrf)
		}},
		{"link: token from other keys", []int{400}, func(r *rand.Rand) (string, string, http.Header, string) {
			return http.MethodPost, "/l/" + foreign, formHd, form(csrf)
		}},
		{"link: forged CSRF", []int{403}, func(r *rand.Rand) (string, string, http.Header, string) {
			return http.MethodPost, "/l/" + tok, formHd, form(garble(r, csrf))
		}},
	}
	oversized := []forgery{
		{"slack: body over 1 MB (signed)", []int{413}, func(r *rand.Rand) (string, string, http.Header, string) {
			return http.MethodPost, slackPaths[r.IntN(3)], slackHeader(signingSecret, time.Now(), big), big
		}},
		{"link: form over 1 MB", []int{400, 413}, func(r *rand.Rand) (string, string, http.Header, string) {
			return http.MethodPost, "/l/" + tok, formHd, form(csrf) + "&comment=" + big
		}},
	}

	// The plan: 40 oversized requests of each kind, the rest spread evenly.
	var plan []forgery
	for _, k := range oversized {
		for range 40 {
			plan = append(plan, k)
		}
	}
	for i := 0; len(plan) < total; i++ {
		plan = append(plan, kinds[i%len(kinds)])
	}
	rand.New(rand.NewPCG(7, 25)).Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })

	run := func(plan []forgery, seed uint64) (map[string]int, []string) {
		var mu sync.Mutex
		tried := map[string]int{}
		var bad []string
		next := make(chan int)
		var wg sync.WaitGroup
		for w := range 8 {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			wg.Go(func() {
				for i := range next {
					k := plan[i]
					method, path, hd, body := k.make(r)
					ans := do(client, method, srv.URL(path), hd, body)
					mu.Lock()
					tried[k.name]++
					if ans.Err != nil || !contains(k.want, ans.Status) {
						bad = append(bad, fmt.Sprintf("%s: %s %.60s → %d %v", k.name, method, path, ans.Status, ans.Err))
					}
					mu.Unlock()
				}
			})
		}
		for i := range plan {
			next <- i
		}
		close(next)
		wg.Wait()
		return tried, bad
	}

	// Warm up (the server's pools and buffers reach their working size),
	// then measure.
	run(plan[:500], 1)
	time.Sleep(time.Second)
	countsBefore := h.counts()
	rssBefore := srv.RSS()
	start := time.Now()
	tried, bad := run(plan, 2)
	took := time.Since(start)
	time.Sleep(2 * time.Second)
	rssAfter := srv.RSS()
	countsAfter := h.counts()

	for _, b := range bad[:min(10, len(bad))] {
		t.Errorf("not refused: %s", b)
	}
	if len(bad) > 0 {
		t.Errorf("%d of %d bad requests not refused as expected", len(bad), len(plan))
	}
	audit := countsAfter["audit_log"] - countsBefore["audit_log"]
	delete(countsBefore, "audit_log")
	delete(countsAfter, "audit_log")
	if diff := cmp.Diff(countsBefore, countsAfter); diff != "" {
		t.Errorf("bad input changed state (-before +after):\n%s", diff)
	}
	view, err := h.svc.Show(h.ctx, approvals.Operator(wsSlug), d.ID)
	h.ok(err)
	if view.State != approvals.StatePendingClient || len(view.Decisions) != 0 {
		t.Errorf("the draft is %s with %d decisions; want pending_client with none", view.State, len(view.Decisions))
	}
	growth := rssAfter - rssBefore
	if growth > 30<<20 {
		t.Errorf("server RSS grew by %d MB (from %d MB to %d MB) over %d bad requests", growth>>20, rssBefore>>20, rssAfter>>20, len(plan))
	}
	var names []string
	for name, n := range tried {
		names = append(names, name+" "+strconv.Itoa(n))
	}
	sort.Strings(names)
	t.Logf("tried: %s", strings.Join(names, ", "))
	t.Logf("%d requests in %s; RSS %d → %d MB; audit entries for the refusals: %d", len(plan), took.Round(time.Millisecond), rssBefore>>20, rssAfter>>20, audit)
	suite.Summary.Add(headBad, "%d forged or broken requests in %s (%d kinds: Slack wrong/missing signature, stale or future timestamp, altered body, garbage, bodies over 1 MB; link tokens truncated, garbled, random, from other keys; forged CSRF; forms over 1 MB): %d refused (400/401/403/413), 0 state change, server RSS %d → %d MB",
		len(plan), took.Round(100*time.Millisecond), len(kinds)+len(oversized), len(plan)-len(bad), rssBefore>>20, rssAfter>>20)
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
