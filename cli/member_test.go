package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/signoff-app/signoff/approvals"
)

// seedApprovers gives acme-ig both tiers: adam the only internal approver,
// cleo and carl client approvers.
func seedApprovers(c *cliEnv, ws string) {
	c.t.Helper()
	cmd := func(args ...string) []string { return append(args, "--workspace", ws) }
	for _, email := range []string{"adam@agency.example", "cleo@client.example", "carl@client.example"} {
		c.ok(cmd("admin", "grant", "--account", "acme-ig", "--member", email, "--caps", "view,comment")...)
	}
	c.ok(cmd("admin", "grant", "--account", "acme-ig", "--member", "eddie@agency.example", "--caps", "view,comment,create")...)
	c.ok(cmd("admin", "approver", "add", "--account", "acme-ig", "--member", "adam@agency.example", "--tier", "internal")...)
	c.ok(cmd("admin", "approver", "add", "--account", "acme-ig", "--member", "cleo@client.example", "--tier", "client")...)
	c.ok(cmd("admin", "approver", "add", "--account", "acme-ig", "--member", "carl@client.example", "--tier", "client")...)
	c.ok(cmd("admin", "account", "set", "acme-ig", "--internal-approval", "on", "--client-approval", "on")...)
}

func TestMemberSetRole(t *testing.T) {
	c := newCLI(t, testDB(t))
	seed(c, "acme")
	seedApprovers(c, "acme")
	set := func(email, role string) []string {
		return []string{"admin", "member", "set", "--workspace", "acme", "--email", email, "--role", role}
	}
	tests := []struct {
		name      string
		email     string
		role      string
		refused   []string // words of the refusal; nil when it succeeds
		wantTiers []approvals.Tier
	}{
		{"last internal approver", "adam@agency.example", "editor", []string{"adam@agency.example", "acme-ig", "internal"}, []approvals.Tier{"internal"}},
		{"client approver becomes editor", "carl@client.example", "editor", nil, []approvals.Tier{}},
		{"last client approver", "cleo@client.example", "admin", []string{"cleo@client.example", "acme-ig", "client"}, []approvals.Tier{"client"}},
		{"last owner", "olivia@agency.example", "admin", []string{"olivia@agency.example", "last active owner"}, []approvals.Tier{}},
		{"admin becomes owner", "adam@agency.example", "owner", nil, []approvals.Tier{"internal"}},
		{"first owner demoted while another remains", "olivia@agency.example", "admin", nil, []approvals.Tier{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.refused != nil {
				c.refused(ExitRefused, tt.refused, set(tt.email, tt.role)...)
			} else {
				var m approvals.Member
				c.jsonOut(&m, set(tt.email, tt.role)...)
				if string(m.Role) != tt.role {
					t.Errorf("role = %s, want %s", m.Role, tt.role)
				}
			}
			if diff := cmp.Diff(tt.wantTiers, c.access("acme", tt.email, "acme-ig")["acme-ig"].ApproverTiers); diff != "" {
				t.Errorf("tiers of %s (-want +got):\n%s", tt.email, diff)
			}
		})
	}
	c.refused(ExitUsage, []string{"role"}, set("adam@agency.example", "boss")...)
}

func TestMemberDeactivate(t *testing.T) {
	c := newCLI(t, testDB(t))
	seed(c, "acme")
	seedApprovers(c, "acme")
	ws := []string{"--workspace", "acme"}
	cmd := func(args ...string) []string { return append(args, ws...) }
	id := strings.TrimSpace(c.ok(cmd("draft", "submit", "--account", "acme-ig", "--as", "eddie@agency.example", "--text", "Autumn sale")...))
	c.ok(cmd("draft", "approve", id, "--as", "adam@agency.example")...)
	c.ok(cmd("draft", "comment", id, "--as", "cleo@client.example", "--text", "Looks good")...)

	// Removing a member with history points to deactivate.
	c.refused(ExitRefused, []string{"cleo@client.example", "has history", "deactivate"}, cmd("admin", "member", "remove", "--email", "cleo@client.example")...)
	// Adam is the only internal approver of acme-ig.
	c.refused(ExitRefused, []string{"adam@agency.example", "acme-ig", "internal"}, cmd("admin", "member", "deactivate", "--email", "adam@agency.example")...)

	if got := c.ok(cmd("admin", "member", "deactivate", "--email", "cleo@client.example")...); got != "deactivated cleo@client.example in acme\n" {
		t.Errorf("deactivate printed %q", got)
	}
	c.refused(ExitRefused, []string{"cleo@client.example", "deactivated"}, cmd("draft", "show", id, "--as", "cleo@client.example")...)
	c.refused(ExitRefused, []string{"cleo@client.example", "deactivated"}, cmd("draft", "approve", id, "--as", "cleo@client.example")...)
	c.refused(ExitRefused, []string{"already deactivated"}, cmd("admin", "member", "deactivate", "--email", "cleo@client.example")...)
	if diff := cmp.Diff(map[string]accessView{}, c.access("acme", "cleo@client.example")); diff != "" {
		t.Errorf("cleo's access after deactivation (-want +got):\n%s", diff)
	}

	// The history still names her; the member list shows her status.
	var h approvals.History
	c.jsonOut(&h, cmd("draft", "history", id, "--as", "olivia@agency.example")...)
	if len(h.Comments) != 1 || h.Comments[0].Text != "Looks good" {
		t.Errorf("history comments = %+v", h.Comments)
	}
	if out := c.ok(cmd("admin", "member", "list")...); !strings.Contains(out, "cleo@client.example") || !strings.Contains(out, "deactivated ") {
		t.Errorf("member list:\n%s", out)
	}

	// A member without history is removed.
	c.ok(cmd("admin", "member", "add", "--email", "temp@agency.example", "--name", "Temp", "--role", "editor")...)
	c.ok(cmd("admin", "member", "remove", "--email", "temp@agency.example")...)
	c.refused(ExitRefused, []string{"temp@agency.example"}, cmd("admin", "member", "set", "--email", "temp@agency.example", "--name", "Again")...)

	// The last owner stays.
	c.refused(ExitRefused, []string{"olivia@agency.example", "last active owner"}, cmd("admin", "member", "deactivate", "--email", "olivia@agency.example")...)
}
