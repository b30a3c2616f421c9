package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/slackfake"
	"github.com/signoff-app/signoff/outbox"
)

// buttons returns the action IDs and values of the message's buttons.
func buttons(blocks []map[string]any) []string {
	out := []string{}
	for _, b := range blocks {
		if b["type"] != "actions" {
			continue
		}
		els, _ := b["elements"].([]any)
		for _, e := range els {
			m, _ := e.(map[string]any)
			out = append(out, fmt.Sprintf("%s=%s", m["action_id"], m["value"]))
		}
	}
	return out
}

// texts returns every text of the blocks (sections, fields, headers).
func texts(blocks []map[string]any) []string {
	var out []string
	add := func(t any) {
		if m, ok := t.(map[string]any); ok {
			if s, ok := m["text"].(string); ok {
				out = append(out, s)
			}
		}
	}
	for _, b := range blocks {
		add(b["text"])
		if fs, ok := b["fields"].([]any); ok {
			for _, f := range fs {
				add(f)
			}
		}
	}
	return out
}

func joined(blocks []map[string]any) string { return strings.Join(texts(blocks), "\n") }

// submitNew runs "/signoff new" as user and submits the modal with text;
// it returns the new draft's ID.
func (h *harness) submitNew(user, text string) int64 {
	h.t.Helper()
	if w := h.command(user, chanAcme, "new"); w.Code != http.StatusOK || w.Body.Len() != 0 {
		h.t.Fatalf("/signoff new: %d %q", w.Code, w.Body.String())
	}
	opened := slackfake.Only(h.slack.Take(), "views.open")
	if len(opened) != 1 {
		h.t.Fatalf("views.open calls = %d, want 1", len(opened))
	}
	values := map[string]any{
		"account":  map[string]any{"account": map[string]any{"type": "static_select", "selected_option": map[string]any{"text": map[string]any{"type": "plain_text", "text": "Acme Instagram (acme)"}, "value": "acme"}}},
		"text":     slackfake.TextValue("text", text),
		"media":    slackfake.TextValue("media", "https://cdn.example.com/a.jpg\n"),
		"schedule": map[string]any{"schedule": map[string]any{"type": "datetimepicker", "selected_date_time": time.Now().Add(48 * time.Hour).Unix()}},
	}
	w := h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(slackfake.Submission(team, user, opened[0], "V0NEW"+strconv.Itoa(triggerSeq), values)), nil)
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		h.t.Fatalf("view_submission: %d %q", w.Code, w.Body.String())
	}
	ds, err := h.svc.List(h.ctx, approvals.Actor{Workspace: h.slug, Email: h.members[user].Email, Channel: approvals.ChannelCLI}, approvals.ListInput{})
	h.must(err)
	if len(ds) == 0 {
		h.t.Fatal("no draft was created")
	}
	h.slack.Take()
	return ds[0].ID
}

// request returns the approval request posted for the draft: the
// chat.postMessage call to the account's channel.
func (h *harness) request(id int64) slackfake.Call {
	h.t.Helper()
	h.dispatch()
	var got []slackfake.Call
	for _, c := range slackfake.Only(h.slack.Take(), "chat.postMessage") {
		if c.Str("channel") == chanAcme {
			got = append(got, c)
		}
	}
	if len(got) != 1 {
		h.t.Fatalf("requests posted to %s = %d, want 1", chanAcme, len(got))
	}
	want := []string{fmt.Sprintf("signoff_approve=%d/1/client", id), fmt.Sprintf("signoff_approve_comment=%d/1/client", id), fmt.Sprintf("signoff_reject=%d/1/client", id)}
	if diff := cmp.Diff(want, buttons(got[0].Blocks())); diff != "" {
		h.t.Fatalf("request buttons (-want +got):\n%s", diff)
	}
	return got[0]
}

func TestNewDraftOnlyOffersCreatableAccounts(t *testing.T) {
	h := newHarness(t)
	w := h.command(uEditor, chanAcme, "new")
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("got %d %q, want an empty 200", w.Code, w.Body.String())
	}
	calls := h.slack.Take()
	if diff := cmp.Diff([]string{"users.info", "views.open"}, slackfake.Methods(calls)); diff != "" {
		t.Fatalf("Slack calls (-want +got):\n%s", diff)
	}
	view := calls[1].Args["view"].(map[string]any)
	if view["callback_id"] != "signoff_submit" {
		t.Errorf("callback_id = %v", view["callback_id"])
	}
	var options []string
	for _, b := range calls[1].Blocks() {
		if b["block_id"] != "account" {
			continue
		}
		for _, o := range b["element"].(map[string]any)["options"].([]any) {
			options = append(options, o.(map[string]any)["value"].(string))
		}
	}
	// ed may view gamma and not create on it; beta is not his at all.
	if diff := cmp.Diff([]string{"acme"}, options); diff != "" {
		t.Errorf("account options (-want +got):\n%s", diff)
	}
}

func TestSubmitApproveUpdatesMessageAndTellsAuthor(t *testing.T) {
	h := newHarness(t)
	id := h.submitNew(uEditor, "Summer sale starts Monday! ☀️")
	v := h.draft(id)
	if v.State != approvals.StatePendingClient || v.Author.SlackUserID != uEditor {
		t.Fatalf("draft state %s author slack %q, want pending_client by %s", v.State, v.Author.SlackUserID, uEditor)
	}
	if diff := cmp.Diff([]string{"https://cdn.example.com/a.jpg"}, v.Current.MediaURLs); diff != "" {
		t.Errorf("media (-want +got):\n%s", diff)
	}
	if v.Current.ScheduledAt == nil {
		t.Error("schedule was not kept")
	}
	req := h.request(id)
	for _, want := range []string{"Acme Instagram", "Ed Editor", "Summer sale starts Monday! ☀️", "https://cdn.example.com/a.jpg", "*Revision*\n1"} {
		if !strings.Contains(joined(req.Blocks()), want) {
			t.Errorf("request lacks %q:\n%s", want, joined(req.Blocks()))
		}
	}

	// The database answers in time: the click is decided in the request,
	// in one transaction, and nothing is queued.
	w := h.ack("/slack/interactions", "application/x-www-form-urlencoded",
		slackfake.Payload(click(uClient, "signoff_approve", fmt.Sprintf("%d/1/client", id), chanAcme, "1700000000.000001")), nil)
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("click: %d %q, want an empty 200", w.Code, w.Body.String())
	}
	if got, n := h.draft(id).State, h.queued(); got != approvals.StateApproved || n != 0 {
		t.Fatalf("after the acknowledgement: state %s with %d clicks queued, want approved and 0", got, n)
	}
	eph := slackfake.Only(h.slack.Take(), "chat.postEphemeral")
	if len(eph) != 1 || !strings.Contains(eph[0].Str("text"), "Approved draft") || eph[0].Str("user") != uClient {
		t.Errorf("ephemeral answers = %+v, want one to the clicker saying approved", eph)
	}

	h.dispatch()
	calls := h.slack.Take()
	upd := slackfake.Only(calls, "chat.update")
	if len(upd) != 1 {
		t.Fatalf("chat.update calls = %d (%v), want 1", len(upd), slackfake.Methods(calls))
	}
	if upd[0].Str("channel") != chanAcme || upd[0].Str("ts") != req.Args["ts"] && upd[0].Str("ts") != "1700000000.000001" {
		t.Errorf("chat.update on %s/%s, want the stored message", upd[0].Str("channel"), upd[0].Str("ts"))
	}
	if b := buttons(upd[0].Blocks()); len(b) != 0 {
		t.Errorf("updated message still has buttons %v", b)
	}
	if !strings.Contains(joined(upd[0].Blocks()), "Approved by Cleo Client via Slack at") {
		t.Errorf("updated message lacks the decision:\n%s", joined(upd[0].Blocks()))
	}
	var thread, dm []slackfake.Call
	for _, c := range slackfake.Only(calls, "chat.postMessage") {
		switch {
		case c.Str("thread_ts") != "":
			thread = append(thread, c)
		case c.Str("channel") == uEditor:
			dm = append(dm, c)
		}
	}
	if len(thread) != 1 || thread[0].Str("channel") != chanAcme || !strings.Contains(thread[0].Str("text"), "Approved by Cleo Client") {
		t.Errorf("thread posts = %+v, want the decision in the request's thread", thread)
	}
	if len(dm) != 1 || !strings.Contains(dm[0].Str("text"), "is approved") {
		t.Errorf("DMs to the author = %+v, want one saying approved", dm)
	}
}

func TestRejectNeedsCommentAndDeliversItExactly(t *testing.T) {
	h := newHarness(t)
	w := h.command(uEditor, chanAcme, "submit acme New menu, new   look.")
	if !strings.Contains(w.Body.String(), "Submitted draft #") {
		t.Fatalf("inline submit answered %q", w.Body.String())
	}
	ds, err := h.svc.List(h.ctx, approvals.Actor{Workspace: h.slug, Email: "ed@agency.test", Channel: approvals.ChannelCLI}, approvals.ListInput{})
	h.must(err)
	id := ds[0].ID
	if got := h.draft(id).Current.Text; got != "New menu, new   look." {
		t.Errorf("inline text = %q, want it exactly", got)
	}
	h.slack.Take()
	h.request(id)
	value := fmt.Sprintf("%d/1/client", id)

	h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(click(uClient, "signoff_reject", value, chanAcme, "1700000000.000001")), nil)
	opened := slackfake.Only(h.slack.Take(), "views.open")
	if len(opened) != 1 || opened[0].Args["view"].(map[string]any)["callback_id"] != "signoff_reject" {
		t.Fatalf("reject click opened %+v, want the reject modal", opened)
	}
	if got := h.draft(id).State; got != approvals.StatePendingClient {
		t.Fatalf("state after the reject click = %s; the click alone must change nothing", got)
	}

	blank := map[string]any{"comment": slackfake.TextValue("comment", "  \n ")}
	w = h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(slackfake.Submission(team, uClient, opened[0], "V0REJ", blank)), nil)
	var resp struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("blank comment answered %d %q", w.Code, w.Body.String())
	}
	if resp.ResponseAction != "errors" || !strings.Contains(resp.Errors["comment"], "comment") {
		t.Errorf("blank comment answer = %+v, want an inline error on the comment block", resp)
	}
	if got := h.draft(id).State; got != approvals.StatePendingClient {
		t.Fatalf("state after a blank reject = %s, want pending_client", got)
	}

	if n := h.queued(); n != 0 {
		t.Fatalf("a blank reject queued %d clicks", n)
	}

	comment := "Bitte kürzer — <b>nicht</b> so & laut.\nZweite Zeile 🙂"
	w = h.ack("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(slackfake.Submission(team, uClient, opened[0], "V0REJ", map[string]any{"comment": slackfake.TextValue("comment", comment)})), nil)
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("reject submission answered %d %q, want an empty 200 (close)", w.Code, w.Body.String())
	}
	if got, n := h.draft(id).State, h.queued(); got != approvals.StatePendingClient || n != 1 {
		t.Fatalf("after the acknowledgement: state %s with %d queued, want pending_client and 1", got, n)
	}
	h.work()
	if eph := slackfake.Only(h.slack.Take(), "chat.postEphemeral"); len(eph) != 1 || eph[0].Str("user") != uClient || eph[0].Str("channel") != chanAcme ||
		!strings.Contains(eph[0].Str("text"), "Rejected draft") {
		t.Errorf("answers to the rejection = %+v, want one ephemeral saying rejected", eph)
	}
	v := h.draft(id)
	if v.State != approvals.StateRejected {
		t.Fatalf("state = %s, want rejected", v.State)
	}
	if got := v.Decisions[len(v.Decisions)-1].Comment; got != comment {
		t.Errorf("stored comment = %q, want %q", got, comment)
	}
	h.slack.Take()
	h.dispatch()
	calls := h.slack.Take()
	var dm *slackfake.Call
	for _, c := range slackfake.Only(calls, "chat.postMessage") {
		if c.Str("channel") == uEditor {
			dm = &c
		}
	}
	if dm == nil {
		t.Fatalf("no DM to the author among %v", slackfake.Methods(calls))
	}
	var comments []string
	for _, b := range dm.Blocks() {
		if id, _ := b["block_id"].(string); strings.HasPrefix(id, "comment_") {
			tx := b["text"].(map[string]any)
			if tx["type"] != "plain_text" {
				t.Errorf("comment block type = %v, want plain_text (markup shown as typed)", tx["type"])
			}
			comments = append(comments, tx["text"].(string))
		}
	}
	if diff := cmp.Diff([]string{comment}, comments); diff != "" {
		t.Errorf("comment in the author's DM (-want +got):\n%s", diff)
	}
	upd := slackfake.Only(calls, "chat.update")
	if len(upd) != 1 || len(buttons(upd[0].Blocks())) != 0 || !strings.Contains(joined(upd[0].Blocks()), "Rejected by Cleo Client via Slack") {
		t.Errorf("chat.update = %+v, want the message without buttons, saying rejected", upd)
	}
}

func TestClicksThatMayNotActChangeNothing(t *testing.T) {
	h := newHarness(t)
	// Cam, a client approver who may create, writes the draft.
	w := h.command(uCam, chanAcme, "submit acme Autumn teaser")
	if !strings.Contains(w.Body.String(), "Submitted draft #") {
		t.Fatalf("submit answered %q", w.Body.String())
	}
	ds, err := h.svc.List(h.ctx, approvals.Actor{Workspace: h.slug, Email: "cam@client.test", Channel: approvals.ChannelCLI}, approvals.ListInput{})
	h.must(err)
	id := ds[0].ID
	h.slack.Take()
	h.request(id)
	value := fmt.Sprintf("%d/1/client", id)

	approve := func(user, action string) string {
		t.Helper()
		w := h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(click(user, action, value, chanAcme, "1700000000.000001")), nil)
		if w.Code != http.StatusOK {
			t.Fatalf("click by %s: status %d", user, w.Code)
		}
		calls := h.slack.Take()
		if n := len(slackfake.Only(calls, "views.open")); n != 0 {
			t.Errorf("click by %s opened %d modals", user, n)
		}
		eph := slackfake.Only(calls, "chat.postEphemeral")
		if len(eph) != 1 {
			t.Fatalf("click by %s: %d ephemeral answers (%v), want 1", user, len(eph), slackfake.Methods(calls))
		}
		if eph[0].Str("user") != user || eph[0].Str("channel") != chanAcme {
			t.Errorf("ephemeral went to %s in %s", eph[0].Str("user"), eph[0].Str("channel"))
		}
		return eph[0].Str("text")
	}
	decisions := func() int { return len(h.draft(id).Decisions) }

	for _, tc := range []struct {
		name, user, action, want string
	}{
		{"unlinked", uStranger, "signoff_approve", "is not the email of a member"},
		{"no access", uOutsider, "signoff_approve", "No draft"},
		{"not an approver", uViewer, "signoff_approve", "is not an approver of account"},
		{"not an approver rejects", uViewer, "signoff_reject", "is not an approver of account"},
		{"the author", uCam, "signoff_approve", "nobody decides on words they wrote"},
		{"the author rejects", uCam, "signoff_reject", "nobody decides on words they wrote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := approve(tc.user, tc.action)
			if !strings.Contains(strings.ToLower(got), strings.ToLower(tc.want)) {
				t.Errorf("answer %q does not say %q", got, tc.want)
			}
			if st := h.draft(id).State; st != approvals.StatePendingClient || decisions() != 0 {
				t.Errorf("state %s with %d decisions, want pending_client and none", st, decisions())
			}
		})
	}
	if _, err := h.svc.SlackMember(h.ctx, team, uStranger); approvals.ErrorCode(err) != approvals.ENOTFOUND {
		t.Errorf("stranger linked: %v", err)
	}

	// Cleo approves; then the second clicks are told what happened.
	if got := approve(uClient, "signoff_approve"); !strings.Contains(got, "Approved draft") {
		t.Fatalf("approval answered %q", got)
	}
	for _, tc := range []struct{ user, action, want string }{
		{uClient, "signoff_approve", "You already approved draft"},
		{uCx, "signoff_approve", "was already approved by Cleo Client"},
		{uCx, "signoff_reject", "was already approved by Cleo Client"},
	} {
		got := approve(tc.user, tc.action)
		if !strings.Contains(got, tc.want) {
			t.Errorf("second click by %s (%s) answered %q, want %q", tc.user, tc.action, got, tc.want)
		}
	}
	if st, n := h.draft(id).State, decisions(); st != approvals.StateApproved || n != 1 {
		t.Errorf("state %s with %d decisions, want approved with 1", st, n)
	}
	if n := h.auditCount("draft.approve", "refused"); n < 3 {
		t.Errorf("refused approvals audited = %d, want at least 3", n)
	}
}

func TestRequestsMustBeSignedAndFresh(t *testing.T) {
	h := newHarness(t)
	body := "token=legacy&team_id=" + team + "&user_id=" + uEditor + "&command=%2Fsignoff&text=submit+acme+forged&channel_id=" + chanAcme + "&trigger_id=1.2.3"
	now := time.Now()
	bad := slackfake.Sign(secret, now, body)
	bad.Set("X-Slack-Signature", "v0="+strings.Repeat("0", 64))
	for _, tc := range []struct {
		name   string
		body   string
		header http.Header
	}{
		{"bad signature", body, bad},
		{"stale timestamp", body, slackfake.Sign(secret, now.Add(-6*time.Minute), body)},
		{"future timestamp", body, slackfake.Sign(secret, now.Add(6*time.Minute), body)},
		{"body altered after signing", strings.Replace(body, "forged", "forgedX", 1), slackfake.Sign(secret, now, body)},
		{"no signature", body, http.Header{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/slack/commands", "/slack/interactions", "/slack/events"} {
				hd := tc.header.Clone()
				if len(hd) == 0 {
					hd.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now.Unix(), 10))
				}
				w := h.send(path, "application/x-www-form-urlencoded", tc.body, hd)
				if w.Code != http.StatusUnauthorized {
					t.Errorf("%s: status %d, want 401", path, w.Code)
				}
			}
		})
	}
	if calls := h.slack.Take(); len(calls) != 0 {
		t.Errorf("refused requests called Slack: %v", slackfake.Methods(calls))
	}
	ds, err := h.svc.List(h.ctx, approvals.Actor{Workspace: h.slug, Email: "ed@agency.test", Channel: approvals.ChannelCLI}, approvals.ListInput{})
	h.must(err)
	if len(ds) != 0 {
		t.Errorf("%d drafts created by refused requests", len(ds))
	}
	if n := h.auditCount("slack.request", "refused"); n != 15 {
		t.Errorf("refused requests audited = %d, want 15", n)
	}
	// The same request, signed, works.
	if w := h.send("/slack/commands", "application/x-www-form-urlencoded", body, nil); !strings.Contains(w.Body.String(), "Submitted draft") {
		t.Errorf("signed request answered %d %q", w.Code, w.Body.String())
	}
}

func TestRetriesActOnce(t *testing.T) {
	h := newHarness(t)
	if w := h.command(uEditor, chanAcme, "new"); w.Code != http.StatusOK {
		t.Fatal(w.Code)
	}
	opened := slackfake.Only(h.slack.Take(), "views.open")[0]
	values := map[string]any{
		"account": map[string]any{"account": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "acme"}}},
		"text":    slackfake.TextValue("text", "Once only"),
	}
	h.deliver(slackfake.Payload(slackfake.Submission(team, uEditor, opened, "V0ONCE", values)), 3)
	ds, err := h.svc.List(h.ctx, approvals.Actor{Workspace: h.slug, Email: "ed@agency.test", Channel: approvals.ChannelCLI}, approvals.ListInput{})
	h.must(err)
	if len(ds) != 1 {
		t.Fatalf("drafts after three deliveries = %d, want 1", len(ds))
	}
	id := ds[0].ID
	h.slack.Take()
	h.request(id)

	// deliverThrice sends a click and Slack's two retries of it, and
	// checks how many clicks wait in the queue after each.
	deliverThrice := func(body string, queued int) {
		t.Helper()
		for i := range 3 {
			hd := slackfake.Sign(secret, time.Now(), body)
			if i > 0 {
				hd.Set("X-Slack-Retry-Num", strconv.Itoa(i))
			}
			h.ack("/slack/interactions", "application/x-www-form-urlencoded", body, hd)
			if n := h.queued(); n != queued {
				t.Errorf("clicks queued after delivery %d = %d, want %d", i, n, queued)
			}
		}
		h.work()
	}
	clickBody := slackfake.Payload(click(uClient, "signoff_approve", fmt.Sprintf("%d/1/client", id), chanAcme, "1700000000.000001"))
	deliverThrice(clickBody, 0) // decided in the request
	// And retries after the click was acted on.
	for range 2 {
		h.send("/slack/interactions", "application/x-www-form-urlencoded", clickBody, nil)
	}
	h.dispatch()
	if n := len(slackfake.Only(h.slack.Take(), "chat.postEphemeral")); n != 1 {
		t.Errorf("answers to a click decided in the request, delivered five times = %d, want 1", n)
	}
	// And the same through the queue, as when the database is slow.
	h.bot.DecideBudget = 0
	id2 := h.submitNew(uEditor, "Once only, queued")
	h.slack.Take()
	h.request(id2)
	queuedBody := slackfake.Payload(click(uClient, "signoff_approve", fmt.Sprintf("%d/1/client", id2), chanAcme, "1700000000.000002"))
	deliverThrice(queuedBody, 1)
	h.bot.DecideBudget = time.Second
	for range 2 {
		h.send("/slack/interactions", "application/x-www-form-urlencoded", queuedBody, nil)
	}
	if n := len(slackfake.Only(h.slack.Take(), "chat.postEphemeral")); n != 1 {
		t.Errorf("answers to a queued click delivered five times = %d, want 1", n)
	}
	for _, id := range []int64{id, id2} {
		if v := h.draft(id); v.State != approvals.StateApproved || len(v.Decisions) != 1 {
			t.Errorf("draft %d: state %s with %d decisions, want approved with 1", id, v.State, len(v.Decisions))
		}
	}

	event := fmt.Sprintf(`{"token":"legacy","team_id":%q,"api_app_id":"A0SIGNOFF","event":{"type":"app_home_opened","user":%q,"channel":"D0CLIENT","tab":"home","event_ts":"1700000300.000100"},"type":"event_callback","event_id":"Ev0HOME1","event_time":1700000300,"authorizations":[{"team_id":%q,"user_id":"U0BOT","is_bot":true}],"is_ext_shared_channel":false}`, team, uClient, team)
	for i := range 3 {
		hd := slackfake.Sign(secret, time.Now(), event)
		if i > 0 {
			hd.Set("X-Slack-Retry-Num", strconv.Itoa(i))
		}
		if w := h.send("/slack/events", "application/json", event, hd); w.Code != http.StatusOK {
			t.Fatalf("event delivery %d: %d", i, w.Code)
		}
	}
	if n := len(slackfake.Only(h.slack.Take(), "views.publish")); n != 1 {
		t.Errorf("views.publish after three deliveries = %d, want 1", n)
	}
}

// A refused click is answered once, whatever Slack's retries of it: its
// delivery is recorded though nothing else is. A new click is a new
// delivery and is answered again.
func TestRefusedClickAnsweredOnce(t *testing.T) {
	h := newHarness(t)
	id := h.submitNew(uEditor, "Not yours to approve")
	h.request(id)
	answers := func(body string, deliveries int) []slackfake.Call {
		t.Helper()
		h.deliver(body, deliveries)
		return slackfake.Only(h.slack.Take(), "chat.postEphemeral")
	}
	value := fmt.Sprintf("%d/1/client", id)
	got := answers(slackfake.Payload(click(uViewer, "signoff_approve", value, chanAcme, "1700000000.000001")), 3)
	if len(got) != 1 {
		t.Fatalf("answers to a refused click delivered three times = %d, want 1", len(got))
	}
	if text := got[0].Str("text"); !strings.Contains(text, "is not an approver") {
		t.Errorf("answer %q, want the refusal", text)
	}
	if n := len(answers(slackfake.Payload(click(uViewer, "signoff_approve", value, chanAcme, "1700000000.000001")), 1)); n != 1 {
		t.Errorf("answers to a second click = %d, want 1", n)
	}
	if v := h.draft(id); v.State != approvals.StatePendingClient || len(v.Decisions) != 0 {
		t.Errorf("draft %d: %s with %d decisions, want pending with none", id, v.State, len(v.Decisions))
	}
}

func TestEmailDecisionUpdatesSlackMessage(t *testing.T) {
	h := newHarness(t)
	id := h.submitNew(uEditor, "Decided by email")
	req := h.request(id)
	// The email channel calls the core with the member its link token named.
	cleo := h.members[uClient]
	_, err := h.svc.Decide(h.ctx, approvals.Actor{WorkspaceID: cleo.WorkspaceID, MemberID: cleo.ID, Channel: approvals.ChannelEmail},
		approvals.DecideInput{DraftID: id, Revision: 1, Tier: approvals.TierClient, Verdict: approvals.VerdictApprove})
	h.must(err)
	h.dispatch()
	upd := slackfake.Only(h.slack.Take(), "chat.update")
	if len(upd) != 1 {
		t.Fatalf("chat.update calls = %d, want 1", len(upd))
	}
	if upd[0].Str("channel") != chanAcme || upd[0].Str("ts") == "" {
		t.Errorf("updated %s/%s", upd[0].Str("channel"), upd[0].Str("ts"))
	}
	_ = req
	if b := buttons(upd[0].Blocks()); len(b) != 0 {
		t.Errorf("buttons left: %v", b)
	}
	if !strings.Contains(joined(upd[0].Blocks()), "Approved by Cleo Client via email at") {
		t.Errorf("update lacks the email decision:\n%s", joined(upd[0].Blocks()))
	}
}

func TestReviseSupersedesAndReposts(t *testing.T) {
	h := newHarness(t)
	id := h.submitNew(uEditor, "First take on the copy")
	h.request(id)
	h.command(uEditor, chanAcme, fmt.Sprintf("revise %d", id))
	opened := slackfake.Only(h.slack.Take(), "views.open")
	if len(opened) != 1 {
		t.Fatal("revise opened no modal")
	}
	var initial string
	for _, b := range opened[0].Blocks() {
		if b["block_id"] == "text" {
			initial, _ = b["element"].(map[string]any)["initial_value"].(string)
		}
	}
	if initial != "First take on the copy" {
		t.Errorf("revise modal text = %q, want the current text", initial)
	}
	w := h.send("/slack/interactions", "application/x-www-form-urlencoded",
		slackfake.Payload(slackfake.Submission(team, uEditor, opened[0], "V0REV", map[string]any{"text": slackfake.TextValue("text", "Second take on the copy")})), nil)
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("revise submission: %d %q", w.Code, w.Body.String())
	}
	if v := h.draft(id); v.Revision != 2 || v.State != approvals.StatePendingClient {
		t.Fatalf("revision %d state %s", v.Revision, v.State)
	}
	h.slack.Take()
	h.dispatch()
	calls := h.slack.Take()
	upd := slackfake.Only(calls, "chat.update")
	if len(upd) != 1 || !strings.Contains(joined(upd[0].Blocks()), "Superseded by revision 2") || len(buttons(upd[0].Blocks())) != 0 {
		t.Errorf("old request update = %+v, want superseded without buttons", upd)
	}
	var reposted []slackfake.Call
	for _, c := range slackfake.Only(calls, "chat.postMessage") {
		if c.Str("channel") == chanAcme {
			reposted = append(reposted, c)
		}
	}
	if len(reposted) != 1 || !strings.Contains(joined(reposted[0].Blocks()), "Changed since the last round") {
		t.Fatalf("reposts = %d, want one showing the changes", len(reposted))
	}
	if diff := cmp.Diff([]string{fmt.Sprintf("signoff_approve=%d/2/client", id), fmt.Sprintf("signoff_approve_comment=%d/2/client", id), fmt.Sprintf("signoff_reject=%d/2/client", id)}, buttons(reposted[0].Blocks())); diff != "" {
		t.Errorf("new buttons (-want +got):\n%s", diff)
	}
	// A click on the old message is told about the revision.
	h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(click(uClient, "signoff_approve", fmt.Sprintf("%d/1/client", id), chanAcme, "1700000000.000001")), nil)
	eph := slackfake.Only(h.slack.Take(), "chat.postEphemeral")
	if len(eph) != 1 || !strings.Contains(eph[0].Str("text"), "was revised; revision 2 is current") {
		t.Errorf("click on the old revision answered %+v", eph)
	}
}

func TestAppHomeShowsWaitingDrafts(t *testing.T) {
	h := newHarness(t)
	id := h.submitNew(uEditor, "Home sweet home")
	h.dispatch()
	h.slack.Take()
	event := fmt.Sprintf(`{"token":"legacy","team_id":%q,"api_app_id":"A0SIGNOFF","event":{"type":"app_home_opened","user":%q,"channel":"D0C","tab":"home","event_ts":"1.2"},"type":"event_callback","event_id":"Ev0HOME2","event_time":1700000300}`, team, uClient)
	h.send("/slack/events", "application/json", event, nil)
	pub := slackfake.Only(h.slack.Take(), "views.publish")
	if len(pub) != 1 || pub[0].Str("user_id") != uClient {
		t.Fatalf("views.publish = %+v", pub)
	}
	if diff := cmp.Diff([]string{fmt.Sprintf("signoff_approve=%d/1/client", id), fmt.Sprintf("signoff_approve_comment=%d/1/client", id), fmt.Sprintf("signoff_reject=%d/1/client", id)}, buttons(pub[0].Blocks())); diff != "" {
		t.Errorf("home buttons (-want +got):\n%s", diff)
	}
	// The author's home lists the draft as theirs.
	event = strings.Replace(strings.Replace(event, uClient, uEditor, 1), "Ev0HOME2", "Ev0HOME3", 1)
	h.send("/slack/events", "application/json", event, nil)
	pub = slackfake.Only(h.slack.Take(), "views.publish")
	if len(pub) != 1 || !strings.Contains(joined(pub[0].Blocks()), fmt.Sprintf("#%d · acme · waiting for client approval", id)) {
		t.Errorf("author's home:\n%s", joined(pub[0].Blocks()))
	}
	// url_verification answers the challenge.
	ch := `{"token":"legacy","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
	if w := h.send("/slack/events", "application/json", ch, nil); w.Body.String() != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("challenge answered %q", w.Body.String())
	}
}

func TestCommands(t *testing.T) {
	h := newHarness(t)
	h.must(h.svc.Grant(h.ctx, approvals.Operator(h.slug), "acme", approvals.GrantTarget{Email: "ed@agency.test"},
		approvals.NewCaps(approvals.CapView, approvals.CapCreate, approvals.CapComment)))
	id := h.submitNew(uEditor, "Listed draft")
	h.request(id)
	for _, tc := range []struct {
		name, user, channel, text, want string
	}{
		{"help", uEditor, chanAcme, "help", "`/signoff new`"},
		{"empty", uEditor, chanAcme, "", "`/signoff list [HANDLE] [STATE]`"},
		{"unknown", uEditor, chanAcme, "frobnicate now", "I don't know `frobnicate`"},
		{"submit without text", uEditor, chanAcme, "submit acme", "Usage: `/signoff submit HANDLE TEXT`"},
		{"show without id", uEditor, chanAcme, "show", "Usage: `/signoff show ID`"},
		{"show bad id", uEditor, chanAcme, "show abc", "Usage: `/signoff show ID`"},
		{"list", uEditor, chanAcme, "list", fmt.Sprintf("#%d · acme · waiting for client approval", id)},
		{"list by state", uEditor, chanAcme, "list acme approved", "No drafts."},
		{"list no access", uEditor, chanAcme, "list beta", "no access to account"},
		{"show", uClient, chanAcme, fmt.Sprintf("show %d", id), fmt.Sprintf("Draft #%d", id)},
		{"show invisible", uOutsider, chanAcme, fmt.Sprintf("show %d", id), "No draft"},
		{"history", uEditor, chanAcme, fmt.Sprintf("history %d", id), "revision 1: Listed draft"},
		{"link", uViewer, chanAcme, "link", "linked to Vi Viewer"},
		{"link stranger", uStranger, chanAcme, "link", "is not the email of a member"},
		{"bind needs manage", uEditor, "C0NEW", "bind acme", "may not manage account"},
		{"bind in a DM", uEditor, "D0XYZ", "bind acme", "not in a direct message"},
		{"internal without text", uEditor, chanAcme, fmt.Sprintf("comment %d --internal", id), "Usage: `/signoff comment ID [--internal] [TEXT]`"},
		{"comment", uEditor, chanAcme, fmt.Sprintf("comment %d looks good", id), fmt.Sprintf("Commented on draft #%d", id)},
		{"internal comment", uEditor, chanAcme, fmt.Sprintf("comment %d --internal legal checked", id), "Commented (internal: staff only)"},
		{"internal comment by a client", uClient, chanAcme, fmt.Sprintf("comment %d --internal psst", id), "Only staff"},
		{"history, staff", uEditor, chanAcme, fmt.Sprintf("history %d", id), "commented (internal): legal checked"},
		{"withdraw by a client", uViewer, chanAcme, fmt.Sprintf("withdraw %d", id), "may not withdraw"},
		{"withdraw", uEditor, chanAcme, fmt.Sprintf("withdraw %d", id), fmt.Sprintf("Withdrew draft #%d", id)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := h.command(tc.user, tc.channel, tc.text)
			var msg struct {
				ResponseType string `json:"response_type"`
				Text         string `json:"text"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &msg); err != nil {
				t.Fatalf("answer %d %q is not a message", w.Code, w.Body.String())
			}
			if msg.ResponseType != "ephemeral" {
				t.Errorf("response_type = %q, want ephemeral", msg.ResponseType)
			}
			if !strings.Contains(msg.Text+w.Body.String(), tc.want) {
				t.Errorf("answer %q lacks %q", msg.Text, tc.want)
			}
		})
	}
	if v := h.draft(id); v.State != approvals.StateWithdrawn {
		t.Errorf("state = %s, want withdrawn", v.State)
	}
	h.slack.Take()
	h.dispatch()
	upd := slackfake.Only(h.slack.Take(), "chat.update")
	if len(upd) != 1 || !strings.Contains(joined(upd[0].Blocks()), "Withdrawn") {
		t.Errorf("withdrawal update = %+v", upd)
	}

	// An owner binds a channel; the account's requests go there.
	owner, err := h.svc.AddMember(h.ctx, h.owner(), "boss@agency.test", "Bo Boss", approvals.RoleOwner)
	h.must(err)
	h.slack.AddUser("U0BOSS", owner.Email, nil)
	w := h.command("U0BOSS", "C0NEWACME", "bind acme")
	if !strings.Contains(w.Body.String(), "now post in <#C0NEWACME>") {
		t.Errorf("bind answered %q", w.Body.String())
	}
	acc, err := h.svc.Account(h.ctx, h.owner(), "acme")
	h.must(err)
	if acc.SlackChannel != "C0NEWACME" {
		t.Errorf("bound channel = %q", acc.SlackChannel)
	}
}

func TestNewDraftInlineErrors(t *testing.T) {
	h := newHarness(t)
	h.command(uEditor, chanAcme, "new")
	opened := slackfake.Only(h.slack.Take(), "views.open")[0]
	values := map[string]any{
		"account":  map[string]any{"account": map[string]any{"type": "static_select", "selected_option": nil}},
		"text":     slackfake.TextValue("text", "   "),
		"media":    slackfake.TextValue("media", "ftp://files.example.com/x.png"),
		"schedule": map[string]any{"schedule": map[string]any{"type": "datetimepicker", "selected_date_time": time.Now().Add(-time.Hour).Unix()}},
	}
	w := h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(slackfake.Submission(team, uEditor, opened, "V0BAD", values)), nil)
	var resp struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("answer %q", w.Body.String())
	}
	var fields []string
	for k := range resp.Errors {
		fields = append(fields, k)
	}
	want := map[string]string{"account": "Choose an account", "text": "empty", "media": "http or https", "schedule": "not in the future"}
	for k, sub := range want {
		if !strings.Contains(resp.Errors[k], sub) {
			t.Errorf("error on %s = %q, want it to mention %q (fields %v)", k, resp.Errors[k], sub, fields)
		}
	}
	if resp.ResponseAction != "errors" {
		t.Errorf("response_action = %q", resp.ResponseAction)
	}
}

func TestSenderHonoursRateLimitsAndGivesUpOnPermanentErrors(t *testing.T) {
	h := newHarness(t)
	h.slack.RateLimit(time.Hour, 42*time.Second, "chat.postMessage")
	h.command(uEditor, chanAcme, "submit acme Rate limited")
	start := time.Now()
	if _, err := h.disp.RunOnce(h.ctx); err != nil {
		t.Fatal(err)
	}
	pending, err := h.svc.Outbox(h.ctx, approvals.OutboxPending, 10)
	h.must(err)
	var slackRow *approvals.OutboxMessage
	for _, m := range pending {
		if m.Channel == approvals.ChannelSlack {
			slackRow = m
		}
	}
	if slackRow == nil || slackRow.Attempts != 1 || slackRow.NextAttemptAt.Before(start.Add(41*time.Second)) {
		t.Fatalf("rate-limited row = %+v, want a retry no sooner than Retry-After (42s)", slackRow)
	}

	// The 429 paused this dispatcher's Slack deliveries for the Retry-After;
	// a dispatcher of another replica (or this one after the wait) goes on.
	h.disp = &outbox.Dispatcher{Store: h.disp.Store, Views: h.disp.Views, Logger: h.disp.Logger, Senders: h.disp.Senders}
	h.slack.RateLimit(0, 0) // lifts the limit
	h.slack.Fail("chat.postMessage", "channel_not_found")
	h.command(uEditor, chanAcme, "submit acme Nowhere to go")
	h.dispatch()
	dead, err := h.svc.Outbox(h.ctx, approvals.OutboxDead, 10)
	h.must(err)
	if len(dead) != 1 || !strings.Contains(dead[0].LastError, "channel_not_found") || dead[0].Attempts != 1 {
		t.Errorf("dead rows = %+v, want the channel_not_found one, dead after one attempt", dead)
	}
}

// A click acknowledged to Slack is acted on even when the worker that
// leased it dies (its lease runs out), and acting on it again after a crash
// between the decision and the dequeue changes nothing.
func TestQueuedClickSurvivesACrash(t *testing.T) {
	h := newHarness(t)
	h.bot.DecideBudget = 0 // queue every click
	id := h.submitNew(uEditor, "Crash-proof copy")
	h.request(id)
	w := h.ack("/slack/interactions", "application/x-www-form-urlencoded",
		slackfake.Payload(click(uClient, "signoff_approve", fmt.Sprintf("%d/1/client", id), chanAcme, "1700000000.000001")), nil)
	if w.Code != http.StatusOK {
		t.Fatalf("click: %d", w.Code)
	}
	// A replica leases the click and dies.
	lease := 300 * time.Millisecond
	dead, err := h.db.ClaimSlackActions(h.ctx, time.Now(), 10, lease)
	h.must(err)
	if len(dead) != 1 {
		t.Fatalf("leased %d clicks, want 1", len(dead))
	}
	if n, err := h.bot.RunActionsOnce(h.ctx); err != nil || n != 0 {
		t.Fatalf("a leased click was taken again: %d, %v", n, err)
	}
	if st := h.draft(id).State; st != approvals.StatePendingClient {
		t.Fatalf("state %s while the click is leased", st)
	}
	time.Sleep(lease + 100*time.Millisecond)
	h.work()
	v := h.draft(id)
	if v.State != approvals.StateApproved || len(v.Decisions) != 1 {
		t.Fatalf("state %s with %d decisions after the lease ran out, want approved with 1", v.State, len(v.Decisions))
	}
	if eph := slackfake.Only(h.slack.Take(), "chat.postEphemeral"); len(eph) != 1 || !strings.Contains(eph[0].Str("text"), "Approved draft") {
		t.Errorf("answers = %+v, want one saying approved", eph)
	}

	// A worker that decided but died before removing the click: the
	// click is acted on again, and the core records nothing new.
	_, err = h.db.Pool().Exec(h.ctx, `INSERT INTO slack_actions (delivery_key, payload) VALUES ('crash-replay', $1::jsonb)`, dead[0].Payload)
	h.must(err)
	h.work()
	if v := h.draft(id); v.State != approvals.StateApproved || len(v.Decisions) != 1 {
		t.Errorf("state %s with %d decisions after the replay, want approved with 1", v.State, len(v.Decisions))
	}
	if eph := slackfake.Only(h.slack.Take(), "chat.postEphemeral"); len(eph) != 1 || !strings.Contains(eph[0].Str("text"), "You already approved draft") {
		t.Errorf("answers to the replay = %+v, want one saying already approved", eph)
	}
	h.dispatch()
	if upd := slackfake.Only(h.slack.Take(), "chat.update"); len(upd) != 1 {
		t.Errorf("chat.update calls = %d, want 1 (one decision, one update)", len(upd))
	}
}

// TestActionLoopsDrainTheQueue: RunActions' loops, acting side by side,
// decide every queued click once and answer each clicker once.
func TestActionLoopsDrainTheQueue(t *testing.T) {
	h := newHarness(t)
	h.bot.DecideBudget = 0 // queue every click
	var ids []int64
	for i := range 6 {
		id := h.submitNew(uEditor, fmt.Sprintf("Queued copy %d", i))
		h.request(id)
		ids = append(ids, id)
	}
	h.slack.Take()
	for i, id := range ids {
		w := h.ack("/slack/interactions", "application/x-www-form-urlencoded",
			slackfake.Payload(click(uClient, "signoff_approve", fmt.Sprintf("%d/1/client", id), chanAcme, fmt.Sprintf("1700000000.%06d", i+1))), nil)
		if w.Code != http.StatusOK {
			t.Fatalf("click %d: %d", i, w.Code)
		}
	}
	if n := h.queued(); n != len(ids) {
		t.Fatalf("queued %d clicks, want %d", n, len(ids))
	}
	ctx, cancel := context.WithCancel(h.ctx)
	h.bot.ActionWorkers, h.bot.ActionInterval = 3, 10*time.Millisecond
	done := make(chan error, 1)
	go func() { done <- h.bot.RunActions(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for h.queued() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunActions: %v", err)
	}
	if n := h.queued(); n != 0 {
		t.Fatalf("%d clicks still queued", n)
	}
	for _, id := range ids {
		if v := h.draft(id); v.State != approvals.StateApproved || len(v.Decisions) != 1 {
			t.Errorf("draft %d: state %s with %d decisions, want approved with 1", id, v.State, len(v.Decisions))
		}
	}
	if eph := slackfake.Only(h.slack.Take(), "chat.postEphemeral"); len(eph) != len(ids) {
		t.Errorf("answers = %d, want %d", len(eph), len(ids))
	}
}

// TestCommentModal: "/signoff comment ID" opens a form; staff get a
// checkbox that keeps the comment from clients, clients do not.
func TestCommentModal(t *testing.T) {
	h := newHarness(t)
	op := approvals.Operator(h.slug)
	h.must(h.svc.Grant(h.ctx, op, "acme", approvals.GrantTarget{Email: "ed@agency.test"},
		approvals.NewCaps(approvals.CapView, approvals.CapCreate, approvals.CapComment)))
	id := h.submitNew(uEditor, "Commented draft")
	h.request(id)
	open := func(user string) slackfake.Call {
		t.Helper()
		if w := h.command(user, chanAcme, fmt.Sprintf("comment %d", id)); w.Code != http.StatusOK || w.Body.Len() != 0 {
			t.Fatalf("/signoff comment: %d %q", w.Code, w.Body.String())
		}
		opened := slackfake.Only(h.slack.Take(), "views.open")
		if len(opened) != 1 {
			t.Fatalf("views.open calls = %d, want 1", len(opened))
		}
		return opened[0]
	}
	staffForm := open(uEditor)
	if !strings.Contains(fmt.Sprint(staffForm.Args["view"]), "Internal: staff only") {
		t.Fatalf("staff form has no internal checkbox: %v", staffForm.Args["view"])
	}
	clientForm := open(uClient)
	if strings.Contains(fmt.Sprint(clientForm.Args["view"]), "Internal") {
		t.Fatalf("client form offers the internal checkbox")
	}
	checked := map[string]any{"internal": map[string]any{"type": "checkboxes", "selected_options": []any{
		map[string]any{"text": map[string]any{"type": "plain_text", "text": "Internal: staff only, never shown to clients"}, "value": "internal"}}}}
	values := map[string]any{"comment": slackfake.TextValue("comment", "legal checked"), "internal": checked}
	if w := h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(slackfake.Submission(team, uEditor, staffForm, "V0COMMENT1", values)), nil); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("staff comment: %d %q", w.Code, w.Body.String())
	}
	// A client who ticks a forged checkbox is refused in the form.
	values = map[string]any{"comment": slackfake.TextValue("comment", "psst"), "internal": checked}
	w := h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(slackfake.Submission(team, uClient, clientForm, "V0COMMENT2", values)), nil)
	if !strings.Contains(w.Body.String(), "Only staff") {
		t.Fatalf("client's internal comment: %d %q", w.Code, w.Body.String())
	}
	values = map[string]any{"comment": slackfake.TextValue("comment", "Looks great")}
	if w := h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(slackfake.Submission(team, uClient, clientForm, "V0COMMENT3", values)), nil); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("client comment: %d %q", w.Code, w.Body.String())
	}
	staff, err := h.svc.DraftHistory(h.ctx, h.owner(), id)
	h.must(err)
	client, err := h.svc.DraftHistory(h.ctx, approvals.Actor{Workspace: h.slug, Email: "cleo@client.test", Channel: approvals.ChannelCLI}, id)
	h.must(err)
	var got []string
	for _, c := range staff.Comments {
		got = append(got, fmt.Sprintf("%s internal=%v", c.Text, c.Internal))
	}
	if diff := cmp.Diff([]string{"legal checked internal=true", "Looks great internal=false"}, got); diff != "" {
		t.Errorf("comments (-want +got)\n%s", diff)
	}
	if len(client.Comments) != 1 || client.Comments[0].Text != "Looks great" {
		t.Errorf("the client reads %d comments", len(client.Comments))
	}
}

// TestSlowDatabaseQueuesTheClick: an Approve the database cannot decide
// within DecideBudget (here another transaction holds the draft's row) is
// queued instead, acknowledged, and decided once by the worker.
func TestSlowDatabaseQueuesTheClick(t *testing.T) {
	h := newHarness(t)
	h.bot.DecideBudget = 200 * time.Millisecond
	id := h.submitNew(uEditor, "Waits on a lock")
	h.request(id)
	tx, err := h.db.Pool().Begin(h.ctx)
	h.must(err)
	if _, err := tx.Exec(h.ctx, `SELECT 1 FROM drafts WHERE id = $1 FOR UPDATE`, id); err != nil {
		t.Fatal(err)
	}
	w := h.ack("/slack/interactions", "application/x-www-form-urlencoded",
		slackfake.Payload(click(uClient, "signoff_approve", fmt.Sprintf("%d/1/client", id), chanAcme, "1700000000.000001")), nil)
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("click: %d %q, want an empty 200", w.Code, w.Body.String())
	}
	if n := h.queued(); n != 1 {
		t.Fatalf("clicks queued = %d, want 1", n)
	}
	if eph := slackfake.Only(h.slack.Take(), "chat.postEphemeral"); len(eph) != 0 {
		t.Errorf("answered before deciding: %+v", eph)
	}
	h.must(tx.Rollback(h.ctx))
	h.work()
	if v := h.draft(id); v.State != approvals.StateApproved || len(v.Decisions) != 1 {
		t.Errorf("state %s with %d decisions, want approved with 1", v.State, len(v.Decisions))
	}
	if eph := slackfake.Only(h.slack.Take(), "chat.postEphemeral"); len(eph) != 1 || !strings.Contains(eph[0].Str("text"), "Approved draft") {
		t.Errorf("answers = %+v, want one saying approved", eph)
	}
}
