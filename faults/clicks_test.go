//go:build faults

package faults

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/slackfake"
)

// click is one Approve click and what its clicker was told: the link
// page's HTML for email, the ephemeral message for Slack.
type click struct {
	Approver *approvals.Member
	Via      approvals.Channel
	Status   int
	Told     string
	Latency  time.Duration
}

// TestConcurrentClicks fires 100 Approve clicks at one draft at once, from
// 10 approvers clicking 10 times each, half from the Slack message and half
// from their email links: under rule "all" (every approver must approve)
// and under rule "any" (the first approval decides). Each approver gets one
// decision per revision, the draft one final state, every click a true
// answer, and every recipient one notification per event.
func TestConcurrentClicks(t *testing.T) {
	h := newHarness(t)
	approvers := h.clients("c", 10)
	h.account("acme-all", "C0ALL", approvals.RuleAll, approvers)
	h.account("acme-any", "C0ANY", approvals.RuleAny, approvers)
	srv := startServe(t, "serve", h.env())
	dAll := h.submit("acme-all", 1)[0]
	dAny := h.submit("acme-any", 1)[0]
	h.waitDrained(30 * time.Second)

	var latencies []time.Duration
	for _, tc := range []struct {
		draft   *approvals.DraftView
		channel string
		rule    approvals.Rule
	}{{dAll, "C0ALL", approvals.RuleAll}, {dAny, "C0ANY", approvals.RuleAny}} {
		clicks := h.clickStorm(srv, tc.draft, tc.channel, approvers, 10)
		for _, c := range clicks {
			latencies = append(latencies, c.Latency)
		}
		h.checkAnswers(tc.draft, tc.rule, approvers, clicks)
	}

	h.waitDrained(30 * time.Second)
	h.invariants()
	rep := h.deliveries()
	h.exactlyOnce(rep)
	// Per recipient: each approver one request per draft, the author one
	// verdict per draft, in each medium.
	to := map[string]int{}
	for _, m := range h.mail.Messages() {
		for _, a := range m.To {
			to[strings.ToLower(a.Address)]++
		}
	}
	for _, a := range approvers {
		if to[a.Email] != 2 {
			t.Errorf("%s got %d emails, want 2 (one request per draft)", a.Email, to[a.Email])
		}
	}
	if to[authorEmail] != 2 {
		t.Errorf("the author got %d emails, want 2 (one approval per draft)", to[authorEmail])
	}
	if n := h.slack.Count("chat.postMessage", func(c slackfake.Call) bool { return c.Str("channel") == authorSlack }); n != 2 {
		t.Errorf("the author got %d Slack DMs, want 2 (one approval per draft)", n)
	}
	slices.Sort(latencies)
	p99 := latencies[len(latencies)*99/100]
	suite.Summary.Add(headLoad, "concurrent clicks: 2 × 100 Approve clicks at once on one draft (10 approvers × 10 clicks, Slack and email mixed; rules all and any): p99 %s, max %s",
		p99.Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond))
	suite.Summary.Add(headLost, "concurrent clicks: 11 decisions (10 under all, 1 under any), one final state per draft, 200/200 answers true; %d emails and %d Slack posts, each owed once, %d duplicates",
		rep.Emails, rep.SlackPosts, rep.Duplicates)
}

// clickStorm has each approver click Approve on d perApprover times, at
// once, alternating Slack and email, and returns what each click was told.
func (h *harness) clickStorm(srv *serve, d *approvals.DraftView, channel string, approvers []*approvals.Member, perApprover int) []*click {
	h.t.Helper()
	// The request message the buttons are on.
	var ts string
	for _, c := range h.slack.Calls() {
		if c.Method == "chat.postMessage" && c.Str("channel") == channel && strings.HasPrefix(c.Str("text"), fmt.Sprintf("Draft #%d on", d.ID)) {
			ts = c.TS
		}
	}
	if ts == "" {
		h.t.Fatalf("no Slack request message for draft %d in %s", d.ID, channel)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	// Everyone opens their email link first (a GET changes nothing).
	toks, csrfs := map[int64]string{}, map[int64]string{}
	for _, a := range approvers {
		toks[a.ID] = h.token(d, a)
		csrf, err := openLink(client, srv.URL(""), toks[a.ID])
		h.ok(err)
		csrfs[a.ID] = csrf
	}
	before := len(h.ephemerals(channel))
	var clicks []*click
	for i, a := range approvers {
		for j := range perApprover {
			// Half the approvers click only in Slack, half mostly in their
			// email and sometimes in Slack, so that decisions come from
			// both media and some clickers race themselves across them.
			via := approvals.ChannelEmail
			if i%2 == 0 || j < perApprover/5 {
				via = approvals.ChannelSlack
			}
			clicks = append(clicks, &click{Approver: a, Via: via})
		}
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for n, c := range clicks {
		wg.Go(func() {
			<-start
			var ans answer
			if c.Via == approvals.ChannelSlack {
				body := clickBody(h.slackOf[c.Approver.ID], channel, ts, d.ID, int(d.ID)*1000+n)
				ans = do(client, http.MethodPost, srv.URL("/slack/interactions"), slackHeader(signingSecret, time.Now(), body), body)
			} else {
				ans = postLink(client, srv.URL(""), toks[c.Approver.ID], csrfs[c.Approver.ID])
				c.Told = ans.Body
			}
			if ans.Err != nil {
				h.t.Errorf("click: %v", ans.Err)
			}
			c.Status, c.Latency = ans.Status, ans.Latency
		})
	}
	close(start)
	wg.Wait()

	// Slack clicks are answered ephemerally, after the 200.
	slackClicks := 0
	for _, c := range clicks {
		if c.Via == approvals.ChannelSlack {
			slackClicks++
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	var eph []slackfake.Call
	for {
		eph = h.ephemerals(channel)[before:]
		if len(eph) >= slackClicks || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(eph) != slackClicks {
		h.t.Fatalf("%d ephemeral answers for %d Slack clicks", len(eph), slackClicks)
	}
	// Match answers to clicks by user (a user's answers are interchangeable).
	byUser := map[string][]string{}
	for _, e := range eph {
		byUser[e.Str("user")] = append(byUser[e.Str("user")], e.Str("text"))
	}
	for _, c := range clicks {
		if c.Via != approvals.ChannelSlack {
			continue
		}
		u := h.slackOf[c.Approver.ID]
		if len(byUser[u]) == 0 {
			h.t.Fatalf("no ephemeral answer left for %s", u)
		}
		c.Told, byUser[u] = byUser[u][0], byUser[u][1:]
	}
	return clicks
}

// ephemerals returns the ephemeral messages posted in channel, in order.
func (h *harness) ephemerals(channel string) []slackfake.Call {
	var out []slackfake.Call
	for _, c := range h.slack.Calls() {
		if c.Method == "chat.postEphemeral" && c.Str("channel") == channel {
			out = append(out, c)
		}
	}
	return out
}

// checkAnswers checks the decisions on d and that every click was told the
// truth about them.
func (h *harness) checkAnswers(d *approvals.DraftView, rule approvals.Rule, approvers []*approvals.Member, clicks []*click) {
	h.t.Helper()
	view, err := h.svc.Show(h.ctx, approvals.Operator(wsSlug), d.ID)
	h.ok(err)
	if view.State != approvals.StateApproved {
		h.t.Errorf("draft %d (%s) is %s, want approved", d.ID, rule, view.State)
	}
	decided := map[int64]*approvals.Decision{}
	var last *approvals.Decision
	for _, x := range view.Decisions {
		if decided[x.ApproverID] != nil {
			h.t.Errorf("draft %d: two decisions by member %d", d.ID, x.ApproverID)
		}
		decided[x.ApproverID] = x
		if last == nil || x.CreatedAt.After(last.CreatedAt) || (x.CreatedAt.Equal(last.CreatedAt) && x.ID > last.ID) {
			last = x
		}
	}
	want := 1
	if rule == approvals.RuleAll {
		want = len(approvers)
	}
	if len(decided) != want {
		h.t.Fatalf("draft %d (%s): %d decisions, want %d", d.ID, rule, len(decided), want)
	}
	fresh := map[int64]int{}
	finals := 0
	for _, c := range clicks {
		if c.Status != http.StatusOK {
			h.t.Errorf("%s click by %s: status %d", c.Via, c.Approver.Email, c.Status)
			continue
		}
		mine := decided[c.Approver.ID]
		var truths []string
		switch {
		case mine != nil && c.Via == approvals.ChannelSlack:
			truths = []string{
				fmt.Sprintf("Approved draft %d (revision 1); it is now ", d.ID),
				fmt.Sprintf("You already approved draft %d at %s", d.ID, coreStamp(mine.CreatedAt)),
			}
		case mine != nil:
			truths = []string{
				"Thank you: approved",
				fmt.Sprintf("You approved revision 1 at %s via %s. Nothing else to do.", pageStamp(mine.CreatedAt), mine.Channel),
			}
		case c.Via == approvals.ChannelSlack:
			truths = []string{fmt.Sprintf("Draft %d was already approved by %s", d.ID, last.Approver)}
		default:
			truths = []string{fmt.Sprintf("This draft (revision 1) was already approved by %s at %s via %s.",
				htmlEscape(last.Approver), pageStamp(last.CreatedAt), last.Channel)}
		}
		told := c.Told
		switch {
		case strings.Contains(told, truths[0]) && mine != nil:
			// The click that made the decision: it must be in its medium.
			fresh[c.Approver.ID]++
			if mine.Channel != c.Via {
				h.t.Errorf("%s was told %q via %s, but their decision came via %s", c.Approver.Email, first(told), c.Via, mine.Channel)
			}
			if strings.Contains(told, "now approved") || strings.Contains(told, "It is now approved") {
				finals++
			}
		case len(truths) > 1 && strings.Contains(told, truths[1]):
		case mine == nil && strings.Contains(told, truths[0]):
		default:
			h.t.Errorf("%s click by %s on draft %d (%s) was told %q; want one of %q", c.Via, c.Approver.Email, d.ID, rule, first(told), truths)
		}
	}
	seen := map[string]bool{}
	for _, c := range clicks {
		k := string(c.Via) + ": " + answerLine(c.Told)
		if !seen[k] {
			seen[k] = true
			h.t.Logf("draft %d (%s) answer: %s", d.ID, rule, k)
		}
	}
	for id, n := range fresh {
		if n != 1 {
			h.t.Errorf("member %d was told %d times that their click decided", id, n)
		}
	}
	if len(fresh) != want || finals != 1 {
		h.t.Errorf("draft %d (%s): %d deciding answers and %d saying it is now approved; want %d and 1", d.ID, rule, len(fresh), finals, want)
	}
}

func coreStamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
func pageStamp(t time.Time) string { return t.UTC().Format("Mon 2 Jan 2006 15:04 UTC") }

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// first returns the interesting part of an answer: a Slack text, or the
// main text of a page.
func first(s string) string {
	if i := strings.Index(s, "<main"); i >= 0 {
		s = s[i:]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// answerLine is the line of an answer that says what happened: a Slack
// text, or the first paragraph of a page's main text.
func answerLine(s string) string {
	if i := strings.Index(s, "<p>"); i >= 0 {
		s = s[i+3:]
		if j := strings.Index(s, "</p>"); j >= 0 {
			s = s[:j]
		}
	}
	return s
}
