package cli

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/httpserver"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/spf13/cobra"
)

// devDir is where `signoff dev` keeps its throwaway cluster.
const devDir = ".dev/pg"

func (a *app) devCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local development server on a throwaway PostgreSQL under .dev/pg, with demo data",
		Long: `Dev starts (or reuses) a PostgreSQL cluster under .dev/pg, migrates it,
seeds a demo workspace idempotently, prints commands to try, and serves
until Ctrl-C; then it stops the cluster. database.url is ignored.`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			abs, err := filepath.Abs(dir)
			if err != nil {
				return fmt.Errorf("dev: %w", err)
			}
			a.logger.Info("starting development PostgreSQL", "dir", abs)
			cl, err := pgtest.StartCluster(ctx, abs)
			if err != nil {
				return fmt.Errorf("dev: start PostgreSQL under %s: %w", abs, err)
			}
			defer func() {
				if err := cl.Stop(); err != nil {
					a.logger.Error("stop development PostgreSQL", "err", err)
				}
			}()

			dbURL, err := devDatabase(ctx, cl)
			if err != nil {
				return err
			}
			cfg := a.cfg
			cfg.Database.URL = dbURL
			// The demo draft's picture is served by this very server.
			cfg.Media.AllowPrivate = true
			m := NewMain(cfg, a.logger)
			if err := m.Open(ctx); err != nil {
				return err
			}
			defer m.Close()
			if err := m.Migrate(ctx); err != nil {
				return err
			}
			token, err := seedDemo(ctx, m.Service)
			if err != nil {
				return fmt.Errorf("dev: seed demo workspace: %w", err)
			}
			m.Routes = func(srv *httpserver.Server) { srv.Handle("GET "+demoPicturePath, http.HandlerFunc(serveDemoPicture)) }
			m.Listening = func(addr string) {
				a.printDevHelp(dbURL, addr, token)
				// In the background: submitting fetches the picture from
				// this server, which answers once Serve runs.
				go func() {
					if err := seedDemoDraft(ctx, m.Service, "http://"+addr+demoPicturePath); err != nil {
						a.logger.Error("dev: seed the demo draft", "err", err)
					}
				}()
			}
			return m.Serve(ctx)
		}),
	}
	httpFlags(cmd.Flags())
	cmd.Flags().StringVar(&dir, "dir", devDir, "directory of the development cluster")
	return cmd
}

// devDatabase creates the database "signoff" on the development cluster
// unless it exists, and returns its URL.
func devDatabase(ctx context.Context, cl *pgtest.Cluster) (string, error) {
	conn, err := pgx.Connect(ctx, cl.URL())
	if err != nil {
		return "", fmt.Errorf("dev: connect to the development cluster: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'signoff')`).Scan(&exists); err != nil {
		return "", fmt.Errorf("dev: look for the signoff database: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, `CREATE DATABASE signoff`); err != nil {
			return "", fmt.Errorf("dev: create the signoff database: %w", err)
		}
	}
	return cl.DatabaseURL("signoff"), nil
}

// Demo data of `signoff dev`: two accounts of one client, Acme. Instagram
// needs the client's approval, by email (Clara); LinkedIn needs both tiers:
// the owner internally, then the client's social lead by Slack (Sam, linked
// to a placeholder Slack user until you connect a real workspace).
const (
	demoWorkspace   = "demo"
	demoAccount     = "acme-instagram"
	demoBothAccount = "acme-linkedin"
	demoOwner       = "owner@demo.example"
	demoEditor      = "editor@demo.example"
	demoClient      = "client@demo.example"
	demoSlackClient = "slack-client@demo.example"
	// demoSlackUser is a placeholder Slack user ID for Sam; replace it with a
	// real one (signoff admin member set … --slack-user U…) to try Slack.
	demoSlackUser = "U0DEMOSAM"
	// demoToken is the name of the publisher API token made at each start.
	demoToken = "dev-publisher"
	// demoGroupWindow is the demo workspace's grouping window.
	demoGroupWindow = 10 * time.Second
)

// seedDemo creates the demo workspace and leaves what exists alone, so it
// can run on every start; the demo's settings are set on its first start
// only. It returns a fresh publisher API token (the
// previous one is revoked: a secret is never shown twice).
func seedDemo(ctx context.Context, svc *approvals.Service) (string, error) {
	op := approvals.Operator(demoWorkspace)
	on := true
	all := approvals.RuleAll
	slackUser := demoSlackUser
	member := func(email, name string, role approvals.Role) func() error {
		return func() error { _, err := svc.AddMember(ctx, op, email, name, role); return err }
	}
	grant := func(account, email string, caps ...approvals.Capability) func() error {
		return func() error {
			return svc.Grant(ctx, op, account, approvals.GrantTarget{Email: email}, approvals.NewCaps(caps...))
		}
	}
	approver := func(account, email string, tier approvals.Tier) func() error {
		return func() error { return svc.AddApprover(ctx, op, account, email, tier) }
	}
	// Settings are the demo's only on its first start: later starts keep
	// what was changed since (a real Slack user for Sam, another window).
	created := false
	settings := func(f func() error) func() error {
		return func() error {
			if !created {
				return nil
			}
			return f()
		}
	}
	steps := []func() error{
		func() error {
			_, err := svc.CreateWorkspace(ctx, op, demoWorkspace, "Demo Agency")
			created = err == nil
			return err
		},
		// A short grouping window: requests are grouped, and still arrive
		// while one watches mailpit.
		settings(func() error {
			window := demoGroupWindow
			_, err := svc.SetWorkspace(ctx, op, approvals.WorkspaceSettings{GroupWindow: &window})
			return err
		}),
		member(demoOwner, "Olivia Owner", approvals.RoleOwner),
		member(demoEditor, "Eddie Editor", approvals.RoleEditor),
		member(demoClient, "Clara Client", approvals.RoleClient),
		member(demoSlackClient, "Sam Slack", approvals.RoleClient),
		settings(func() error {
			_, err := svc.SetMember(ctx, op, demoSlackClient, approvals.MemberSettings{SlackUserID: &slackUser})
			return err
		}),

		// Instagram: client approval by email.
		func() error {
			_, err := svc.AddNetworkAccount(ctx, op, demoAccount, "Acme Instagram", approvals.NetworkInstagram)
			return err
		},
		grant(demoAccount, demoEditor, approvals.CapView, approvals.CapComment, approvals.CapCreate),
		grant(demoAccount, demoClient, approvals.CapView, approvals.CapComment),
		approver(demoAccount, demoClient, approvals.TierClient),
		settings(func() error {
			_, err := svc.SetAccount(ctx, op, demoAccount, approvals.AccountSettings{NeedsClientApproval: &on})
			return err
		}),

		// LinkedIn: the owner approves internally, then Sam (Slack) and
		// Clara (email) must both approve.
		func() error {
			_, err := svc.AddNetworkAccount(ctx, op, demoBothAccount, "Acme LinkedIn", approvals.NetworkLinkedIn)
			return err
		},
		grant(demoBothAccount, demoEditor, approvals.CapView, approvals.CapComment, approvals.CapCreate),
		grant(demoBothAccount, demoClient, approvals.CapView, approvals.CapComment),
		grant(demoBothAccount, demoSlackClient, approvals.CapView, approvals.CapComment),
		approver(demoBothAccount, demoOwner, approvals.TierInternal),
		approver(demoBothAccount, demoSlackClient, approvals.TierClient),
		approver(demoBothAccount, demoClient, approvals.TierClient),
		settings(func() error {
			_, err := svc.SetAccount(ctx, op, demoBothAccount, approvals.AccountSettings{
				NeedsInternalApproval: &on, NeedsClientApproval: &on, ClientRule: &all})
			return err
		}),
	}
	for _, step := range steps {
		if err := step(); err != nil && approvals.ErrorCode(err) != approvals.ECONFLICT {
			return "", err
		}
	}
	if _, err := svc.RevokeToken(ctx, op, demoToken); err != nil && approvals.ErrorCode(err) != approvals.ENOTFOUND {
		return "", err
	}
	_, secret, err := svc.CreateToken(ctx, op, demoToken, "")
	return secret, err
}

func (a *app) printDevHelp(dbURL, addr, token string) {
	fmt.Fprintf(a.stdout, `
Signoff is running at http://%[2]s (try: curl http://%[2]s/readyz; metrics: curl http://%[2]s/metrics)
Database: %[1]s

Workspace %[3]s:
  %[7]s   Olivia Owner, owner (internal approver of %[8]s)
  %[6]s  Eddie Editor, editor (writes drafts)
  %[5]s  Clara Client, client (approves %[4]s and %[8]s by email)
  %[9]s  Sam Slack, client (approves %[8]s by Slack; linked to placeholder %[10]s)
Accounts: %[4]s (client approval), %[8]s (internal, then all client approvers)
Requests to one person within %[12]s go out as one email (--group-window; docs/notifications.md)

In another shell:

  export SIGNOFF_DATABASE_URL='%[1]s'
  signoff() { go run ./cmd/signoff "$@"; }

  # A demo draft with a picture served by this server was submitted to %[4]s:
  # open mailpit at http://127.0.0.1:8025 to see the post's mock-up in the email, and its link page

  # Instagram: the client approves by email (open mailpit at http://127.0.0.1:8025 to click the links)
  id=$(signoff draft submit --workspace %[3]s --account %[4]s --as %[6]s --text 'Hello from Signoff')
  signoff draft reject  --workspace %[3]s "$id" --as %[5]s --comment 'Please add the launch date'
  signoff draft revise  --workspace %[3]s "$id" --as %[6]s --text 'Hello from Signoff, live on May 1'
  signoff draft approve --workspace %[3]s "$id" --as %[5]s
  signoff draft history --workspace %[3]s "$id"

  # LinkedIn: both tiers
  id2=$(signoff draft submit --workspace %[3]s --account %[8]s --as %[6]s --text 'We are hiring')
  signoff draft approve --workspace %[3]s "$id2" --as %[7]s     # internal tier
  signoff draft approve --workspace %[3]s "$id2" --as %[9]s     # client tier (Sam, as if from Slack)
  signoff draft approve --workspace %[3]s "$id2" --as %[5]s     # client tier: now approved
  signoff outbox list

  # Hand-off: a publisher polls the JSON API (docs/api.md) with this token, made for this run:
  export SIGNOFF_TOKEN='%[11]s'
  curl -s -H "Authorization: Bearer $SIGNOFF_TOKEN" 'http://%[2]s/api/v1/drafts?state=approved'
  curl -s -X POST -H "Authorization: Bearer $SIGNOFF_TOKEN" "http://%[2]s/api/v1/drafts/$id/published"

  # Slack: connect a real workspace (see docs/slack.md), then
  #   signoff admin workspace set %[3]s --slack-team T…
  #   signoff admin member set --workspace %[3]s --email %[9]s --slack-user U…

Press Ctrl-C to stop (the database stays under .dev/pg for next time).

`, dbURL, addr, demoWorkspace, demoAccount, demoClient, demoEditor, demoOwner, demoBothAccount, demoSlackClient, demoSlackUser, token, demoGroupWindow)
}
