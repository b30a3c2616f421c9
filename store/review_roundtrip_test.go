package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/store"
)

// TestReviewRoundTrips pins the statements of the review page's two
// figures in the benchmark: listing what waits on an approver
// (Service.Waiting) takes the same number whatever the number of drafts
// (BEGIN with the workspace and member, their access, one InboxRows
// batch, one ViewRows batch, COMMIT), and approving all of them
// (Service.DecideEach) as many per draft as one Decide does, 4 (see
// TestRoundTrips).
func TestReviewRoundTrips(t *testing.T) {
	ctx := context.Background()
	db, tr := pgtest.OpenCounted(t, pgtest.NewDatabase(t), 1)
	pool := db.Pool()
	if err := store.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	svc := approvals.NewService(db)
	svc.Logger = slog.New(slog.DiscardHandler)
	op := approvals.Operator("acme")
	ok := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must := func(_ any, err error) { t.Helper(); ok(err) }
	must(svc.CreateWorkspace(ctx, op, "acme", "Acme"))
	must(svc.AddMember(ctx, op, "ed@acme.test", "Ed", approvals.RoleEditor))
	c1, err := svc.AddMember(ctx, op, "c1@client.test", "C1", approvals.RoleClient)
	ok(err)
	for _, h := range []string{"brand", "other"} {
		must(svc.AddAccount(ctx, op, h, "Brand "+h))
		for email, caps := range map[string]string{"ed@acme.test": "view,comment,create", "c1@client.test": "view,comment"} {
			c, err := approvals.ParseCaps(caps)
			ok(err)
			ok(svc.Grant(ctx, op, h, approvals.GrantTarget{Email: email}, c))
		}
		ok(svc.AddApprover(ctx, op, h, "c1@client.test", approvals.TierClient))
		on := true
		must(svc.SetAccount(ctx, op, h, approvals.AccountSettings{NeedsClientApproval: &on}))
	}
	ed := approvals.Actor{Workspace: "acme", Email: "ed@acme.test", Channel: approvals.ChannelCLI}
	reader := approvals.Actor{WorkspaceID: c1.WorkspaceID, MemberID: c1.ID, Channel: approvals.ChannelEmail}
	submit := func(n int) {
		for i := range n {
			h := "brand"
			if i%2 == 1 {
				h = "other"
			}
			v, err := svc.Submit(ctx, ed, approvals.DraftInput{Account: h, Text: fmt.Sprintf("post %d", i)})
			ok(err)
			// A revision, so the views carry a diff, and a comment.
			if i%3 == 0 {
				must(svc.Revise(ctx, ed, v.ID, approvals.DraftInput{Text: fmt.Sprintf("post %d, revised", i)}))
				must(svc.AddComment(ctx, ed, v.ID, approvals.CommentInput{Text: "see the new date"}))
			}
		}
	}
	waiting := func(want int) (int, []*approvals.DraftView) {
		var vs []*approvals.DraftView
		n := tr.Count(t, func() {
			vs, err = svc.Waiting(ctx, reader)
			ok(err)
		})
		if len(vs) != want {
			t.Fatalf("Waiting listed %d drafts, want %d", len(vs), want)
		}
		return n, vs
	}

	submit(4)
	few, _ := waiting(4)
	submit(60)
	many, vs := waiting(64)
	t.Logf("Waiting: %d round trips for 4 drafts, %d for 64", few, many)
	if few != many || many > 5 {
		t.Errorf("Waiting took %d round trips for 4 drafts and %d for 64; want the same, at most 5", few, many)
	}

	decideAll := func(vs []*approvals.DraftView) int {
		ins := make([]approvals.DecideInput, len(vs))
		for i, v := range vs {
			ins[i] = approvals.DecideInput{DraftID: v.ID, Revision: v.Revision, Tier: v.CurrentTier, Verdict: approvals.VerdictApprove}
		}
		return tr.Count(t, func() {
			out, err := svc.DecideEach(ctx, reader, ins)
			ok(err)
			for _, o := range out {
				if !o.Decided() {
					t.Fatalf("draft %d not decided: %v", o.Input.DraftID, o.Err)
				}
			}
		})
	}
	n5, n40 := decideAll(vs[:5]), decideAll(vs[5:45])
	t.Logf("DecideEach: %d round trips for 5 drafts, %d for 40", n5, n40)
	if n5 != 5*4 || n40 != 40*4 {
		t.Errorf("DecideEach took %d round trips for 5 drafts and %d for 40; want 4 per draft (one Decide's)", n5, n40)
	}
}
