package mailer_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/mailpit"
)

// A reminder is a fresh approval email whose links work; an expired draft
// tells its author.
func TestReminderAndExpiryEmails(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	clock := time.Now().UTC()
	f.svc.Now = func() time.Time { return clock }
	exp := approvals.DeadlineExpire
	f.Must(f.svc.SetAccount(f.ctx, approvals.Operator(f.ws), handle, approvals.AccountSettings{
		RemindAfter: ptr(time.Hour), DeadlinePolicy: &exp, DecideWithin: ptr(3 * time.Hour), MinReview: ptr(time.Duration(0))}))
	d := f.submit("Remind me")
	f.now = clock
	f.dispatch()
	sweep := func(after time.Duration) {
		t.Helper()
		clock = clock.Add(after)
		f.now = clock
		if _, err := (&approvals.Sweeper{Service: f.svc}).RunOnce(f.ctx); err != nil {
			t.Fatal(err)
		}
		f.dispatch()
	}

	sweep(time.Hour)
	msg := mp.MessageTo(client1, "Reminder: Approval needed: Acme Instagram post (revision 1)")
	if !strings.Contains(msg.Text, "Remind me") {
		t.Errorf("reminder lacks the draft:\n%s", msg.Text)
	}
	approve, _ := linksIn(t, msg.Text)
	if r := do(t, http.MethodGet, approve, nil); r.status != http.StatusOK || !strings.Contains(r.body, "Remind me") {
		t.Errorf("reminder link: status %d", r.status)
	}

	sweep(2 * time.Hour) // the deadline: decide-within 3h
	msg = mp.MessageTo(author, "Expired: Acme Instagram post (revision 1)")
	if !strings.Contains(msg.Text, "expired: nobody decided") {
		t.Errorf("expiry notice:\n%s", msg.Text)
	}
	if v, err := f.svc.Show(f.ctx, approvals.Operator(f.ws), d.ID); err != nil || v.State != approvals.StateExpired {
		t.Fatalf("draft: %v, %v", v, err)
	}
}

func ptr[T any](v T) *T { return &v }
