//go:build faults

package faults

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/slackfake"
	"github.com/signoff-app/signoff/internal/webform"
	"github.com/signoff-app/signoff/mailer"
)

// TestConcurrentClicksApproveAll races one approver's "Approve all" on the
// review page against their own single clicks on the same drafts (email
// links twice and Slack once per draft) and the other approver's Slack
// clicks, under rule "all": each approver gets one decision per draft and
// revision, every draft ends approved, and every answer tells the truth:
// exactly one of the first approver's answers per draft says it decided,
// in the medium the decision records, the others that it had been.
func TestConcurrentClicksApproveAll(t *testing.T) {
	h := newHarness(t)
	approvers := h.clients("r", 2)
	a, b := approvers[0], approvers[1]
	const channel = "C0REVIEW"
	h.account("acme-review", channel, approvals.RuleAll, approvers)
	srv := startServe(t, "serve", h.env())
	ds := h.submit("acme-review", 10)
	h.waitDrained(30 * time.Second)
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	base := srv.URL("")

	// The approver opens the review page and clicks "Approve all"; the
	// confirming click is the one that races.
	rtok, err := h.codec.EncodeReview(mailer.ReviewLink{WorkspaceID: h.wsID, MemberID: a.ID})
	h.ok(err)
	list := do(client, http.MethodGet, base+"/r/"+rtok, nil, "")
	h.ok(list.Err)
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	confirm := do(client, http.MethodPost, base+"/r/"+rtok+"/all", form, webform.Hidden(list.Body, "approve-all-form").Encode())
	h.ok(confirm.Err)
	if confirm.Status != http.StatusOK || !strings.Contains(confirm.Body, fmt.Sprintf("Approve these %d drafts?", len(ds))) {
		t.Fatalf("confirmation page: %d %.300s", confirm.Status, confirm.Body)
	}
	allForm := webform.Hidden(confirm.Body, "approve-all-form").Encode()

	// Each draft's request message and both approvers' links, opened.
	ts := map[int64]string{}
	for _, c := range h.slack.Calls() {
		for _, d := range ds {
			if c.Method == "chat.postMessage" && c.Str("channel") == channel && strings.HasPrefix(c.Str("text"), fmt.Sprintf("Draft #%d on", d.ID)) {
				ts[d.ID] = c.TS
			}
		}
	}
	toks, csrfs := map[int64]string{}, map[int64]string{}
	for _, d := range ds {
		if ts[d.ID] == "" {
			t.Fatalf("no Slack request message for draft %d", d.ID)
		}
		toks[d.ID] = h.token(d, a)
		csrfs[d.ID], err = openLink(client, base, toks[d.ID])
		h.ok(err)
	}

	type shot struct {
		who   *approvals.Member
		via   string // all, email, slack
		draft int64
		ans   answer
	}
	var shots []*shot
	shots = append(shots, &shot{who: a, via: "all"})
	for _, d := range ds {
		shots = append(shots, &shot{who: a, via: "email", draft: d.ID}, &shot{who: a, via: "email", draft: d.ID},
			&shot{who: a, via: "slack", draft: d.ID}, &shot{who: b, via: "slack", draft: d.ID})
	}
	// Approve all decides in list order; the clicks on the first half of
	// the list start 100 ms after it, those on the second half with it, so
	// that early drafts tend to go to Approve all, late ones to the clicks,
	// and those between are contested.
	order := map[int64]int{}
	for i, d := range ds {
		order[d.ID] = i
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for n, s := range shots {
		wg.Go(func() {
			<-start
			if s.via != "all" && order[s.draft] < len(ds)/2 {
				time.Sleep(100 * time.Millisecond)
			}
			switch s.via {
			case "all":
				s.ans = do(client, http.MethodPost, base+"/r/"+rtok+"/all/approve", form, allForm)
			case "email":
				s.ans = postLink(client, base, toks[s.draft], csrfs[s.draft])
			case "slack":
				body := clickBody(h.slackOf[s.who.ID], channel, ts[s.draft], s.draft, 500000+n)
				s.ans = do(client, http.MethodPost, srv.URL("/slack/interactions"), slackHeader(signingSecret, time.Now(), body), body)
			}
			if s.ans.Err != nil || s.ans.Status != http.StatusOK {
				t.Errorf("%s click by %s on draft %d: %d %v", s.via, s.who.Email, s.draft, s.ans.Status, s.ans.Err)
			}
		})
	}
	close(start)
	wg.Wait()

	// Slack answers come ephemerally after the 200: one per Slack click,
	// matched by user and the draft they name.
	slackClicks := 2 * len(ds)
	deadline := time.Now().Add(30 * time.Second)
	var eph []slackfake.Call
	for {
		eph = h.ephemerals(channel)
		if len(eph) >= slackClicks || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(eph) != slackClicks {
		t.Fatalf("%d ephemeral answers for %d Slack clicks", len(eph), slackClicks)
	}
	told := map[string]string{} // user/draft → text
	for _, e := range eph {
		for _, d := range ds {
			if strings.Contains(e.Str("text"), fmt.Sprintf("draft %d ", d.ID)) || strings.Contains(e.Str("text"), fmt.Sprintf("draft %d.", d.ID)) ||
				strings.Contains(e.Str("text"), fmt.Sprintf("Draft %d ", d.ID)) {
				told[fmt.Sprintf("%s/%d", e.Str("user"), d.ID)] = e.Str("text")
			}
		}
	}
	for _, s := range shots {
		if s.via == "slack" {
			s.ans.Body = told[fmt.Sprintf("%s/%d", h.slackOf[s.who.ID], s.draft)]
		}
	}
	all := shots[0].ans.Body
	lineRE := regexp.MustCompile(`<li id="result-(\d+)" class="result-([a-z]+)">([^<]*)</li>`)
	allSays := map[string][2]string{}
	for _, m := range lineRE.FindAllStringSubmatch(all, -1) {
		allSays[m[1]] = [2]string{m[2], html.UnescapeString(m[3])}
	}

	approvedN, answers, trueN := 0, 0, 0
	for _, d := range ds {
		view, err := h.svc.Show(h.ctx, approvals.Operator(wsSlug), d.ID)
		h.ok(err)
		if view.State != approvals.StateApproved {
			t.Errorf("draft %d is %s, want approved", d.ID, view.State)
		}
		mine := map[int64]*approvals.Decision{}
		for _, x := range view.Decisions {
			if x.Revision != 1 || mine[x.ApproverID] != nil {
				t.Errorf("draft %d: decision %+v is a second one by member %d or not on revision 1", d.ID, x, x.ApproverID)
			}
			mine[x.ApproverID] = x
		}
		xa, xb := mine[a.ID], mine[b.ID]
		if xa == nil || xb == nil || len(view.Decisions) != 2 {
			t.Fatalf("draft %d: decisions %+v, want one by each approver", d.ID, view.Decisions)
		}
		// The first approver: exactly one answer says it decided, in the
		// medium the decision records; every other says it had been.
		claims := 0
		say := allSays[fmt.Sprint(d.ID)]
		answers++
		switch {
		case say[0] == "approved" && strings.Contains(say[1], fmt.Sprintf("Draft %d (revision 1) on", d.ID)):
			trueN++
			claims++
			approvedN++
			if xa.Channel != approvals.ChannelEmail {
				t.Errorf("approve-all says it approved draft %d, but the decision came via %s", d.ID, xa.Channel)
			}
		case say[0] == "skipped" && strings.Contains(say[1], "you had already approved revision 1 at "+pageStamp(xa.CreatedAt)):
			trueN++
		default:
			t.Errorf("approve-all told %q about draft %d", say, d.ID)
		}
		for _, s := range shots[1:] {
			if s.draft != d.ID {
				continue
			}
			x := xa
			if s.who.ID == b.ID {
				x = xb
			}
			answers++
			trueN++ // taken back by the default case
			switch {
			case s.via == "email" && strings.Contains(s.ans.Body, "Thank you: approved"):
				claims += boolInt(s.who.ID == a.ID)
				if x.Channel != approvals.ChannelEmail {
					t.Errorf("an email click was told it approved draft %d, but the decision came via %s", d.ID, x.Channel)
				}
			case s.via == "email" && strings.Contains(s.ans.Body, fmt.Sprintf("You approved revision 1 at %s via %s. Nothing else to do.", pageStamp(x.CreatedAt), x.Channel)):
			case s.via == "slack" && strings.Contains(s.ans.Body, fmt.Sprintf("Approved draft %d (revision 1)", d.ID)):
				claims += boolInt(s.who.ID == a.ID)
				if x.Channel != approvals.ChannelSlack {
					t.Errorf("a Slack click was told it approved draft %d, but the decision came via %s", d.ID, x.Channel)
				}
				if s.who.ID == b.ID {
					continue
				}
			case s.via == "slack" && s.who.ID == a.ID && strings.Contains(s.ans.Body, fmt.Sprintf("You already approved draft %d at %s", d.ID, coreStamp(x.CreatedAt))):
			default:
				trueN--
				t.Errorf("%s click by %s on draft %d was told %q", s.via, s.who.Email, d.ID, first(s.ans.Body))
			}
		}
		if claims != 1 {
			t.Errorf("draft %d: %d of the first approver's answers say they decided it, want exactly 1", d.ID, claims)
		}
	}

	h.waitDrained(30 * time.Second)
	h.invariants()
	rep := h.deliveries()
	h.exactlyOnce(rep)
	suite.Summary.Add(headRaces, "approve all racing clicks: one approver's Approve all of 10 drafts against their own 30 email and Slack clicks and the other approver's 10 (rule all): 2 decisions per draft, %d by Approve all, %d/%d answers true",
		approvedN, trueN, answers)
	suite.Summary.Add(headLost, "approve all racing clicks: every draft approved once per approver; %d emails and %d Slack posts, each owed once, %d duplicates",
		rep.Emails, rep.SlackPosts, rep.Duplicates)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
