package cli

import (
	"strings"
	"testing"
)

// workspace set --media-hosts stores the hosts media previews may come
// from; workspace show lists them; a bad entry is refused and changes
// nothing; "" clears them.
func TestWorkspaceMediaHostsCLI(t *testing.T) {
	c := newCLI(t, testDB(t))
	seed(c, "acme")
	c.ok("admin", "workspace", "set", "acme", "--media-hosts", "cdn.acme.example, *.cloudfront.net")
	if out := c.ok("admin", "workspace", "show", "acme"); !strings.Contains(out, "media-hosts=cdn.acme.example,*.cloudfront.net") {
		t.Errorf("show: %q", out)
	}
	c.refused(ExitRefused, []string{"https://cdn.example/x", "no scheme, port or path"}, "admin", "workspace", "set", "acme", "--media-hosts", "https://cdn.example/x")
	c.refused(ExitRefused, []string{"too broad"}, "admin", "workspace", "set", "acme", "--media-hosts", "*.com")
	if out := c.ok("admin", "workspace", "show", "acme"); !strings.Contains(out, "media-hosts=cdn.acme.example,*.cloudfront.net") {
		t.Errorf("a refused change changed the hosts: %q", out)
	}
	c.ok("admin", "workspace", "set", "acme", "--media-hosts", "")
	if out := c.ok("admin", "workspace", "show", "acme"); !strings.Contains(out, "media-hosts=-") {
		t.Errorf("cleared: %q", out)
	}
}
