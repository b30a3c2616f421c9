package cli

import (
	"github.com/spf13/cobra"
)

func (a *app) serveCommand() *cobra.Command {
	var noMigrate bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Migrate the database and run the HTTP server and outbox dispatcher",
		Long: `Serve migrates the database (unless --no-migrate), then serves HTTP on
http.addr (GET /healthz, GET /readyz, and the channels' endpoints) and
delivers outbox messages, and sends reminders and applies deadline policies
every reminders.interval, until SIGINT or SIGTERM; then it drains in-flight
requests and exits 0.`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			m, err := a.openMain(ctx)
			if err != nil {
				return err
			}
			defer m.Close()
			if !noMigrate {
				if err := m.Migrate(ctx); err != nil {
					return err
				}
			}
			return m.Serve(ctx)
		}),
	}
	httpFlags(cmd.Flags())
	cmd.Flags().BoolVar(&noMigrate, "no-migrate", false, "do not apply migrations first")
	return cmd
}

func (a *app) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations (idempotent)",
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			m, err := a.openMain(cmd.Context())
			if err != nil {
				return err
			}
			defer m.Close()
			if err := m.Migrate(cmd.Context()); err != nil {
				return err
			}
			return a.print(done{Action: "migrate"}, "database is up to date")
		}),
	}
}
