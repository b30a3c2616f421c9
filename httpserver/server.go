// Package httpserver provides Signoff's one HTTP server: a mux that other
// packages register their handlers on (health checks, email link pages,
// Slack endpoints, the API, metrics), request logging, and a graceful
// shutdown when the context ends.
package httpserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Server is an HTTP server with a mux. Register handlers with Handle before
// calling Serve.
type Server struct {
	// Addr is the address to listen on ("host:port"; port 0 picks a free one).
	Addr string
	// Logger receives one line per request and the server's own events.
	Logger *slog.Logger
	// ShutdownTimeout bounds how long Serve waits for in-flight requests
	// once its context ends.
	ShutdownTimeout time.Duration
	// Observer, when set, is told of every request once served (metrics).
	Observer RequestObserver
	// RedactPath, when set, rewrites a request's path before it is logged:
	// paths that carry secrets (email link tokens) must never reach a log.
	RedactPath func(path string) string
	// Limits bound slow and greedy clients (DefaultLimits in New).
	Limits Limits
	// TrustedProxies are the load balancers whose X-Forwarded-For is
	// believed; without them the connection's peer is the client.
	TrustedProxies []netip.Prefix

	mux  *http.ServeMux
	ln   net.Listener
	gate *sourceGate
}

// New returns a Server for addr that logs to logger.
func New(addr string, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{Addr: addr, Logger: logger, ShutdownTimeout: 10 * time.Second, Limits: DefaultLimits(), mux: http.NewServeMux()}
}

// Handle registers h for pattern (net/http.ServeMux syntax, e.g.
// "GET /links/{token}" or "POST /slack/events").
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleFunc registers f for pattern.
func (s *Server) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	s.mux.HandleFunc(pattern, f)
}

// Handler returns the server's handler (the mux wrapped in request logging),
// for tests that drive it with net/http/httptest.
func (s *Server) Handler() http.Handler {
	if s.gate == nil && s.Limits.PerSource > 0 {
		s.gate = &sourceGate{max: s.Limits.PerSource, flight: map[string]int{}}
	}
	return s.logRequests(s.mux)
}

// Listen binds the listening socket, so that Addr of a ":0" address is known
// before Serve. Serve calls it if it was not called.
func (s *Server) Listen() error {
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("http: listen on %s: %w", s.Addr, err)
	}
	s.ln = ln
	return nil
}

// BoundAddr returns the address the server listens on, or "" before Listen.
func (s *Server) BoundAddr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Serve serves until ctx ends, then stops accepting connections and waits
// (up to ShutdownTimeout) for in-flight requests to finish. It returns nil
// after a graceful shutdown.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.Limits.headerTimeout(),
		ReadTimeout:       s.Limits.ReadTimeout,
		WriteTimeout:      s.Limits.WriteTimeout,
		IdleTimeout:       s.Limits.IdleTimeout,
		MaxHeaderBytes:    s.Limits.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	s.Logger.InfoContext(ctx, "http server listening", "addr", s.BoundAddr())

	select {
	case err := <-errc:
		return fmt.Errorf("http: serve: %w", err)
	case <-ctx.Done():
	}
	s.Logger.Info("http server shutting down", "timeout", s.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("http: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http: serve: %w", err)
	}
	s.Logger.Info("http server stopped")
	return nil
}

// RequestObserver is told of every request the server served: its method,
// the pattern of the route that matched ("" if none did), its status and
// how long it took.
type RequestObserver interface {
	ObserveRequest(method, route string, status int, d time.Duration)
}

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the ID the server gave the request behind ctx ("" when
// there is none); handlers pass it on (approvals.Meta.RequestID).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// WithRequestID returns ctx carrying the request ID id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// LogHandler wraps h so that every record logged with a request's context
// (Logger.InfoContext(r.Context(), …) anywhere below a handler) carries the
// request's ID as "request_id".
func LogHandler(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests gives each request an ID (the X-Request-Id a proxy in front
// sent, when it is a sane one, else a new one), puts it in the request's
// context, its X-Request-Id header and the response's, and logs one line
// per request. It logs the path only, never the query string (which may
// carry tokens). The line carries request_id like every other line logged
// with the request's context, through LogHandler; without LogHandler it is
// added here.
func (s *Server) logRequests(next http.Handler) http.Handler {
	_, tagged := s.Logger.Handler().(requestIDHandler)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		ip := clientIP(r, s.TrustedProxies)
		r = r.WithContext(withClientIP(WithRequestID(r.Context(), id), ip))
		r.Header.Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		if s.gate != nil && !exempt(r.URL.Path) {
			if !s.gate.enter(ip) {
				sw.Header().Set("Retry-After", "1")
				http.Error(sw, "too many requests from your address at once", http.StatusTooManyRequests)
			} else {
				func() {
					defer s.gate.leave(ip)
					next.ServeHTTP(sw, r)
				}()
			}
		} else {
			next.ServeHTTP(sw, r)
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		if s.Observer != nil {
			s.Observer.ObserveRequest(methodLabel(r.Method), routeOf(r.Pattern), sw.status, d)
		}
		path := r.URL.Path
		if s.RedactPath != nil {
			path = s.RedactPath(path)
		}
		attrs := []slog.Attr{
			slog.String("method", methodLabel(r.Method)),
			slog.String("path", path),
			slog.String("route", routeOf(r.Pattern)),
			slog.Int("status", sw.status),
			slog.Int("bytes", sw.bytes),
			slog.Duration("duration", d),
			slog.String("remote", ip),
		}
		if !tagged {
			attrs = append(attrs, slog.String("request_id", id))
		}
		s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
	})
}

// routeOf returns the path part of a mux pattern ("GET /api/v1/drafts/{id}"
// → "/api/v1/drafts/{id}").
func routeOf(pattern string) string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return strings.TrimSpace(pattern[i+1:])
	}
	return pattern
}

// validRequestID accepts IDs of 1 to 64 letters, digits, dashes, dots and
// underscores: enough for any proxy's, nothing that could forge a log line.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
