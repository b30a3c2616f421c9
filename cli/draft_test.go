package cli

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/signoff-app/signoff/approvals"
)

// TestDraftCLI walks a draft through the command line: submit (text from
// stdin), a refused approve, reject with a comment, revise, approve, show,
// list, history and the outbox.
func TestDraftCLI(t *testing.T) {
	c := newCLI(t, testDB(t))
	seed(c, "acme")
	ws := []string{"--workspace", "acme"}
	cmd := func(args ...string) []string { return append(args, ws...) }
	c.ok(cmd("admin", "grant", "--account", "acme-ig", "--member", "eddie@agency.example", "--caps", "create")...)
	c.ok(cmd("admin", "grant", "--account", "acme-ig", "--member", "cleo@client.example", "--caps", "comment")...)
	c.ok(cmd("admin", "approver", "add", "--account", "acme-ig", "--member", "cleo@client.example", "--tier", "client")...)
	c.ok(cmd("admin", "account", "set", "acme-ig", "--client-approval", "on")...)

	text := "Spring is here 🌷\n<script>alert(1)</script>\nsecond line"
	r := c.runIn(text+"\n", cmd("draft", "submit", "--account", "acme-ig", "--as", "eddie@agency.example", "--text", "-", "--media", "https://cdn.example/a.jpg")...)
	if r.code != 0 {
		t.Fatalf("submit: exit %d: %s", r.code, r.stderr)
	}
	id := strings.TrimSpace(r.stdout)
	if _, err := strconv.ParseInt(id, 10, 64); err != nil || r.stdout != id+"\n" {
		t.Fatalf("submit printed %q, want the ID alone", r.stdout)
	}

	c.refused(ExitRefused, []string{"eddie@agency.example"}, cmd("draft", "approve", id, "--as", "eddie@agency.example")...)
	c.refused(ExitRefused, []string{"comment"}, cmd("draft", "reject", id, "--as", "cleo@client.example", "--comment", "  ")...)
	c.refused(ExitUsage, []string{"comment"}, cmd("draft", "reject", id, "--as", "cleo@client.example")...)
	c.refused(ExitRefused, []string{"nobody@client.example"}, cmd("draft", "show", id, "--as", "nobody@client.example")...)

	var res approvals.DecisionResult
	c.jsonOut(&res, cmd("draft", "reject", id, "--as", "cleo@client.example", "--comment", "Use the new logo")...)
	if res.Draft == nil || res.Draft.State != approvals.StateRejected {
		t.Fatalf("reject --json = %+v, want a rejected draft", res)
	}
	c.ok(cmd("draft", "revise", id, "--as", "eddie@agency.example", "--text", "Spring is here, new logo")...)
	c.refused(ExitRefused, []string{"draft " + id + " was revised; revision 2 is current"},
		cmd("draft", "approve", id, "--as", "cleo@client.example", "--revision", "1")...)
	c.refused(ExitUsage, []string{"--revision"}, cmd("draft", "approve", id, "--as", "cleo@client.example", "--revision", "-1")...)
	if got := c.ok(cmd("draft", "approve", id, "--as", "cleo@client.example", "--revision", "2")...); !strings.Contains(got, "approved draft "+id+" (revision 2)") {
		t.Errorf("approve printed %q", got)
	}

	var v approvals.DraftView
	c.jsonOut(&v, cmd("draft", "show", id, "--as", "cleo@client.example")...)
	type tierLine struct {
		Tier     approvals.Tier
		Status   string
		Approver string
		Verdict  approvals.Verdict
		Channel  approvals.Channel
	}
	var got []tierLine
	for _, ts := range v.Tiers {
		for _, ap := range ts.Approvers {
			got = append(got, tierLine{ts.Tier, ts.Status, ap.Email, ap.Verdict, ap.Channel})
		}
	}
	want := []tierLine{{approvals.TierClient, "approved", "cleo@client.example", approvals.VerdictApprove, approvals.ChannelCLI}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("show --json tiers (-want +got):\n%s", diff)
	}
	if v.State != approvals.StateApproved || v.Revision != 2 {
		t.Errorf("show --json: state %s revision %d, want approved 2", v.State, v.Revision)
	}

	var h approvals.History
	c.jsonOut(&h, cmd("draft", "history", id)...)
	if len(h.Revisions) != 2 || h.Revisions[0].Text != text {
		t.Errorf("history revisions = %+v; want 2, the first with the exact text %q", h.Revisions, text)
	}
	var list []approvals.DraftSummary
	c.jsonOut(&list, cmd("draft", "list", "--as", "cleo@client.example", "--status", "approved")...)
	if len(list) != 1 || strconv.FormatInt(list[0].ID, 10) != id {
		t.Errorf("list = %+v, want draft %s", list, id)
	}
	var msgs []approvals.OutboxMessage
	c.jsonOut(&msgs, "outbox", "list")
	if len(msgs) == 0 {
		t.Errorf("outbox list is empty after a submit, a reject and an approve")
	}
}
