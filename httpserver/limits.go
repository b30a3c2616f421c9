package httpserver

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// Limits bound what one caller can make the server hold: how long a request
// may take to arrive and be answered, how long an idle connection stays
// open, how large its headers may be, and how many requests one source may
// have in flight on the public routes.
type Limits struct {
	ReadTimeout    time.Duration // the whole request, body included
	WriteTimeout   time.Duration // from the end of the headers to the end of the answer
	IdleTimeout    time.Duration // a keep-alive connection waiting for its next request
	MaxHeaderBytes int
	// PerSource caps the concurrent requests of one client address on every
	// route but the health checks and /metrics; 0 sets no cap.
	PerSource int
}

// DefaultLimits are safe for a server facing the internet: Slack and link
// pages answer in well under a second, so a request that takes longer to
// arrive or be answered is a slow client, not a slow server.
func DefaultLimits() Limits {
	return Limits{ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 1 << 20, PerSource: 256}
}

// headerTimeout is how long a connection may take to send a request's
// headers: 10s, or the read timeout when that is shorter. It also closes a
// connection that never sends a request.
func (l Limits) headerTimeout() time.Duration {
	if l.ReadTimeout > 0 && l.ReadTimeout < 10*time.Second {
		return l.ReadTimeout
	}
	return 10 * time.Second
}

// ParseProxies parses trusted proxy CIDRs (a bare address is one host).
func ParseProxies(cidrs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !strings.Contains(c, "/") {
			a, err := netip.ParseAddr(c)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

const clientIPKey ctxKey = 1

// ClientIP returns the address of the client behind r: the one the server
// found (see Server.TrustedProxies), else the connection's peer.
func ClientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey).(string); ok && ip != "" {
		return ip
	}
	return peer(r)
}

func withClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey, ip)
}

func peer(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clientIP is the connection's peer, unless that peer is a trusted proxy:
// then X-Forwarded-For is read from the right, past every trusted proxy,
// and the first address no proxy of ours added is the client's. Anything a
// client wrote further left is its own claim and ignored.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	p := peer(r)
	if len(trusted) == 0 || !isTrusted(p, trusted) {
		return p
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return p // a malformed chain: believe only what we saw
		}
		if !isTrusted(a.String(), trusted) {
			return a.Unmap().String()
		}
	}
	return p
}

func isTrusted(ip string, trusted []netip.Prefix) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// sourceGate counts the requests each client address has in flight.
type sourceGate struct {
	max    int
	mu     sync.Mutex
	flight map[string]int
}

func (g *sourceGate) enter(src string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.flight[src] >= g.max {
		return false
	}
	g.flight[src]++
	return true
}

func (g *sourceGate) leave(src string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.flight[src]--; g.flight[src] <= 0 {
		delete(g.flight, src)
	}
}

// exempt reports whether a path is outside the per-source cap: the health
// checks a load balancer polls, and the metrics a scraper reads.
func exempt(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}

// methodLabel keeps a metric's method label to a closed set: any other
// method a caller invents is "other", so callers cannot mint series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// RequestMeta is what the audit log keeps of the request behind an action:
// the client's address, its user agent and the request's ID. The core caps
// each field before it writes it.
func RequestMeta(r *http.Request) approvals.Meta {
	return approvals.Meta{IP: ClientIP(r), UserAgent: r.UserAgent(), RequestID: RequestID(r.Context())}
}
