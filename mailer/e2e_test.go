package mailer_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/mailpit"
)

// chromiumPath finds Debian's Chromium ($CHROMIUM_BIN overrides).
func chromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_BIN"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	requireTool(t, "Chromium (apt-get install chromium, or set CHROMIUM_BIN)")
	return ""
}

// browser returns a chromedp context on a fresh headless Chromium.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return bctx
}

func text(t *testing.T, ctx context.Context, sel chromedp.ID) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("read #%s: %v", sel, err)
	}
	return s
}

// Scenario 1: two client approvers get an email each; one opens the
// Approve link in a real browser and clicks Approve; the draft is approved
// and the other approver's link says who approved it.
func TestE2EApproveInBrowser(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	ctx := browser(t)

	d := f.submit("New collection drops Friday ✨\nLink in bio.")
	f.dispatch()
	if n := len(mp.Messages()); n != 2 {
		t.Fatalf("%d emails, want 2", n)
	}
	approve1, _ := linksIn(t, mp.MessageTo(client1, "Approval needed: Acme Instagram post (revision 1)").Text)
	approve2, _ := linksIn(t, mp.MessageTo(client2, "Approval needed: Acme Instagram post (revision 1)").Text)

	if err := chromedp.Do(ctx, chromedp.Navigate(approve1), chromedp.WaitVisible(chromedp.ID("approve"))); err != nil {
		t.Fatalf("open the Approve link: %v", err)
	}
	// Opening the page (what a scanner's headless browser does) decided nothing.
	if got := f.snapshot(d.ID).State; got != approvals.StatePendingClient {
		t.Fatalf("after opening the link the draft is %s, want still pending", got)
	}
	if got := text(t, ctx, chromedp.ID("draft-text")); got != "New collection drops Friday ✨\nLink in bio." {
		t.Errorf("draft text on the page = %q", got)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitNotPresent(chromedp.ID("approve-form")),
		chromedp.WaitVisible(chromedp.ID("status")),
	); err != nil {
		t.Fatalf("click Approve: %v", err)
	}
	if got := text(t, ctx, chromedp.ID("status")); !strings.Contains(got, "You approved revision 1") {
		t.Errorf("outcome page says %q", got)
	}
	if got := f.snapshot(d.ID).State; got != approvals.StateApproved {
		t.Fatalf("draft is %s, want approved", got)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(approve2), chromedp.WaitVisible(chromedp.ID("status"))); err != nil {
		t.Fatalf("open the other approver's link: %v", err)
	}
	if got := text(t, ctx, chromedp.ID("status")); !strings.Contains(got, "already approved by Carla Client") {
		t.Errorf("other approver's page says %q, want it to name who approved", got)
	}
}

// Scenario 2: the approver rejects with a comment typed into the form; the
// author's notice carries it exactly.
func TestE2ERejectInBrowser(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	ctx := browser(t)

	d := f.submit("Big news tomorrow!")
	f.dispatch()
	_, reject := linksIn(t, mp.MessageTo(client1, "Approval needed").Text)
	comment := "Zu früh – bitte erst Montag 🙏\n<b>Und</b> ohne Ausrufezeichen."

	if err := chromedp.Do(ctx,
		chromedp.Navigate(reject),
		chromedp.WaitVisible(chromedp.ID("comment")),
		chromedp.SendKeys(chromedp.ID("comment"), comment),
		chromedp.Click(chromedp.ID("reject")),
		chromedp.WaitNotPresent(chromedp.ID("reject-form")),
		chromedp.WaitVisible(chromedp.ID("status")),
	); err != nil {
		t.Fatalf("reject in the browser: %v", err)
	}
	if got := text(t, ctx, chromedp.ID("status")); !strings.Contains(got, "You rejected revision 1") {
		t.Errorf("outcome page says %q", got)
	}
	h, err := f.svc.DraftHistory(f.ctx, approvals.Operator(f.ws), d.ID)
	f.OK(err)
	if h.Draft.State != approvals.StateRejected || len(h.Decisions) != 1 || h.Decisions[0].Comment != comment {
		t.Fatalf("draft %s with decisions %+v, want rejected with the comment exactly", h.Draft.State, h.Decisions)
	}

	f.dispatch()
	msg := mp.MessageTo(author, "Changes requested: Acme Instagram post (revision 1)")
	if !strings.Contains(msg.Text, "--- Comment ---\n"+comment+"\n--- End of comment ---") {
		t.Errorf("the author's notice does not carry the comment exactly:\n%s", msg.Text)
	}
}
