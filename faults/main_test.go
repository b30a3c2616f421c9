//go:build faults

package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff-app/signoff/internal/mailpit"
	"github.com/signoff-app/signoff/internal/pgtest"
)

// suite is what TestMain set up for every test: the built binary, the
// PostgreSQL cluster, mailpit and the summary. It is the package's only
// global; TestMain sets it before any test runs and never changes it.
var suite *Suite

// Suite is the shared equipment of one run of the fault suite.
type Suite struct {
	Dir     string          // scratch directory, removed at the end
	Bin     string          // the signoff binary built for this run
	Mailpit string          // the mailpit binary
	PG      *pgtest.Cluster // one server for every test; each test gets a database
	Summary *Summary

	dbSeq atomic.Int64
}

func TestMain(m *testing.M) { os.Exit(runSuite(m)) }

func runSuite(m *testing.M) int {
	start := time.Now()
	s, err := setUp(context.Background())
	if err != nil {
		var missing *missingError
		if errors.As(err, &missing) && os.Getenv("CI") != "true" {
			fmt.Printf("faults: SKIP: %v\n(the fault suite needs it; under CI=true this is a failure)\n", err)
			return 0
		}
		fmt.Fprintf(os.Stderr, "faults: %v\n", err)
		return 1
	}
	defer s.tearDown()
	suite = s
	code := m.Run()
	s.Summary.Print(os.Stdout, time.Since(start), code == 0)
	return code
}

// missingError is a tool the suite needs that this machine lacks.
type missingError struct{ what string }

func (e *missingError) Error() string { return e.what + " not found" }

func setUp(ctx context.Context) (_ *Suite, err error) {
	dir, err := os.MkdirTemp("", "signoff-faults-")
	if err != nil {
		return nil, fmt.Errorf("scratch dir: %w", err)
	}
	s := &Suite{Dir: dir, Summary: &Summary{}}
	defer func() {
		if err != nil {
			s.tearDown()
		}
	}()
	if s.Mailpit, err = mailpit.Find(); err != nil {
		return nil, &missingError{what: "mailpit (set MAILPIT_BIN, or run: make .dev/bin/mailpit)"}
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	s.Bin = filepath.Join(dir, "signoff")
	build := exec.CommandContext(ctx, "go", "build", "-o", s.Bin, "./cmd/signoff")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/signoff: %w\n%s", err, out)
	}
	s.PG, err = pgtest.StartTempCluster(ctx)
	if errors.Is(err, pgtest.ErrNoPostgres) {
		return nil, &missingError{what: "PostgreSQL (" + err.Error() + ")"}
	}
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	return s, nil
}

func (s *Suite) tearDown() {
	if s.PG != nil {
		if err := s.PG.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "faults: %v\n", err)
		}
	}
	os.RemoveAll(s.Dir)
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("module root: no go.mod above the working directory")
		}
		dir = parent
	}
}
