package templates

import (
	"strings"
	"testing"
)

// fold is strings.Join(strings.Fields(s), " ") on any input.
func FuzzFold(f *testing.F) {
	for _, s := range []string{"", " ", "Approval needed: Acme post (revision 2)\n", "a  b", "a\tb", " a b ", "a\u00a0b", "\u00a0a", "é \u2028x", "\xff b", "a \n", "a\r\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := fold(s), strings.Join(strings.Fields(s), " "); got != want {
			t.Errorf("fold(%q) = %q, want %q", s, got, want)
		}
	})
}
