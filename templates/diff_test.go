package templates

import (
	"testing"

	"github.com/signoff-app/signoff/approvals"
)

// diffHTML marks what changed and escapes every word: a draft's text is
// never markup.
func TestDiffHTMLEscapes(t *testing.T) {
	ops := []approvals.DiffOp{{Op: "=", Text: "Sale <b>now</b> "}, {Op: "-", Text: "20%"}, {Op: "+", Text: `"30%" & more`}}
	want := `Sale &lt;b&gt;now&lt;/b&gt; <del>20%</del><ins>&#34;30%&#34; &amp; more</ins>`
	if got := string(diffHTML(ops)); got != want {
		t.Errorf("diffHTML = %q, want %q", got, want)
	}
}
