package bot_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/slackfake"
)

// TestApproveWithCommentDeliversIt: "Approve with comment" opens a modal;
// its comment is recorded with the approval exactly as typed, shown in the
// request's thread, and the author's DM about the approval carries it.
// The one-click Approve stays as it was (TestSubmitApproveUpdatesMessageAndTellsAuthor).
func TestApproveWithCommentDeliversIt(t *testing.T) {
	h := newHarness(t)
	id := h.submitNew(uEditor, "Summer sale starts Monday!")
	h.request(id)
	value := fmt.Sprintf("%d/1/client", id)

	// The author, no approver, may not approve: no modal, an answer.
	h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(click(uEditor, "signoff_approve_comment", value, chanAcme, "1700000000.000001")), nil)
	calls := h.slack.Take()
	if n := len(slackfake.Only(calls, "views.open")); n != 0 {
		t.Fatalf("the author's click opened %d modals", n)
	}
	if eph := slackfake.Only(calls, "chat.postEphemeral"); len(eph) != 1 || !strings.Contains(eph[0].Str("text"), "is not an approver") {
		t.Fatalf("the author's click answered %+v", eph)
	}

	h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(click(uClient, "signoff_approve_comment", value, chanAcme, "1700000000.000002")), nil)
	opened := slackfake.Only(h.slack.Take(), "views.open")
	if len(opened) != 1 || opened[0].Args["view"].(map[string]any)["callback_id"] != "signoff_approve_comment" {
		t.Fatalf("approve-with-comment click opened %+v, want the approve modal", opened)
	}
	if got := h.draft(id).State; got != approvals.StatePendingClient {
		t.Fatalf("state after the click = %s; the click alone must change nothing", got)
	}

	// A comment the core refuses is an inline error; nothing is queued.
	long := map[string]any{"comment": slackfake.TextValue("comment", strings.Repeat("x", approvals.MaxCommentLen+1))}
	w := h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(slackfake.Submission(team, uClient, opened[0], "V0APC", long)), nil)
	var resp struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.ResponseAction != "errors" || !strings.Contains(resp.Errors["comment"], "4001 characters") {
		t.Fatalf("too long a comment answered %d %q", w.Code, w.Body.String())
	}
	if got, n := h.draft(id).State, h.queued(); got != approvals.StatePendingClient || n != 0 {
		t.Fatalf("after a refused comment: state %s, %d queued", got, n)
	}

	comment := "Approved — fix the typo in the last line.\n<b>not bold</b> & *not bold either*"
	w = h.ack("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(slackfake.Submission(team, uClient, opened[0], "V0APC", map[string]any{"comment": slackfake.TextValue("comment", comment)})), nil)
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("submission answered %d %q, want an empty 200 (close)", w.Code, w.Body.String())
	}
	h.work()
	if eph := slackfake.Only(h.slack.Take(), "chat.postEphemeral"); len(eph) != 1 || !strings.Contains(eph[0].Str("text"), "Approved draft") {
		t.Errorf("answers = %+v, want one ephemeral saying approved", eph)
	}
	v := h.draft(id)
	if v.State != approvals.StateApproved {
		t.Fatalf("state = %s, want approved", v.State)
	}
	if got := v.Decisions[len(v.Decisions)-1]; got.Verdict != approvals.VerdictApprove || got.Comment != comment {
		t.Fatalf("decision = %s %q, want approve with the comment exactly", got.Verdict, got.Comment)
	}

	h.dispatch()
	calls = h.slack.Take()
	var dm *slackfake.Call
	thread := ""
	for _, c := range slackfake.Only(calls, "chat.postMessage") {
		switch {
		case c.Str("channel") == uEditor:
			dm = &c
		case c.Str("thread_ts") != "":
			thread += joined(c.Blocks())
		}
	}
	if !strings.Contains(thread, comment) {
		t.Errorf("the request's thread lacks the comment:\n%s", thread)
	}
	if dm == nil {
		t.Fatalf("no DM to the author among %v", slackfake.Methods(calls))
	}
	if !strings.Contains(joined(dm.Blocks()), "Cleo Client* approved with a comment") {
		t.Errorf("the author's DM does not say who commented:\n%s", joined(dm.Blocks()))
	}
	var got []string
	for _, b := range dm.Blocks() {
		if id, _ := b["block_id"].(string); strings.HasPrefix(id, "approval_comment_") {
			tx := b["text"].(map[string]any)
			if tx["type"] != "plain_text" {
				t.Errorf("comment block type = %v, want plain_text (markup shown as typed)", tx["type"])
			}
			got = append(got, tx["text"].(string))
		}
	}
	if diff := cmp.Diff([]string{comment}, got); diff != "" {
		t.Errorf("comment in the author's DM (-want +got):\n%s", diff)
	}
}

// TestSlackNetworkLimits: a draft submitted from Slack that the account's
// network would refuse is refused with the rule and the excess, and
// creates nothing; the request names the network.
func TestSlackNetworkLimits(t *testing.T) {
	h := newHarness(t)
	x := approvals.NetworkX
	_, err := h.svc.SetAccount(h.ctx, approvals.Operator(h.slug), "acme", approvals.AccountSettings{Network: &x})
	h.must(err)
	w := h.command(uEditor, chanAcme, "submit acme "+strings.Repeat("字", 141))
	if !strings.Contains(w.Body.String(), "X posts take at most 280 characters") || !strings.Contains(w.Body.String(), "this one has 282") {
		t.Fatalf("over-long submit answered %q", w.Body.String())
	}
	ds, err := h.svc.List(h.ctx, approvals.Actor{Workspace: h.slug, Email: "ed@agency.test", Channel: approvals.ChannelCLI}, approvals.ListInput{})
	h.must(err)
	if len(ds) != 0 {
		t.Fatalf("a refused submission left drafts %+v", ds)
	}
	if w := h.command(uEditor, chanAcme, "submit acme "+strings.Repeat("字", 140)); !strings.Contains(w.Body.String(), "Submitted draft #") {
		t.Fatalf("a submit at the limit answered %q", w.Body.String())
	}
	ds, err = h.svc.List(h.ctx, approvals.Actor{Workspace: h.slug, Email: "ed@agency.test", Channel: approvals.ChannelCLI}, approvals.ListInput{})
	h.must(err)
	if len(ds) != 1 {
		t.Fatalf("%d drafts", len(ds))
	}
	req := h.request(ds[0].ID)
	if !strings.Contains(joined(req.Blocks()), "Acme Instagram (acme) on X") {
		t.Errorf("the request does not name the network:\n%s", joined(req.Blocks()))
	}
}
