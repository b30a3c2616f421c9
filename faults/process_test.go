//go:build faults

package faults

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// serve is one `signoff serve` child process. Its address stays the same
// across restarts, so links and clients keep working.
type serve struct {
	t    testing.TB
	name string
	addr string // 127.0.0.1:port
	env  []string
	log  string // the process's stdout and stderr, appended across restarts
	cmd  *exec.Cmd
	done chan struct{}
}

// startServe runs `signoff serve` with the SIGNOFF_* settings in env (the
// parent's own SIGNOFF_* variables are not passed on) and waits until
// /readyz answers 200. The process is stopped when the test ends.
func startServe(t testing.TB, name string, env map[string]string) *serve {
	t.Helper()
	s := &serve{t: t, name: name, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		log: filepath.Join(t.TempDir(), name+".log")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIGNOFF_") {
			s.env = append(s.env, kv)
		}
	}
	env["SIGNOFF_HTTP_ADDR"] = s.addr
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.env = append(s.env, k+"="+env[k])
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL returns the server's URL for path.
func (s *serve) URL(path string) string { return "http://" + s.addr + path }

// PID returns the running process's id.
func (s *serve) PID() int { return s.cmd.Process.Pid }

// Start runs the process and waits for /readyz.
func (s *serve) Start() {
	s.t.Helper()
	f, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatalf("%s log: %v", s.name, err)
	}
	s.cmd = exec.Command(suite.Bin, "serve")
	s.cmd.Env = s.env
	s.cmd.Dir = filepath.Dir(s.log) // no stray signoff.yaml
	s.cmd.Stdout, s.cmd.Stderr = f, f
	if err := s.cmd.Start(); err != nil {
		f.Close()
		s.t.Fatalf("start %s: %v", s.name, err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); f.Close(); close(done) }(s.cmd, s.done)
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.done:
			s.t.Fatalf("%s exited before it was ready:\n%s", s.name, s.Tail(40))
		default:
		}
		resp, err := client.Get(s.URL("/readyz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s not ready after 30s:\n%s", s.name, s.Tail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill sends SIGKILL, as `kill -9` does, and waits for the process to go.
func (s *serve) Kill() {
	s.t.Helper()
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatalf("kill -9 %s: %v", s.name, err)
	}
	<-s.done
	s.cmd = nil
}

// Stop ends the process gracefully (SIGTERM), or kills it after 20s.
// It is idempotent.
func (s *serve) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// RSS returns the process's resident set size in bytes (VmRSS).
func (s *serve) RSS() int64 {
	s.t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.PID()))
	if err != nil {
		s.t.Fatalf("%s rss: %v", s.name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				s.t.Fatalf("%s rss: %q: %v", s.name, rest, err)
			}
			return kb << 10
		}
	}
	s.t.Fatalf("%s rss: no VmRSS in /proc/%d/status", s.name, s.PID())
	return 0
}

// Tail returns the last n lines of the process's log.
func (s *serve) Tail(n int) string {
	b, _ := os.ReadFile(s.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LogCount counts the lines of the process's log that contain substr.
func (s *serve) LogCount(substr string) int {
	b, _ := os.ReadFile(s.log)
	return bytes.Count(b, []byte(substr))
}
