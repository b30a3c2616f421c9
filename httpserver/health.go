package httpserver

import (
	"context"
	"net/http"
	"time"
)

// ReadyTimeout bounds the readiness check.
const ReadyTimeout = time.Second

// HandleHealth registers GET /healthz, which answers 200 "ok" while the
// process is up, and GET /readyz, which answers 200 "ready" when ping
// succeeds within ReadyTimeout and 503 otherwise.
func (s *Server) HandleHealth(ping func(context.Context) error) {
	s.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
		defer cancel()
		if err := ping(ctx); err != nil {
			s.Logger.WarnContext(ctx, "readiness check failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("database unavailable\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
}
