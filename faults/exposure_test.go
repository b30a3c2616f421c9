//go:build faults

package faults

import (
	"bufio"
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// TestExposure: what an unauthenticated caller on the internet can make
// `signoff serve` hold, write and remember is bounded. Slow connections do
// not starve the health checks or decisions; unsigned requests with huge
// headers write a bounded audit log and are all counted; invented HTTP
// methods mint no metric series and no memory.
func TestExposure(t *testing.T) {
	h := newHarness(t)
	approvers := h.clients("x", 1)
	h.account("exposed", "C0EXP", approvals.RuleAny, approvers)
	drafts := h.submit("exposed", 60)
	srv := startServe(t, "serve", h.env())
	h.waitDrained(30 * time.Second)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

	t.Run("slow connections", func(t *testing.T) {
		const slow = 1000
		// The slow clients come from 127.0.0.2, everyone else from
		// 127.0.0.1: a per-source cap must not hold up other sources.
		dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var opened sync.WaitGroup
		var mu sync.Mutex
		var conns []net.Conn
		for i := range slow {
			opened.Go(func() {
				c, err := dialer.DialContext(ctx, "tcp", srv.addr)
				if err != nil {
					return
				}
				// Half trickle their headers, half a body after complete
				// headers; neither ever finishes.
				if i%2 == 0 {
					_, err = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
				} else {
					_, err = io.WriteString(c, "POST /slack/interactions HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npayload=")
				}
				if err != nil {
					c.Close()
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
				go func() {
					for ctx.Err() == nil {
						time.Sleep(500 * time.Millisecond)
						if _, err := c.Write([]byte("a")); err != nil {
							return
						}
					}
				}()
			})
		}
		opened.Wait()
		defer func() {
			mu.Lock()
			for _, c := range conns {
				c.Close()
			}
			mu.Unlock()
		}()
		time.Sleep(time.Second)

		var health, decide []time.Duration
		for range 200 {
			a := do(client, http.MethodGet, srv.URL("/healthz"), nil, "")
			if a.Err != nil || a.Status != http.StatusOK {
				t.Fatalf("/healthz under %d slow connections: %d %v", slow, a.Status, a.Err)
			}
			health = append(health, a.Latency)
		}
		for _, d := range drafts[:50] {
			tok := h.token(d, approvers[0])
			csrf, err := openLink(client, srv.URL(""), tok)
			if err != nil {
				t.Fatalf("open link under slow connections: %v", err)
			}
			a := postLink(client, srv.URL(""), tok, csrf)
			if a.Err != nil || a.Status != http.StatusOK || !strings.Contains(a.Body, "Thank you") {
				t.Fatalf("decision under slow connections: %d %v %.200s", a.Status, a.Err, a.Body)
			}
			decide = append(decide, a.Latency)
		}
		ph, pd := p99(health), p99(decide)
		if ph > 100*time.Millisecond || pd > 100*time.Millisecond {
			t.Errorf("under %d slow connections: /healthz p99 %s, decisions p99 %s; want ≤ 100ms", len(conns), ph, pd)
		}
		t.Logf("%d slow connections open: /healthz p99 %s (200 requests), decisions p99 %s (50 link approvals)", len(conns), ph, pd)
		suite.Summary.Add(headBad, "%d slow connections (trickled headers and bodies) from one address: /healthz p99 %s, link decisions p99 %s from another (target ≤ 100ms); the server closes them at its read timeouts",
			len(conns), ph.Round(100*time.Microsecond), pd.Round(100*time.Microsecond))
	})

	t.Run("unsigned requests with huge headers", func(t *testing.T) {
		const n = 10_000
		auditBefore := h.relationSize("audit_log")
		refusedBefore := metricSum(t, client, srv.URL("/metrics"), "signoff_unauthenticated_refusals_total")
		ua := strings.Repeat("A", 900<<10)
		body := "payload=%7B%7D"
		statuses := map[int]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		next := make(chan int)
		for range 8 {
			wg.Go(func() {
				for range next {
					a := do(client, http.MethodPost, srv.URL("/slack/interactions"),
						http.Header{"User-Agent": {ua}, "Content-Type": {"application/x-www-form-urlencoded"}}, body)
					mu.Lock()
					statuses[a.Status]++
					mu.Unlock()
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		growth := h.relationSize("audit_log") - auditBefore
		refused := metricSum(t, client, srv.URL("/metrics"), "signoff_unauthenticated_refusals_total") - refusedBefore
		if statuses[http.StatusUnauthorized] != n {
			t.Errorf("answers %v; want %d × 401", statuses, n)
		}
		if growth > 1<<20 {
			t.Errorf("audit_log grew by %d KB for %d unsigned requests; want ≤ 1 MB", growth>>10, n)
		}
		if refused != n {
			t.Errorf("%v refusals counted; want %d", refused, n)
		}
		t.Logf("%d unsigned requests with 900 KB user agents: audit_log +%d KB, %v refusals counted", n, growth>>10, refused)
		suite.Summary.Add(headBad, "%d unsigned Slack requests with 900 KB headers: all 401, audit_log +%d KB (bound 1 MB), %v refusals counted (fields capped, 20 rows a minute per address, the rest counted)",
			n, growth>>10, refused)
	})

	t.Run("invented methods", func(t *testing.T) {
		const n = 10_000
		// The first invented method adds the "other" series (a counter and
		// a histogram); none after it may add any.
		do(client, "FROB", srv.URL("/l/x"), nil, "")
		seriesBefore := len(metricLines(t, client, srv.URL("/metrics")))
		rssBefore := srv.RSS()
		var wg sync.WaitGroup
		next := make(chan int)
		for range 8 {
			wg.Go(func() {
				for i := range next {
					do(client, "FROB"+strconv.Itoa(i), srv.URL("/l/x"), nil, "")
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		series := metricLines(t, client, srv.URL("/metrics"))
		grown := len(series) - seriesBefore
		rssAfter := srv.RSS()
		if grown != 0 {
			t.Errorf("/metrics grew by %d series over %d invented methods", grown, n)
		}
		if rssAfter-rssBefore > 10<<20 {
			t.Errorf("server RSS grew by %d MB over %d invented methods", (rssAfter-rssBefore)>>20, n)
		}
		for _, l := range series {
			if strings.Contains(l, "FROB") {
				t.Fatalf("an invented method is a label: %s", l)
			}
		}
		t.Logf("%d invented methods: /metrics %d → %d series, RSS %d → %d MB", n, seriesBefore, len(series), rssBefore>>20, rssAfter>>20)
		suite.Summary.Add(headBad, "%d requests with invented HTTP methods: /metrics %d → %d series (methods are a closed set, the rest \"other\"), server RSS %d → %d MB",
			n, seriesBefore, len(series), rssBefore>>20, rssAfter>>20)
	})
}

// relationSize is a table's size on disk, indexes included.
func (h *harness) relationSize(table string) int64 {
	h.t.Helper()
	var n int64
	h.ok(h.db.Pool().QueryRow(h.ctx, `SELECT pg_total_relation_size($1::regclass)`, table).Scan(&n))
	return n
}

// metricLines returns the sample lines of a /metrics page.
func metricLines(t *testing.T, c *http.Client, u string) []string {
	t.Helper()
	a := do(c, http.MethodGet, u, nil, "")
	if a.Err != nil || a.Status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", a.Status, a.Err)
	}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(a.Body))
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// metricSum adds up the samples of one metric.
func metricSum(t *testing.T, c *http.Client, u, name string) float64 {
	t.Helper()
	var sum float64
	for _, l := range metricLines(t, c, u) {
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", l, err)
		}
		sum += v
	}
	return sum
}

// p99 is the 99th percentile of ds.
func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(math.Ceil(float64(len(s))*0.99))-1]
}
