package outbox_test

import (
	"testing"

	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is the core's shared test fixture (internal/corefix).
type fixture struct{ *corefix.World }

func newFixture(t *testing.T) *fixture { return &fixture{corefix.New(t)} }

func standard(t *testing.T) *fixture { return &fixture{corefix.Standard(t)} }
