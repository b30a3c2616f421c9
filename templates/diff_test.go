package templates

import (
	htmltemplate "html/template"
	"strings"
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

// diffMail gives what the approval email's range over the runs gave:
// html/template's own escaping of each word ('+' and NUL included, bad
// UTF-8 copied) inside <ins> and <del> with the template's styles.
func TestDiffMailIsTheTemplateRange(t *testing.T) {
	rng := htmltemplate.Must(htmltemplate.New("").Parse(`{{range .}}{{if eq .Op "+"}}<ins style="color:red;">{{.Text}}</ins>{{else if eq .Op "-"}}<del style="x:'y'">{{.Text}}</del>{{else}}{{.Text}}{{end}}{{end}}`))
	var all []byte
	for c := range 256 {
		all = append(all, byte(c))
	}
	words := []string{"", "plain", `<b>"25%"</b> & 'more' + tax`, "\x00nul", "\xff\xfe bad \xc3", "🌞 café 日本 e\u0301", "\ufffd\ufdd0\uffff", string(all)}
	var ops []approvals.DiffOp
	for i, w := range words {
		ops = append(ops, approvals.DiffOp{Op: []string{"=", "+", "-"}[i%3], Text: w})
		ops = append(ops, approvals.DiffOp{Op: []string{"-", "=", "+"}[i%3], Text: w})
	}
	var want strings.Builder
	if err := rng.Execute(&want, ops); err != nil {
		t.Fatal(err)
	}
	got, err := diffMail(ops, "color:red;", "x:'y'")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want.String() {
		t.Errorf("diffMail =\n%q\nthe template range gave\n%q", got, want.String())
	}
	for _, style := range []string{`a"b`, "<", ">", "&", "\x00"} {
		if _, err := diffMail(ops, "", style); err == nil {
			t.Errorf("diffMail accepted the style %q", style)
		}
	}
}

// escapeText is html/template's escaping of text, on any input.
func FuzzEscapeText(f *testing.F) {
	tmpl := htmltemplate.Must(htmltemplate.New("").Parse(`<p title="{{.}}">{{.}}</p>`))
	for _, s := range []string{"", "a+b", "<\x00>", "\xff", `"'&`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want, got strings.Builder
		if err := tmpl.Execute(&want, s); err != nil {
			t.Fatal(err)
		}
		got.WriteString(`<p title="`)
		escapeText(&got, s)
		got.WriteString(`">`)
		escapeText(&got, s)
		got.WriteString(`</p>`)
		if got.String() != want.String() {
			t.Errorf("escapeText(%q) = %q, html/template gives %q", s, got.String(), want.String())
		}
	})
}
