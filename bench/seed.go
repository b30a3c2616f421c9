package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// The workspace the load phases act in: a Slack-bound agency whose accounts
// need client approval (rule any), each with two client approvers linked
// to Slack users and a bound client channel.
const (
	benchSlug     = "bench"
	benchAccounts = 16
	benchEditors  = 4
)

// person is a member the load generators act as.
type person struct {
	ID        int64
	Email     string
	SlackUser string
}

// account is a seeded account with its client approvers.
type account struct {
	Handle    string
	Channel   string
	Approvers []person
}

// world is the seeded bench workspace.
type world struct {
	WorkspaceID int64
	Editors     []person
	Accounts    []account
	seq         atomic.Int64 // draft markers
}

// pending is a draft waiting on the client tier, and who may decide it.
type pending struct {
	DraftID  int64
	Account  int // index into world.Accounts
	Approver person
	Marker   string
}

// seedWorld creates the bench workspace through the core, as an operator
// would with `signoff admin`.
func seedWorld(ctx context.Context, svc *approvals.Service) (*world, error) {
	op := approvals.Operator(benchSlug)
	ws, err := svc.CreateWorkspace(ctx, approvals.Operator(""), benchSlug, "Bench Agency")
	if err != nil {
		return nil, fmt.Errorf("seed workspace: %w", err)
	}
	// The end-to-end figure is of a request sent at once: window 0 (the
	// grouped figure sets a window of its own).
	team, window := slackTeam, time.Duration(0)
	if _, err := svc.SetWorkspace(ctx, op, approvals.WorkspaceSettings{SlackTeamID: &team, GroupWindow: &window}); err != nil {
		return nil, fmt.Errorf("seed workspace: %w", err)
	}
	w := &world{WorkspaceID: ws.ID}
	if _, err := svc.AddMember(ctx, op, "owner@bench.test", "Olive Owner", approvals.RoleOwner); err != nil {
		return nil, fmt.Errorf("seed owner: %w", err)
	}
	addLinked := func(email, name, slackUser string, role approvals.Role) (person, error) {
		m, err := svc.AddMember(ctx, op, email, name, role)
		if err != nil {
			return person{}, fmt.Errorf("seed member %s: %w", email, err)
		}
		if _, err := svc.SetMember(ctx, op, email, approvals.MemberSettings{SlackUserID: &slackUser}); err != nil {
			return person{}, fmt.Errorf("seed member %s: %w", email, err)
		}
		return person{ID: m.ID, Email: email, SlackUser: slackUser}, nil
	}
	for i := range benchEditors {
		p, err := addLinked(fmt.Sprintf("ed%d@bench.test", i), fmt.Sprintf("Editor %d", i), fmt.Sprintf("UED%03d", i), approvals.RoleEditor)
		if err != nil {
			return nil, err
		}
		w.Editors = append(w.Editors, p)
	}
	on := true
	for a := range benchAccounts {
		acc := account{Handle: fmt.Sprintf("acct-%02d", a), Channel: fmt.Sprintf("CACCT%02d", a)}
		if _, err := svc.AddAccount(ctx, op, acc.Handle, fmt.Sprintf("Client %02d Instagram", a)); err != nil {
			return nil, fmt.Errorf("seed account: %w", err)
		}
		for _, ed := range w.Editors {
			if err := svc.Grant(ctx, op, acc.Handle, approvals.GrantTarget{Email: ed.Email},
				approvals.NewCaps(approvals.CapView, approvals.CapComment, approvals.CapCreate)); err != nil {
				return nil, fmt.Errorf("seed grant: %w", err)
			}
		}
		for j := range 2 {
			p, err := addLinked(fmt.Sprintf("cl%02d-%d@client%02d.test", a, j, a), fmt.Sprintf("Client %02d/%d", a, j),
				fmt.Sprintf("UCL%02d%d", a, j), approvals.RoleClient)
			if err != nil {
				return nil, err
			}
			if err := svc.Grant(ctx, op, acc.Handle, approvals.GrantTarget{Email: p.Email},
				approvals.NewCaps(approvals.CapView, approvals.CapComment)); err != nil {
				return nil, fmt.Errorf("seed grant: %w", err)
			}
			if err := svc.AddApprover(ctx, op, acc.Handle, p.Email, approvals.TierClient); err != nil {
				return nil, fmt.Errorf("seed approver: %w", err)
			}
			acc.Approvers = append(acc.Approvers, p)
		}
		ch := acc.Channel
		if _, err := svc.SetAccount(ctx, op, acc.Handle, approvals.AccountSettings{NeedsClientApproval: &on, SlackChannel: &ch}); err != nil {
			return nil, fmt.Errorf("seed account settings: %w", err)
		}
		w.Accounts = append(w.Accounts, acc)
	}
	return w, nil
}

// marker returns a new unique marker to put in a draft's text.
func (w *world) marker() string { return fmt.Sprintf("BMK%dZ", w.seq.Add(1)) }

// submitPool submits n drafts through the core with 8 workers, spread over
// the accounts and editors, and returns them pending on the client tier.
func (w *world) submitPool(ctx context.Context, svc *approvals.Service, n int) ([]pending, error) {
	out := make([]pending, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				a := i % len(w.Accounts)
				ed := w.Editors[(i/len(w.Accounts))%len(w.Editors)]
				mk := w.marker()
				v, err := svc.Submit(ctx, approvals.Actor{WorkspaceID: w.WorkspaceID, Email: ed.Email, Channel: approvals.ChannelCLI},
					approvals.DraftInput{Account: w.Accounts[a].Handle, Text: "Bench draft " + mk + ": new arrivals this week, link in bio."})
				if err != nil {
					errs <- fmt.Errorf("seed draft: %w", err)
					return
				}
				acc := w.Accounts[a]
				out[i] = pending{DraftID: v.ID, Account: a, Approver: acc.Approvers[i%len(acc.Approvers)], Marker: mk}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return out, ctx.Err()
}

// settleSeedOutbox marks the notifications of seeded drafts as delivered
// and records the Slack request messages the bot would have posted, so a
// load phase starts with an empty outbox and decisions update real
// (recorded) Slack messages in place, as in production.
func (e *env) settleSeedOutbox(ctx context.Context) error {
	pool := e.main.DB.Pool()
	if _, err := pool.Exec(ctx, `
		INSERT INTO slack_messages (workspace_id, draft_id, revision, tier, target, channel, ts)
		SELECT d.workspace_id, d.id, d.revision, 'client', a.slack_channel, a.slack_channel,
		       '1600000000.' || lpad(d.id::text, 9, '0')
		FROM drafts d JOIN accounts a ON a.id = d.account_id
		WHERE d.state = 'pending_client' AND a.slack_channel IS NOT NULL
		ON CONFLICT DO NOTHING`); err != nil {
		return fmt.Errorf("seed slack messages: %w", err)
	}
	if _, err := pool.Exec(ctx, `UPDATE outbox SET state = 'sent', sent_at = now(), lease_until = NULL WHERE state = 'pending'`); err != nil {
		return fmt.Errorf("settle seeded outbox: %w", err)
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	return nil
}
