package cli

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/signoff-app/signoff/approvals"
)

func TestAccountDeadlineFlags(t *testing.T) {
	c := newCLI(t, testDB(t))
	seed(c, "acme")
	set := func(args ...string) []string {
		return append([]string{"admin", "account", "set", "acme-ig", "--workspace", "acme"}, args...)
	}
	c.ok("admin", "grant", "--workspace", "acme", "--account", "acme-ig", "--member", "cleo@client.example", "--caps", "view")

	var acc approvals.Account
	c.jsonOut(&acc, set("--remind-after", "12h", "--remind-max", "5", "--deadline-policy", "escalate",
		"--deadline-margin", "30m", "--decide-within", "48h", "--backup-approver", "cleo@client.example")...)
	want := approvals.Account{Handle: "acme-ig", Name: "Acme Instagram", Network: approvals.NetworkOther, InternalRule: approvals.RuleAny, ClientRule: approvals.RuleAny,
		RemindAfter: 12 * time.Hour, RemindMax: 5, DeadlinePolicy: approvals.DeadlineEscalate, DeadlineMargin: 30 * time.Minute,
		DecideWithin: 48 * time.Hour, MinReview: approvals.DefaultMinReview}
	ignore := cmpopts.IgnoreFields(approvals.Account{}, "ID", "WorkspaceID", "CreatedAt", "BackupApproverID")
	if diff := cmp.Diff(want, acc, ignore); diff != "" {
		t.Errorf("account (-want +got)\n%s", diff)
	}
	if acc.BackupApproverID == 0 {
		t.Errorf("backup approver not set")
	}

	tests := []struct {
		name  string
		code  int
		names []string
		args  []string
	}{
		{"unknown policy", ExitUsage, []string{"deadline-policy", "sometimes"}, set("--deadline-policy", "sometimes")},
		{"escalate needs a backup", ExitRefused, []string{"acme-ig", "backup approver"}, set("--backup-approver", "")},
		{"backup without access", ExitRefused, []string{"carl@client.example", "no access"}, set("--backup-approver", "carl@client.example")},
		{"too many reminders", ExitRefused, []string{"remind-max"}, set("--remind-max", "1000")},
		{"negative margin", ExitRefused, []string{"deadline-margin"}, set("--deadline-margin", "-5m")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.refused(tt.code, tt.names, tt.args...)
		})
	}

	// Back to no policy, and no backup.
	acc = approvals.Account{} // zero fields are omitted from the JSON
	c.jsonOut(&acc, set("--deadline-policy", "none", "--backup-approver", "", "--decide-within", "0")...)
	want.DeadlinePolicy, want.DecideWithin = approvals.DeadlineNone, 0
	if diff := cmp.Diff(want, acc, ignore); diff != "" || acc.BackupApproverID != 0 {
		t.Errorf("account (-want +got)\n%s\nbackup %d", diff, acc.BackupApproverID)
	}
}
