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
	f.T.Helper()
	acc, err := f.Svc.MemberAccess(f.Ctx, f.Op(), email, "")
	f.OK(err)
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
	f.Member("owner2@acme.test", approvals.RoleOwner)
	f.OK(f.Svc.AddApprover(f.Ctx, f.Op(), "free", "owner2@acme.test", approvals.TierInternal))

	tests := []struct {
		name      string
		by        approvals.Actor
		email     string
		to        approvals.Role
		wantCode  string
		wantMsg   []string
		wantTiers map[string][]approvals.Tier // the member's flags afterwards
	}{
		{"admin2 to editor drops their internal flags", f.Op(), "admin2@acme.test", approvals.RoleEditor, "", nil,
			map[string][]approvals.Tier{}},
		{"admin, the only internal approver of both, refused", f.Op(), "admin@acme.test", approvals.RoleClient, approvals.EINVALID,
			[]string{"admin@acme.test", "the only internal approver", `"both"`},
			map[string][]approvals.Tier{"both": {"internal"}, "internal": {"internal"}}},
		{"c3 to editor drops client flags others share", f.Op(), "c3@client.test", approvals.RoleEditor, "", nil,
			map[string][]approvals.Tier{}},
		{"c1, the only client approver of both, refused", f.Op(), "c1@client.test", approvals.RoleAdmin, approvals.EINVALID,
			[]string{"the only client approver", `"both"`},
			map[string][]approvals.Tier{"both": {"client"}, "client": {"client"}, "strict": {"client"}}},
		{"an admin may not make an owner", f.As("admin@acme.test"), "ed@acme.test", approvals.RoleOwner, approvals.EUNAUTHORIZED,
			[]string{"only an owner"}, map[string][]approvals.Tier{}},
		{"an admin may not demote an owner", f.As("admin@acme.test"), "owner@acme.test", approvals.RoleAdmin, approvals.EUNAUTHORIZED,
			[]string{"only an owner", "owner@acme.test"}, map[string][]approvals.Tier{}},
		{"an owner demotes another owner, who loses flags its role gave access for", f.As("owner@acme.test"), "owner2@acme.test", approvals.RoleAdmin, "", nil,
			map[string][]approvals.Tier{}},
		{"the last owner is not demoted", f.Op(), "owner@acme.test", approvals.RoleAdmin, approvals.EINVALID,
			[]string{"last active owner", "owner@acme.test"}, map[string][]approvals.Tier{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := f.Svc.SetMember(f.Ctx, tt.by, tt.email, role(tt.to))
			if tt.wantCode == "" {
				f.OK(err)
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
	d := f.Submit("ed@acme.test", "strict", "All hands")
	f.Must(f.Svc.Approve(f.Ctx, f.As("c1@client.test"), d.ID))
	f.Must(f.Svc.Approve(f.Ctx, f.As("c2@client.test"), d.ID))
	if got := f.State(d.ID); got != approvals.StatePendingClient {
		t.Fatalf("state = %s, want pending_client", got)
	}
	editor := approvals.RoleEditor
	f.Must(f.Svc.SetMember(f.Ctx, f.Op(), "c3@client.test", approvals.MemberSettings{Role: &editor}))
	if got := f.State(d.ID); got != approvals.StateApproved {
		t.Errorf("after the last waited-on approver lost the role: state = %s, want approved", got)
	}
}

func TestDeactivate(t *testing.T) {
	f := standard(t)
	f.Member("owner2@acme.test", approvals.RoleOwner)
	d := f.Submit("ed@acme.test", "strict", "Spring launch")
	f.Must(f.Svc.Approve(f.Ctx, f.As("c1@client.test"), d.ID))
	pending := f.Submit("ed@acme.test", "client", "Summer launch")
	_, secret, err := f.Svc.CreateToken(f.Ctx, f.Op(), "c1-bot", "c1@client.test")
	f.OK(err)
	c1 := f.memberByEmail("c1@client.test")
	byLink := approvals.Actor{WorkspaceID: c1.WorkspaceID, MemberID: c1.ID, Channel: approvals.ChannelEmail}

	// c1 is the only client approver of "both": refused, naming it.
	_, err = f.Svc.DeactivateMember(f.Ctx, f.Op(), "c1@client.test")
	wantCode(t, err, approvals.EINVALID, "c1@client.test", "the only client approver", `"both"`)
	if !f.memberByEmail("c1@client.test").Active() {
		t.Fatal("a refused deactivation deactivated")
	}
	f.OK(f.Svc.AddApprover(f.Ctx, f.Op(), "both", "c2@client.test", approvals.TierClient))
	m, err := f.Svc.DeactivateMember(f.Ctx, f.Op(), "c1@client.test")
	f.OK(err)
	if m.Active() || m.DeactivatedAt == nil {
		t.Fatalf("deactivated member = %+v", m)
	}
	if got := f.tiersOf("c1@client.test"); len(got) != 0 {
		t.Errorf("approver flags after deactivation = %v", got)
	}
	if acc, err := f.Svc.MemberAccess(f.Ctx, f.Op(), "c1@client.test", ""); err != nil || len(acc) != 0 {
		t.Errorf("access after deactivation = %v, %v; want none", acc, err)
	}

	// No channel lets them act.
	t.Run("CLI --as", func(t *testing.T) {
		_, err := f.Svc.Show(f.Ctx, f.As("c1@client.test"), d.ID)
		wantCode(t, err, approvals.EUNAUTHORIZED, "deactivated")
		_, err = f.Svc.Approve(f.Ctx, f.As("c1@client.test"), pending.ID)
		wantCode(t, err, approvals.EUNAUTHORIZED, "deactivated")
	})
	t.Run("API token", func(t *testing.T) {
		a, err := f.Svc.Authenticate(f.Ctx, secret, approvals.Meta{})
		if err == nil {
			_, err = f.Svc.List(f.Ctx, a, approvals.ListInput{})
		}
		wantCode(t, err, approvals.EUNAUTHORIZED)
	})
	t.Run("email link", func(t *testing.T) {
		_, err := f.Svc.PreviewDecision(f.Ctx, byLink, approvals.DecideInput{DraftID: pending.ID, Revision: 1, Tier: approvals.TierClient})
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
		f.Must(f.Svc.SetWorkspace(f.Ctx, f.Op(), approvals.WorkspaceSettings{SlackTeamID: &team}))
		_, err := f.Svc.LinkSlackUser(f.Ctx, agencyTeam, approvals.SlackUser{ID: "U0C1", TeamID: agencyTeam, Email: "c1@client.test", EmailConfirmed: true})
		wantCode(t, err, approvals.EUNAUTHORIZED, "deactivated")
		_, err = f.Svc.SlackMember(f.Ctx, agencyTeam, "U0C1")
		wantCode(t, err, approvals.ENOTFOUND)
	})

	// History stays, naming them.
	h, err := f.Svc.DraftHistory(f.Ctx, f.Op(), d.ID)
	f.OK(err)
	if len(h.Decisions) != 1 || h.Decisions[0].ApproverID != c1.ID {
		t.Errorf("history decisions = %+v, want c1's approval", h.Decisions)
	}
	_, err = f.Svc.DeactivateMember(f.Ctx, f.Op(), "c1@client.test")
	wantCode(t, err, approvals.ECONFLICT, "already deactivated")

	// Removal: refused with history, done without.
	err = f.Svc.RemoveMember(f.Ctx, f.Op(), "ed@acme.test")
	wantCode(t, err, approvals.ECONFLICT, "ed@acme.test", "has history", "deactivate")
	f.OK(f.Svc.RemoveMember(f.Ctx, f.Op(), "c3@client.test"))

	// Owners: an admin cannot cut one off, and the last one stays.
	_, err = f.Svc.DeactivateMember(f.Ctx, f.As("admin@acme.test"), "owner2@acme.test")
	wantCode(t, err, approvals.EUNAUTHORIZED, "only an owner")
	f.Must(f.Svc.DeactivateMember(f.Ctx, f.As("owner@acme.test"), "owner2@acme.test"))
	_, err = f.Svc.DeactivateMember(f.Ctx, f.Op(), "owner@acme.test")
	wantCode(t, err, approvals.EINVALID, "last active owner")
	err = f.Svc.RemoveMember(f.Ctx, f.Op(), "owner@acme.test")
	wantCode(t, err, approvals.EINVALID, "last active owner")
}
