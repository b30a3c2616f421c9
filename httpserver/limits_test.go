package httpserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestClientIP(t *testing.T) {
	proxies, err := ParseProxies([]string{"10.0.0.0/8", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted bool
		want    string
	}{
		{"no proxies: the peer, whatever it claims", "203.0.113.9:5000", []string{"198.51.100.1"}, false, "203.0.113.9"},
		{"an untrusted peer's header is ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, true, "203.0.113.9"},
		{"behind a trusted balancer", "10.1.2.3:5000", []string{"198.51.100.1"}, true, "198.51.100.1"},
		{"two trusted hops", "10.1.2.3:5000", []string{"198.51.100.1, 192.0.2.7"}, true, "198.51.100.1"},
		{"a client's own claim left of the real one", "10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1"}, true, "198.51.100.1"},
		{"several header lines", "10.1.2.3:5000", []string{"1.1.1.1", "198.51.100.1"}, true, "198.51.100.1"},
		{"malformed chain: the peer", "10.1.2.3:5000", []string{"198.51.100.1, <script>"}, true, "10.1.2.3"},
		{"only proxies: the peer", "10.1.2.3:5000", []string{"10.9.9.9"}, true, "10.1.2.3"},
		{"no header", "10.1.2.3:5000", nil, true, "10.1.2.3"},
		{"IPv6", "[2001:db8::1]:443", nil, true, "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, h := range tt.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			var trusted = proxies
			if !tt.trusted {
				trusted = nil
			}
			if got := clientIP(r, trusted); got != tt.want {
				t.Errorf("clientIP = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := ParseProxies([]string{"10.0.0.0/33"}); err == nil {
		t.Error("a bad CIDR parsed")
	}
}

type observed struct {
	mu      sync.Mutex
	methods map[string]int
}

func (o *observed) ObserveRequest(method, route string, status int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.methods[method]++
}

// TestMethodLabels: invented methods are one label, "other".
func TestMethodLabels(t *testing.T) {
	s := New("127.0.0.1:0", slog.New(slog.DiscardHandler))
	o := &observed{methods: map[string]int{}}
	s.Observer = o
	h := s.Handler()
	for i := range 50 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(fmt.Sprintf("FROB%d", i), "/x", nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	if len(o.methods) != 2 || o.methods["other"] != 50 || o.methods["GET"] != 1 {
		t.Fatalf("labels = %v", o.methods)
	}
}

// TestPerSourceCap: one source gets at most PerSource requests in flight;
// another source and the health checks are not held up by it.
func TestPerSourceCap(t *testing.T) {
	s := New("127.0.0.1:0", slog.New(slog.DiscardHandler))
	s.Limits.PerSource = 2
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	s.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	})
	s.HandleHealth(func(context.Context) error { return nil })
	h := s.Handler()
	req := func(path, remote string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { req("/slow", "198.51.100.1:1") })
	}
	<-entered
	<-entered
	if w := req("/slow", "198.51.100.1:2"); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("third request from one source: %d", w.Code)
	}
	if w := req("/healthz", "198.51.100.1:3"); w.Code != http.StatusOK {
		t.Errorf("health check from that source: %d", w.Code)
	}
	go req("/slow", "198.51.100.2:1")
	<-entered // another source gets through
	close(release)
	wg.Wait()
}

// TestSlowClients: a body trickled past the read timeout and a connection
// idle past the idle timeout are closed by the server.
func TestSlowClients(t *testing.T) {
	s := New("127.0.0.1:0", slog.New(slog.DiscardHandler))
	s.Limits.ReadTimeout, s.Limits.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond
	s.HandleFunc("POST /body", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			return
		}
		fmt.Fprint(w, "read")
	})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	for _, tc := range []struct {
		name string
		send string // then the client waits
	}{
		{"trickled body", "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"},
		{"idle connection", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", s.BoundAddr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.send != "" {
				if _, err := io.WriteString(c, tc.send); err != nil {
					t.Fatal(err)
				}
			}
			// The server closes the connection; the read ends well before
			// this generous bound.
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, err := io.ReadAll(c)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("the server kept the connection open: %q", b)
			}
			if strings.Contains(string(b), "read") && !strings.Contains(string(b), "400") {
				t.Fatalf("the trickled body was served: %q", b)
			}
		})
	}
}
