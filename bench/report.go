package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Goal says which side of its target a figure must be on.
type Goal string

const (
	AtLeast Goal = ">=" // higher is better
	AtMost  Goal = "<=" // lower is better
	Info    Goal = ""   // reported, no target
)

// Figure is one measured number with its target.
type Figure struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Goal   Goal    `json:"goal,omitempty"`
	Target float64 `json:"target,omitempty"`
	// Verdict is PASS or MISS for figures with a target, "" otherwise.
	Verdict string `json:"verdict,omitempty"`
	// Miss says by how much a missed target was missed.
	Miss string `json:"miss,omitempty"`
	Note string `json:"note,omitempty"`
}

// judge fills Verdict and Miss.
func (f *Figure) judge() {
	if f.Goal == Info {
		return
	}
	ok := f.Value >= f.Target
	if f.Goal == AtMost {
		ok = f.Value <= f.Target
	}
	if ok {
		f.Verdict = "PASS"
		return
	}
	f.Verdict = "MISS"
	switch f.Goal {
	case AtLeast:
		f.Miss = fmt.Sprintf("%.3g %s short (%.0f%% of target)", f.Target-f.Value, f.Unit, 100*f.Value/f.Target)
	case AtMost:
		f.Miss = fmt.Sprintf("%.3g %s over (%.1fx target)", f.Value-f.Target, f.Unit, f.Value/f.Target)
	}
}

// Machine describes where the figures were measured.
type Machine struct {
	Host      string `json:"host"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	MemoryMB  int    `json:"memory_mb,omitempty"`
	GoVersion string `json:"go_version"`
	Postgres  string `json:"postgres,omitempty"`
}

// Report is what a run measured; it is written as results.json.
type Report struct {
	Started  time.Time `json:"started"`
	Duration string    `json:"duration"`
	Machine  Machine   `json:"machine"`
	Config   Config    `json:"config"`
	Figures  []Figure  `json:"figures"`
	// Notes are facts about the run worth keeping with the figures (how
	// the server ran, what RSS means, the EXPLAIN summary).
	Notes []string `json:"notes,omitempty"`
}

// add judges f and appends it.
func (r *Report) add(f Figure) *Figure {
	f.judge()
	r.Figures = append(r.Figures, f)
	return &r.Figures[len(r.Figures)-1]
}

// Missed returns the figures that missed their targets.
func (r *Report) Missed() []Figure {
	var out []Figure
	for _, f := range r.Figures {
		if f.Verdict == "MISS" {
			out = append(out, f)
		}
	}
	return out
}

// Table writes the figures as an aligned text table.
func (r *Report) Table(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\ttarget\tresult")
	for _, f := range r.Figures {
		target := ""
		if f.Goal != Info {
			target = fmt.Sprintf("%s %s", f.Goal, num(f.Target, f.Unit))
		}
		verdict := f.Verdict
		if f.Miss != "" {
			verdict += " (" + f.Miss + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, num(f.Value, f.Unit), target, verdict)
	}
	return tw.Flush()
}

// Markdown writes the figures as a Markdown table.
func (r *Report) Markdown(w io.Writer) {
	fmt.Fprintln(w, "| figure | value | target | result |")
	fmt.Fprintln(w, "|---|---:|---:|---|")
	for _, f := range r.Figures {
		target := ""
		if f.Goal != Info {
			target = fmt.Sprintf("%s %s", strings.ReplaceAll(string(f.Goal), ">", "≥"), num(f.Target, f.Unit))
			target = strings.ReplaceAll(strings.ReplaceAll(target, "≥=", "≥"), "<=", "≤")
		}
		verdict := f.Verdict
		if f.Miss != "" {
			verdict += " (" + f.Miss + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", f.Name, num(f.Value, f.Unit), target, verdict)
	}
}

func num(v float64, unit string) string {
	var s string
	switch {
	case v == float64(int64(v)) && v < 1e15:
		s = fmt.Sprintf("%d", int64(v))
	case v >= 100:
		s = fmt.Sprintf("%.0f", v)
	case v >= 10:
		s = fmt.Sprintf("%.1f", v)
	default:
		s = fmt.Sprintf("%.3g", v)
	}
	if unit == "" || unit == "x" {
		return s
	}
	return s + " " + unit
}

// WriteJSON writes the report to path, creating its directory.
func (r *Report) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// machine describes this machine.
func machine() Machine {
	m := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	m.Host, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if kb := procKB("/proc/meminfo", "MemTotal"); kb > 0 {
		m.MemoryMB = kb / 1024
	}
	return m
}

// procKB reads a "Key:   123 kB" line of a /proc file; 0 if absent.
func procKB(path, key string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		var n int
		fmt.Sscanf(strings.TrimSpace(v), "%d", &n)
		return n
	}
	return 0
}
