package bench

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/signoff-app/signoff/cli"
)

// `signoff serve` runs as its own process, built from this tree, so that
// its memory and CPU are its own: the load generators, the SMTP sink and
// the fake Slack stay in the bench process.

// server is the running `signoff serve` child.
type server struct {
	cmd    *exec.Cmd
	pid    int
	base   string        // http://127.0.0.1:PORT
	exited chan struct{} // closed once the process has ended and been reaped
	err    error         // Wait's error, set before exited is closed
	stderr *lineWriter
}

// buildServer builds cmd/signoff of the module the bench runs in (found
// with go env GOMOD from the working directory) into dir.
func buildServer(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("bench: go env GOMOD (the bench builds signoff with the Go toolchain): %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("bench: not inside the signoff module (go env GOMOD is empty): run the bench from the repository")
	}
	bin := filepath.Join(dir, "signoff")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/signoff")
	build.Dir = filepath.Dir(gomod)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench: go build ./cmd/signoff in %s: %w\n%s", build.Dir, err, out)
	}
	return bin, nil
}

// revision describes the VCS state go build stamped into bin, for the
// report's note ("" when it stamped none).
func revision(bin string) string {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return ""
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" && modified == "true" {
		rev += " with uncommitted changes"
	}
	return rev
}

// serverSettings are the configuration keys the bench sets on `signoff
// serve` (passed as SIGNOFF_* variables): the same database, Slack, SMTP
// and link keys as the bench's own cli.Main, whose configuration c is.
// http.addr and http.base_url are added per start.
func serverSettings(c cli.Config, cfg Config) (map[string]string, error) {
	s := map[string]string{
		"database.url":         c.Database.URL,
		"log.level":            c.Log.Level,
		"slack.bot_token":      c.Slack.BotToken,
		"slack.signing_secret": c.Slack.SigningSecret,
		"slack.api_url":        c.Slack.APIURL,
		"smtp.host":            c.SMTP.Host,
		"smtp.port":            strconv.Itoa(c.SMTP.Port),
		"smtp.tls":             c.SMTP.TLS,
		"smtp.timeout":         c.SMTP.Timeout.String(),
		"mail.from":            c.Mail.From,
		"links.keys":           strings.Join(c.Links.Keys, ","),
	}
	if cfg.PoolMaxConns > 0 {
		// The server's pool only: the bench's own stays at the default.
		s["database.url"] += fmt.Sprintf("&pool_max_conns=%d", cfg.PoolMaxConns)
	}
	if cfg.OutboxWorkers > 0 {
		s["outbox.workers"] = strconv.Itoa(cfg.OutboxWorkers)
		s["smtp.connections"] = strconv.Itoa(cfg.OutboxWorkers)
	}
	if cfg.ProfileDir != "" {
		// The server's Go profiles, for -profile (see serverProfile).
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s["debug.pprof_addr"] = fmt.Sprintf("127.0.0.1:%d", port)
	}
	// A key renamed in cli would otherwise be ignored without a word.
	keys := cli.Keys()
	for k := range s {
		if !slices.Contains(keys, k) {
			return nil, fmt.Errorf("bench: %s is not a configuration key of signoff", k)
		}
	}
	return s, nil
}

// startServer runs `bin serve --no-migrate` (the bench migrated already)
// in dir with settings on a free port of 127.0.0.1, and waits until
// /healthz answers. The port is free a moment before the start: when the
// process exits before it answers (another process took the port), it is
// started again on another, twice at most.
func startServer(ctx context.Context, bin, dir string, settings map[string]string, logw io.Writer) (*server, error) {
	var err error
	for range 3 {
		var port int
		if port, err = freePort(); err != nil {
			return nil, err
		}
		var s *server
		s, err = runServer(ctx, bin, dir, settings, port, logw)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errExited) {
			return nil, err
		}
	}
	return nil, err
}

// errExited is a server that ended before /healthz answered.
var errExited = errors.New("signoff serve exited before /healthz answered")

func runServer(ctx context.Context, bin, dir string, settings map[string]string, port int, logw io.Writer) (*server, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	set := map[string]string{"http.addr": addr, "http.base_url": "http://" + addr}
	for k, v := range settings {
		set[k] = v
	}
	// Only the bench's settings: a SIGNOFF_* of the caller's environment
	// (or a signoff.yaml in the working directory) must not reach it.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, cli.EnvPrefix) {
			env = append(env, kv)
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, cli.EnvVar(k)+"="+set[k])
	}
	s := &server{base: "http://" + addr, exited: make(chan struct{}), stderr: &lineWriter{w: logw, prefix: "signoff serve: "}}
	s.cmd = exec.Command(bin, "serve", "--no-migrate")
	s.cmd.Env, s.cmd.Dir = env, dir
	s.cmd.Stdout, s.cmd.Stderr = s.stderr, s.stderr
	// A bench killed outright takes its server with it; there is nothing
	// left to drain for.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start signoff serve: %w", err)
	}
	s.pid = s.cmd.Process.Pid
	go func() {
		s.err = s.cmd.Wait()
		s.stderr.flush()
		close(s.exited)
	}()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/healthz", nil)
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("bench: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("bench: %w (%v; its log is above)", errExited, s.err)
		case <-ctx.Done():
			s.stop()
			return nil, fmt.Errorf("bench: wait for signoff serve: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("bench: signoff serve did not answer /healthz within 30s")
		}
	}
}

// stop ends the server with SIGTERM (it drains its requests and stops its
// dispatcher), or SIGKILL after 30 s, and returns how it exited.
func (s *server) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	return s.err
}

// status is the server's /proc status file.
func (s *server) status() string { return "/proc/" + strconv.Itoa(s.pid) + "/status" }

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("bench: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// lineWriter writes each complete line given to it to w with prefix: the
// server's log amid the bench's.
type lineWriter struct {
	w      io.Writer
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		_, _ = fmt.Fprintf(l.w, "%s%s\n", l.prefix, l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

// flush writes a last line that had no newline.
func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		_, _ = fmt.Fprintf(l.w, "%s%s\n", l.prefix, l.buf)
		l.buf = nil
	}
}

// syncWriter serializes writes to w: the bench's progress lines, its
// logger and the server's log share it.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// rssPeak samples a process's VmRSS every 20 ms until end.
type rssPeak struct {
	stop  chan struct{}
	done  chan struct{}
	maxKB int
}

// sampleRSS starts sampling the VmRSS line of status (/proc/PID/status).
func sampleRSS(status string) *rssPeak {
	r := &rssPeak{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := procKB(status, "VmRSS"); kb > r.maxKB {
				r.maxKB = kb
			}
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

// end stops sampling and returns the largest VmRSS seen, in kB.
func (r *rssPeak) end() int {
	close(r.stop)
	<-r.done
	return r.maxKB
}

// serverProfile fetches a CPU profile of the server over d from its
// debug.pprof_addr (set with -profile) into cpu-server-NAME.pprof of the
// profile directory, and returns a func that waits until it is written.
func (e *env) serverProfile(ctx context.Context, name string, d time.Duration) (wait func()) {
	addr, dir := e.settings["debug.pprof_addr"], e.profDir
	if dir == "" || addr == "" {
		return func() {}
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := func() error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), nil)
			if err != nil {
				return err
			}
			resp, err := e.http.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s", resp.Status)
			}
			f, err := os.Create(filepath.Join(dir, "cpu-server-"+name+".pprof"))
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, resp.Body); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}()
		if err != nil {
			e.logger.Warn("server profile", "name", name, "err", err)
		}
	}()
	return func() { <-done }
}
