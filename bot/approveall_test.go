package bot_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/slackfake"
)

// App Home groups what waits by account; "Approve all on ACCOUNT" opens a
// modal listing the drafts, and its submission approves each on its own:
// a draft revised or decided by someone else since is left alone, and the
// clicker is told which.
func TestAppHomeApproveAll(t *testing.T) {
	h := newHarness(t)
	var ids []int64
	for _, text := range []string{"Post one", "Post two", "Post three"} {
		ids = append(ids, h.submitNew(uEditor, text))
	}
	h.dispatch()
	h.slack.Take()
	acme := h.draft(ids[0]).Account.ID
	value := strconv.FormatInt(acme, 10)

	event := fmt.Sprintf(`{"token":"legacy","team_id":%q,"api_app_id":"A0SIGNOFF","event":{"type":"app_home_opened","user":%q,"channel":"D0C","tab":"home","event_ts":"1.2"},"type":"event_callback","event_id":"Ev0ALL1","event_time":1700000300}`, team, uClient)
	h.send("/slack/events", "application/json", event, nil)
	pub := slackfake.Only(h.slack.Take(), "views.publish")
	if len(pub) != 1 {
		t.Fatalf("views.publish = %+v", pub)
	}
	if got := accessories(pub[0].Blocks()); len(got) != 1 || got[0] != "signoff_approve_all="+value {
		t.Fatalf("home accessories %v, want Approve all on acme", got)
	}
	if home := joined(pub[0].Blocks()); !strings.Contains(home, "*Acme Instagram* · 3 waiting") {
		t.Errorf("home does not group by account:\n%s", home)
	}

	h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(click(uClient, "signoff_approve_all", value, "", "")), nil)
	opened := slackfake.Only(h.slack.Take(), "views.open")
	if len(opened) != 1 || opened[0].View()["callback_id"] != "signoff_approve_all" {
		t.Fatalf("approve-all click opened %+v, want the confirmation modal", opened)
	}
	listed := joined(opened[0].Blocks())
	for _, id := range ids {
		if !strings.Contains(listed, fmt.Sprintf("#%d · rev 1", id)) {
			t.Errorf("the modal does not list draft %d:\n%s", id, listed)
		}
	}
	for _, id := range ids {
		if h.draft(id).State != approvals.StatePendingClient {
			t.Fatalf("opening the modal decided draft %d", id)
		}
	}

	// Since the modal was shown: one draft revised, one approved by another approver.
	ed := approvals.Actor{Workspace: h.slug, Email: "ed@agency.test", Channel: approvals.ChannelCLI}
	if _, err := h.svc.Revise(h.ctx, ed, ids[1], approvals.DraftInput{Text: "Post two, revised"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Approve(h.ctx, approvals.Actor{Workspace: h.slug, Email: "cx@client.test", Channel: approvals.ChannelCLI}, ids[2]); err != nil {
		t.Fatal(err)
	}
	h.slack.Take()

	// Someone else submitting the same list decides nothing.
	w := h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(slackfake.Submission(team, uViewer, opened[0], "V0ALLX", map[string]any{})), nil)
	if w.Code != 200 {
		t.Fatalf("submission answered %d", w.Code)
	}
	if h.draft(ids[0]).State != approvals.StatePendingClient {
		t.Fatal("a non-approver's approve-all decided a draft")
	}
	dm := slackfake.Only(h.slack.Take(), "chat.postMessage")
	if len(dm) != 1 || !strings.Contains(dm[0].Str("text"), "Approved 0 of 3") || !strings.Contains(dm[0].Str("text"), "not approved") {
		t.Errorf("the non-approver was told %+v", dm)
	}

	h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(slackfake.Submission(team, uClient, opened[0], "V0ALL1", map[string]any{})), nil)
	calls := h.slack.Take()
	dm = slackfake.Only(calls, "chat.postMessage")
	if len(dm) != 1 || dm[0].Str("channel") != uClient {
		t.Fatalf("report = %+v, want one DM to the clicker", dm)
	}
	report := dm[0].Str("text")
	for _, want := range []string{"Approved 1 of 3 drafts on Acme Instagram.", fmt.Sprintf("#%d left alone: draft %d was revised", ids[1], ids[1]), fmt.Sprintf("#%d left alone: draft %d was already approved", ids[2], ids[2])} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if n := len(slackfake.Only(calls, "views.publish")); n != 1 {
		t.Errorf("App Home published %d times after approve-all, want 1", n)
	}
	if v := h.draft(ids[0]); v.State != approvals.StateApproved {
		t.Errorf("draft %d is %s, want approved", ids[0], v.State)
	}
	if v := h.draft(ids[1]); v.State != approvals.StatePendingClient || len(v.Decisions) != 0 {
		t.Errorf("the revised draft is %s with %d decisions, want pending and undecided", v.State, len(v.Decisions))
	}
	if v := h.draft(ids[2]); len(v.Decisions) != 1 {
		t.Errorf("the draft approved by another has %d decisions, want 1", len(v.Decisions))
	}

	// A retry of the same submission does nothing more.
	h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(slackfake.Submission(team, uClient, opened[0], "V0ALL1", map[string]any{})), nil)
	if n := len(slackfake.Only(h.slack.Take(), "chat.postMessage")); n != 0 {
		t.Errorf("a retried submission was answered %d times", n)
	}
}

// accessories returns the action IDs and values of the sections' buttons.
func accessories(blocks []map[string]any) []string {
	out := []string{}
	for _, b := range blocks {
		if m, ok := b["accessory"].(map[string]any); ok && m["type"] == "button" {
			out = append(out, fmt.Sprintf("%s=%s", m["action_id"], m["value"]))
		}
	}
	return out
}
