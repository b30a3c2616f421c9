package approvals_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rivo/uniseg"
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

// FuzzFold: the folded caption is a prefix of the caption, ends on a
// character boundary, is cut exactly when it is shorter, and holds at
// most MoreAfter code points unless it is one character.
func FuzzFold(f *testing.F) {
	for _, seed := range []string{"Summer is here and so are we", "☀️☀️☀️☀️", "Go👍🏽 team", "🇫🇷🇩🇪🇮🇹", "Cafe\u0301s", "👨‍👩‍👧‍👦 family day", "", "\xff\xfe", "a\nb c",
		"👩\u200d👧\u200d👦"} { // one character of 5 code points, longer than the fold but whole
		f.Add(seed, 3)
	}
	f.Fuzz(func(t *testing.T, text string, after int) {
		after = after%300 + 1
		if after <= 0 {
			after += 300
		}
		shown, cut := approvals.Feed{MoreAfter: after}.Fold(text)
		if !strings.HasPrefix(text, shown) || cut != (shown != text) {
			t.Fatalf("Fold(%q, %d) = %q, %v", text, after, shown, cut)
		}
		if !cut {
			return
		}
		if n := utf8.RuneCountInString(shown); n > after && uniseg.GraphemeClusterCount(shown) > 1 {
			t.Fatalf("Fold(%q, %d) = %q: %d code points", text, after, shown, n)
		}
		if first, _, _, _ := uniseg.FirstGraphemeClusterInString(text[len(shown):], -1); len(shown) > 0 &&
			uniseg.GraphemeClusterCount(shown)+uniseg.GraphemeClusterCount(first) != uniseg.GraphemeClusterCount(shown+first) {
			t.Fatalf("Fold(%q, %d) = %q: cut inside a character", text, after, shown)
		}
	})
}
