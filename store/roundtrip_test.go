package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/outbox"
	"github.com/signoff-app/signoff/store"
)

// TestRoundTrips counts the statements (round trips, BEGIN and COMMIT
// included) of the hot paths the benchmark drives: one approval, the
// delivery of a batch of approval emails, a page of approved drafts and the
// App Home. The bounds keep them from creeping back up; -v lists the
// statements.
func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	// One connection: the counts are of one caller.
	db, tr := pgtest.OpenCounted(t, pgtest.NewDatabase(t), 1)
	pool := db.Pool()
	if err := store.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	svc := corefix.Service(db, nil)
	op := approvals.Operator("acme")
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ok := func(err error) { t.Helper(); must(nil, err) }
	must(svc.CreateWorkspace(ctx, op, "acme", "Acme"))
	team := "T1"
	must(svc.SetWorkspace(ctx, op, approvals.WorkspaceSettings{SlackTeamID: &team}))
	must(svc.AddMember(ctx, op, "ed@acme.test", "Ed", approvals.RoleEditor))
	must(svc.AddMember(ctx, op, "boss@acme.test", "Boss", approvals.RoleAdmin))
	must(svc.AddMember(ctx, op, "c1@client.test", "C1", approvals.RoleClient))
	must(svc.AddMember(ctx, op, "c2@client.test", "C2", approvals.RoleClient))
	must(svc.AddAccount(ctx, op, "brand", "Brand"))
	for email, caps := range map[string]string{"ed@acme.test": "view,comment,create", "boss@acme.test": "view,comment", "c1@client.test": "view,comment", "c2@client.test": "view,comment"} {
		c, err := approvals.ParseCaps(caps)
		ok(err)
		ok(svc.Grant(ctx, op, "brand", approvals.GrantTarget{Email: email}, c))
	}
	ok(svc.AddApprover(ctx, op, "brand", "boss@acme.test", approvals.TierInternal))
	ok(svc.AddApprover(ctx, op, "brand", "c1@client.test", approvals.TierClient))
	ok(svc.AddApprover(ctx, op, "brand", "c2@client.test", approvals.TierClient))
	on, anyRule := true, approvals.RuleAny
	must(svc.SetAccount(ctx, op, "brand", approvals.AccountSettings{NeedsInternalApproval: &on, InternalRule: &anyRule, NeedsClientApproval: &on, ClientRule: &anyRule}))
	as := func(email string) approvals.Actor {
		return approvals.Actor{Workspace: "acme", Email: email, Channel: approvals.ChannelEmail}
	}
	const drafts = 20
	var ids []int64
	for i := range drafts {
		v, err := svc.Submit(ctx, as("ed@acme.test"), approvals.DraftInput{Account: "brand", Text: fmt.Sprintf("post %d", i)})
		ok(err)
		ids = append(ids, v.ID)
	}

	// Each email of a batch renders its draft, as the mailer does.
	var views atomic.Int64
	send := outbox.SenderFunc(func(ctx context.Context, b *approvals.Batch, m *approvals.OutboxMessage) error {
		v, r, err := svc.NotificationView(ctx, b, m.Payload)
		if err == nil && (v == nil || r == nil) {
			err = fmt.Errorf("no view or recipient for %s", m.IdempotencyKey)
		}
		views.Add(1)
		return err
	})
	disp := &outbox.Dispatcher{Store: db, Views: svc, Senders: map[approvals.Channel]outbox.Sender{
		approvals.ChannelEmail: send, approvals.ChannelSlack: outbox.SenderFunc(func(context.Context, *approvals.Batch, *approvals.OutboxMessage) error { return nil })}}
	drain := func() { // deliver what is queued, uncounted
		for {
			n, err := disp.RunOnce(ctx)
			ok(err)
			if n == 0 {
				return
			}
		}
	}
	drain()

	var r *approvals.DecisionResult
	var err error
	internal := tr.Count(t, func() {
		r, err = svc.Approve(ctx, as("boss@acme.test"), ids[0])
		ok(err)
	})
	if r.Draft.State != approvals.StatePendingClient {
		t.Fatalf("state = %s", r.Draft.State)
	}
	final := tr.Count(t, func() {
		r, err = svc.Approve(ctx, as("c1@client.test"), ids[0])
		ok(err)
	})
	if r.Draft.State != approvals.StateApproved {
		t.Fatalf("state = %s", r.Draft.State)
	}
	t.Logf("Decide, internal tier → client tier: %d round trips", internal)
	t.Logf("Decide, client tier → approved: %d round trips", final)
	// BEGIN goes with the workspace and the member (Principal, one batch),
	// the draft's lock with the decision's lookups in one pipelined batch
	// (LockForDecision), the decision alone (its ID and its conflict are
	// read), and the draft's new state, the tier clock or hand-off, the
	// outbox rows, the audit entry and COMMIT in one more (held: callTx,
	// txConn): a statement per lookup or per row would take over 30.
	if internal != 4 || final != 4 {
		t.Errorf("Decide took %d and %d round trips, want 4", internal, final)
	}

	// A batch of approval emails, one draft each (the benchmark's shape).
	now := time.Now().UTC()
	var msgs []*approvals.OutboxMessage
	for _, id := range ids {
		msgs = append(msgs, &approvals.OutboxMessage{WorkspaceID: r.Draft.WorkspaceID, Channel: approvals.ChannelEmail, State: approvals.OutboxPending,
			IdempotencyKey: fmt.Sprintf("count/d%d", id), NextAttemptAt: now, CreatedAt: now,
			Payload: approvals.Notification{Event: approvals.EventApprovalRequested, WorkspaceID: r.Draft.WorkspaceID, DraftID: id, Revision: 1,
				Tier: approvals.TierInternal, RecipientID: r.Draft.Tiers[0].Approvers[0].MemberID, Target: "boss@acme.test"}})
	}
	drain()
	ok(db.InTx(ctx, func(ctx context.Context, tx approvals.Tx) error { return tx.EnqueueOutbox(ctx, msgs) }))
	views.Store(0)
	batch := tr.Count(t, func() {
		n, err := disp.RunOnce(ctx)
		ok(err)
		if n != drafts {
			t.Fatalf("claimed %d, want %d", n, drafts)
		}
	})
	if views.Load() != drafts {
		t.Fatalf("sent %d, want %d", views.Load(), drafts)
	}
	t.Logf("dispatch of %d emails: %d round trips, %.1f per email", drafts, batch, float64(batch)/drafts)
	// Was 343: a view in its own transaction per email. An outcome is
	// committed before its worker's next send, on purpose (the crash
	// bound): one statement, run alone, for the outcomes waiting at that
	// moment, so at most one round trip per email.
	if want := drafts + 10; batch > want {
		t.Errorf("dispatch took %d round trips, want at most %d", batch, want)
	}

	// A publisher's page of approved drafts reads them in bulk: as many
	// statements for 1 draft as for 6.
	list := func() int {
		must(svc.ApprovedDrafts(ctx, op, approvals.HandoffQuery{})) // numbers what is new, uncounted
		return tr.Count(t, func() {
			page, err := svc.ApprovedDrafts(ctx, op, approvals.HandoffQuery{})
			ok(err)
			if len(page.Drafts) == 0 {
				t.Fatal("no approved drafts listed")
			}
		})
	}
	one := list()
	for _, id := range ids[1:6] {
		must(svc.Approve(ctx, as("boss@acme.test"), id))
		must(svc.Approve(ctx, as("c1@client.test"), id))
	}
	six := list()
	t.Logf("approved drafts page: %d round trips for 1 draft, %d for 6", one, six)
	if six != one {
		t.Errorf("a page of 6 approved drafts took %d round trips, one of 1 took %d: a statement per draft", six, one)
	}

	// The App Home: the same statements whatever waits on the approver
	// (ids[6:] still wait on boss; ids[:6] were decided): BEGIN with the
	// workspace and member, their access, one InboxRows batch (the pending
	// drafts with their decisions, their own drafts), one ViewRows batch,
	// COMMIT.
	home := tr.Count(t, func() {
		in, err := svc.Inbox(ctx, as("boss@acme.test"))
		ok(err)
		if len(in.Waiting) == 0 {
			t.Fatal("nothing waits on boss")
		}
	})
	t.Logf("App Home (Inbox): %d round trips", home)
	if home > 5 {
		t.Errorf("the App Home took %d round trips, want at most 5", home)
	}

	// An email's inline pictures: as many statements for 4 as for 1 (was a
	// transaction per picture).
	wsID := r.Draft.WorkspaceID
	var thumbs []*approvals.Thumb
	for i := range 4 {
		thumbs = append(thumbs, &approvals.Thumb{DraftID: ids[0], Revision: 1, Index: i, ContentType: "image/png", Data: []byte{byte(i)}})
	}
	ok(db.InTx(ctx, func(ctx context.Context, tx approvals.Tx) error { return tx.SaveThumbs(ctx, wsID, thumbs) }))
	shown := func(indexes []int) int {
		return tr.Count(t, func() {
			got, err := svc.ShownThumbs(ctx, wsID, ids[0], 1, indexes)
			ok(err)
			if len(got) != len(indexes) {
				t.Fatalf("ShownThumbs(%v) = %d thumbnails", indexes, len(got))
			}
			for i, th := range got {
				if th.Index != indexes[i] || th.Data[0] != byte(indexes[i]) {
					t.Fatalf("thumbnail %d is picture %d (%v), want %d", i, th.Index, th.Data, indexes[i])
				}
			}
		})
	}
	pic1, pic4 := shown([]int{2}), shown([]int{0, 1, 2, 3})
	t.Logf("an email's pictures: %d round trips for 1, %d for 4", pic1, pic4)
	if pic4 != pic1 || pic1 > 3 {
		t.Errorf("4 pictures took %d round trips, 1 took %d: want the same, at most 3", pic4, pic1)
	}
}
