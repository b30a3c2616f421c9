package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"github.com/signoff-app/signoff/approvals"
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
			m := NewMain(cfg, a.logger)
			if err := m.Open(ctx); err != nil {
				return err
			}
			defer m.Close()
			if err := m.Migrate(ctx); err != nil {
				return err
			}
			if err := seedDemo(ctx, m.Service); err != nil {
				return fmt.Errorf("dev: seed demo workspace: %w", err)
			}
			m.Listening = func(addr string) { a.printDevHelp(dbURL, addr) }
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

// Demo data of `signoff dev`.
const (
	demoWorkspace = "demo"
	demoAccount   = "acme-instagram"
	demoOwner     = "owner@demo.example"
	demoEditor    = "editor@demo.example"
	demoClient    = "client@demo.example"
)

// seedDemo creates the demo workspace and leaves what exists alone, so it
// can run on every start.
func seedDemo(ctx context.Context, svc *approvals.Service) error {
	op := approvals.Operator(demoWorkspace)
	on := true
	steps := []func() error{
		func() error { _, err := svc.CreateWorkspace(ctx, op, demoWorkspace, "Demo Agency"); return err },
		func() error {
			_, err := svc.AddMember(ctx, op, demoOwner, "Olivia Owner", approvals.RoleOwner)
			return err
		},
		func() error {
			_, err := svc.AddMember(ctx, op, demoEditor, "Eddie Editor", approvals.RoleEditor)
			return err
		},
		func() error {
			_, err := svc.AddMember(ctx, op, demoClient, "Clara Client", approvals.RoleClient)
			return err
		},
		func() error { _, err := svc.AddAccount(ctx, op, demoAccount, "Acme Instagram"); return err },
		func() error {
			return svc.Grant(ctx, op, demoAccount, approvals.GrantTarget{Email: demoEditor}, approvals.NewCaps(approvals.CapView, approvals.CapComment, approvals.CapCreate))
		},
		func() error {
			return svc.Grant(ctx, op, demoAccount, approvals.GrantTarget{Email: demoClient}, approvals.NewCaps(approvals.CapView, approvals.CapComment))
		},
		func() error { return svc.AddApprover(ctx, op, demoAccount, demoClient, approvals.TierClient) },
		func() error {
			_, err := svc.SetAccount(ctx, op, demoAccount, approvals.AccountSettings{NeedsClientApproval: &on})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil && approvals.ErrorCode(err) != approvals.ECONFLICT {
			return err
		}
	}
	return nil
}

func (a *app) printDevHelp(dbURL, addr string) {
	fmt.Fprintf(a.stdout, `
Signoff is running at http://%[2]s (try: curl http://%[2]s/readyz)
Database: %[1]s

In another shell:

  export SIGNOFF_DATABASE_URL='%[1]s'
  go run ./cmd/signoff admin access --workspace %[3]s --member %[5]s
  id=$(go run ./cmd/signoff draft submit --workspace %[3]s --account %[4]s --as %[6]s --text 'Hello from Signoff')
  go run ./cmd/signoff draft show --workspace %[3]s "$id" --as %[5]s
  go run ./cmd/signoff draft reject --workspace %[3]s "$id" --as %[5]s --comment 'Please add the launch date'
  go run ./cmd/signoff draft revise --workspace %[3]s "$id" --as %[6]s --text 'Hello from Signoff, live on May 1'
  go run ./cmd/signoff draft approve --workspace %[3]s "$id" --as %[5]s
  go run ./cmd/signoff draft history --workspace %[3]s "$id"
  go run ./cmd/signoff outbox list

Members of workspace %[3]s: %[7]s (owner), %[6]s (editor), %[5]s (client approver of %[4]s).
Press Ctrl-C to stop (the database stays under .dev/pg for next time).

`, dbURL, addr, demoWorkspace, demoAccount, demoClient, demoEditor, demoOwner)
}
