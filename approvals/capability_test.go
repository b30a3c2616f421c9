package approvals

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEffectiveCaps(t *testing.T) {
	tests := []struct {
		name   string
		role   Role
		direct Caps
		groups []Caps
		want   []string
	}{
		{"owner without grant has everything", RoleOwner, nil, nil, []string{"view", "comment", "create", "manage"}},
		{"no grant means nothing", RoleEditor, nil, nil, []string{}},
		{"grant implies view", RoleEditor, NewCaps(CapComment), nil, []string{"view", "comment"}},
		{"view-only client in a create group cannot create", RoleClient, NewCaps(CapView), []Caps{NewCaps(CapView, CapCreate, CapManage)}, []string{"view"}},
		{"client granted create in person may create", RoleClient, NewCaps(CapView, CapCreate), nil, []string{"view", "create"}},
		{"editor in a manage group cannot manage", RoleEditor, nil, []Caps{NewCaps(CapView, CapManage)}, []string{"view"}},
		{"admin may manage", RoleAdmin, NewCaps(CapView, CapManage), nil, []string{"view", "manage"}},
		{"union of direct and groups", RoleAdmin, NewCaps(CapComment), []Caps{NewCaps(CapCreate), NewCaps(CapManage)}, []string{"view", "comment", "create", "manage"}},
		{"client direct manage is capped", RoleClient, NewCaps(CapView, CapComment, CapManage), nil, []string{"view", "comment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EffectiveCaps(tt.role, tt.direct, tt.groups...).Strings()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("EffectiveCaps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCaps(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"view", "view", false},
		{"comment", "view,comment", false},
		{" Create , manage ", "view,create,manage", false},
		{"view,fly", "", true},
		{"", "view", false},
	}
	for _, tt := range tests {
		got, err := ParseCaps(tt.in)
		if tt.wantErr {
			if ErrorCode(err) != EINVALID {
				t.Errorf("ParseCaps(%q) err = %v, want EINVALID", tt.in, err)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("ParseCaps(%q) = %q, %v; want %q", tt.in, got.String(), err, tt.want)
		}
	}
}

func TestRoleApproverTier(t *testing.T) {
	tests := []struct {
		role Role
		tier Tier
		ok   bool
	}{
		{RoleOwner, TierInternal, true},
		{RoleAdmin, TierInternal, true},
		{RoleEditor, "", false},
		{RoleClient, TierClient, true},
	}
	for _, tt := range tests {
		tier, ok := tt.role.ApproverTier()
		if tier != tt.tier || ok != tt.ok {
			t.Errorf("%s.ApproverTier() = %q, %v; want %q, %v", tt.role, tier, ok, tt.tier, tt.ok)
		}
	}
}
