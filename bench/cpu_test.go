package bench

import (
	"errors"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name, stat string
		want       procStat
		wantErr    bool
	}{
		{name: "backend",
			stat: "4242 (postgres) S 4200 4200 4200 0 -1 4194560 1085 0 0 0 250 75 3 4 20 0 1 0 123 0 0",
			want: procStat{ppid: 4200, own: 3250 * time.Millisecond, reapedChilds: 70 * time.Millisecond}},
		{name: "command with spaces and parentheses",
			stat: "7 (a b) (c)) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 9 0 0",
			want: procStat{ppid: 1, own: 30 * time.Millisecond}},
		{name: "no closing parenthesis", stat: "7 (abc R 1", wantErr: true},
		{name: "too few fields", stat: "7 (abc) R 1 7 7", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat(7, []byte(tt.stat))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseMachineBusy(t *testing.T) {
	tests := []struct {
		name, stat string
		want       time.Duration
		wantErr    bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{name: "idle and iowait left out, guest not counted twice",
			stat: "cpu  100 2 30 5000 40 1 2 3 50 5\ncpu0 50 1 15 2500 20 0 1 1 25 2\n", want: 1380 * time.Millisecond},
		{name: "not the cpu line", stat: "intr 1 2 3 4 5 6\n", wantErr: true},
		{name: "garbled", stat: "cpu 1 x 3 4 5 6\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMachineBusy(tt.stat)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestTreeCPUReapDuringRead: a backend that exits and is reaped while the
// children are read is counted once, in the postmaster's reaped time, not
// also as a live child (nor missed).
func TestTreeCPUReapDuringRead(t *testing.T) {
	const pm, backend = 100, 101
	reads := 0 // of the postmaster's stat
	reaped := false
	read := func(pid int) (procStat, error) {
		switch pid {
		case pm:
			reads++
			if reads == 2 {
				reaped = true // between the backend's read and this one
			}
			st := procStat{own: time.Second}
			if reaped {
				st.reapedChilds = 5 * time.Second
			}
			return st, nil
		case backend:
			if reaped {
				return procStat{}, errors.New("no such process")
			}
			return procStat{ppid: pm, own: 5 * time.Second}, nil
		}
		return procStat{ppid: 1, own: time.Hour}, nil // not the cluster's
	}
	pids := func() []int { return []int{1, pm, backend} }
	if got, want := treeCPUOf(pm, read, pids), 6*time.Second; got != want {
		t.Fatalf("treeCPU = %v, want %v (the reaped backend once)", got, want)
	}
	if reads < 3 {
		t.Fatalf("the postmaster was read %d times: the read was not repeated", reads)
	}
}
