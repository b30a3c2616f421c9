package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// docker build cannot run here, so these tests read the deployment files:
// the Dockerfile's stages, flags and user, the systemd unit's settings, and
// that CI builds the binary with the Dockerfile's flags.

// buildFlags is how the Dockerfile and CI build the binary: static (no
// cgo), reproducible paths, no symbol tables.
const buildFlags = `CGO_ENABLED=0 go build -trimpath -ldflags="-s -w"`

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, USER, ...
	args string
}

type stage struct {
	from, name string
	body       []instruction
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parseDockerfile(t *testing.T, src string) []stage {
	t.Helper()
	var stages []stage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			return
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("%s before the first FROM", in.cmd)
			}
			return
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
	}
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue // comments, also inside continued instructions
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return stages
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

func (s stage) last(cmd string) string {
	all := s.all(cmd)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, readRepoFile(t, "Dockerfile"))
	var froms []string
	for _, s := range stages {
		froms = append(froms, s.from+" AS "+s.name)
	}
	if diff := cmp.Diff([]string{"golang:1.26 AS build", "gcr.io/distroless/static-debian12:nonroot AS runtime"}, froms); diff != "" {
		t.Fatalf("stages (-want +got):\n%s", diff)
	}
	build, runtime := stages[0], stages[1]

	t.Run("static binary", func(t *testing.T) {
		var found bool
		for _, run := range build.all("RUN") {
			if strings.Contains(run, "go build") {
				found = true
				if !strings.Contains(run, buildFlags) || !strings.HasSuffix(run, "./cmd/signoff") {
					t.Errorf("build step %q; want %q … ./cmd/signoff", run, buildFlags)
				}
			}
		}
		if !found {
			t.Error("the build stage runs no go build")
		}
	})
	t.Run("runtime", func(t *testing.T) {
		copies := runtime.all("COPY")
		if diff := cmp.Diff([]string{"--from=build /out/signoff /signoff"}, copies); diff != "" {
			t.Errorf("runtime copies (-want +got):\n%s", diff)
		}
		user := runtime.last("USER")
		name, _, _ := strings.Cut(user, ":")
		if name == "" || name == "root" || name == "0" {
			t.Errorf("runtime USER %q; want a non-root user", user)
		}
		if got := runtime.last("EXPOSE"); got != "8080" {
			t.Errorf("EXPOSE %q, want 8080", got)
		}
		var entry []string
		if err := json.Unmarshal([]byte(runtime.last("ENTRYPOINT")), &entry); err != nil {
			t.Fatalf("ENTRYPOINT is not in exec form: %v", err)
		}
		if diff := cmp.Diff([]string{"/signoff", "serve"}, entry); diff != "" {
			t.Errorf("ENTRYPOINT (-want +got):\n%s", diff)
		}
		if env := strings.Join(runtime.all("ENV"), " "); !strings.Contains(env, "SIGNOFF_HTTP_ADDR=0.0.0.0:8080") {
			t.Errorf("ENV %q does not make serve listen on all interfaces", env)
		}
	})
}

func TestParseDockerfile(t *testing.T) {
	src := "ARG V=1\nFROM a AS one\n# note\nRUN x \\\n  # inner comment\n  y\nFROM b\nUSER 1:1\n"
	got := parseDockerfile(t, src)
	want := []stage{
		{from: "a", name: "one", body: []instruction{{"RUN", "x  y"}}},
		{from: "b", body: []instruction{{"USER", "1:1"}}},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(stage{}, instruction{})); diff != "" {
		t.Errorf("parse (-want +got):\n%s", diff)
	}
}

func TestCIBuildsLikeTheDockerfile(t *testing.T) {
	ci := readRepoFile(t, ".ci/run")
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(buildFlags) + ` .*\./cmd/signoff$`)
	if !re.MatchString(ci) {
		t.Errorf(".ci/run has no line %q … ./cmd/signoff", buildFlags)
	}
}

func TestSystemdUnit(t *testing.T) {
	sections := map[string]map[string][]string{}
	var cur string
	for _, line := range strings.Split(readRepoFile(t, "deploy/signoff.service"), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "", strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			cur = strings.Trim(line, "[]")
			sections[cur] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || cur == "" {
				t.Fatalf("malformed line %q", line)
			}
			sections[cur][k] = append(sections[cur][k], v)
		}
	}
	svc := sections["Service"]
	want := map[string]string{
		"ExecStart":       "/usr/local/bin/signoff serve",
		"EnvironmentFile": "/etc/signoff/signoff.env",
		"DynamicUser":     "yes",
		"Restart":         "on-failure",
		"NoNewPrivileges": "yes",
		"ProtectSystem":   "strict",
		"ProtectHome":     "yes",
		"PrivateTmp":      "yes",
	}
	for k, v := range want {
		if got := svc[k]; len(got) != 1 || got[0] != v {
			t.Errorf("[Service] %s = %q, want %q", k, got, v)
		}
	}
	if got := sections["Install"]["WantedBy"]; len(got) != 1 || got[0] != "multi-user.target" {
		t.Errorf("[Install] WantedBy = %q", got)
	}
}
