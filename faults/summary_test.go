//go:build faults

package faults

import (
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"
)

// Summary collects what each scenario showed, under the headings the
// docs/faults.md quotes, and prints it when the suite ends.
type Summary struct {
	mu    sync.Mutex
	lines map[string][]string
}

// The summary's headings, in print order.
const (
	headLoad   = "load held"
	headFaults = "faults survived"
	headBad    = "bad inputs tried"
	headLost   = "nothing lost"
	headRaces  = "races held"
)

// Add records one line under head.
func (s *Summary) Add(head, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lines == nil {
		s.lines = map[string][]string{}
	}
	s.lines[head] = append(s.lines[head], fmt.Sprintf(format, args...))
}

// Print writes the summary.
func (s *Summary) Print(w io.Writer, took time.Duration, passed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	verdict := "PASS"
	if !passed {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n=== Signoff fault suite: %s in %s (%s, %d CPUs, %s)\n", verdict, took.Round(time.Second),
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.Version())
	for _, head := range []string{headLoad, headFaults, headBad, headLost, headRaces} {
		fmt.Fprintf(w, "%s:\n", head)
		if len(s.lines[head]) == 0 {
			fmt.Fprintln(w, "  - (no scenario reported)")
		}
		for _, l := range s.lines[head] {
			fmt.Fprintf(w, "  - %s\n", l)
		}
	}
}
