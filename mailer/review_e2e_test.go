package mailer_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signoff-app/signoff/approvals"
)

// A client reviews everything waiting in a real browser: approves one,
// rejects one with a comment, then approves all the rest after the
// confirming click; a draft revised between showing and confirming is
// reported and not decided.
func TestE2EReviewInBrowser(t *testing.T) {
	f := newFixture(t, nil)
	ctx := browser(t)
	var ds []*approvals.DraftView
	for _, text := range []string{"Monday: new menu", "Tuesday: team photo", "Wednesday: giveaway", "Thursday: behind the scenes", "Friday: weekend hours"} {
		ds = append(ds, f.submit(text))
	}
	id := func(prefix string, d *approvals.DraftView) string { return prefix + itoa(d.ID) }

	if err := chromedp.Do(ctx, chromedp.Navigate(f.reviewURL(client1)), chromedp.WaitVisible(chromedp.ID("approve-all"))); err != nil {
		t.Fatalf("open the review page: %v", err)
	}
	if got := text(t, ctx, chromedp.ID(id("text-", ds[2]))); got != "Wednesday: giveaway" {
		t.Errorf("draft text on the page = %q", got)
	}
	for _, d := range ds {
		if f.state(d.ID) != approvals.StatePendingClient {
			t.Fatalf("opening the page decided draft %d", d.ID)
		}
	}

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID(id("approve-", ds[0]))),
		chromedp.WaitNotPresent(chromedp.ID(id("draft-", ds[0]))),
		chromedp.WaitVisible(chromedp.ID("status")),
	); err != nil {
		t.Fatalf("approve one: %v", err)
	}
	if got := text(t, ctx, chromedp.ID("status")); !strings.Contains(got, "You approved draft "+itoa(ds[0].ID)) {
		t.Errorf("after approving, the page says %q", got)
	}

	comment := "Bitte ohne Gruppenfoto 🙏\nDanke!"
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID(id("comment-", ds[1])), comment),
		chromedp.Click(chromedp.ID(id("reject-", ds[1]))),
		chromedp.WaitNotPresent(chromedp.ID(id("draft-", ds[1]))),
	); err != nil {
		t.Fatalf("reject one: %v", err)
	}
	if got := text(t, ctx, chromedp.ID("status")); !strings.Contains(got, "You rejected draft "+itoa(ds[1].ID)) {
		t.Errorf("after rejecting, the page says %q", got)
	}

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("approve-all")),
		chromedp.WaitVisible(chromedp.ID("confirm-approve-all")),
	); err != nil {
		t.Fatalf("approve all: %v", err)
	}
	if got := text(t, ctx, chromedp.ID("confirm")); !strings.Contains(got, "Thursday: behind the scenes") || strings.Contains(got, "Monday") {
		t.Errorf("the confirmation lists %q", got)
	}
	for _, d := range ds[2:] {
		if f.state(d.ID) != approvals.StatePendingClient {
			t.Fatalf("the first click of Approve all decided draft %d", d.ID)
		}
	}
	f.Must(f.svc.Revise(f.ctx, f.as(author), ds[3].ID, approvals.DraftInput{Text: "Thursday: behind the scenes, new cut"}))
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("confirm-approve-all")),
		chromedp.WaitVisible(chromedp.ID("results")),
	); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if got := text(t, ctx, chromedp.ID(id("result-", ds[3]))); !strings.Contains(got, "left alone") || !strings.Contains(got, "revised") {
		t.Errorf("the revised draft's result says %q", got)
	}

	h, err := f.svc.DraftHistory(f.ctx, approvals.Operator(f.ws), ds[1].ID)
	f.OK(err)
	if h.Draft.State != approvals.StateRejected || len(h.Decisions) != 1 || h.Decisions[0].Comment != comment {
		t.Errorf("draft %d is %s with %+v, want rejected with the comment exactly", ds[1].ID, h.Draft.State, h.Decisions)
	}
	want := map[int64]approvals.State{ds[0].ID: approvals.StateApproved, ds[2].ID: approvals.StateApproved,
		ds[3].ID: approvals.StatePendingClient, ds[4].ID: approvals.StateApproved}
	for id, st := range want {
		if got := f.state(id); got != st {
			t.Errorf("draft %d is %s, want %s", id, got, st)
		}
	}
	if n := len(f.snapshot(ds[3].ID).Decisions); n != 0 {
		t.Errorf("the revised draft has %d decisions", n)
	}
}
