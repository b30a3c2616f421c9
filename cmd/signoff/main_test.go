package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/internal/servetest"
)

var env *pgtest.Env

func TestMain(m *testing.M) { pgtest.Main(m, &env) }

// TestSIGTERM runs serve through main's run on 127.0.0.1:0, sends this
// process SIGTERM, and expects a graceful exit 0.
func TestSIGTERM(t *testing.T) {
	vars := map[string]string{"SIGNOFF_DATABASE_URL": env.NewDatabase(t), "SIGNOFF_LOG_FORMAT": "json"}
	stderr := &servetest.Log{}
	exited := make(chan int, 1)
	go func() {
		exited <- run(context.Background(), []string{"serve", "--http-addr", "127.0.0.1:0"}, strings.NewReader(""), io.Discard, stderr, func(k string) string { return vars[k] })
	}()

	addr := servetest.WaitListening(t, stderr, exited)
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
