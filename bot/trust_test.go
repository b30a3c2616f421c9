package bot_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/slackfake"
)

// Trust through Slack: the client channel gets only what
// clients may see, internal requests go to DMs or the internal channel,
// revisers never decide, and clients cannot see or act on drafts that never
// reached them.

// Internal approvers of acme in the trust tests, by Slack user ID.
const (
	uAdam = "U0ADAM" // admin, internal approver of acme who may create
	uAnna = "U0ANNA" // admin, internal approver of acme
)

// withInternalTier adds Adam and Anna as internal approvers of acme, links
// their Slack users (first use) and turns internal approval on.
func (h *harness) withInternalTier() {
	h.t.Helper()
	op := h.owner()
	for _, p := range []struct{ user, email, name, caps string }{
		{uAdam, "adam@agency.test", "Adam Admin", "view,comment,create"},
		{uAnna, "anna@agency.test", "Anna Admin", "view,comment"},
	} {
		m, err := h.svc.AddMember(h.ctx, op, p.email, p.name, approvals.RoleAdmin)
		h.must(err)
		h.members[p.user] = m
		h.slack.AddUser(p.user, p.email, nil)
		caps, err := approvals.ParseCaps(p.caps)
		h.must(err)
		h.must(h.svc.Grant(h.ctx, op, "acme", approvals.GrantTarget{Email: p.email}, caps))
		h.must(h.svc.AddApprover(h.ctx, op, "acme", p.email, approvals.TierInternal))
		if w := h.command(p.user, "D0"+p.user[2:], "link"); !strings.Contains(w.Body.String(), "linked to "+p.name) {
			h.t.Fatalf("link %s: %q", p.user, w.Body.String())
		}
	}
	// The editor may comment (internal notes) too.
	h.must(h.svc.Grant(h.ctx, op, "acme", approvals.GrantTarget{Email: "ed@agency.test"}, approvals.NewCaps(approvals.CapView, approvals.CapComment, approvals.CapCreate)))
	on := true
	_, err := h.svc.SetAccount(h.ctx, op, "acme", approvals.AccountSettings{NeedsInternalApproval: &on})
	h.must(err)
	h.slack.Take()
}

// inlineSubmit runs "/signoff submit acme TEXT" as user and returns the
// draft's ID.
func (h *harness) inlineSubmit(user, text string) int64 {
	h.t.Helper()
	w := h.command(user, chanAcme, "submit acme "+text)
	var id int64
	if _, err := fmt.Sscanf(answer(h.t, w), "Submitted draft #%d", &id); err != nil {
		h.t.Fatalf("submit answered %q", w.Body.String())
	}
	return id
}

// answer returns the text of an ephemeral command answer.
func answer(t *testing.T, w interface{ Result() *http.Response }) string {
	t.Helper()
	var msg struct {
		ResponseType string          `json:"response_type"`
		Text         string          `json:"text"`
		Blocks       json.RawMessage `json:"blocks"`
	}
	if err := json.NewDecoder(w.Result().Body).Decode(&msg); err != nil {
		t.Fatalf("answer is not a message: %v", err)
	}
	return msg.Text + string(msg.Blocks)
}

// inChannel returns the calls that post to or update a message in ch.
func inChannel(calls []slackfake.Call, ch string) []slackfake.Call {
	var out []slackfake.Call
	for _, c := range calls {
		if (c.Method == "chat.postMessage" || c.Method == "chat.update" || c.Method == "chat.postEphemeral") && c.Str("channel") == ch {
			out = append(out, c)
		}
	}
	return out
}

// everything returns all text a call carries: its text and its blocks.
func everything(c slackfake.Call) string {
	b, _ := json.Marshal(c.Args["blocks"])
	return c.Str("text") + "\n" + joined(c.Blocks()) + "\n" + string(b)
}

// clickAs clicks (action, value) as user in channel and returns the one
// ephemeral answer.
func (h *harness) clickAs(user, action, value, channel string) string {
	h.t.Helper()
	h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(click(user, action, value, channel, "1700000000.000009")), nil)
	eph := slackfake.Only(h.slack.Take(), "chat.postEphemeral")
	if len(eph) != 1 {
		h.t.Fatalf("click %s %s by %s: %d answers", action, value, user, len(eph))
	}
	return eph[0].Str("text")
}

// Findings 2 and 4, and the client channel: internal requests, internal
// decisions and their comments never reach the account's bound channel; an
// admin who revised the draft cannot approve it from Slack; the client's
// request shows only the revision that reached them, without a diff
// against revisions they never saw.
func TestTrustSlackClientChannelAndRevisers(t *testing.T) {
	h := newHarness(t)
	h.withInternalTier()
	id := h.inlineSubmit(uEditor, "SEEN-V1 first take, loud!")
	h.dispatch()
	calls := h.slack.Take()
	if got := inChannel(calls, chanAcme); len(got) != 0 {
		t.Fatalf("an internal request went to the client channel: %+v", got)
	}
	asked := map[string][]string{}
	for _, c := range slackfake.Only(calls, "chat.postMessage") {
		asked[c.Str("channel")] = buttons(c.Blocks())
	}
	want := map[string][]string{
		uAdam: {fmt.Sprintf("signoff_approve=%d/1/internal", id), fmt.Sprintf("signoff_approve_comment=%d/1/internal", id), fmt.Sprintf("signoff_reject=%d/1/internal", id)},
		uAnna: {fmt.Sprintf("signoff_approve=%d/1/internal", id), fmt.Sprintf("signoff_approve_comment=%d/1/internal", id), fmt.Sprintf("signoff_reject=%d/1/internal", id)},
	}
	if diff := cmp.Diff(want, asked); diff != "" {
		t.Fatalf("internal requests (-want +got):\n%s", diff)
	}

	// Adam revises the editor's draft to words of his own, in the modal.
	h.command(uAdam, "D0ADAM", fmt.Sprintf("revise %d", id))
	opened := slackfake.Only(h.slack.Take(), "views.open")
	if len(opened) != 1 {
		t.Fatal("revise opened no modal")
	}
	if w := h.send("/slack/interactions", "application/x-www-form-urlencoded",
		slackfake.Payload(slackfake.Submission(team, uAdam, opened[0], "V0ADAMREV", map[string]any{"text": slackfake.TextValue("text", "ADAM-WORDS quiet take")})), nil); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("revise submission: %d %q", w.Code, w.Body.String())
	}
	h.dispatch()
	calls = h.slack.Take()
	if got := inChannel(calls, chanAcme); len(got) != 0 {
		t.Fatalf("the internal revision reached the client channel: %+v", got)
	}
	for _, c := range slackfake.Only(calls, "chat.postMessage") {
		if c.Str("channel") == uAdam && len(buttons(c.Blocks())) > 0 {
			t.Errorf("the reviser was asked to decide on his own words: %v", buttons(c.Blocks()))
		}
	}
	// Adam clicks Approve (and Reject) on his old DM, and on a forged
	// button for the new revision: every click is refused.
	for _, v := range []string{fmt.Sprintf("%d/1/internal", id), fmt.Sprintf("%d/2/internal", id)} {
		for _, action := range []string{"signoff_approve", "signoff_reject"} {
			if got := h.clickAs(uAdam, action, v, "D0ADAM"); !strings.Contains(got, "nobody decides on words they wrote") {
				t.Errorf("%s %s by the reviser answered %q", action, v, got)
			}
			if n := len(slackfake.Only(h.slack.Take(), "views.open")); n != 0 {
				t.Errorf("%s %s by the reviser opened %d modals", action, v, n)
			}
		}
	}
	if v := h.draft(id); v.State != approvals.StatePendingInternal || len(v.Decisions) != 0 {
		t.Fatalf("after the reviser's clicks: %s with %d decisions", v.State, len(v.Decisions))
	}

	// Anna rejects with an internal comment; Ed notes something internal,
	// revises, and Anna approves from her DM.
	anna := approvals.Actor{Workspace: h.slug, Email: "anna@agency.test", Channel: approvals.ChannelSlack}
	_, err := h.svc.Reject(h.ctx, anna, id, "INTERNAL-REJECT the client hates loud")
	h.must(err)
	ed := approvals.Actor{Workspace: h.slug, Email: "ed@agency.test", Channel: approvals.ChannelSlack}
	_, err = h.svc.AddComment(h.ctx, ed, id, approvals.CommentInput{Text: "INTERNAL-NOTE they pay late", Internal: true})
	h.must(err)
	h.dispatch()
	if got := inChannel(h.slack.Take(), chanAcme); len(got) != 0 {
		t.Fatalf("the internal rejection reached the client channel: %+v", got)
	}
	_, err = h.svc.Revise(h.ctx, ed, id, approvals.DraftInput{Text: "SEEN-V3 final words"})
	h.must(err)
	h.dispatch()
	h.slack.Take()
	if got := h.clickAs(uAnna, "signoff_approve", fmt.Sprintf("%d/3/internal", id), "D0ANNA"); !strings.Contains(got, "Approved draft") {
		t.Fatalf("Anna's approval answered %q", got)
	}
	h.dispatch()
	calls = h.slack.Take()
	client := inChannel(calls, chanAcme)
	if len(client) != 1 || client[0].Method != "chat.postMessage" {
		t.Fatalf("client channel calls = %v, want the client request alone", slackfake.Methods(client))
	}
	if diff := cmp.Diff([]string{fmt.Sprintf("signoff_approve=%d/3/client", id), fmt.Sprintf("signoff_approve_comment=%d/3/client", id), fmt.Sprintf("signoff_reject=%d/3/client", id)}, buttons(client[0].Blocks())); diff != "" {
		t.Errorf("client request buttons (-want +got):\n%s", diff)
	}
	all := everything(client[0])
	if !strings.Contains(all, "SEEN-V3 final words") {
		t.Errorf("client request lacks the text:\n%s", all)
	}
	for _, secret := range []string{"SEEN-V1", "ADAM-WORDS", "INTERNAL-REJECT", "INTERNAL-NOTE", "Changed since the last round", "Anna Admin", "Adam Admin", "internal"} {
		if strings.Contains(all, secret) {
			t.Errorf("client request shows %q:\n%s", secret, all)
		}
	}
	// The internal approval updated the DMs only.
	for _, c := range slackfake.Only(calls, "chat.update") {
		if c.Str("channel") == chanAcme {
			t.Errorf("internal decision updated a client channel message: %s", everything(c))
		}
	}

	// An internal note from Slack, then Cleo reads the draft in Slack:
	// revision 3, nothing internal.
	if got := answer(t, h.command(uEditor, chanAcme, fmt.Sprintf("comment %d --internal INTERNAL-SLACK-NOTE be nice", id))); strings.Contains(got, "No draft") {
		t.Fatalf("internal comment from Slack: %q", got)
	}
	for _, cmd := range []string{"show", "history"} {
		got := answer(t, h.command(uClient, chanAcme, fmt.Sprintf("%s %d", cmd, id)))
		if !strings.Contains(got, "SEEN-V3 final words") {
			t.Errorf("/signoff %s as a client lacks the client revision: %q", cmd, got)
		}
		for _, secret := range []string{"SEEN-V1", "ADAM-WORDS", "INTERNAL-", "internal"} {
			if strings.Contains(got, secret) {
				t.Errorf("/signoff %s as a client shows %q: %q", cmd, secret, got)
			}
		}
	}
}

// With an internal channel set, internal requests and their updates go
// there and nowhere else; the client channel gets the client request only.
func TestTrustSlackInternalChannel(t *testing.T) {
	h := newHarness(t)
	h.withInternalTier()
	staff := "C0STAFF"
	_, err := h.svc.SetWorkspace(h.ctx, h.owner(), approvals.WorkspaceSettings{InternalChannel: &staff})
	h.must(err)
	id := h.inlineSubmit(uEditor, "Staff first")
	h.dispatch()
	calls := h.slack.Take()
	posts := slackfake.Only(calls, "chat.postMessage")
	if len(posts) != 1 || posts[0].Str("channel") != staff {
		var chans []string
		for _, c := range posts {
			chans = append(chans, c.Str("channel"))
		}
		t.Fatalf("internal request posted to %v, want %s alone", chans, staff)
	}
	if got := h.clickAs(uAnna, "signoff_approve", fmt.Sprintf("%d/1/internal", id), staff); !strings.Contains(got, "Approved draft") {
		t.Fatalf("Anna's approval in the internal channel answered %q", got)
	}
	h.dispatch()
	calls = h.slack.Take()
	for _, c := range calls {
		if c.Method != "chat.postMessage" && c.Method != "chat.update" {
			continue
		}
		switch ch := c.Str("channel"); {
		case ch == staff:
		case ch == chanAcme && c.Method == "chat.postMessage" && c.Str("thread_ts") == "":
			if diff := cmp.Diff([]string{fmt.Sprintf("signoff_approve=%d/1/client", id), fmt.Sprintf("signoff_approve_comment=%d/1/client", id), fmt.Sprintf("signoff_reject=%d/1/client", id)}, buttons(c.Blocks())); diff != "" {
				t.Errorf("client request buttons (-want +got):\n%s", diff)
			}
			if all := everything(c); strings.Contains(all, "Anna Admin") || strings.Contains(all, "internal") {
				t.Errorf("client request names the internal approval:\n%s", all)
			}
		case ch == uEditor:
		default:
			t.Errorf("%s to %s after the internal approval: %s", c.Method, ch, everything(c))
		}
	}
	var staffUpdates int
	for _, c := range slackfake.Only(calls, "chat.update") {
		if c.Str("channel") == staff {
			staffUpdates++
		}
	}
	if staffUpdates != 1 {
		t.Errorf("internal channel updates = %d, want the request updated in place", staffUpdates)
	}
}

// Findings 3 and 5: drafts rejected, withdrawn or expired in the internal
// tier, or still there, are "no draft" to clients in list, show, history
// and App Home; a client who may create cannot withdraw or revise them,
// and the answer never shows their text.
func TestTrustSlackClientsCannotSeeOrAct(t *testing.T) {
	h := newHarness(t)
	h.withInternalTier()
	op := h.owner()
	anna := approvals.Actor{Workspace: h.slug, Email: "anna@agency.test", Channel: approvals.ChannelSlack}
	ed := approvals.Actor{Workspace: h.slug, Email: "ed@agency.test", Channel: approvals.ChannelSlack}

	expire, none := approvals.DeadlineExpire, approvals.DeadlineNone
	_, err := h.svc.SetAccount(h.ctx, op, "acme", approvals.AccountSettings{DeadlinePolicy: &expire, DecideWithin: ptrDur(time.Hour)})
	h.must(err)
	expired := h.inlineSubmit(uEditor, "EXP secret promo")
	wall := h.svc.Now
	h.svc.Now = func() time.Time { return time.Now().Add(5 * time.Hour) }
	n, err := (&approvals.Sweeper{Service: h.svc}).RunOnce(h.ctx)
	h.svc.Now = wall
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v; want the expiry", n, err)
	}
	_, err = h.svc.SetAccount(h.ctx, op, "acme", approvals.AccountSettings{DeadlinePolicy: &none})
	h.must(err)

	rejected := h.inlineSubmit(uEditor, "REJ secret launch")
	_, err = h.svc.Reject(h.ctx, anna, rejected, "INTERNAL-REJECT wrong numbers")
	h.must(err)
	withdrawn := h.inlineSubmit(uEditor, "WD secret teaser")
	if got := answer(t, h.command(uEditor, chanAcme, fmt.Sprintf("withdraw %d", withdrawn))); !strings.Contains(got, "Withdrew draft") {
		t.Fatalf("withdraw: %q", got)
	}
	pending := h.inlineSubmit(uEditor, "PEND secret draft")
	_, err = h.svc.AddComment(h.ctx, ed, pending, approvals.CommentInput{Text: "INTERNAL-NOTE pending", Internal: true})
	h.must(err)
	h.dispatch()
	if got := inChannel(h.slack.Take(), chanAcme); len(got) != 0 {
		t.Fatalf("the client channel got %d internal messages: %v", len(got), slackfake.Methods(got))
	}
	secrets := []string{"EXP secret", "REJ secret", "WD secret", "PEND secret", "INTERNAL-"}
	noSecrets := func(what, got string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(got, s) {
				t.Errorf("%s shows %q: %q", what, s, got)
			}
		}
	}
	states := func() map[int64]approvals.State {
		out := map[int64]approvals.State{}
		for _, id := range []int64{expired, rejected, withdrawn, pending} {
			out[id] = h.draft(id).State
		}
		return out
	}
	before := states()

	missing := map[string]string{}
	args := func(cmd string, id any) string {
		if cmd == "comment" {
			return fmt.Sprintf("comment %v let me in", id)
		}
		return fmt.Sprintf("%s %v", cmd, id)
	}
	for _, cmd := range []string{"show", "history", "comment", "withdraw", "revise"} {
		missing[cmd] = answer(t, h.command(uCam, chanAcme, args(cmd, 999999)))
	}
	for _, user := range []string{uClient, uCam} {
		for _, st := range []string{"", " rejected", " withdrawn", " pending_internal"} {
			got := answer(t, h.command(user, chanAcme, "list acme"+st))
			noSecrets("/signoff list"+st, got)
			if !strings.Contains(got, "No drafts.") {
				t.Errorf("/signoff list%s as %s = %q, want none", st, user, got)
			}
		}
		for _, id := range []int64{expired, rejected, withdrawn, pending} {
			cmds := []string{"show", "history", "comment"}
			if user == uCam { // a client who may create
				cmds = append(cmds, "withdraw", "revise")
			}
			for _, cmd := range cmds {
				got := answer(t, h.command(user, chanAcme, args(cmd, id)))
				noSecrets(fmt.Sprintf("/signoff %s %d", cmd, id), got)
				want := strings.ReplaceAll(missing[cmd], "999999", fmt.Sprint(id))
				if got != want || !strings.Contains(got, fmt.Sprintf("No draft %d", id)) {
					t.Errorf("/signoff %s %d as %s = %q, want what a missing draft gets: %q", cmd, id, user, got, want)
				}
			}
		}
		if n := len(slackfake.Only(h.slack.Take(), "views.open")); n != 0 {
			t.Errorf("%d modals opened for hidden drafts", n)
		}
		// App Home lists none of them.
		event := fmt.Sprintf(`{"token":"legacy","team_id":%q,"api_app_id":"A0SIGNOFF","event":{"type":"app_home_opened","user":%q,"channel":"D0C","tab":"home","event_ts":"1.2"},"type":"event_callback","event_id":"Ev0TRUST%s","event_time":1700000300}`, team, user, user)
		h.send("/slack/events", "application/json", event, nil)
		pub := slackfake.Only(h.slack.Take(), "views.publish")
		if len(pub) != 1 {
			t.Fatalf("views.publish for %s = %d", user, len(pub))
		}
		noSecrets("App Home of "+user, everything(pub[0])+joined(pub[0].Blocks()))
	}
	if diff := cmp.Diff(before, states()); diff != "" {
		t.Errorf("clients' commands changed drafts (-before +after):\n%s", diff)
	}
}

// Finding 1 in Slack, and internal notices: a submission from the modal
// with the schedule two minutes ahead says the policy waits for the review
// window; the internal tier's reminder and the policy's approval of it
// reach DMs only, and the client channel gets the client request alone.
func TestTrustSlackReviewWindowAndInternalNotices(t *testing.T) {
	h := newHarness(t)
	h.withInternalTier()
	auto := approvals.DeadlineAutoApprove
	_, err := h.svc.SetAccount(h.ctx, h.owner(), "acme", approvals.AccountSettings{DeadlinePolicy: &auto,
		RemindAfter: ptrDur(time.Hour), RemindMax: ptrInt(1)})
	h.must(err)

	h.command(uEditor, chanAcme, "new")
	opened := slackfake.Only(h.slack.Take(), "views.open")
	if len(opened) != 1 {
		t.Fatal("no modal")
	}
	start := time.Now()
	values := map[string]any{
		"account":  map[string]any{"account": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "acme"}}},
		"text":     slackfake.TextValue("text", "Flash sale in two minutes"),
		"schedule": map[string]any{"schedule": map[string]any{"type": "datetimepicker", "selected_date_time": start.Add(2 * time.Minute).Unix()}},
	}
	if w := h.send("/slack/interactions", "application/x-www-form-urlencoded", slackfake.Payload(slackfake.Submission(team, uEditor, opened[0], "V0FLASH", values)), nil); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("submission: %d %q", w.Code, w.Body.String())
	}
	eph := slackfake.Only(h.slack.Take(), "chat.postEphemeral")
	if len(eph) != 1 || !strings.Contains(eph[0].Str("text"), "Note: the internal tier has until") ||
		!strings.Contains(eph[0].Str("text"), "auto-approve will not act before") {
		t.Fatalf("submission answers = %+v, want one with the review-window note", eph)
	}
	ds, err := h.svc.List(h.ctx, approvals.Actor{Workspace: h.slug, Email: "ed@agency.test", Channel: approvals.ChannelCLI}, approvals.ListInput{})
	h.must(err)
	id := ds[0].ID
	h.dispatch()
	h.slack.Take()

	sweepAt := func(after time.Duration) int {
		t.Helper()
		wall := h.svc.Now
		h.svc.Now = func() time.Time { return start.Add(after) }
		defer func() { h.svc.Now = wall }()
		n, err := (&approvals.Sweeper{Service: h.svc}).RunOnce(h.ctx)
		h.must(err)
		// The sweep's messages are due at its clock: deliver them then.
		h.disp.Now = func() time.Time { return start.Add(after) }
		defer func() { h.disp.Now = nil }()
		h.dispatch()
		return n
	}
	// The reminder of the internal tier, inside the review window.
	if n := sweepAt(2 * time.Hour); n != 1 {
		t.Fatalf("sweep at +2h: %d actions, want the reminder", n)
	}
	if st := h.draft(id).State; st != approvals.StatePendingInternal {
		t.Fatalf("at +2h: %s, want pending_internal", st)
	}
	calls := h.slack.Take()
	if got := inChannel(calls, chanAcme); len(got) != 0 {
		t.Errorf("the internal reminder reached the client channel: %v", slackfake.Methods(got))
	}
	var dms []string
	for _, c := range slackfake.Only(calls, "chat.postMessage") {
		dms = append(dms, c.Str("channel"))
	}
	sort.Strings(dms)
	if diff := cmp.Diff([]string{uAdam, uAnna}, dms); diff != "" {
		t.Errorf("internal reminder posts (-want +got):\n%s", diff)
	}
	// After the window the policy approves the internal tier; the client
	// channel gets the client request, and nothing about the policy.
	if n := sweepAt(4*time.Hour + time.Minute); n != 1 {
		t.Fatalf("sweep after the window: %d actions", n)
	}
	client := inChannel(h.slack.Take(), chanAcme)
	if len(client) != 1 || client[0].Method != "chat.postMessage" || len(buttons(client[0].Blocks())) != 3 {
		t.Fatalf("client channel calls = %v, want the client request alone", slackfake.Methods(client))
	}
	if all := everything(client[0]); strings.Contains(all, approvals.PolicyActor) || strings.Contains(all, "internal") {
		t.Errorf("the client request tells of the internal tier:\n%s", all)
	}
}

func ptrDur(d time.Duration) *time.Duration { return &d }

func ptrInt(n int) *int { return &n }

// A draft that reached the client and was revised into internal review:
// the client channel's request is closed without naming the new revision,
// and the client's list and show keep to the revision they saw.
func TestTrustSlackRevisedBackToInternal(t *testing.T) {
	h := newHarness(t)
	h.withInternalTier()
	id := h.inlineSubmit(uEditor, "SHOWN-V1 for the client")
	if got := h.clickAs(uAnna, "signoff_approve", fmt.Sprintf("%d/1/internal", id), "D0ANNA"); !strings.Contains(got, "Approved draft") {
		t.Fatalf("internal approval: %q", got)
	}
	h.dispatch()
	if got := inChannel(h.slack.Take(), chanAcme); len(got) != 1 {
		t.Fatalf("client channel calls = %v, want the request", slackfake.Methods(got))
	}
	ed := approvals.Actor{Workspace: h.slug, Email: "ed@agency.test", Channel: approvals.ChannelSlack}
	_, err := h.svc.Revise(h.ctx, ed, id, approvals.DraftInput{Text: "UNSEEN-V2 rewrite in progress"})
	h.must(err)
	h.dispatch()
	for _, c := range inChannel(h.slack.Take(), chanAcme) {
		all := everything(c)
		if strings.Contains(all, "UNSEEN") || strings.Contains(all, "revision 2") || len(buttons(c.Blocks())) != 0 {
			t.Errorf("client channel %s after the internal revision:\n%s", c.Method, all)
		}
	}
	list := answer(t, h.command(uClient, chanAcme, "list"))
	if !strings.Contains(list, fmt.Sprintf("#%d", id)) || !strings.Contains(list, "rev 1") || !strings.Contains(list, "SHOWN-V1") ||
		strings.Contains(list, "UNSEEN") || strings.Contains(list, "rev 2") {
		t.Errorf("/signoff list as the client: %q", list)
	}
	show := answer(t, h.command(uClient, chanAcme, fmt.Sprintf("show %d", id)))
	if !strings.Contains(show, "SHOWN-V1") || strings.Contains(show, "UNSEEN") {
		t.Errorf("/signoff show as the client: %q", show)
	}
	// The client's old button is told the request is closed, not what replaced it.
	got := h.clickAs(uClient, "signoff_approve", fmt.Sprintf("%d/1/client", id), chanAcme)
	if strings.Contains(got, "UNSEEN") || strings.Contains(got, "Approved draft") {
		t.Errorf("the client's old button answered %q", got)
	}
	if v := h.draft(id); v.State != approvals.StatePendingInternal || len(v.Decisions) != 1 {
		t.Errorf("after the old button: %s with %d decisions", v.State, len(v.Decisions))
	}
}
