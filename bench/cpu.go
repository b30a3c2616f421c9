package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Where the CPU went in a phase, so that a missed ratio target can be told
// apart from a machine that has no CPU left: both ratios compare Signoff
// with a baseline run on the same two cores.

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on every Linux
// architecture Go supports; sysconf is out of reach without cgo).
const clockTick = 10 * time.Millisecond

// cpuSample is cumulative CPU time at one moment.
type cpuSample struct {
	at       time.Time
	postgres time.Duration // postmaster, live backends and reaped ones
	server   time.Duration // the `signoff serve` child, all its threads
	self     time.Duration // this process: load generators, SMTP sink, fake Slack
	children time.Duration // this process's reaped children (pgbench)
	machine  time.Duration // every CPU's busy time (/proc/stat)
}

// cpuUse is the CPU spent between two samples.
type cpuUse struct {
	Wall, Postgres, Server, Self, Children, Machine time.Duration
}

func (a cpuSample) to(b cpuSample) cpuUse {
	return cpuUse{Wall: b.at.Sub(a.at), Postgres: b.postgres - a.postgres, Server: b.server - a.server, Self: b.self - a.self,
		Children: b.children - a.children, Machine: b.machine - a.machine}
}

// per returns d per unit of n, in milliseconds.
func per(d time.Duration, n int) float64 {
	if n <= 0 {
		return 0
	}
	return float64(d) / float64(time.Millisecond) / float64(n)
}

// cores is how many CPUs were busy on average.
func (u cpuUse) cores() float64 {
	if u.Wall <= 0 {
		return 0
	}
	return u.Machine.Seconds() / u.Wall.Seconds()
}

// sampleCPU reads the CPU counters; the postgres server is the tree under
// the postmaster whose pid the data directory's postmaster.pid holds, and
// serverPID (0: not started) is `signoff serve`. A counter that cannot be
// read stays zero (the figures then say 0, and nothing else depends on
// them).
func sampleCPU(dataDir string, serverPID int) cpuSample {
	s := cpuSample{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = tv(ru.Utime) + tv(ru.Stime)
	}
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) == nil {
		s.children = tv(ru.Utime) + tv(ru.Stime)
	}
	s.machine, _ = machineBusy()
	if pm, err := postmasterPID(dataDir); err == nil {
		s.postgres = treeCPU(pm)
	}
	if serverPID > 0 {
		// A process's stat sums its threads; serve starts no children.
		if st, err := readProcStat(serverPID); err == nil {
			s.server = st.own
		}
	}
	return s
}

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

// machineBusy is the busy time of all CPUs: /proc/stat's first line less
// idle and iowait.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseMachineBusy(string(b))
}

func parseMachineBusy(stat string) (time.Duration, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, fmt.Errorf("malformed /proc/stat")
	}
	var busy int64
	for i, v := range f[1:] {
		if i >= 8 { // guest times are already in user and nice
			break
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed /proc/stat: %w", err)
		}
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		busy += n
	}
	return time.Duration(busy) * clockTick, nil
}

func postmasterPID(dataDir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}

// procStat is what /proc/PID/stat says of a process's CPU.
type procStat struct {
	ppid              int
	own, reapedChilds time.Duration
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(pid, b)
}

func parseProcStat(pid int, b []byte) (procStat, error) {
	// The command name, in parentheses, may hold spaces: fields are
	// counted from after its closing parenthesis (field 3, state).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("malformed stat of %d", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("malformed stat of %d", pid)
	}
	num := func(k int) int64 { n, _ := strconv.ParseInt(f[k], 10, 64); return n }
	ppid, _ := strconv.Atoi(f[1])
	return procStat{ppid: ppid,
		own:          time.Duration(num(11)+num(12)) * clockTick, // utime, stime
		reapedChilds: time.Duration(num(13)+num(14)) * clockTick, // cutime, cstime
	}, nil
}

// treeCPU is the CPU of the postmaster and its children, including the
// backends that exited (the postmaster reaps them: their time is in its
// cutime and cstime), so that a sample taken after a client disconnected
// still counts its backend.
func treeCPU(pm int) time.Duration {
	return treeCPUOf(pm, readProcStat, procPIDs)
}

// treeCPUOf is treeCPU over read and pids. A backend the postmaster reaps
// while the children are read would be counted twice or not at all (its
// time moves from its own stat to the postmaster's as it goes): the read
// is repeated until the postmaster's reaped time is the same on both
// sides of it. That happens at the end of every pgbench run, whose
// backends exit as the next run's first sample is taken.
func treeCPUOf(pm int, read func(pid int) (procStat, error), pids func() []int) time.Duration {
	var total time.Duration
	for range 20 {
		root, err := read(pm)
		if err != nil {
			return 0
		}
		total = root.own + root.reapedChilds
		for _, pid := range pids() {
			if pid == pm {
				continue
			}
			st, err := read(pid)
			if err != nil || st.ppid != pm {
				continue
			}
			total += st.own + st.reapedChilds
		}
		if after, err := read(pm); err == nil && after.reapedChilds == root.reapedChilds {
			break
		}
	}
	return total
}

// procPIDs lists the processes in /proc.
func procPIDs() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

func (e *env) cpu() cpuSample {
	pid := 0
	if e.srv != nil {
		pid = e.srv.pid
	}
	return sampleCPU(e.cluster.DataDir(), pid)
}

// decisionCPU adds where the CPU of a decisions run and of its pgbench run
// went. On a machine whose CPUs both runs keep busy, the ratio of their
// rates is the inverse ratio of their CPU per transaction; the CPU
// PostgreSQL alone spends per decision bounds the ratio any Go-side
// saving could reach.
// decisionCPUs is the CPU of one client count's decision run and of its
// two pgbench runs, with their counts of work done.
type decisionCPUs struct {
	decisions, hwTxs, tpcbTxs int
	dec, hw, tpcb             cpuUse
}

func (e *env) decisionCPU(rep *Report, clients int, u decisionCPUs) {
	if u.decisions == 0 || u.hwTxs == 0 || u.tpcbTxs == 0 || u.dec.Machine == 0 || u.hw.Machine == 0 || u.tpcb.Machine == 0 {
		return
	}
	hwMachine := per(u.hw.Machine, u.hwTxs)
	decMachine, decPostgres := per(u.dec.Machine, u.decisions), per(u.dec.Postgres, u.decisions)
	note := fmt.Sprintf("CPU per decision %.2f ms (PostgreSQL %.2f, signoff serve %.2f, the bench process %.2f: load generators, Slack and SMTP fakes), %.1f cores busy; "+
		"per hand-written decision %.2f ms (PostgreSQL %.2f, pgbench %.2f), %.1f cores busy; per pgbench tpcb-like transaction %.2f ms (PostgreSQL %.2f, pgbench %.2f), %.1f cores busy",
		decMachine, decPostgres, per(u.dec.Server, u.decisions), per(u.dec.Self, u.decisions), u.dec.cores(),
		hwMachine, per(u.hw.Postgres, u.hwTxs), per(u.hw.Children, u.hwTxs), u.hw.cores(),
		per(u.tpcb.Machine, u.tpcbTxs), per(u.tpcb.Postgres, u.tpcbTxs), per(u.tpcb.Children, u.tpcbTxs), u.tpcb.cores())
	rep.add(Figure{Name: fmt.Sprintf("CPU per decision ÷ per hand-written decision, %d clients", clients), Value: round3(decMachine / hwMachine), Unit: "x", Note: note})
	if decPostgres > 0 {
		rep.add(Figure{Name: fmt.Sprintf("ratio bound by PostgreSQL's CPU per decision, %d clients", clients), Value: round3(hwMachine / decPostgres), Unit: "x",
			Note: "the decisions ÷ hand-written decision ratio if everything outside PostgreSQL cost nothing: the hand-written decision's CPU per transaction ÷ PostgreSQL's CPU per decision"})
	}
}

// dispatchCPU adds where the CPU of the dispatch comparison went. The
// go-mail loop is one connection, one message at a time; the outbox runs
// its sends concurrently, so its bound is the machine's CPUs over its CPU
// per email.
func dispatchCPU(rep *Report, dr *dispatchResult) {
	n := dr.Messages
	if n == 0 || dr.OutboxCPU.Machine == 0 || dr.GoMailCPU.Machine == 0 || dr.GoMailRate == 0 {
		return
	}
	ob, gm := dr.OutboxCPU, dr.GoMailCPU
	note := fmt.Sprintf("CPU per email: outbox %.3f ms (PostgreSQL %.3f, signoff serve %.3f: dispatcher, rendering; the bench process %.3f: SMTP sink), %.1f cores busy; go-mail loop %.3f ms (the bench process %.3f: client and SMTP sink), %.1f cores busy",
		per(ob.Machine, n), per(ob.Postgres, n), per(ob.Server, n), per(ob.Self, n), ob.cores(), per(gm.Machine, n), per(gm.Self, n), gm.cores())
	rep.add(Figure{Name: "CPU per outbox email ÷ per go-mail email", Value: round3(float64(ob.Machine) / float64(gm.Machine)), Unit: "x", Note: note})
	bound := float64(runtime.NumCPU()) / (ob.Machine.Seconds() / float64(n)) / dr.GoMailRate
	rep.add(Figure{Name: "dispatch ratio bound by the outbox's CPU per email", Value: round3(bound), Unit: "x",
		Note: fmt.Sprintf("the rate at which the outbox would keep all %d CPUs busy, ÷ the go-mail loop's rate", runtime.NumCPU())})
}
