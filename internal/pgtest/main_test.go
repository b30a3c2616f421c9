package pgtest

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// helperEnv makes TestMain act as a package using pgtest.Main, so that the
// tests below can run this binary as such a package.
const helperEnv = "PGTEST_HELPER_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		Main(m)
	}
	os.Exit(m.Run())
}

// TestHelperDatabase runs only inside the helper: the package database and
// a per-test database are there and migrated.
func TestHelperDatabase(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("runs as the helper of TestMainOutcomes")
	}
	for _, u := range []string{URL(t), NewDatabase(t)} {
		db := MustOpen(t, u)
		var n int
		if err := db.Pool().QueryRow(t.Context(), `SELECT count(*) FROM workspaces`).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMainOutcomes: with no PostgreSQL the tests fail, unless skipping is
// asked for outside CI; with PostgreSQL they run.
func TestMainOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		env      []string
		wantCode int
		wantOut  string
	}{
		{"no postgres", []string{EnvBin + "=/nonexistent"}, 1, "FAIL: pgtest"},
		{"no postgres in CI", []string{EnvBin + "=/nonexistent", "CI=true"}, 1, "CI must provide PostgreSQL"},
		{"no postgres, skip allowed", []string{EnvBin + "=/nonexistent", EnvAllowSkip + "=1"}, 0, "SKIP: pgtest"},
		{"no postgres, skip allowed, in CI", []string{EnvBin + "=/nonexistent", EnvAllowSkip + "=1", "CI=true"}, 1, "CI must provide PostgreSQL"},
	}
	if _, err := findBinaries(); err == nil {
		tests = append(tests, struct {
			name     string
			env      []string
			wantCode int
			wantOut  string
		}{"postgres", nil, 0, "PASS"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperDatabase$", "-test.v")
			cmd.Env = append(cleanEnv(), append(tt.env, helperEnv+"=1")...)
			out, err := cmd.CombinedOutput()
			code := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode || !strings.Contains(string(out), tt.wantOut) {
				t.Errorf("exit %d, want %d with %q; output:\n%s", code, tt.wantCode, tt.wantOut, out)
			}
		})
	}
}

// cleanEnv is the environment without the variables the cases set.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "CI", EnvAllowSkip, EnvBin, EnvURL, helperEnv:
			continue
		}
		env = append(env, kv)
	}
	return env
}
