package bot_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/slackfake"
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
