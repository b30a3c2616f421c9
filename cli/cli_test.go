package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// result is what one run of the command line did.
type result struct {
	code   int
	stdout string
	stderr string
}

// cliEnv runs the command line in-process against one database.
type cliEnv struct {
	t   *testing.T
	env map[string]string
}

func newCLI(t *testing.T, dbURL string) *cliEnv {
	t.Helper()
	return &cliEnv{t: t, env: map[string]string{"SIGNOFF_DATABASE_URL": dbURL, "SIGNOFF_LOG_LEVEL": "warn"}}
}

func (c *cliEnv) getenv(k string) string { return c.env[k] }

// run runs signoff with args and stdin.
func (c *cliEnv) runIn(stdin string, args ...string) result {
	c.t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(stdin), &out, &errb, c.getenv)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func (c *cliEnv) run(args ...string) result {
	c.t.Helper()
	return c.runIn("", args...)
}

// ok runs signoff and fails the test unless it exits 0; it returns stdout.
func (c *cliEnv) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("signoff %s: exit %d, stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// refused runs signoff, expects exit code, and checks that stderr is one
// line starting "signoff: " that contains every word in names.
func (c *cliEnv) refused(code int, names []string, args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != code {
		c.t.Fatalf("signoff %s: exit %d, want %d; stdout %q stderr %q", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	first, _, _ := strings.Cut(r.stderr, "\n")
	if !strings.HasPrefix(first, "signoff: ") {
		c.t.Errorf("signoff %s: stderr %q does not start with \"signoff: \"", strings.Join(args, " "), r.stderr)
	}
	if code == ExitRefused && strings.Count(r.stderr, "\n") != 1 {
		c.t.Errorf("signoff %s: stderr is not one line: %q", strings.Join(args, " "), r.stderr)
	}
	for _, n := range names {
		if !strings.Contains(first, n) {
			c.t.Errorf("signoff %s: message %q does not name %q", strings.Join(args, " "), first, n)
		}
	}
	if r.stdout != "" {
		c.t.Errorf("signoff %s: refused but printed %q on stdout", strings.Join(args, " "), r.stdout)
	}
	return r
}

// jsonOut runs signoff with --json and decodes stdout into v.
func (c *cliEnv) jsonOut(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("signoff %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// access returns the member's effective access by account handle.
func (c *cliEnv) access(ws, email string, account ...string) map[string]accessView {
	c.t.Helper()
	args := []string{"admin", "access", "--workspace", ws, "--member", email}
	if len(account) > 0 {
		args = append(args, "--account", account[0])
	}
	var views []accessView
	c.jsonOut(&views, args...)
	m := map[string]accessView{}
	for _, v := range views {
		m[v.Account] = v
	}
	return m
}
