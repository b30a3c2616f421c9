// Package servetest is what a test of `signoff serve` run in its own
// process's goroutine needs: the log it writes, readable while it runs, and
// the address it says it listens on.
package servetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// Log is a bytes.Buffer safe for a writer and a concurrent reader: serve's
// stderr.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// WaitListening reads serve's JSON log until it says where it listens, and
// returns that address. It fails t when serve exits first (its code comes
// on exited) or does not listen within a minute.
func WaitListening(t testing.TB, log *Log, exited <-chan int) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(log.String()))
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "signoff serving" && line.Addr != "" {
				return line.Addr
			}
		}
		select {
		case code := <-exited:
			t.Fatalf("serve exited %d before listening; stderr:\n%s", code, log)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not listen; stderr:\n%s", log)
	return ""
}
