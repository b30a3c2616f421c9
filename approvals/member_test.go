package approvals_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
)

// tiersOf returns the member's approver tiers by account handle.
func (f *fixture) tiersOf(email string) map[string][]approvals.Tier {
	f.t.Helper()
	acc, err := f.svc.MemberAccess(f.ctx, f.op(), email, "")
	f.ok(err)
	out := map[string][]approvals.Tier{}
	for _, a := range acc {
		if len(a.Tiers) > 0 {
			out[a.Account.Handle] = a.Tiers
		}
	}
	return out
}

func TestRoleChange(t *testing.T) {
	f := standard(t)
	role := func(r approvals.Role) approvals.MemberSettings { return approvals.MemberSettings{Role: &r} }
	f.member("owner2@acme.test", approvals.RoleOwner)
	f.ok(f.svc.AddApprover(f.ctx, f.op(), "free", "owner2@acme.test", approvals.TierInternal))

	tests := []struct {
		name      string
		by        approvals.Actor
		email     string
		to        approvals.Role
		wantCode  string
		wantMsg   []string
		wantTiers map[string][]approvals.Tier // the member's flags afterwards
	}{
		{"admin2 to editor drops their internal flags", f.op(), "admin2@acme.test", approvals.RoleEditor, "", nil,
			map[string][]approvals.Tier{}},
		{"admin, the only internal approver of both, refused", f.op(), "admin@acme.test", approvals.RoleClient, approvals.EINVALID,
			[]string{"admin@acme.test", "the only internal approver", `"both"`},
			map[string][]approvals.Tier{"both": {"internal"}, "internal": {"internal"}}},
		{"c3 to editor drops client flags others share", f.op(), "c3@client.test", approvals.RoleEditor, "", nil,
			map[string][]approvals.Tier{}},
		{"c1, the only client approver of both, refused", f.op(), "c1@client.test", approvals.RoleAdmin, approvals.EINVALID,
			[]string{"the only client approver", `"both"`},
			map[string][]approvals.Tier{"both": {"client"}, "client": {"client"}, "strict": {"client"}}},
		{"an admin may not make an owner", f.as("admin@acme.test"), "ed@acme.test", approvals.RoleOwner, approvals.EUNAUTHORIZED,
			[]string{"only an owner"}, map[string][]approvals.Tier{}},
		{"an admin may not demote an owner", f.as("admin@acme.test"), "owner@acme.test", approvals.RoleAdmin, approvals.EUNAUTHORIZED,
			[]string{"only an owner", "owner@acme.test"}, map[string][]approvals.Tier{}},
		{"an owner demotes another owner, who loses flags its role gave access for", f.as("owner@acme.test"), "owner2@acme.test", approvals.RoleAdmin, "", nil,
			map[string][]approvals.Tier{}},
		{"the last owner is not demoted", f.op(), "owner@acme.test", approvals.RoleAdmin, approvals.EINVALID,
			[]string{"last active owner", "owner@acme.test"}, map[string][]approvals.Tier{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := f.svc.SetMember(f.ctx, tt.by, tt.email, role(tt.to))
			if tt.wantCode == "" {
				f.ok(err)
				if m.Role != tt.to {
					t.Errorf("role = %s, want %s", m.Role, tt.to)
				}
			} else {
				wantCode(t, err, tt.wantCode, tt.wantMsg...)
			}
			if diff := cmp.Diff(tt.wantTiers, f.tiersOf(tt.email)); diff != "" {
				t.Errorf("approver flags of %s (-want +got):\n%s", tt.email, diff)
			}
		})
	}
}

func TestRoleChangeResettlesDrafts(t *testing.T) {
	f := standard(t)
	// strict needs all of c1, c2, c3; c1 and c2 approve, c3 is demoted.
	d := f.submit("ed@acme.test", "strict", "All hands")
	f.must(f.svc.Approve(f.ctx, f.as("c1@client.test"), d.ID))
	f.must(f.svc.Approve(f.ctx, f.as("c2@client.test"), d.ID))
	if got := f.state(d.ID); got != approvals.StatePendingClient {
		t.Fatalf("state = %s, want pending_client", got)
	}
	editor := approvals.RoleEditor
	f.must(f.svc.SetMember(f.ctx, f.op(), "c3@client.test", approvals.MemberSettings{Role: &editor}))
	if got := f.state(d.ID); got != approvals.StateApproved {
		t.Errorf("after the last waited-on approver lost the role: state = %s, want approved", got)
	}
}

func TestDeactivate(t *testing.T) {
	f := standard(t)
	f.member("owner2@acme.test", approvals.RoleOwner)
	d := f.submit("ed@acme.test", "strict", "Spring launch")
	f.must(f.svc.Approve(f.ctx, f.as("c1@client.test"), d.ID))
	pending := f.submit("ed@acme.test", "client", "Summer launch")
	_, secret, err := f.svc.CreateToken(f.ctx, f.op(), "c1-bot", "c1@client.test")
	f.ok(err)
	c1 := f.memberByEmail("c1@client.test")
	byLink := approvals.Actor{WorkspaceID: c1.WorkspaceID, MemberID: c1.ID, Channel: approvals.ChannelEmail}

	// c1 is the only client approver of "both": refused, naming it.
	_, err = f.svc.DeactivateMember(f.ctx, f.op(), "c1@client.test")
	wantCode(t, err, approvals.EINVALID, "c1@client.test", "the only client approver", `"both"`)
	if !f.memberByEmail("c1@client.test").Active() {
		t.Fatal("a refused deactivation deactivated")
	}
	f.ok(f.svc.AddApprover(f.ctx, f.op(), "both", "c2@client.test", approvals.TierClient))
	m, err := f.svc.DeactivateMember(f.ctx, f.op(), "c1@client.test")
	f.ok(err)
	if m.Active() || m.DeactivatedAt == nil {
		t.Fatalf("deactivated member = %+v", m)
	}
	if got := f.tiersOf("c1@client.test"); len(got) != 0 {
		t.Errorf("approver flags after deactivation = %v", got)
	}
	if acc, err := f.svc.MemberAccess(f.ctx, f.op(), "c1@client.test", ""); err != nil || len(acc) != 0 {
		t.Errorf("access after deactivation = %v, %v; want none", acc, err)
	}

	// No channel lets them act.
	t.Run("CLI --as", func(t *testing.T) {
		_, err := f.svc.Show(f.ctx, f.as("c1@client.test"), d.ID)
		wantCode(t, err, approvals.EUNAUTHORIZED, "deactivated")
		_, err = f.svc.Approve(f.ctx, f.as("c1@client.test"), pending.ID)
		wantCode(t, err, approvals.EUNAUTHORIZED, "deactivated")
	})
	t.Run("API token", func(t *testing.T) {
		a, err := f.svc.Authenticate(f.ctx, secret, approvals.Meta{})
		if err == nil {
			_, err = f.svc.List(f.ctx, a, approvals.ListInput{})
		}
		wantCode(t, err, approvals.EUNAUTHORIZED)
	})
	t.Run("email link", func(t *testing.T) {
		_, err := f.svc.PreviewDecision(f.ctx, byLink, approvals.DecideInput{DraftID: pending.ID, Revision: 1, Tier: approvals.TierClient})
		wantCode(t, err, approvals.EUNAUTHORIZED, "no longer valid")
		if r := approvals.ErrorReason(err); r != approvals.ReasonDeactivated {
			t.Errorf("reason = %q, want %q", r, approvals.ReasonDeactivated)
		}
		if msg := approvals.ErrorMessage(err); slices.ContainsFunc([]string{"Summer", "launch"}, func(s string) bool { return strings.Contains(msg, s) }) {
			t.Errorf("refusal %q reveals the draft", msg)
		}
	})
	t.Run("Slack", func(t *testing.T) {
		team := agencyTeam
		f.must(f.svc.SetWorkspace(f.ctx, f.op(), approvals.WorkspaceSettings{SlackTeamID: &team}))
		_, err := f.svc.LinkSlackUser(f.ctx, agencyTeam, approvals.SlackUser{ID: "U0C1", TeamID: agencyTeam, Email: "c1@client.test", EmailConfirmed: true})
		wantCode(t, err, approvals.EUNAUTHORIZED, "deactivated")
		_, err = f.svc.SlackMember(f.ctx, agencyTeam, "U0C1")
		wantCode(t, err, approvals.ENOTFOUND)
	})

	// History stays, naming them.
	h, err := f.svc.DraftHistory(f.ctx, f.op(), d.ID)
	f.ok(err)
	if len(h.Decisions) != 1 || h.Decisions[0].ApproverID != c1.ID {
		t.Errorf("history decisions = %+v, want c1's approval", h.Decisions)
	}
	_, err = f.svc.DeactivateMember(f.ctx, f.op(), "c1@client.test")
	wantCode(t, err, approvals.ECONFLICT, "already deactivated")

	// Removal: refused with history, done without.
	err = f.svc.RemoveMember(f.ctx, f.op(), "ed@acme.test")
	wantCode(t, err, approvals.ECONFLICT, "ed@acme.test", "has history", "deactivate")
	f.ok(f.svc.RemoveMember(f.ctx, f.op(), "c3@client.test"))

	// Owners: an admin cannot cut one off, and the last one stays.
	_, err = f.svc.DeactivateMember(f.ctx, f.as("admin@acme.test"), "owner2@acme.test")
	wantCode(t, err, approvals.EUNAUTHORIZED, "only an owner")
	f.must(f.svc.DeactivateMember(f.ctx, f.as("owner@acme.test"), "owner2@acme.test"))
	_, err = f.svc.DeactivateMember(f.ctx, f.op(), "owner@acme.test")
	wantCode(t, err, approvals.EINVALID, "last active owner")
	err = f.svc.RemoveMember(f.ctx, f.op(), "owner@acme.test")
	wantCode(t, err, approvals.EINVALID, "last active owner")
}
