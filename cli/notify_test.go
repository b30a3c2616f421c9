package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// A member's notification choice and the workspace's grouping window, set
// and shown from the command line; bad values change nothing.
func TestNotifySettings(t *testing.T) {
	c := newCLI(t, testDB(t))
	seed(c, "acme")
	ws := func(args ...string) []string { return append(args, "--workspace", "acme") }

	out := c.ok(ws("admin", "member", "set", "cleo@client.example", "--notify", "digest", "--digest-at", "09:00", "--time-zone", "Europe/Berlin")...)
	if !strings.Contains(out, "notify=digest 09:00 Europe/Berlin") {
		t.Errorf("member set printed %q", out)
	}
	var m approvals.Member
	c.jsonOut(&m, ws("admin", "member", "set", "--email", "cleo@client.example", "--name", "Cleo")...)
	if m.Notify != approvals.NotifyDigest || m.DigestAt != 9*60 || m.TimeZone != "Europe/Berlin" {
		t.Errorf("member %+v, want a 09:00 Europe/Berlin digest kept", m)
	}

	tests := []struct {
		name  string
		code  int
		words []string
		args  []string
	}{
		{"unknown mode", ExitUsage, []string{"--notify", "weekly"}, []string{"--notify", "weekly"}},
		{"time without digest", ExitUsage, []string{"--digest-at"}, []string{"--digest-at", "09:00"}},
		{"bad time", ExitRefused, []string{"25:00", "HH:MM"}, []string{"--notify", "digest", "--digest-at", "25:00", "--time-zone", "UTC"}},
		{"unknown zone", ExitRefused, []string{"Mars/Olympus"}, []string{"--notify", "digest", "--digest-at", "09:00", "--time-zone", "Mars/Olympus"}},
		{"no zone", ExitRefused, []string{"time zone"}, []string{"--notify", "digest", "--digest-at", "09:00"}},
		{"email twice", ExitUsage, []string{"once"}, []string{"--email", "cleo@client.example", "--notify", "immediate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.refused(tt.code, tt.words, ws(append([]string{"admin", "member", "set", "cleo@client.example"}, tt.args...)...)...)
		})
	}
	// Each refusal changed nothing: the digest is as it was.
	m = approvals.Member{}
	c.jsonOut(&m, ws("admin", "member", "set", "--email", "cleo@client.example", "--name", "Cleo")...)
	if m.Notify != approvals.NotifyDigest || m.DigestAt != 9*60 || m.TimeZone != "Europe/Berlin" {
		t.Errorf("member %+v after the refusals, want the 09:00 Europe/Berlin digest", m)
	}
	m = approvals.Member{}
	c.jsonOut(&m, ws("admin", "member", "set", "cleo@client.example", "--notify", "immediate")...)
	if m.Notify != approvals.NotifyImmediate || m.DigestAt != 0 || m.TimeZone != "" {
		t.Errorf("member %+v, want immediate", m)
	}

	var w approvals.Workspace
	c.jsonOut(&w, "admin", "workspace", "show", "acme")
	if w.GroupWindow != approvals.DefaultGroupWindow {
		t.Errorf("new workspace's window %s, want %s", w.GroupWindow, approvals.DefaultGroupWindow)
	}
	c.ok("admin", "workspace", "set", "acme", "--group-window", "0")
	c.refused(ExitRefused, []string{"grouping window"}, "admin", "workspace", "set", "acme", "--group-window", "48h")
	c.refused(ExitUsage, []string{"--group-window"}, "admin", "workspace", "set", "acme", "--group-window", "soon")
	c.jsonOut(&w, "admin", "workspace", "show", "acme")
	if w.GroupWindow != 0 {
		t.Errorf("window %s after the refusals, want 0", w.GroupWindow)
	}
	if out := c.ok("admin", "workspace", "show", "acme"); !strings.Contains(out, "group-window="+time.Duration(0).String()) {
		t.Errorf("workspace show printed %q", out)
	}
}
