// Package httpserver provides Signoff's one HTTP server: a mux that other
// packages register their handlers on (health checks now; email link pages,
// Slack endpoints and the API later), request logging, and a graceful
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

	mux *http.ServeMux
	ln  net.Listener
}

// New returns a Server for addr that logs to logger.
func New(addr string, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{Addr: addr, Logger: logger, ShutdownTimeout: 10 * time.Second, mux: http.NewServeMux()}
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
func (s *Server) Handler() http.Handler { return s.logRequests(s.mux) }

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
		ReadHeaderTimeout: 10 * time.Second,
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

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the ID the server gave the request behind ctx ("" when
// there is none); handlers pass it on (approvals.Meta.RequestID).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
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

// logRequests logs one line per request. It logs the path only, never the
// query string (which may carry tokens).
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
			slog.String("request_id", id),
		)
	})
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
