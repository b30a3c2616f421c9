package approvals

import (
	"sort"
	"strings"
)

// Capability is one thing a member may do on a social account.
type Capability string

const (
	CapView    Capability = "view"    // see drafts; implied by every grant
	CapComment Capability = "comment" // comment on drafts
	CapCreate  Capability = "create"  // create, edit, withdraw drafts
	CapManage  Capability = "manage"  // change the account's settings, access and approvers
)

// AllCapabilities lists the capabilities in display order.
var AllCapabilities = []Capability{CapView, CapComment, CapCreate, CapManage}

// Caps is a set of capabilities.
type Caps map[Capability]bool

// ParseCaps parses a comma-separated capability list such as "view,comment".
// View is always added: every grant implies it.
func ParseCaps(s string) (Caps, error) {
	caps := Caps{CapView: true}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(strings.ToLower(f))
		if f == "" {
			continue
		}
		c := Capability(f)
		if !c.Valid() {
			return nil, Errorf(EINVALID, "unknown capability %q (want view, comment, create or manage)", f)
		}
		caps[c] = true
	}
	return caps, nil
}

// Valid reports whether c is a known capability.
func (c Capability) Valid() bool {
	switch c {
	case CapView, CapComment, CapCreate, CapManage:
		return true
	}
	return false
}

// NewCaps returns the set of the given capabilities.
func NewCaps(cs ...Capability) Caps {
	caps := Caps{}
	for _, c := range cs {
		caps[c] = true
	}
	return caps
}

// Has reports whether c is in the set.
func (s Caps) Has(c Capability) bool { return s[c] }

// Union returns the capabilities in s or t.
func (s Caps) Union(t Caps) Caps {
	u := Caps{}
	for c, ok := range s {
		if ok {
			u[c] = true
		}
	}
	for c, ok := range t {
		if ok {
			u[c] = true
		}
	}
	return u
}

// Intersect returns the capabilities in both s and t.
func (s Caps) Intersect(t Caps) Caps {
	u := Caps{}
	for c, ok := range s {
		if ok && t[c] {
			u[c] = true
		}
	}
	return u
}

// List returns the capabilities in display order.
func (s Caps) List() []Capability {
	var l []Capability
	for _, c := range AllCapabilities {
		if s[c] {
			l = append(l, c)
		}
	}
	return l
}

// Strings returns the capabilities as sorted strings, in display order.
func (s Caps) Strings() []string {
	l := []string{}
	for _, c := range s.List() {
		l = append(l, string(c))
	}
	return l
}

func (s Caps) String() string { return strings.Join(s.Strings(), ",") }

// Role is a member's role in a workspace. It sets the ceiling of what the
// member can ever do, whatever is granted.
type Role string

const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleEditor Role = "editor"
	RoleClient Role = "client"
)

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", Errorf(EINVALID, "unknown role %q (want owner, admin, editor or client)", s)
	}
	return r, nil
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleOwner, RoleAdmin, RoleEditor, RoleClient:
		return true
	}
	return false
}

// Ceiling returns the most a member of role r can do on an account.
func (r Role) Ceiling() Caps {
	switch r {
	case RoleOwner:
		return NewCaps(CapView, CapComment, CapCreate, CapManage)
	case RoleAdmin:
		return NewCaps(CapView, CapComment, CapCreate, CapManage)
	case RoleEditor:
		return NewCaps(CapView, CapComment, CapCreate)
	case RoleClient:
		// A client may create only when granted "create"; the ceiling allows it.
		return NewCaps(CapView, CapComment, CapCreate)
	}
	return Caps{}
}

// ApproverTier returns the approval tier a member of role r may approve in,
// and false if the role approves in none.
func (r Role) ApproverTier() (Tier, bool) {
	switch r {
	case RoleOwner, RoleAdmin:
		return TierInternal, true
	case RoleClient:
		return TierClient, true
	}
	return "", false
}

// EffectiveCaps returns (direct ∪ each group grant) ∩ the role's ceiling,
// where a client's ceiling for group grants is view and comment. An
// owner has everything on every account, granted or not. A member with no
// grant at all has no capability, not even view.
func EffectiveCaps(role Role, direct Caps, groups ...Caps) Caps {
	if role == RoleOwner {
		return role.Ceiling()
	}
	all := Caps{}.Union(direct)
	for _, g := range groups {
		if role == RoleClient {
			// A client may create only when granted "create" in person: a
			// group grant (often written for staff) never lifts a client
			// above view and comment.
			g = g.Intersect(NewCaps(CapView, CapComment))
		}
		all = all.Union(g)
	}
	if len(all.List()) == 0 {
		return Caps{}
	}
	all[CapView] = true
	return all.Intersect(role.Ceiling())
}

// Tier is an approval tier.
type Tier string

const (
	TierInternal Tier = "internal"
	TierClient   Tier = "client"
)

// Tiers lists the tiers in the order a draft passes them.
var Tiers = []Tier{TierInternal, TierClient}

// ParseTier parses a tier name.
func ParseTier(s string) (Tier, error) {
	t := Tier(strings.ToLower(strings.TrimSpace(s)))
	if t != TierInternal && t != TierClient {
		return "", Errorf(EINVALID, "unknown tier %q (want internal or client)", s)
	}
	return t, nil
}

// Rule says how many of a tier's approvers must approve.
type Rule string

const (
	RuleAny Rule = "any" // one approval completes the tier
	RuleAll Rule = "all" // every approver of the tier must approve
)

// ParseRule parses a rule name.
func ParseRule(s string) (Rule, error) {
	r := Rule(strings.ToLower(strings.TrimSpace(s)))
	if r != RuleAny && r != RuleAll {
		return "", Errorf(EINVALID, "unknown rule %q (want any or all)", s)
	}
	return r, nil
}

func sortedTiers(m map[Tier]bool) []Tier {
	var ts []Tier
	for t, ok := range m {
		if ok {
			ts = append(ts, t)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts
}
