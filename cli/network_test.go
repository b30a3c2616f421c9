package cli

import (
	"strings"
	"testing"

	"github.com/signoff-app/signoff/approvals"
)

// TestNetworkCLI sets accounts' networks from the command line and checks
// that a draft the network would refuse is refused, naming the rule, and
// leaves nothing behind.
func TestNetworkCLI(t *testing.T) {
	c := newCLI(t, testDB(t))
	seed(c, "acme")
	ws := []string{"--workspace", "acme"}
	cmd := func(args ...string) []string { return append(args, ws...) }

	if got := c.ok(cmd("admin", "account", "add", "acme-x", "--name", "Acme on X", "--network", "twitter")...); got != "added account acme-x (network x) to acme\n" {
		t.Errorf("add printed %q", got)
	}
	var acc approvals.Account
	c.jsonOut(&acc, cmd("admin", "account", "set", "acme-ig", "--network", "Instagram")...)
	if acc.Network != approvals.NetworkInstagram {
		t.Fatalf("set --network Instagram --json: network %q", acc.Network)
	}
	c.refused(ExitUsage, []string{"myspace", "instagram"}, cmd("admin", "account", "set", "acme-ig", "--network", "myspace")...)
	c.refused(ExitUsage, []string{"myspace"}, cmd("admin", "account", "add", "acme-ms", "--name", "Acme", "--network", "myspace")...)
	list := c.ok(cmd("admin", "account", "list")...)
	for _, want := range []string{"NETWORK", "acme-ig", "instagram", "acme-x"} {
		if !strings.Contains(list, want) {
			t.Errorf("account list does not show %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, "acme-ms") {
		t.Errorf("a refused account was added:\n%s", list)
	}

	c.ok(cmd("admin", "grant", "--account", "acme-ig", "--member", "eddie@agency.example", "--caps", "create")...)
	c.ok(cmd("admin", "grant", "--account", "acme-ig", "--member", "cleo@client.example", "--caps", "view")...)
	c.ok(cmd("admin", "approver", "add", "--account", "acme-ig", "--member", "cleo@client.example", "--tier", "client")...)
	c.ok(cmd("admin", "account", "set", "acme-ig", "--client-approval", "on")...)
	var caption strings.Builder
	caption.WriteString("Summer drop")
	for i := range 34 {
		caption.WriteString(" #tag" + string(rune('a'+i%26)) + strings.Repeat("x", i/26))
	}
	c.refused(ExitRefused, []string{"Instagram captions take at most 5 hashtags; this one has 34"},
		cmd("draft", "submit", "--account", "acme-ig", "--as", "eddie@agency.example", "--text", caption.String())...)
	var drafts []approvals.DraftSummary
	c.jsonOut(&drafts, cmd("draft", "list", "--as", "olivia@agency.example")...)
	if len(drafts) != 0 {
		t.Fatalf("a refused submission left drafts: %+v", drafts)
	}
	id := strings.TrimSpace(c.ok(cmd("draft", "submit", "--account", "acme-ig", "--as", "eddie@agency.example", "--text", "Summer drop #sun")...))
	c.refused(ExitRefused, []string{"Instagram captions take at most 2,200 characters; this one has 2,201"},
		cmd("draft", "revise", id, "--as", "eddie@agency.example", "--text", strings.Repeat("a", 2201))...)
	var v approvals.DraftView
	c.jsonOut(&v, cmd("draft", "show", id, "--as", "olivia@agency.example")...)
	if v.Revision != 1 || v.Current.Text != "Summer drop #sun" || v.Account.Network != approvals.NetworkInstagram {
		t.Fatalf("after a refused revision: revision %d, text %q, network %q", v.Revision, v.Current.Text, v.Account.Network)
	}
	if got := c.ok(cmd("draft", "show", id, "--as", "olivia@agency.example")...); !strings.Contains(got, "network:  instagram") {
		t.Errorf("draft show does not name the network:\n%s", got)
	}
}

// TestApproveWithCommentCLI approves with a comment from the command line
// (and from standard input) and finds it on the decision and in what the
// author is told.
func TestApproveWithCommentCLI(t *testing.T) {
	c := newCLI(t, testDB(t))
	seed(c, "acme")
	ws := []string{"--workspace", "acme"}
	cmd := func(args ...string) []string { return append(args, ws...) }
	c.ok(cmd("admin", "grant", "--account", "acme-ig", "--member", "eddie@agency.example", "--caps", "create")...)
	c.ok(cmd("admin", "grant", "--account", "acme-ig", "--member", "cleo@client.example", "--caps", "comment")...)
	c.ok(cmd("admin", "approver", "add", "--account", "acme-ig", "--member", "cleo@client.example", "--tier", "client")...)
	c.ok(cmd("admin", "account", "set", "acme-ig", "--client-approval", "on")...)

	id := strings.TrimSpace(c.ok(cmd("draft", "submit", "--account", "acme-ig", "--as", "eddie@agency.example", "--text", "Summer drop")...))
	c.refused(ExitRefused, []string{"comment is 4001 characters"},
		cmd("draft", "approve", id, "--as", "cleo@client.example", "--comment", strings.Repeat("x", 4001))...)
	var res approvals.DecisionResult
	c.jsonOut(&res, cmd("draft", "approve", id, "--as", "cleo@client.example", "--comment", "Approved — fix the typo in the last line")...)
	if res.Decision == nil || res.Decision.Comment != "Approved — fix the typo in the last line" || res.Draft.State != approvals.StateApproved {
		t.Fatalf("approve --comment --json = %+v", res)
	}
	if h := c.ok(cmd("draft", "history", id)...); !strings.Contains(h, `approved revision 1 in the client tier via cli: "Approved — fix the typo in the last line"`) {
		t.Errorf("history does not show the comment:\n%s", h)
	}

	// From standard input, on a second draft.
	id2 := strings.TrimSpace(c.ok(cmd("draft", "submit", "--account", "acme-ig", "--as", "eddie@agency.example", "--text", "Autumn drop")...))
	r := c.runIn("Lovely.\nShip it.\n", cmd("draft", "approve", id2, "--as", "cleo@client.example", "--comment", "-", "--json")...)
	if r.code != 0 || !strings.Contains(r.stdout, `"comment": "Lovely.\nShip it."`) {
		t.Fatalf("approve --comment -: exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}

	// The author's approval email is rendered from a view that carries it.
	var msgs []approvals.OutboxMessage
	c.jsonOut(&msgs, "outbox", "list")
	found := false
	for _, m := range msgs {
		if m.Payload.Event == approvals.EventApproved && m.Channel == approvals.ChannelEmail && m.Payload.Target == "eddie@agency.example" {
			found = true
		}
	}
	if !found {
		t.Errorf("no approval email to the author in the outbox")
	}
}
