// Package templates owns Signoff's email bodies and link pages: files
// embedded in the binary, optionally overridden one by one from a directory
// (the templates.dir setting), and parsed once at start-up so that a missing
// or broken template stops the boot instead of the first email.
//
// HTML files are parsed with html/template (contextual escaping: a draft's
// text or a comment is always shown as text), text files with text/template.
// Slack Block Kit is built in Go by the bot, not here.
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

//go:embed files
var embedded embed.FS

// Names of the templates, by purpose. A name is the file's path under files/.
const (
	ApprovalRequestSubject = "email/approval_request.subject.txt"
	ApprovalRequestText    = "email/approval_request.txt"
	ApprovalRequestHTML    = "email/approval_request.html"
	RejectedSubject        = "email/rejected.subject.txt"
	RejectedText           = "email/rejected.txt"
	RejectedHTML           = "email/rejected.html"
	ApprovedSubject        = "email/approved.subject.txt"
	ApprovedText           = "email/approved.txt"
	ApprovedHTML           = "email/approved.html"
	DeadlineSubject        = "email/deadline.subject.txt" // expired (to the author) or auto-approved (to approvers): .Outcome
	DeadlineText           = "email/deadline.txt"
	DeadlineHTML           = "email/deadline.html"
	SlackLinkSubject       = "email/slack_link.subject.txt" // a one-time Slack link confirmation, to the member
	SlackLinkText          = "email/slack_link.txt"
	SlackLinkHTML          = "email/slack_link.html"
	RequestsSubject        = "email/requests.subject.txt" // grouped requests and daily digests (.Digest), to one approver
	RequestsText           = "email/requests.txt"
	RequestsHTML           = "email/requests.html"
	PageLayout             = "page/layout.html"
	PageLink               = "page/link.html"
	PageMessage            = "page/message.html"
	PageSlackLink          = "page/slack_link.html"
	PageReview             = "page/review.html" // everything waiting on one approver, its confirmation and result
)

// Files returns every template file Signoff uses. Load fails when one of
// them is missing, and a test fails when an embedded file is not listed, so
// a file cannot be added or dropped silently.
func Files() []string {
	return []string{
		ApprovalRequestSubject, ApprovalRequestText, ApprovalRequestHTML,
		RejectedSubject, RejectedText, RejectedHTML,
		ApprovedSubject, ApprovedText, ApprovedHTML,
		DeadlineSubject, DeadlineText, DeadlineHTML,
		SlackLinkSubject, SlackLinkText, SlackLinkHTML,
		RequestsSubject, RequestsText, RequestsHTML,
		PageLayout, PageLink, PageMessage, PageSlackLink, PageReview,
	}
}

// EmbeddedNames lists the embedded files by template name, for the test
// that every one of them is in Files.
func EmbeddedNames() ([]string, error) {
	var names []string
	err := fs.WalkDir(embedded, "files", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			names = append(names, strings.TrimPrefix(p, "files/"))
		}
		return nil
	})
	return names, err
}

// Set is the parsed templates.
type Set struct {
	html *htmltemplate.Template
	text *texttemplate.Template
}

// Load parses every template: from dir when it holds a file of that name
// (dir may be ""), else the embedded one. Any missing or unparsable file is
// an error naming it.
func Load(dir string) (*Set, error) {
	s := &Set{
		html: htmltemplate.New("").Funcs(htmltemplate.FuncMap(funcs())),
		text: texttemplate.New("").Funcs(texttemplate.FuncMap(funcs())),
	}
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("templates.dir: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("templates.dir: %s is not a directory", dir)
		}
	}
	var errs []error
	for _, name := range Files() {
		src, err := read(dir, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if strings.HasSuffix(name, ".html") {
			_, err = s.html.New(name).Parse(src)
		} else {
			_, err = s.text.New(name).Parse(src)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("template %s: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func read(dir, name string) (string, error) {
	if dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err == nil {
			return string(b), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("template %s: %w", name, err)
		}
	}
	b, err := embedded.ReadFile("files/" + name)
	if err != nil {
		return "", fmt.Errorf("template %s: missing: %w", name, err)
	}
	return string(b), nil
}

// bufs are the render buffers, reused across executions: an email renders
// three templates, and growing a fresh buffer for each was a good part of
// its allocations.
var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { return bufs.Get().(*bytes.Buffer) }

func putBuf(b *bytes.Buffer) {
	if b.Cap() > 256<<10 { // an outsized render: let it go
		return
	}
	b.Reset()
	bufs.Put(b)
}

// HTML executes the HTML template name with data into w. It renders into a
// buffer first so a failing template never leaves half a page.
func (s *Set) HTML(w io.Writer, name string, data any) error {
	return execute(s.html, name, data, func(b *bytes.Buffer) error {
		_, err := b.WriteTo(w)
		return err
	})
}

// HTMLBytes executes the HTML template name with data and returns the
// result, which the caller owns: an email body, copied once from the
// render buffer (go-mail's SetBodyString would copy a string again).
func (s *Set) HTMLBytes(name string, data any) ([]byte, error) {
	return executeBytes(s.html, name, data)
}

// Text executes the text template name with data and returns the result.
func (s *Set) Text(name string, data any) (string, error) {
	var out string
	err := execute(s.text, name, data, func(b *bytes.Buffer) error {
		out = b.String()
		return nil
	})
	return out, err
}

// TextBytes is Text returning bytes the caller owns, as HTMLBytes.
func (s *Set) TextBytes(name string, data any) ([]byte, error) {
	return executeBytes(s.text, name, data)
}

// executeBytes is execute returning a copy of what was rendered.
func executeBytes(t executor, name string, data any) ([]byte, error) {
	var out []byte
	err := execute(t, name, data, func(b *bytes.Buffer) error {
		out = bytes.Clone(b.Bytes())
		return nil
	})
	return out, err
}

// executor is what html/template and text/template templates share.
type executor interface {
	ExecuteTemplate(w io.Writer, name string, data any) error
}

// execute renders the template name of t with data into a pooled buffer
// and hands the buffer to use, unless the template failed.
func execute(t executor, name string, data any, use func(*bytes.Buffer) error) error {
	buf := getBuf()
	defer putBuf(buf)
	if err := t.ExecuteTemplate(buf, name, data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	return use(buf)
}

// Subject executes a subject template and folds it to one line: a header
// must never carry a newline, whatever an account name holds.
func (s *Set) Subject(name string, data any) (string, error) {
	out, err := s.Text(name, data)
	if err != nil {
		return "", err
	}
	return strings.Join(strings.Fields(out), " "), nil
}

// funcs are the helpers every template may call.
func funcs() map[string]any {
	return map[string]any{
		"stamp":    stamp,
		"diffText": diffText,
		"diffHTML": diffHTML,
		"diffMail": diffMail,
		"name":     approvals.Member.DisplayName,
		"add":      func(a, b int) int { return a + b },
	}
}

// stamp formats a time for people, in UTC since the reader's zone is
// unknown. It takes a time or a pointer to one (nil gives "").
func stamp(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return ""
		}
		t = *x
	default:
		return fmt.Sprint(v)
	}
	return t.UTC().Format("Mon 2 Jan 2006 15:04 UTC")
}

// diffHTML renders a word diff as HTML, <ins> and <del> around the
// escaped words: one call instead of three template actions per word run,
// which a page of hundreds of drafts notices.
func diffHTML(ops []approvals.DiffOp) htmltemplate.HTML {
	return writeDiff(ops, "<ins>", "<del>", func(b *strings.Builder, s string) {
		b.WriteString(htmltemplate.HTMLEscapeString(s))
	})
}

// diffMail renders a word diff as an email's HTML, whose mail clients drop
// <style>: <ins style="INS"> and <del style="DEL"> around the words, each
// escaped exactly as html/template escapes a {{.Text}} in a text node
// (escapeText: unlike diffHTML's HTMLEscapeString, it also escapes '+').
// The styles are the template's own text and are written as they are,
// like the markup around them; one that could leave its attribute is an
// error. It is one call where a range over the runs, with an eq or two and
// an escaper each, called a function through reflection three times a run:
// most of an approval email's rendering.
func diffMail(ops []approvals.DiffOp, ins, del string) (htmltemplate.HTML, error) {
	for _, style := range []string{ins, del} {
		if strings.ContainsAny(style, "\"<>&\x00") {
			return "", fmt.Errorf("diffMail: style %q holds a character it may not", style)
		}
	}
	return writeDiff(ops, `<ins style="`+ins+`">`, `<del style="`+del+`">`, escapeText), nil
}

// writeDiff writes a word diff as HTML: each added run between ins and
// </ins>, each removed one between del and </del>, every run's text
// escaped by esc.
func writeDiff(ops []approvals.DiffOp, ins, del string, esc func(*strings.Builder, string)) htmltemplate.HTML {
	n := 0
	for _, op := range ops {
		n += len(op.Text) + len(ins) + len(del) + 12
	}
	var b strings.Builder
	b.Grow(n)
	for _, op := range ops {
		switch op.Op {
		case "+":
			b.WriteString(ins)
			esc(&b, op.Text)
			b.WriteString("</ins>")
		case "-":
			b.WriteString(del)
			esc(&b, op.Text)
			b.WriteString("</del>")
		default:
			esc(&b, op.Text)
		}
	}
	return htmltemplate.HTML(b.String())
}

// escapeText writes s escaped as html/template escapes a string in a text
// node or a quoted attribute (its htmlEscaper): NUL becomes U+FFFD and
// " & ' + < > character references; every other byte, invalid UTF-8
// included, is copied. Only ASCII bytes are replaced, and no byte of a
// multi-byte UTF-8 sequence is ASCII, so working on bytes is working on
// runes.
func escapeText(b *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(repl)
		last = i + 1
	}
	b.WriteString(s[last:])
}

// diffText renders a word diff for plain text: [-removed-] and {+added+},
// the notation of git's word diff.
func diffText(ops []approvals.DiffOp) string {
	n := 0
	for _, op := range ops {
		n += len(op.Text) + 4
	}
	var b strings.Builder
	b.Grow(n)
	for _, op := range ops {
		switch op.Op {
		case "+":
			b.WriteString("{+" + op.Text + "+}")
		case "-":
			b.WriteString("[-" + op.Text + "-]")
		default:
			b.WriteString(op.Text)
		}
	}
	return b.String()
}
