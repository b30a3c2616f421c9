package outbox_test

import (
	"testing"

	"github.com/signoff-app/signoff/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
