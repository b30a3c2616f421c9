// Package pgtest runs the tests of every package against a real
// PostgreSQL: the server named by SIGNOFF_TEST_DATABASE_URL, or else a
// throwaway cluster started from the machine's PostgreSQL binaries. It also
// starts the persistent cluster that `signoff dev` uses (StartCluster).
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoPostgres means no PostgreSQL server binaries (initdb, pg_ctl) were
// found on PATH or in the usual install directories.
var ErrNoPostgres = errors.New("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin")

// Cluster is a PostgreSQL server run from the machine's binaries, with its
// data directory, socket and log under one directory. It listens on
// 127.0.0.1 only and trusts every local connection: it is for tests and
// development, never for production.
type Cluster struct {
	dir    string     // absolute; holds data/, the socket, postgres.log and port
	bin    string     // directory of initdb and pg_ctl
	port   int        // TCP port on 127.0.0.1
	runAs  *user.User // the postgres user when we are root; nil otherwise
	temp   bool       // a throwaway cluster: fast and unsafe settings, removed on Stop
	reaper *exec.Cmd  // stops a throwaway cluster if the test binary dies first
}

// StartCluster starts a server whose files live in dir (for example
// ".dev/pg"), creating the cluster on first use and reusing it afterwards,
// on the same port when that port is still free. If the server in dir is
// already running, StartCluster adopts it. When the process runs as root the
// server runs as the postgres user, which must be able to reach dir. It
// returns ErrNoPostgres (wrapped) when no binaries are found.
func StartCluster(ctx context.Context, dir string) (*Cluster, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c, err := newCluster(abs)
	if err != nil {
		return nil, err
	}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// startTempCluster starts a throwaway cluster in a new temporary directory,
// tuned for speed (no fsync), and removed by Stop.
func startTempCluster(ctx context.Context) (*Cluster, error) {
	base := os.TempDir()
	if os.Geteuid() == 0 && !traversable(base) {
		// TMPDIR may be private to root; the postgres user must reach the
		// cluster's directory.
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "signoff-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c, err := newCluster(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.temp = true
	// Another test binary may grab the free port we picked before the
	// server binds it; pick again.
	for attempt := 1; ; attempt++ {
		c.port = 0
		err = c.start(ctx)
		if err == nil || attempt == 3 || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.startReaper()
	return c, nil
}

// StartTempCluster starts a throwaway cluster like the one Main starts:
// tuned for speed (no fsync), removed by Stop, and stopped by a reaper if
// the process dies first. The fault suite uses it to own the server it
// stops and starts (StopServer, StartServer).
func StartTempCluster(ctx context.Context) (*Cluster, error) { return startTempCluster(ctx) }

// StopServer stops the server at once (pg_ctl -m immediate: every
// connection drops, as in a crash) but keeps its files and its port, so
// that StartServer brings the same database back. It is for tests of a
// database outage.
func (c *Cluster) StopServer(ctx context.Context) error {
	if out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-m", "immediate", "-w", "stop"); err != nil {
		return fmt.Errorf("pgtest: stop server in %s: %w\n%s", c.dir, err, out)
	}
	return nil
}

// StartServer starts the server again after StopServer, on the same port.
func (c *Cluster) StartServer(ctx context.Context) error { return c.start(ctx) }

func newCluster(dir string) (*Cluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root, and there is no postgres user to run the server as: %w", err)
		}
		if !traversable(filepath.Dir(dir)) {
			return nil, fmt.Errorf("pgtest: the postgres user cannot reach %s: every directory above it must be searchable by others (chmod o+x)", dir)
		}
		c.runAs = u
	}
	return c, nil
}

// URL returns the URL of the server's postgres database.
func (c *Cluster) URL() string { return c.DatabaseURL("postgres") }

// DatabaseURL returns the URL of database name on the server.
func (c *Cluster) DatabaseURL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// Dir returns the directory holding the cluster's files.
func (c *Cluster) Dir() string { return c.dir }

// Stop stops the server: at once for a throwaway cluster, whose directory
// it then removes; cleanly (pg_ctl -m fast) for a persistent one.
func (c *Cluster) Stop() error {
	mode := "fast"
	if c.temp {
		mode = "immediate"
	}
	_, err := c.run(context.Background(), "pg_ctl", "-D", c.dataDir(), "-m", mode, "-w", "stop")
	if c.reaper != nil && c.reaper.Process != nil {
		_ = c.reaper.Process.Kill()
		_ = c.reaper.Wait()
	}
	if c.temp {
		if rerr := os.RemoveAll(c.dir); err == nil {
			err = rerr
		}
	}
	if err != nil {
		return fmt.Errorf("pgtest: stop cluster in %s: %w", c.dir, err)
	}
	return nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }

// DataDir returns the server's data directory (its postmaster.pid says
// which process is the server).
func (c *Cluster) DataDir() string  { return c.dataDir() }
func (c *Cluster) logFile() string  { return filepath.Join(c.dir, "postgres.log") }
func (c *Cluster) portFile() string { return filepath.Join(c.dir, "port") }

func (c *Cluster) start(ctx context.Context) error {
	if err := c.chown(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if out, err := c.run(ctx, "initdb", "-D", c.dataDir(), "-A", "trust", "-U", "postgres",
			"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
			return fmt.Errorf("pgtest: initdb in %s: %w\n%s", c.dataDir(), err, out)
		}
	}
	// A server left running in a persistent dir (say, by a killed `signoff
	// dev`) is adopted rather than started twice.
	if _, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "status"); err == nil {
		port, err := runningPort(c.dataDir())
		if err != nil {
			return err
		}
		c.port = port
		return nil
	}
	if c.port == 0 {
		c.port = c.savedPort()
	}
	if c.port == 0 {
		port, err := freePort()
		if err != nil {
			return err
		}
		c.port = port
	}
	opts := []string{"-p", strconv.Itoa(c.port), "-k", c.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"}
	if c.temp {
		opts = append(opts, "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off")
	}
	if out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-l", c.logFile(), "-w", "-t", "60",
		"-o", strings.Join(opts, " "), "start"); err != nil {
		log, _ := os.ReadFile(c.logFile())
		return fmt.Errorf("pgtest: start server in %s on port %d: %w\n%s\n%s", c.dir, c.port, err, out, tail(log, 2000))
	}
	if !c.temp {
		_ = os.WriteFile(c.portFile(), []byte(strconv.Itoa(c.port)+"\n"), 0o644)
	}
	return nil
}

// savedPort returns the port a persistent cluster used last, if it is free.
func (c *Cluster) savedPort() int {
	b, err := os.ReadFile(c.portFile())
	if err != nil {
		return 0
	}
	port, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return 0
	}
	l.Close()
	return port
}

// runningPort reads the port of a running server from postmaster.pid,
// whose fourth line is the port.
func runningPort(dataDir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("pgtest: read port of running server: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0, fmt.Errorf("pgtest: malformed %s", filepath.Join(dataDir, "postmaster.pid"))
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return 0, fmt.Errorf("pgtest: malformed port in postmaster.pid: %w", err)
	}
	return port, nil
}

// run runs one of the server binaries, as the postgres user when we are root.
func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	switch {
	case c.runAs == nil:
		cmd = exec.CommandContext(ctx, path, args...)
	case lookPath("runuser") != "":
		cmd = exec.CommandContext(ctx, lookPath("runuser"), append([]string{"-u", c.runAs.Username, "--", path}, args...)...)
	default:
		// su passes the arguments after the command to the shell as $0, $1…
		cmd = exec.CommandContext(ctx, "su", append([]string{"-s", "/bin/sh", "-c", `exec "$0" "$@"`, c.runAs.Username, path}, args...)...)
	}
	// pg_ctl leaves the server running with -l pointing at its own log, but
	// do not wait long on output pipes should a child keep them open.
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// chown gives the cluster's directory to the postgres user when we are root.
func (c *Cluster) chown() error {
	if c.runAs == nil {
		return nil
	}
	uid, _ := strconv.Atoi(c.runAs.Uid)
	gid, _ := strconv.Atoi(c.runAs.Gid)
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return filepath.Walk(c.dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(path, uid, gid); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		return nil
	})
}

// startReaper starts a shell that waits for this process to end and then
// stops the throwaway server and removes its directory, so that a test
// binary killed by a timeout or a signal leaves no server behind. Stop
// kills the reaper first on the normal path.
func (c *Cluster) startReaper() {
	stop := fmt.Sprintf("%q -D %q -m immediate stop", filepath.Join(c.bin, "pg_ctl"), c.dataDir())
	if c.runAs != nil {
		if ru := lookPath("runuser"); ru != "" {
			stop = fmt.Sprintf("%q -u %q -- %s", ru, c.runAs.Username, stop)
		} else {
			stop = fmt.Sprintf("su -s /bin/sh -c %q %q", stop, c.runAs.Username)
		}
	}
	script := fmt.Sprintf("while kill -0 %d 2>/dev/null; do sleep 1; done; %s >/dev/null 2>&1; rm -rf %q",
		os.Getpid(), stop, c.dir)
	cmd := exec.Command("/bin/sh", "-c", script)
	// Its own process group, so a ^C to the test binary's group does not
	// kill it before it has cleaned up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err == nil {
		c.reaper = cmd
	}
}

// EnvBin names the directory of initdb and pg_ctl when they are not on
// PATH or in a usual place; when set, no other place is searched.
const EnvBin = "SIGNOFF_PG_BIN"

// Tool returns the path of a PostgreSQL program such as pg_dump,
// pg_restore or pgbench: the one installed beside initdb and pg_ctl (so
// that its version matches the server's), else the one on PATH.
func Tool(name string) (string, error) {
	if dir, err := findBinaries(); err == nil {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name), nil
		}
	}
	if p := lookPath(name); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("pgtest: %s not found beside initdb or on PATH", name)
}

// findBinaries returns the directory holding initdb and pg_ctl: $SIGNOFF_PG_BIN,
// else PATH, else the newest /usr/lib/postgresql/*/bin and other usual places.
func findBinaries() (string, error) {
	if dir := os.Getenv(EnvBin); dir != "" {
		_, err1 := os.Stat(filepath.Join(dir, "initdb"))
		_, err2 := os.Stat(filepath.Join(dir, "pg_ctl"))
		if err1 != nil || err2 != nil {
			return "", fmt.Errorf("%w (%s=%s has no initdb and pg_ctl)", ErrNoPostgres, EnvBin, dir)
		}
		return dir, nil
	}
	if p := lookPath("pg_ctl"); p != "" {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	var dirs []string
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/opt/postgresql@*/bin"} {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	// Newest version first: compare the numeric version in the path.
	sort.SliceStable(dirs, func(i, j int) bool { return pathVersion(dirs[i]) > pathVersion(dirs[j]) })
	for _, dir := range dirs {
		_, err1 := os.Stat(filepath.Join(dir, "initdb"))
		_, err2 := os.Stat(filepath.Join(dir, "pg_ctl"))
		if err1 == nil && err2 == nil {
			return dir, nil
		}
	}
	return "", ErrNoPostgres
}

func pathVersion(p string) int {
	for _, part := range strings.FieldsFunc(p, func(r rune) bool { return r < '0' || r > '9' }) {
		if n, err := strconv.Atoi(part); err == nil {
			return n
		}
	}
	return 0
}

func lookPath(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}

// traversable reports whether others may search dir and every directory
// above it.
func traversable(dir string) bool {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
