package httpserver

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRequestIDOnEveryLine checks that a handler's own log lines and the
// request line carry the same request_id, in the JSON format of
// log.format=json, and that a sane incoming X-Request-Id is kept.
func TestRequestIDOnEveryLine(t *testing.T) {
	tests := []struct {
		name     string
		incoming string
		keep     bool
	}{
		{"generated", "", false},
		{"from the proxy", "lb-7f3a.42", true},
		{"unsafe from the proxy", "x\ninjected=1", false},
		{"too long", strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil)))
			s := New("127.0.0.1:0", logger)
			s.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
				logger.With("component", "test").InfoContext(r.Context(), "handler working")
				logger.WarnContext(r.Context(), "handler warning")
			})
			req := httptest.NewRequest("GET", "/work", nil)
			if tt.incoming != "" {
				req.Header.Set("X-Request-Id", tt.incoming)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			id := rec.Header().Get("X-Request-Id")
			if id == "" || (tt.keep && id != tt.incoming) || (!tt.keep && id == tt.incoming) {
				t.Fatalf("X-Request-Id %q (incoming %q, keep %v)", id, tt.incoming, tt.keep)
			}
			var msgs, ids []string
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("line %q: %v", line, err)
				}
				msgs = append(msgs, rec["msg"].(string))
				got, _ := rec["request_id"].(string)
				ids = append(ids, got)
			}
			if diff := cmp.Diff([]string{"handler working", "handler warning", "http request"}, msgs); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{id, id, id}, ids); diff != "" {
				t.Errorf("request_id per line (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequestIDWithoutLogHandler(t *testing.T) {
	var buf bytes.Buffer
	s := New("127.0.0.1:0", slog.New(slog.NewJSONHandler(&buf, nil)))
	s.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) {})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if id := rec.Header().Get("X-Request-Id"); id == "" || strings.Count(buf.String(), id) != 1 {
		t.Errorf("request line %q does not carry request_id %q once", buf.String(), id)
	}
}

// TestRedactPath checks that a path carrying a secret is logged only as
// the redactor rewrites it.
func TestRedactPath(t *testing.T) {
	var buf bytes.Buffer
	s := New("127.0.0.1:0", slog.New(slog.NewJSONHandler(&buf, nil)))
	s.RedactPath = func(p string) string { return strings.Replace(p, "s3cret", "[redacted]", 1) }
	s.HandleFunc("GET /l/{token}", func(w http.ResponseWriter, r *http.Request) {})
	s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/l/s3cret", nil))
	if strings.Contains(buf.String(), "s3cret") || !strings.Contains(buf.String(), `"path":"/l/[redacted]"`) {
		t.Fatalf("request log = %s", buf.String())
	}
}
