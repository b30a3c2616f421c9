package outbox_test

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

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is a workspace with members, set up through the admin service.
type fixture struct {
	t   *testing.T
	ctx context.Context
	svc *approvals.Service
	db  *store.DB
	ws  string
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	f := &fixture{t: t, ctx: ctx, db: db, ws: "acme", now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	f.svc = approvals.NewService(db)
	f.svc.Now = func() time.Time { return f.now }
	f.svc.Logger = slog.New(slog.DiscardHandler)
	f.must(f.svc.CreateWorkspace(ctx, approvals.Operator(f.ws), f.ws, "Acme Agency"))
	return f
}

func (f *fixture) op() approvals.Actor { return approvals.Operator(f.ws) }

func (f *fixture) as(email string) approvals.Actor {
	return approvals.Actor{Workspace: f.ws, Email: email, Channel: approvals.ChannelCLI}
}

func (f *fixture) must(_ any, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) ok(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) member(email string, role approvals.Role) {
	f.t.Helper()
	f.must(f.svc.AddMember(f.ctx, f.op(), email, strings.Split(email, "@")[0], role))
}

// account adds an account, grants and approvers: approvers maps email to tier.
func (f *fixture) account(handle string, internal, client approvals.Rule, grants map[string]string, approvers map[string]approvals.Tier) {
	f.t.Helper()
	f.must(f.svc.AddAccount(f.ctx, f.op(), handle, strings.ToUpper(handle)))
	for email, caps := range grants {
		c, err := approvals.ParseCaps(caps)
		f.ok(err)
		f.ok(f.svc.Grant(f.ctx, f.op(), handle, approvals.GrantTarget{Email: email}, c))
	}
	for email, tier := range approvers {
		f.ok(f.svc.AddApprover(f.ctx, f.op(), handle, email, tier))
	}
	set := approvals.AccountSettings{}
	on := true
	if internal != "" {
		set.NeedsInternalApproval, set.InternalRule = &on, &internal
	}
	if client != "" {
		set.NeedsClientApproval, set.ClientRule = &on, &client
	}
	f.must(f.svc.SetAccount(f.ctx, f.op(), handle, set))
}

func (f *fixture) submit(email, handle, text string) *approvals.DraftView {
	f.t.Helper()
	v, err := f.svc.Submit(f.ctx, f.as(email), approvals.DraftInput{Account: handle, Text: text})
	if err != nil {
		f.t.Fatalf("submit: %v", err)
	}
	return v
}

// standard sets up an owner, an admin and editor on staff, three clients, and
// accounts for each combination of tiers.
func standard(t *testing.T) *fixture {
	f := newFixture(t)
	f.member("owner@acme.test", approvals.RoleOwner)
	f.member("admin@acme.test", approvals.RoleAdmin)
	f.member("admin2@acme.test", approvals.RoleAdmin)
	f.member("ed@acme.test", approvals.RoleEditor)
	for _, c := range []string{"c1", "c2", "c3"} {
		f.member(c+"@client.test", approvals.RoleClient)
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
	f.account("free", "", "", staff, nil)
	f.account("internal", approvals.RuleAny, "", staff, map[string]approvals.Tier{"admin@acme.test": approvals.TierInternal, "admin2@acme.test": approvals.TierInternal})
	f.account("client", "", approvals.RuleAny, all, map[string]approvals.Tier{"c1@client.test": approvals.TierClient, "c2@client.test": approvals.TierClient, "c3@client.test": approvals.TierClient})
	f.account("both", approvals.RuleAny, approvals.RuleAny, all, map[string]approvals.Tier{"admin@acme.test": approvals.TierInternal, "c1@client.test": approvals.TierClient})
	f.account("strict", "", approvals.RuleAll, all, map[string]approvals.Tier{"c1@client.test": approvals.TierClient, "c2@client.test": approvals.TierClient, "c3@client.test": approvals.TierClient})
	return f
}
