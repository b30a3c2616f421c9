package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signoff-app/signoff/internal/pgtest"
)

var env *pgtest.Env

func TestMain(m *testing.M) { pgtest.Main(m, &env) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSIGTERM runs serve through main's run on 127.0.0.1:0, sends this
// process SIGTERM, and expects a graceful exit 0.
func TestSIGTERM(t *testing.T) {
	vars := map[string]string{"SIGNOFF_DATABASE_URL": env.NewDatabase(t), "SIGNOFF_LOG_FORMAT": "json"}
	stderr := &syncBuffer{}
	exited := make(chan int, 1)
	go func() {
		exited <- run(context.Background(), []string{"serve", "--http-addr", "127.0.0.1:0"}, strings.NewReader(""), io.Discard, stderr, func(k string) string { return vars[k] })
	}()

	var addr string
	for deadline := time.Now().Add(60 * time.Second); addr == "" && time.Now().Before(deadline); {
		for _, l := range strings.Split(stderr.String(), "\n") {
			var line struct{ Msg, Addr string }
			if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "signoff serving" {
				addr = line.Addr
			}
		}
		select {
		case code := <-exited:
			t.Fatalf("serve exited %d early; stderr:\n%s", code, stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if addr == "" {
		t.Fatalf("serve did not start; stderr:\n%s", stderr)
	}
	r, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Errorf("GET /readyz = %d, want 200", r.StatusCode)
	}

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("exit %d after SIGTERM, want 0; stderr:\n%s", code, stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("serve did not exit after SIGTERM; stderr:\n%s", stderr)
	}
}
