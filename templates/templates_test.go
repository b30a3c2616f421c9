package templates_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/signoff-app/signoff/templates"
)

// Every embedded file must be registered in Files (and the reverse), so a
// template cannot be added without Load checking it at start-up.
func TestEveryFileIsRegistered(t *testing.T) {
	got, err := templates.EmbeddedNames()
	if err != nil {
		t.Fatal(err)
	}
	want := templates.Files()
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("embedded files vs templates.Files() (-want +got):\n%s", diff)
	}
}

func TestLoad(t *testing.T) {
	brokenDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(brokenDir, "page"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(brokenDir, "page", "link.html"), []byte("{{if}"), 0o644); err != nil {
		t.Fatal(err)
	}
	overrideDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(overrideDir, "email"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(overrideDir, "email", "approved.subject.txt"), []byte("Custom {{.}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     string
		wantErr string // substring; "" for success
	}{
		{"embedded only", "", ""},
		{"override one file", overrideDir, ""},
		{"unparsable override stops the boot", brokenDir, "page/link.html"},
		{"missing directory", filepath.Join(t.TempDir(), "nope"), "templates.dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := templates.Load(tt.dir)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Load: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Load error = %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}

func TestOverrideWins(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "email"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "email", "approved.subject.txt"), []byte("Custom\n{{.}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := templates.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Subject(templates.ApprovedSubject, "x")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("Custom x", got); diff != "" {
		t.Errorf("subject (-want +got):\n%s", diff)
	}
}
