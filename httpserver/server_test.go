package httpserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHealth(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		ping       func(context.Context) error
		wantStatus int
		wantBody   string
	}{
		{"healthz", "/healthz", func(context.Context) error { return errors.New("down") }, 200, "ok\n"},
		{"ready", "/readyz", func(context.Context) error { return nil }, 200, "ready\n"},
		{"not ready", "/readyz", func(context.Context) error { return errors.New("down") }, 503, "database unavailable\n"},
		{"slow ping", "/readyz", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, 503, "database unavailable\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New("127.0.0.1:0", slog.New(slog.DiscardHandler))
			s.HandleHealth(tt.ping)
			rec := httptest.NewRecorder()
			start := time.Now()
			s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if d := time.Since(start); d > 3*ReadyTimeout {
				t.Errorf("took %s", d)
			}
			got := struct {
				Status int
				Body   string
			}{rec.Code, rec.Body.String()}
			want := struct {
				Status int
				Body   string
			}{tt.wantStatus, tt.wantBody}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GET %s (-want +got):\n%s", tt.path, diff)
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Errorf("no X-Request-Id")
			}
		})
	}
}

// TestServeDrains checks that cancelling the context lets an in-flight
// request finish before Serve returns nil.
func TestServeDrains(t *testing.T) {
	s := New("127.0.0.1:0", slog.New(slog.DiscardHandler))
	started, release := make(chan struct{}), make(chan struct{})
	s.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()

	type resp struct {
		status int
		body   string
		err    error
	}
	got := make(chan resp, 1)
	go func() {
		r, err := http.Get("http://" + s.BoundAddr() + "/slow")
		if err != nil {
			got <- resp{err: err}
			return
		}
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		got <- resp{status: r.StatusCode, body: string(b), err: err}
	}()
	<-started
	cancel()
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if r := <-got; r.err != nil || r.status != 200 || r.body != "done" {
		t.Errorf("in-flight request: %+v, want 200 done", r)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the drain")
	}
	if _, err := http.Get("http://" + s.BoundAddr() + "/slow"); err == nil {
		t.Errorf("server still accepts connections after shutdown")
	}
}
