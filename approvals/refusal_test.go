package approvals_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// auditRows counts the audit log's rows of an action, and the longest
// user agent and detail among them.
func (f *fixture) auditRows(action string) (n, longestUA, longestDetail int) {
	f.T.Helper()
	err := f.DB.Pool().QueryRow(f.Ctx, `
		SELECT count(*), coalesce(max(length(user_agent)), 0), coalesce(max(length(detail)), 0)
		FROM audit_log WHERE action = $1`, action).Scan(&n, &longestUA, &longestDetail)
	f.OK(err)
	return n, longestUA, longestDetail
}

// TestRefusalsAreBounded: an unauthenticated caller cannot decide how much
// Signoff writes. Fields are capped; past the per-source burst a minute,
// refusals are counted and the count written once.
func TestRefusalsAreBounded(t *testing.T) {
	f := newFixture(t)
	huge := strings.Repeat("A", 900_000)
	flood := approvals.Actor{Channel: approvals.ChannelSlack, Meta: approvals.Meta{IP: "203.0.113.9", UserAgent: huge}}
	other := approvals.Actor{Channel: approvals.ChannelEmail, Meta: approvals.Meta{IP: "198.51.100.7", UserAgent: "curl"}}
	for range 500 {
		f.Svc.RecordRefusal(f.Ctx, flood, "slack.request", "slack signature refused: "+huge)
	}
	f.Svc.RecordRefusal(f.Ctx, other, "link.open", "tampered token")

	n, ua, detail := f.auditRows("slack.request")
	if n != 20 || ua > 256 || detail > 500 {
		t.Fatalf("flood wrote %d rows (user agent %d, detail %d characters); want 20, capped", n, ua, detail)
	}
	if n, _, _ := f.auditRows("link.open"); n != 1 {
		t.Fatalf("another source's refusal: %d rows, want 1", n)
	}
	// The minute ends: the count is written once, by the next refusal from
	// the source or by the sweeper's flush.
	f.Now = f.Now.Add(time.Minute)
	f.Svc.FlushRefusals(context.Background())
	f.Svc.FlushRefusals(context.Background())
	var counted []string
	rows, err := f.DB.Pool().Query(f.Ctx, `SELECT detail FROM audit_log WHERE action = 'refusal.counted'`)
	f.OK(err)
	for rows.Next() {
		var d string
		f.OK(rows.Scan(&d))
		counted = append(counted, d)
	}
	f.OK(rows.Err())
	if len(counted) != 1 || !strings.HasPrefix(counted[0], "480 more refusals from 203.0.113.9") {
		t.Fatalf("counts = %q", counted)
	}
	// A new minute starts a new burst.
	f.Svc.RecordRefusal(f.Ctx, flood, "slack.request", "again")
	if n, _, _ := f.auditRows("slack.request"); n != 21 {
		t.Fatalf("after the minute: %d rows", n)
	}
}
