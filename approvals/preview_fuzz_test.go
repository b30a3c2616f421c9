package approvals_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/signoff-app/signoff/approvals"
)

// FuzzParseMediaHosts: no input panics the parser; what it accepts it
// accepts again unchanged, and a workspace with those hosts allows each
// named host (and no wildcard as a host).
func FuzzParseMediaHosts(f *testing.F) {
	for _, seed := range []string{"cdn.acme.example,*.cloudfront.net", "", ",,", "*.com", "127.0.0.1,::1", "a..b", "xn--bcher-kva.example", "*", "*.*.x.y", "A.B.C"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hosts, err := approvals.ParseMediaHosts(s)
		if err != nil {
			if approvals.ErrorCode(err) != approvals.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		again, err := approvals.ParseMediaHosts(strings.Join(hosts, ","))
		if err != nil || !slices.Equal(again, hosts) {
			t.Fatalf("%q parsed to %q, which parses to %q, %v", s, hosts, again, err)
		}
		w := &approvals.Workspace{MediaHosts: hosts}
		for _, h := range hosts {
			if rest, ok := strings.CutPrefix(h, "*."); ok {
				if !w.AllowsMediaHost("x."+rest) || (w.AllowsMediaHost(h) && !slices.Contains(hosts, h)) {
					t.Fatalf("wildcard %q", h)
				}
			} else if !w.AllowsMediaHost(h) {
				t.Fatalf("%q not allowed by %q", h, hosts)
			}
		}
	})
}
