// Package mailpit runs a real mailpit process (SMTP server and mail store
// with an HTTP API) for tests: the email tests and the fault suite use it as
// their SMTP sink and read back what was sent. mailpit is a binary installed
// with `go install`, never a go.mod dependency.
package mailpit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Install is how to get the binary, for messages.
const Install = "GOBIN=$PWD/.dev/bin go install github.com/axllent/mailpit@v1.27.11"

// ErrNotFound is returned by Find when no mailpit binary is found.
var ErrNotFound = errors.New("mailpit not found (set MAILPIT_BIN, or run: " + Install + ")")

// Find locates mailpit: $MAILPIT_BIN, then PATH, then the repository's
// .dev/bin (where `make dev` and `make test` install it), then
// $(go env GOPATH)/bin.
func Find() (string, error) {
	if p := os.Getenv("MAILPIT_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("MAILPIT_BIN: %w", err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p, nil
	}
	if root, err := moduleRoot(); err == nil {
		p := filepath.Join(root, ".dev", "bin", "mailpit")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "mailpit")
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", ErrNotFound
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// Server is a mailpit process on free local ports. Stop and Start keep the
// ports and the stored messages, so a test can take SMTP down and bring it
// back.
type Server struct {
	SMTPPort int
	HTTPPort int

	tb   testing.TB
	bin  string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
}

// Start finds mailpit and starts it with the extra flags, stopping it when
// the test ends. A missing binary fails the test under CI=true (a skipped
// test is a test that did not run) and skips it elsewhere.
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	bin, err := Find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%v; CI must provide it", err)
		}
		tb.Skipf("%v; it is required under CI=true", err)
	}
	return StartBin(tb, bin, extra...)
}

// StartBin is Start with a binary found beforehand.
func StartBin(tb testing.TB, bin string, extra ...string) *Server {
	tb.Helper()
	m := &Server{tb: tb, bin: bin, SMTPPort: freePort(tb), HTTPPort: freePort(tb)}
	m.args = append([]string{
		"--smtp", fmt.Sprintf("127.0.0.1:%d", m.SMTPPort),
		"--listen", fmt.Sprintf("127.0.0.1:%d", m.HTTPPort),
		"--database", filepath.Join(tb.TempDir(), "mailpit.db"),
		"--max", "1000000", // keep every message: tests count them
		"--smtp-disable-rdns", "--disable-version-check", "--quiet",
	}, extra...)
	m.Start()
	tb.Cleanup(m.Stop)
	return m
}

func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs mailpit and waits until both ports answer.
func (m *Server) Start() {
	m.tb.Helper()
	m.cmd = exec.Command(m.bin, m.args...)
	m.cmd.Stdout, m.cmd.Stderr = os.Stderr, os.Stderr
	if err := m.cmd.Start(); err != nil {
		m.tb.Fatalf("start mailpit: %v", err)
	}
	m.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(m.cmd, m.done)
	deadline := time.Now().Add(20 * time.Second)
	for _, port := range []int{m.SMTPPort, m.HTTPPort} {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				m.tb.Fatalf("mailpit did not listen on %d: %v", port, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// Stop ends mailpit (idempotent).
func (m *Server) Stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	<-m.done
	m.cmd = nil
}

// Summary is one captured message in a list.
type Summary struct {
	ID        string
	MessageID string
	Subject   string
	To        []struct{ Address string }
}

// Message is one captured message with its bodies.
type Message struct {
	ID      string
	Subject string
	To      []struct{ Address string }
	Text    string
	HTML    string
}

// Messages lists every captured message, newest first.
func (m *Server) Messages() []Summary {
	m.tb.Helper()
	var all []Summary
	for start := 0; ; {
		var page struct {
			Total    int       `json:"total"`
			Messages []Summary `json:"messages"`
		}
		m.Get(fmt.Sprintf("/api/v1/messages?start=%d&limit=1000", start), &page)
		all = append(all, page.Messages...)
		start += len(page.Messages)
		if len(page.Messages) == 0 || start >= page.Total {
			return all
		}
	}
}

// MessageTo returns the one message to addr whose subject starts with
// prefix, failing the test when there is not exactly one.
func (m *Server) MessageTo(addr, prefix string) Message {
	m.tb.Helper()
	var found []Summary
	for _, s := range m.Messages() {
		if len(s.To) == 1 && strings.EqualFold(s.To[0].Address, addr) && strings.HasPrefix(s.Subject, prefix) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		m.tb.Fatalf("%d messages to %s with subject %q…, want 1", len(found), addr, prefix)
	}
	var msg Message
	m.Get("/api/v1/message/"+found[0].ID, &msg)
	// SMTP lines end in CR LF; that is the transport's, not the text's.
	msg.Text = strings.ReplaceAll(msg.Text, "\r\n", "\n")
	return msg
}

// Raw returns a message's source.
func (m *Server) Raw(id string) string {
	m.tb.Helper()
	return string(m.fetch("/api/v1/message/" + id + "/raw"))
}

// Get decodes the JSON answer of mailpit's API at path into v.
func (m *Server) Get(path string, v any) {
	m.tb.Helper()
	if err := json.Unmarshal(m.fetch(path), v); err != nil {
		m.tb.Fatalf("mailpit API %s: %v", path, err)
	}
}

func (m *Server) fetch(path string) []byte {
	m.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", m.HTTPPort, path), nil)
	if err != nil {
		m.tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.tb.Fatalf("mailpit API %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		m.tb.Fatalf("mailpit API %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		m.tb.Fatalf("mailpit API %s: %s %s", path, resp.Status, b)
	}
	return b
}
