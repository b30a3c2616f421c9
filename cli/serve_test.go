package cli

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signoff-app/signoff/internal/servetest"
)

// TestServe runs the real command line's serve on 127.0.0.1:0 against a
// database reached through a TCP proxy, checks /healthz and /readyz with
// the database up and down, then cancels the context (as SIGTERM does
// through signal.NotifyContext) and expects a drain and exit 0.
func TestServe(t *testing.T) {
	dbURL := testDB(t)
	u, err := url.Parse(dbURL)
	if err != nil || u.Host == "" {
		t.Fatalf("test database URL %q is not a URL with a host", dbURL)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.addr()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pprofAddr := ln.Addr().String()
	ln.Close()
	env := map[string]string{"SIGNOFF_DATABASE_URL": u.String(), "SIGNOFF_DEBUG_PPROF_ADDR": pprofAddr}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &servetest.Log{}
	exited := make(chan int, 1)
	go func() {
		exited <- Run(ctx, []string{"serve", "--http-addr", "127.0.0.1:0", "--log-format", "json"},
			strings.NewReader(""), io.Discard, stderr, func(k string) string { return env[k] })
	}()
	addr := servetest.WaitListening(t, stderr, exited)
	base := "http://" + addr

	get := func(path string) (int, string) {
		t.Helper()
		client := &http.Client{Timeout: 5 * time.Second}
		r, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	check := func(when, path string, want int) {
		t.Helper()
		if got, body := get(path); got != want {
			t.Errorf("%s: GET %s = %d %q, want %d", when, path, got, body, want)
		}
	}
	check("database up", "/healthz", 200)
	check("database up", "/readyz", 200)
	// Go's profiles: on debug.pprof_addr only, never on http.addr.
	check("profiles", "/debug/pprof/", 404)
	if r, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + pprofAddr + "/debug/pprof/heap?debug=1"); err != nil {
		t.Errorf("GET the heap profile on debug.pprof_addr: %v", err)
	} else {
		if r.StatusCode != http.StatusOK {
			t.Errorf("GET the heap profile on debug.pprof_addr: %d", r.StatusCode)
		}
		r.Body.Close()
	}

	proxy.close()
	start := time.Now()
	check("database down", "/readyz", 503)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("readyz took %s with the database down", d)
	}
	check("database down", "/healthz", 200)

	cancel()
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("serve exited %d after cancel; stderr:\n%s", code, stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("serve did not exit after cancel; stderr:\n%s", stderr)
	}
	if !strings.Contains(stderr.String(), `"msg":"http server stopped"`) {
		t.Errorf("no graceful stop logged:\n%s", stderr)
	}
	if !strings.Contains(stderr.String(), `"msg":"http request"`) {
		t.Errorf("no request logged:\n%s", stderr)
	}
}

func TestServeRefusesUnreachableDatabase(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	c := &cliEnv{t: t, env: map[string]string{"SIGNOFF_DATABASE_URL": "postgres://signoff:secret@" + closed + "/signoff?connect_timeout=2"}}
	r := c.run("serve", "--http-addr", "127.0.0.1:0")
	if r.code != ExitRefused || strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, "secret") {
		t.Errorf("serve with the database down: exit %d, stderr %q; want exit 1, one line, no password", r.code, r.stderr)
	}
}

// tcpProxy forwards connections to a target until closed; close drops every
// connection and stops listening, so the target looks down.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			p.wg.Go(func() { _, _ = io.Copy(up, c); up.Close() })
			p.wg.Go(func() { _, _ = io.Copy(c, up); c.Close() })
		}
	})
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) close() {
	if err := p.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return
	}
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}
