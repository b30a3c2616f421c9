package bot_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/internal/slackfake"
	"github.com/signoff-app/signoff/outbox"
)

// decideBlocks lists the drafts whose Approve/Reject buttons a message
// shows, by the IDs of its action blocks.
func decideBlocks(c slackfake.Call) []string {
	var out []string
	for _, b := range c.Blocks() {
		if id, _ := b["block_id"].(string); strings.HasPrefix(id, "decide_") {
			out = append(out, id)
		}
	}
	return out
}

// An approver's request DMs within the window are one message with each
// draft's buttons; a click decides that draft alone and the message is
// redrawn in place without its buttons. The client channel is unaffected.
func TestGroupedDMs(t *testing.T) {
	h := newHarness(t)
	op := approvals.Operator(h.slug)
	window, none := 5*time.Minute, ""
	_, err := h.svc.SetWorkspace(h.ctx, op, approvals.WorkspaceSettings{GroupWindow: &window})
	h.must(err)
	_, err = h.svc.SetAccount(h.ctx, op, "acme", approvals.AccountSettings{SlackChannel: &none}) // requests go to DMs
	h.must(err)
	for _, u := range []string{uClient, uCx} {
		id := u
		_, err := h.svc.SetMember(h.ctx, op, h.members[u].Email, approvals.MemberSettings{SlackUserID: &id})
		h.must(err)
	}
	var ids []int64
	for i := range 3 {
		v, err := h.svc.Submit(h.ctx, approvals.Actor{Workspace: h.slug, Email: "ed@agency.test", Channel: approvals.ChannelCLI},
			approvals.DraftInput{Account: "acme", Text: fmt.Sprintf("Grouped post %d", i+1)})
		h.must(err)
		ids = append(ids, v.ID)
	}
	h.dispatch()
	if n := len(slackfake.Only(h.slack.Take(), "chat.postMessage")); n != 0 {
		t.Fatalf("%d posts within the window, want none", n)
	}

	h.disp.Now = func() time.Time { return time.Now().Add(window) }
	h.dispatch()
	posts := slackfake.Only(h.slack.Take(), "chat.postMessage")
	byUser := map[string]slackfake.Call{}
	for _, c := range posts {
		byUser[c.Str("channel")] = c
	}
	if len(posts) != 2 || len(byUser) != 2 {
		t.Fatalf("%d posts to %d users, want one grouped DM to each of the 2 linked approvers", len(posts), len(byUser))
	}
	want := []string{fmt.Sprintf("decide_%d_1_client", ids[0]), fmt.Sprintf("decide_%d_1_client", ids[1]), fmt.Sprintf("decide_%d_1_client", ids[2])}
	cleo := byUser[uClient]
	if got := decideBlocks(cleo); !slices.Equal(got, want) {
		t.Fatalf("grouped DM buttons %v, want %v", got, want)
	}

	// Cleo approves the second draft from her grouped DM.
	h.send("/slack/interactions", "application/x-www-form-urlencoded",
		slackfake.Payload(click(uClient, "signoff_approve", fmt.Sprintf("%d/1/client", ids[1]), "D"+uClient[1:], cleo.TS)), nil)
	h.dispatch()
	if st := h.draft(ids[1]).State; st != approvals.StateApproved {
		t.Fatalf("draft %d is %s, want approved", ids[1], st)
	}
	for _, id := range []int64{ids[0], ids[2]} {
		if st := h.draft(id).State; st != approvals.StatePendingClient {
			t.Errorf("draft %d is %s, want still pending", id, st)
		}
	}
	updates := slackfake.Only(h.slack.Take(), "chat.update")
	redrawn := map[string]bool{}
	for _, c := range updates {
		redrawn[c.Str("ts")] = true
		if got, want := decideBlocks(c), []string{want[0], want[2]}; !slices.Equal(got, want) {
			t.Errorf("redrawn grouped DM %s buttons %v, want %v", c.Str("ts"), got, want)
		}
	}
	if !redrawn[cleo.TS] || !redrawn[byUser[uCx].TS] {
		t.Errorf("updated %v, want both grouped DMs redrawn", redrawn)
	}
}

// A grouped DM costs the same statements whatever the number of drafts it
// holds: posting it (whether each was posted before, storing each
// request) and redrawing it after a decision (every draft's view) read
// and write its drafts together, not one by one.
func TestGroupedDMRoundTrips(t *testing.T) {
	trips := func(n int) (post, redraw int) {
		db, tr := pgtest.OpenCounted(t, env.NewDatabase(t), 0)
		h := newHarnessOn(t, db)
		none := ""
		_, err := h.svc.SetAccount(h.ctx, approvals.Operator(h.slug), "acme", approvals.AccountSettings{SlackChannel: &none})
		h.must(err)
		cleo := h.members[uClient]
		var group []*approvals.OutboxMessage
		var ids []int64
		for i := range n {
			v, err := h.svc.Submit(h.ctx, approvals.Actor{Workspace: h.slug, Email: "ed@agency.test", Channel: approvals.ChannelCLI},
				approvals.DraftInput{Account: "acme", Text: fmt.Sprintf("Grouped post %d", i+1)})
			h.must(err)
			ids = append(ids, v.ID)
			group = append(group, &approvals.OutboxMessage{WorkspaceID: v.WorkspaceID, Channel: approvals.ChannelSlack,
				Payload: approvals.Notification{Event: approvals.EventApprovalRequested, WorkspaceID: v.WorkspaceID, DraftID: v.ID,
					Revision: 1, Tier: approvals.TierClient, RecipientID: cleo.ID, Target: uClient}})
		}
		send := h.bot.Sender().(outbox.GroupSender)
		h.slack.Take()
		post = tr.Count(t, func() { h.must(send.SendGroup(h.ctx, approvals.NewBatch(group), group)) })
		posts := slackfake.Only(h.slack.Take(), "chat.postMessage")
		if len(posts) != 1 || len(decideBlocks(posts[0])) != n {
			t.Fatalf("%d drafts: %d posts, want one grouped DM with %d drafts' buttons", n, len(posts), n)
		}

		_, err = h.svc.Approve(h.ctx, approvals.Actor{Workspace: h.slug, Email: cleo.Email, Channel: approvals.ChannelCLI}, ids[0])
		h.must(err)
		decided := group[0].Payload
		decided.Event = approvals.EventDecisionRecorded
		m := &approvals.OutboxMessage{WorkspaceID: decided.WorkspaceID, Channel: approvals.ChannelSlack, Payload: decided}
		redraw = tr.Count(t, func() { h.must(send.Send(h.ctx, approvals.NewBatch([]*approvals.OutboxMessage{m}), m)) })
		updates := slackfake.Only(h.slack.Take(), "chat.update")
		if len(updates) != 1 || len(decideBlocks(updates[0])) != n-1 {
			t.Fatalf("%d drafts: %d updates, want the grouped DM redrawn with %d drafts' buttons", n, len(updates), n-1)
		}
		return post, redraw
	}
	post3, redraw3 := trips(3)
	post9, redraw9 := trips(9)
	t.Logf("grouped DM of 3 drafts: %d round trips to post, %d to redraw; of 9: %d and %d", post3, redraw3, post9, redraw9)
	if post9 != post3 || redraw9 != redraw3 {
		t.Errorf("a grouped DM of 9 drafts took %d and %d round trips, one of 3 took %d and %d: want the same", post9, redraw9, post3, redraw3)
	}
}
