package mailer_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/mailpit"
)

// useClock makes t0 the clock of the service and the dispatcher alike:
// grouping and digests are about time, which the tests move rather than
// wait for.
func (f *fixture) useClock(t0 time.Time) {
	f.now = t0
	f.svc.Now = func() time.Time { return f.now }
}

// deliverDue delivers what is due at the fixture's clock, as `signoff
// serve` does, without moving the clock.
func (f *fixture) deliverDue() {
	f.t.Helper()
	for {
		n, err := f.disp.RunOnce(f.ctx)
		f.OK(err)
		if n == 0 {
			return
		}
	}
}

func (f *fixture) setWindow(d time.Duration) {
	f.t.Helper()
	f.Must(f.svc.SetWorkspace(f.ctx, approvals.Operator(f.ws), approvals.WorkspaceSettings{GroupWindow: &d}))
}

// mailsTo returns every message to addr, with bodies.
func mailsTo(mp *mailpit.Server, addr string) []mailpit.Message {
	var out []mailpit.Message
	for _, s := range mp.Messages() {
		if len(s.To) == 1 && strings.EqualFold(s.To[0].Address, addr) {
			var m mailpit.Message
			mp.Get("/api/v1/message/"+s.ID, &m)
			m.Text = strings.ReplaceAll(m.Text, "\r\n", "\n")
			out = append(out, m)
		}
	}
	return out
}

var signedLinkRe = regexp.MustCompile(`https?://[^\s"<>]+/l/[A-Za-z0-9_=\-.]+`)

var reviewLinkRe = regexp.MustCompile(`https?://[^\s"<>]+/r/[A-Za-z0-9_=\-.]+`)

// reviewLink returns the email's one review link, checked to be for email.
func (f *fixture) reviewLink(body, email string) string {
	f.t.Helper()
	urls := slices.Compact(reviewLinkRe.FindAllString(body, -1))
	if len(urls) != 1 {
		f.t.Fatalf("%d review links in %s's email, want 1:\n%s", len(urls), email, body)
	}
	l, err := f.codec.DecodeReview(urls[0][strings.LastIndex(urls[0], "/r/")+3:])
	f.OK(err)
	if l.MemberID != f.ids[email] {
		f.t.Errorf("review link for member %d in %s's email", l.MemberID, email)
	}
	return urls[0]
}

// linkedDrafts decodes every signed link of an email body: the drafts it
// links to, sorted, and the URLs.
func (f *fixture) linkedDrafts(body, email string) ([]int64, []string) {
	f.t.Helper()
	urls := signedLinkRe.FindAllString(body, -1)
	seen := map[int64]int{}
	for _, u := range urls {
		l, err := f.codec.Decode(u[strings.LastIndex(u, "/l/")+3:])
		f.OK(err)
		if l.MemberID != f.ids[email] {
			f.t.Errorf("link for member %d in %s's email", l.MemberID, email)
		}
		seen[l.DraftID]++
	}
	var ids []int64
	for id, n := range seen {
		if n != 2 {
			f.t.Errorf("draft %d has %d links, want Approve and Reject", id, n)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, urls
}

// Ten submissions within the window give each client approver one email
// listing exactly the drafts still waiting; the draft decided in the
// window is left out. Opening its links changes nothing.
func TestGroupedRequests(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	f.setWindow(5 * time.Minute)
	t0 := time.Now().Truncate(time.Second)
	f.useClock(t0)

	var ids []int64
	for i := range 10 {
		f.now = t0.Add(time.Duration(i) * 20 * time.Second)
		ids = append(ids, f.submit(fmt.Sprintf("Post %d of the spring campaign", i+1)).ID)
		f.deliverDue()
	}
	if n := len(mp.Messages()); n != 0 {
		t.Fatalf("%d emails within the window, want none yet", n)
	}
	f.now = t0.Add(4 * time.Minute)
	f.Must(f.svc.Approve(f.ctx, f.as(client2), ids[3])) // the account takes any one client
	f.deliverDue()
	f.now = t0.Add(5*time.Minute - time.Second)
	f.deliverDue()
	for _, c := range []string{client1, client2} {
		if got := mailsTo(mp, c); len(got) != 0 {
			t.Fatalf("%s got %d emails before the window ended", c, len(got))
		}
	}

	f.now = t0.Add(5 * time.Minute)
	f.deliverDue()
	want := slices.Concat(ids[:3], ids[4:])
	var urls []string
	for _, c := range []string{client1, client2} {
		got := mailsTo(mp, c)
		if len(got) != 1 {
			t.Fatalf("%s got %d emails, want one grouped email", c, len(got))
		}
		m := got[0]
		if m.Subject != "9 posts waiting for your approval" {
			t.Errorf("subject %q", m.Subject)
		}
		drafts, u := f.linkedDrafts(m.Text, c)
		if diff := cmp.Diff(want, drafts); diff != "" {
			t.Errorf("%s's email lists (-want +got):\n%s", c, diff)
		}
		htmlDrafts, _ := f.linkedDrafts(m.HTML, c)
		if diff := cmp.Diff(want, htmlDrafts); diff != "" {
			t.Errorf("%s's HTML lists (-want +got):\n%s", c, diff)
		}
		for _, s := range []string{"Acme Instagram", "Post 1 of the spring campaign", "Post 10 of the spring campaign"} {
			if !strings.Contains(m.Text, s) {
				t.Errorf("%s's email lacks %q:\n%s", c, s, m.Text)
			}
		}
		if strings.Contains(m.Text, "Post 4 of") {
			t.Errorf("%s's email lists the decided draft:\n%s", c, m.Text)
		}
		urls = append(urls, u...)
		urls = append(urls, f.reviewLink(m.Text, c), f.reviewLink(m.HTML, c))
	}
	f.deliverDue()
	if n := len(mailsTo(mp, client1)); n != 1 {
		t.Errorf("client1 has %d emails after another round, want 1 (the group went once)", n)
	}

	// Mail scanners open every link: nothing changes.
	before := map[int64]snapshot{}
	for _, id := range ids {
		before[id] = f.snapshot(id)
	}
	for _, u := range urls {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			if r := do(t, method, u, nil); r.status != http.StatusOK {
				t.Errorf("%s %s: %d", method, u, r.status)
			}
		}
	}
	for _, id := range ids {
		if diff := cmp.Diff(before[id], f.snapshot(id)); diff != "" {
			t.Errorf("GET/HEAD of the grouped email's links changed draft %d (-before +after):\n%s", id, diff)
		}
	}
}

// A group left with one draft is that draft's own request email; one left
// with none sends nothing.
func TestGroupedRequestsLeftWithOneOrNone(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	f.setWindow(time.Minute)
	t0 := time.Now().Truncate(time.Second)
	f.useClock(t0)
	a := f.submit("First")
	b := f.submit("Second")
	f.Must(f.svc.Withdraw(f.ctx, f.as(author), b.ID))
	f.now = t0.Add(time.Minute)
	f.deliverDue()
	m := mp.MessageTo(client1, "Approval needed")
	if drafts, _ := f.linkedDrafts(m.Text, client1); !slices.Equal(drafts, []int64{a.ID}) {
		t.Errorf("single email links %v, want [%d]", drafts, a.ID)
	}

	c := f.submit("Third")
	f.Must(f.svc.Approve(f.ctx, f.as(client1), c.ID))
	f.now = t0.Add(3 * time.Minute)
	f.deliverDue()
	if n := len(mailsTo(mp, client1)); n != 1 {
		t.Errorf("client1 has %d emails, want only the first", n)
	}
	for _, msg := range f.outbox() {
		if msg.State != approvals.OutboxSent {
			t.Errorf("outbox %s is %s, want sent (done with)", msg.IdempotencyKey, msg.State)
		}
	}
}

// A digest member gets nothing until their digest time, then one email of
// everything waiting on them, and the next day another while anything
// still waits; the other approver, immediate with window 0, gets each
// request at once.
func TestDigest(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	berlin, err := time.LoadLocation("Europe/Berlin")
	f.OK(err)
	t0 := time.Now().Truncate(time.Minute)
	f.useClock(t0)
	digestAt := t0.Add(3 * time.Hour)
	f.Must(f.svc.SetMember(f.ctx, approvals.Operator(f.ws), client1, approvals.MemberSettings{
		Notify: &approvals.NotifySettings{Mode: approvals.NotifyDigest, DigestAt: digestAt.In(berlin).Format("15:04"), TimeZone: "Europe/Berlin"}}))

	a := f.submit("Digest me, first")
	f.now = t0.Add(time.Hour)
	b := f.submit("Digest me, second")
	f.deliverDue()
	if n := len(mailsTo(mp, client2)); n != 2 {
		t.Errorf("client2 (immediate, window 0) has %d emails, want 2", n)
	}
	f.now = digestAt.Add(-time.Second)
	f.deliverDue()
	if got := mailsTo(mp, client1); len(got) != 0 {
		t.Fatalf("digest member got %d emails before their digest time", len(got))
	}

	f.now = digestAt
	f.deliverDue()
	got := mailsTo(mp, client1)
	if len(got) != 1 {
		t.Fatalf("digest member got %d emails at their digest time, want 1", len(got))
	}
	if !strings.HasPrefix(got[0].Subject, "Your daily digest: 2 posts") {
		t.Errorf("subject %q", got[0].Subject)
	}
	drafts, urls := f.linkedDrafts(got[0].Text, client1)
	urls = append(urls, f.reviewLink(got[0].Text, client1))
	if !slices.Equal(drafts, []int64{a.ID, b.ID}) {
		t.Errorf("digest links %v, want [%d %d]", drafts, a.ID, b.ID)
	}
	before := []snapshot{f.snapshot(a.ID), f.snapshot(b.ID)}
	for _, u := range urls {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			if r := do(t, method, u, nil); r.status != http.StatusOK {
				t.Errorf("%s %s: %d", method, u, r.status)
			}
		}
	}
	if diff := cmp.Diff(before, []snapshot{f.snapshot(a.ID), f.snapshot(b.ID)}); diff != "" {
		t.Errorf("GET/HEAD of the digest's links changed state (-before +after):\n%s", diff)
	}

	// The next day's digest lists what still waits.
	f.Must(f.svc.Approve(f.ctx, f.as(client2), a.ID))
	f.now = nextLocal(digestAt, berlin).Add(-time.Minute)
	f.deliverDue()
	if n := len(mailsTo(mp, client1)); n != 1 {
		t.Fatalf("digest member has %d emails before the next digest, want 1", n)
	}
	f.now = nextLocal(digestAt, berlin)
	f.deliverDue()
	got = mailsTo(mp, client1)
	if len(got) != 2 {
		t.Fatalf("digest member has %d emails after the second digest, want 2", len(got))
	}
	if !strings.HasPrefix(got[0].Subject, "Your daily digest: 1 post ") {
		t.Errorf("second digest subject %q", got[0].Subject)
	}

	// Back to immediate: the pending digest is dropped.
	f.Must(f.svc.SetMember(f.ctx, approvals.Operator(f.ws), client1, approvals.MemberSettings{
		Notify: &approvals.NotifySettings{Mode: approvals.NotifyImmediate}}))
	for _, m := range f.outbox() {
		if m.Payload.Event == approvals.EventDigest && m.State == approvals.OutboxPending {
			t.Errorf("digest %s still pending after the member went back to immediate", m.IdempotencyKey)
		}
	}
}

// nextLocal is the same wall-clock time as at on the next day in loc.
func nextLocal(at time.Time, loc *time.Location) time.Time {
	l := at.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()+1, l.Hour(), l.Minute(), 0, 0, loc)
}
