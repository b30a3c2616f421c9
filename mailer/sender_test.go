package mailer_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/mailpit"
	"github.com/signoff-app/signoff/mailer"
	"github.com/signoff-app/signoff/templates"
)

var linkRe = regexp.MustCompile(`http://127\.0\.0\.1:\d+/l/[A-Za-z0-9_=-]+`)

// linksIn returns the Approve and Reject links of an approval email's
// plain-text part.
func linksIn(t *testing.T, text string) (approve, reject string) {
	t.Helper()
	links := linkRe.FindAllString(text, -1)
	if len(links) != 2 {
		t.Fatalf("%d links in the email, want 2:\n%s", len(links), text)
	}
	return links[0], links[1]
}

func outboxStates(f *fixture) map[string]string {
	out := map[string]string{}
	for _, m := range f.outbox() {
		if m.Channel == approvals.ChannelEmail {
			out[m.Payload.Target+" "+string(m.Payload.Event)] = string(m.State)
		}
	}
	return out
}

func TestSendApprovalRequests(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	f.submit("Summer sale 🌞\n<b>20%</b> off")
	f.dispatch()

	if got := len(mp.Messages()); got != 2 {
		t.Fatalf("%d emails, want 2", got)
	}
	for _, to := range []string{client1, client2} {
		msg := mp.MessageTo(to, "Approval needed: Acme Instagram post (revision 1)")
		if !strings.Contains(msg.Text, "Summer sale 🌞\n<b>20%</b> off") {
			t.Errorf("text part lacks the draft exactly:\n%s", msg.Text)
		}
		if !strings.Contains(msg.HTML, "&lt;b&gt;20%&lt;/b&gt;") {
			t.Errorf("HTML part does not escape the draft:\n%s", msg.HTML)
		}
		raw := mp.Raw(msg.ID)
		if ti, hi := strings.Index(raw, "text/plain"), strings.Index(raw, "text/html"); ti < 0 || hi < 0 || ti > hi {
			t.Errorf("want text/plain before text/html in:\n%s", raw)
		}
		if !strings.Contains(raw, "Message-ID: <signoff.") || !strings.Contains(raw, "@agency.test>") {
			t.Errorf("no Message-ID derived from the idempotency key:\n%s", raw[:min(len(raw), 2000)])
		}
		approve, reject := linksIn(t, msg.Text)
		for _, u := range []string{approve, reject} {
			if r := do(t, http.MethodGet, u, nil); r.status != 200 || !strings.Contains(r.body, "Summer sale") {
				t.Errorf("link from the email: status %d", r.status)
			}
		}
	}
	if diff := cmp.Diff(map[string]string{client1 + " approval_requested": "sent", client2 + " approval_requested": "sent"}, outboxStates(f)); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
	// Nothing left to send: a second round sends nothing twice.
	f.dispatch()
	if got := len(mp.Messages()); got != 2 {
		t.Errorf("%d emails after a second dispatch, want 2", got)
	}
}

// SMTP down for a while: the dispatcher retries, and each email is
// delivered exactly once when the server returns.
func TestSMTPDownThenUp(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	mp.Stop()
	f.submit("Outage-proof post")
	for range 2 {
		f.dispatch()
		f.now = f.now.Add(time.Minute) // past the backoff
	}
	for _, m := range f.outbox() {
		if m.Channel == approvals.ChannelEmail && (m.State != approvals.OutboxPending || m.Attempts < 2 || m.LastError == "") {
			t.Fatalf("while SMTP is down: %+v, want pending with attempts and an error", m)
		}
	}
	mp.Start()
	f.now = f.now.Add(time.Hour)
	f.dispatch()
	f.dispatch()
	if diff := cmp.Diff(map[string]string{client1 + " approval_requested": "sent", client2 + " approval_requested": "sent"}, outboxStates(f)); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
	for _, to := range []string{client1, client2} {
		mp.MessageTo(to, "Approval needed") // fails unless exactly one
	}
}

// The server drops the kept connection between two messages: the sender
// redials and delivers. One connection, so that the second message goes
// out on the one the first used (with more, it may take one never dialed).
func TestSMTPRedialAfterDrop(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	f.cfg.SMTP.Connections = 1
	tmpl, err := templates.Load("")
	f.OK(err)
	f.send, err = mailer.NewSender(f.cfg, f.svc, f.codec, tmpl, nil)
	f.OK(err)
	t.Cleanup(func() { _ = f.send.Close() })
	f.disp.Senders[approvals.ChannelEmail] = f.send
	f.submit("First")
	f.dispatch()
	mp.Stop()
	mp.Start() // the sender's connection is now dead
	f.submit("Second")
	f.dispatch()
	for _, m := range f.outbox() {
		// Sent at the first attempt: the dead connection was noticed and
		// replaced within the send, not left for a retry.
		if m.Channel == approvals.ChannelEmail && (m.State != approvals.OutboxSent || m.Attempts != 1) {
			t.Errorf("%s: %s after %d attempts (%s), want sent at the first", m.IdempotencyKey, m.State, m.Attempts, m.LastError)
		}
	}
	// mailpit keeps its database across the restart: 2 drafts x 2 approvers.
	for _, to := range []string{client1, client2} {
		n := 0
		for _, s := range mp.Messages() {
			if s.To[0].Address == to {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%s got %d emails, want 2", to, n)
		}
	}
}

// A 5xx answer to a recipient ends that row dead with the reason; the
// other recipient is delivered.
func TestPermanentRecipientFailure(t *testing.T) {
	mp := mailpit.Start(t, "--smtp-allowed-recipients", `^carla@`)
	f := newFixture(t, mp)
	f.submit("Bounce test")
	f.dispatch()
	for _, m := range f.outbox() {
		if m.Channel != approvals.ChannelEmail {
			continue
		}
		switch m.Payload.Target {
		case client1:
			if m.State != approvals.OutboxSent {
				t.Errorf("%s: %s (%s), want sent", client1, m.State, m.LastError)
			}
		case client2:
			if m.State != approvals.OutboxDead || m.Attempts != 1 || !strings.Contains(m.LastError, "550") {
				t.Errorf("%s: %s after %d attempts (%q), want dead at once with the 550", client2, m.State, m.Attempts, m.LastError)
			}
		}
	}
	// The connection survives a refused recipient.
	f.submit("After the bounce")
	f.dispatch()
	if n := len(mp.Messages()); n != 2 {
		t.Errorf("%d messages delivered, want 2 (one per draft to carla)", n)
	}
}

func TestRejectedAndApprovedNotices(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	d := f.submit("Draft one")
	comment := "Trop long.\nÉcris « moins » 🙏 <i>please</i>"
	f.Must(f.svc.Reject(f.ctx, f.as(client1), d.ID, comment))
	f.dispatch()
	msg := mp.MessageTo(author, "Changes requested: Acme Instagram post (revision 1)")
	if !strings.Contains(msg.Text, "--- Comment ---\n"+comment+"\n--- End of comment ---") {
		t.Errorf("rejection notice lacks the comment exactly:\n%s", msg.Text)
	}
	if !strings.Contains(msg.Text, "Carla Client") {
		t.Errorf("rejection notice does not say who:\n%s", msg.Text)
	}
	d2, err := f.svc.Revise(f.ctx, f.as(author), d.ID, approvals.DraftInput{Text: "Draft two"})
	f.OK(err)
	f.Must(f.svc.Approve(f.ctx, f.as(client2), d2.ID))
	f.dispatch()
	msg = mp.MessageTo(author, "Approved: Acme Instagram post (revision 2)")
	if !strings.Contains(msg.Text, "Draft two") || !strings.Contains(msg.Text, "Dan Client") {
		t.Errorf("approved notice:\n%s", msg.Text)
	}
}

// Concurrent deliveries share the pool of SMTP connections: a batch of
// 20 emails goes out over at most smtp.connections sessions at once, each
// email exactly once.
func TestConcurrentSends(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	if got := f.send.Concurrency(); got != mailer.DefaultConnections {
		t.Errorf("Concurrency() = %d, want smtp.connections' default %d", got, mailer.DefaultConnections)
	}
	for i := range 10 {
		f.submit(fmt.Sprintf("Post %d", i))
	}
	f.disp.Workers = 8 // more workers than connections: Sends wait for one
	f.dispatch()
	// Each email's Message-ID derives from its outbox row: 20 distinct
	// IDs are 20 rows, each delivered once.
	ids := map[string]int{}
	for _, s := range mp.Messages() {
		raw := mp.Raw(s.ID)
		_, rest, _ := strings.Cut(raw, "Message-ID: <")
		id, _, _ := strings.Cut(rest, ">")
		ids[id]++
	}
	if len(ids) != 20 {
		t.Errorf("%d distinct Message-IDs, want 20: %v", len(ids), ids)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("%s: %d copies", id, n)
		}
	}
	for _, m := range f.outbox() {
		if m.State != approvals.OutboxSent || m.Attempts != 1 {
			t.Errorf("%s: %s after %d attempts (%s), want sent at the first", m.IdempotencyKey, m.State, m.Attempts, m.LastError)
		}
	}
}
