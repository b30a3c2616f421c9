package cli

import (
	"strings"
	"testing"
)

// workspace set --webhook-url prints the new secret once; setting the URL
// again does not; a rotation prints the new one and the overlap.
func TestWorkspaceWebhookCLI(t *testing.T) {
	c := newCLI(t, testDB(t))
	seed(c, "acme")
	out := c.ok("admin", "workspace", "set", "acme", "--webhook-url", "https://publisher.example/hook")
	if !strings.Contains(out, "signing secret (shown once") || !strings.Contains(out, "whsec_") {
		t.Errorf("first set: %q", out)
	}
	out = c.ok("admin", "workspace", "set", "acme", "--webhook-url", "https://publisher.example/hook2")
	if strings.Contains(out, "whsec_") || !strings.Contains(out, "secret unchanged") {
		t.Errorf("second set shows a secret: %q", out)
	}
	out = c.ok("admin", "workspace", "set", "acme", "--rotate-webhook-secret", "--overlap", "2h")
	if !strings.Contains(out, "new signing secret") || !strings.Contains(out, "previous secret also signs deliveries until") {
		t.Errorf("rotation: %q", out)
	}
	c.refused(ExitUsage, []string{"webhook"}, "admin", "workspace", "set", "acme", "--webhook-url", "https://x.example", "--name", "X")
	c.refused(ExitRefused, []string{"ftp://x"}, "admin", "workspace", "set", "acme", "--webhook-url", "ftp://x")
	out = c.ok("admin", "workspace", "set", "acme", "--webhook-url", "")
	if !strings.Contains(out, "removed") {
		t.Errorf("remove: %q", out)
	}
}
