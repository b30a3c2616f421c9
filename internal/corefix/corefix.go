// Package corefix is the test fixture of the core: a workspace on a fresh
// PostgreSQL database, set up through the approvals service the way an
// operator would, with a clock the test moves. Tests of approvals and of
// the packages around it share it.
package corefix

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/store"
)

// Check fails its test on an error; fixtures embed it for Must and OK.
type Check struct{ T testing.TB }

// Must fails the test on err, whatever the call returned.
func (c Check) Must(_ any, err error) {
	c.T.Helper()
	if err != nil {
		c.T.Fatal(err)
	}
}

// OK fails the test on err.
func (c Check) OK(err error) {
	c.T.Helper()
	if err != nil {
		c.T.Fatal(err)
	}
}

// Service is the core on store as the tests run it: its log discarded and,
// when now is not nil, its clock now.
func Service(store approvals.Store, now func() time.Time) *approvals.Service {
	svc := approvals.NewService(store)
	if now != nil {
		svc.Now = now
	}
	svc.Logger = slog.New(slog.DiscardHandler)
	return svc
}

// World is one workspace ("acme") on its own database.
type World struct {
	Check
	Ctx context.Context
	Svc *approvals.Service
	DB  *store.DB
	WS  string
	// Now is the service's clock; tests move it.
	Now time.Time
}

// New returns an empty workspace. The package's TestMain must run
// pgtest.Main.
func New(t testing.TB) *World {
	t.Helper()
	db := pgtest.MustOpen(t, pgtest.NewDatabase(t))
	w := &World{Check: Check{T: t}, Ctx: context.Background(), DB: db, WS: "acme", Now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	w.Svc = Service(db, func() time.Time { return w.Now })
	w.Must(w.Svc.CreateWorkspace(w.Ctx, approvals.Operator(w.WS), w.WS, "Acme Agency"))
	// Each request goes out on its own, due at once, unless a test sets a
	// grouping window.
	var window time.Duration
	w.Must(w.Svc.SetWorkspace(w.Ctx, approvals.Operator(w.WS), approvals.WorkspaceSettings{GroupWindow: &window}))
	return w
}

// Standard sets up an owner, two admins and an editor on staff, three
// clients, and accounts for each combination of tiers: free (none),
// internal, client, both, and strict (clients, rule all).
func Standard(t testing.TB) *World {
	w := New(t)
	w.Member("owner@acme.test", approvals.RoleOwner)
	w.Member("admin@acme.test", approvals.RoleAdmin)
	w.Member("admin2@acme.test", approvals.RoleAdmin)
	w.Member("ed@acme.test", approvals.RoleEditor)
	for _, c := range []string{"c1", "c2", "c3"} {
		w.Member(c+"@client.test", approvals.RoleClient)
	}
	staff := map[string]string{"ed@acme.test": "view,comment,create", "admin@acme.test": "view,comment,create,manage", "admin2@acme.test": "view,comment"}
	clients := map[string]string{"c1@client.test": "view,comment", "c2@client.test": "view,comment", "c3@client.test": "view"}
	all := map[string]string{}
	for k, v := range staff {
		all[k] = v
	}
	for k, v := range clients {
		all[k] = v
	}
	w.Account("free", "", "", staff, nil)
	w.Account("internal", approvals.RuleAny, "", staff, map[string]approvals.Tier{"admin@acme.test": approvals.TierInternal, "admin2@acme.test": approvals.TierInternal})
	w.Account("client", "", approvals.RuleAny, all, map[string]approvals.Tier{"c1@client.test": approvals.TierClient, "c2@client.test": approvals.TierClient, "c3@client.test": approvals.TierClient})
	w.Account("both", approvals.RuleAny, approvals.RuleAny, all, map[string]approvals.Tier{"admin@acme.test": approvals.TierInternal, "c1@client.test": approvals.TierClient})
	w.Account("strict", "", approvals.RuleAll, all, map[string]approvals.Tier{"c1@client.test": approvals.TierClient, "c2@client.test": approvals.TierClient, "c3@client.test": approvals.TierClient})
	return w
}

// Op is the console operator of the workspace.
func (w *World) Op() approvals.Actor { return approvals.Operator(w.WS) }

// As is the member with email acting on the command line.
func (w *World) As(email string) approvals.Actor {
	return approvals.Actor{Workspace: w.WS, Email: email, Channel: approvals.ChannelCLI}
}

// Member adds a member named for their email's local part.
func (w *World) Member(email string, role approvals.Role) {
	w.T.Helper()
	w.Must(w.Svc.AddMember(w.Ctx, w.Op(), email, strings.Split(email, "@")[0], role))
}

// Account adds an account with grants (email to capabilities) and
// approvers (email to tier), needing each tier whose rule is given.
func (w *World) Account(handle string, internal, client approvals.Rule, grants map[string]string, approvers map[string]approvals.Tier) {
	w.T.Helper()
	w.Must(w.Svc.AddAccount(w.Ctx, w.Op(), handle, strings.ToUpper(handle)))
	for email, caps := range grants {
		c, err := approvals.ParseCaps(caps)
		w.OK(err)
		w.OK(w.Svc.Grant(w.Ctx, w.Op(), handle, approvals.GrantTarget{Email: email}, c))
	}
	for email, tier := range approvers {
		w.OK(w.Svc.AddApprover(w.Ctx, w.Op(), handle, email, tier))
	}
	set := approvals.AccountSettings{}
	on := true
	if internal != "" {
		set.NeedsInternalApproval, set.InternalRule = &on, &internal
	}
	if client != "" {
		set.NeedsClientApproval, set.ClientRule = &on, &client
	}
	w.Must(w.Svc.SetAccount(w.Ctx, w.Op(), handle, set))
}

// Submit submits a draft as the member.
func (w *World) Submit(email, handle, text string) *approvals.DraftView {
	w.T.Helper()
	v, err := w.Svc.Submit(w.Ctx, w.As(email), approvals.DraftInput{Account: handle, Text: text})
	if err != nil {
		w.T.Fatalf("submit: %v", err)
	}
	return v
}

// State is the draft's state, as the operator sees it.
func (w *World) State(id int64) approvals.State {
	w.T.Helper()
	v, err := w.Svc.Show(w.Ctx, w.Op(), id)
	w.OK(err)
	return v.State
}
