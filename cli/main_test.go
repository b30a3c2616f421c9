package cli

import (
	"testing"

	"github.com/signoff-app/signoff/internal/pgtest"
)

var env *pgtest.Env

func TestMain(m *testing.M) { pgtest.Main(m, &env) }

// testDB returns the URL of a fresh migrated database for t alone.
func testDB(t *testing.T) string {
	t.Helper()
	return env.NewDatabase(t)
}
