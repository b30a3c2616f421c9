package mailer_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/mailpit"
)

// TestE2EApproveWithCommentInBrowser: the approver types a comment into
// the approve form of the link page and clicks Approve; the approval
// carries it exactly and the author's approval email shows it, in the text
// and the HTML part.
func TestE2EApproveWithCommentInBrowser(t *testing.T) {
	mp := mailpit.Start(t)
	f := newFixture(t, mp)
	ctx := browser(t)

	d := f.submit("Autumn menu is live 🍂")
	f.dispatch()
	approve, _ := linksIn(t, mp.MessageTo(client1, "Approval needed").Text)
	comment := "Approved — fix the typo in the last line.\n<b>Danke</b> & merci 🙏"

	if err := chromedp.Do(ctx,
		chromedp.Navigate(approve),
		chromedp.WaitVisible(chromedp.ID("approve-comment")),
		chromedp.SendKeys(chromedp.ID("approve-comment"), comment),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitNotPresent(chromedp.ID("approve-form")),
		chromedp.WaitVisible(chromedp.ID("status")),
	); err != nil {
		t.Fatalf("approve with a comment in the browser: %v", err)
	}
	if got := text(t, ctx, chromedp.ID("status")); !strings.Contains(got, "You approved revision 1") || !strings.Contains(got, "told your comment") {
		t.Errorf("outcome page says %q", got)
	}
	h, err := f.svc.DraftHistory(f.ctx, approvals.Operator(f.ws), d.ID)
	f.OK(err)
	if h.Draft.State != approvals.StateApproved || len(h.Decisions) != 1 || h.Decisions[0].Comment != comment {
		t.Fatalf("draft %s with decisions %+v, want approved with the comment exactly", h.Draft.State, h.Decisions)
	}

	f.dispatch()
	msg := mp.MessageTo(author, "Approved: Acme Instagram post (revision 1)")
	if !strings.Contains(msg.Text, "Carla Client <"+client1+"> approved with a comment") ||
		!strings.Contains(msg.Text, "--- Comment ---\n"+comment+"\n--- End of comment ---") {
		t.Errorf("the author's approval email does not carry the comment exactly:\n%s", msg.Text)
	}
	if body := strings.ReplaceAll(msg.HTML, "\r\n", "\n"); !strings.Contains(body, html.EscapeString(comment)) || strings.Contains(body, "<b>Danke</b>") {
		t.Errorf("the HTML part does not show the comment as typed (escaped):\n%s", msg.HTML)
	}
}

// TestLinkApproveComment posts the approve form over HTTP: a comment the
// core refuses shows the form again with what was typed and changes
// nothing; without a comment the one-click approval works as before.
func TestLinkApproveComment(t *testing.T) {
	f := newFixture(t, nil)
	d := f.submit("Launch post")
	approveURL := f.link(d, client1, approvals.VerdictApprove)
	page := do(t, http.MethodGet, approveURL, nil)
	if !strings.Contains(page.body, `id="approve-comment"`) || !strings.Contains(page.body, "(optional)") {
		t.Fatalf("the approve form has no optional comment field:\n%s", page.body)
	}
	csrf := csrfOf(t, page.body, "approve-form")
	before := f.snapshot(d.ID)

	long := strings.Repeat("ü", approvals.MaxCommentLen+1)
	r := do(t, http.MethodPost, approveURL, url.Values{"verdict": {"approve"}, "csrf": {csrf}, "comment": {long}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="form-error"`) || !strings.Contains(r.body, "4001 characters") ||
		!strings.Contains(r.body, long) {
		t.Fatalf("a too long comment: status %d:\n%.2000s", r.status, r.body)
	}
	if diff := cmp.Diff(before, f.snapshot(d.ID)); diff != "" {
		t.Fatalf("a refused approval changed state (-before +after):\n%s", diff)
	}

	// The other approver approves without a comment: nothing to tell.
	other := f.link(d, client2, approvals.VerdictApprove)
	ocsrf := csrfOf(t, do(t, http.MethodGet, other, nil).body, "approve-form")
	r = do(t, http.MethodPost, other, url.Values{"verdict": {"approve"}, "csrf": {ocsrf}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "You approved revision 1") || strings.Contains(r.body, "told your comment") {
		t.Fatalf("a plain approval: status %d:\n%.2000s", r.status, r.body)
	}
	h, err := f.svc.DraftHistory(f.ctx, approvals.Operator(f.ws), d.ID)
	f.OK(err)
	if len(h.Decisions) != 1 || h.Decisions[0].Comment != "" {
		t.Fatalf("decisions = %+v, want one without a comment", h.Decisions)
	}
}
