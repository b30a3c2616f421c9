package approvals_test

import (
	"fmt"
	"testing"

	"github.com/signoff-app/signoff/internal/corefix"
)

// BenchmarkDecide approves a pending draft through Service.Decide on the
// real PostgreSQL, one decision at a time: what a decision costs in the
// core and the store alone, without HTTP or other clients (the bench's
// decision phase has those). Drafts are submitted before the timer, so
// pass a fixed count: go test ./approvals -run '^$' -bench Decide
// -benchtime 1000x -count 6, and compare trees with the counts alternated.
func BenchmarkDecide(b *testing.B) {
	w := corefix.Standard(b)
	ids := make([]int64, b.N)
	for i := range ids {
		ids[i] = w.Submit("ed@acme.test", "client", fmt.Sprintf("post %d", i)).ID
	}
	client := w.As("c1@client.test")
	b.ReportAllocs()
	b.ResetTimer()
	for _, id := range ids {
		if _, err := w.Svc.Approve(w.Ctx, client, id); err != nil {
			b.Fatal(err)
		}
	}
}
