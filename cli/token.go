package cli

import (
	"fmt"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/spf13/cobra"
)

// The API token commands: `signoff admin token create|revoke|list`.

func (a *app) tokenCommand() *cobra.Command {
	return group("token", "Manage the JSON API's bearer tokens", a.tokenCreate(), a.tokenRevoke(), a.tokenList())
}

// createdToken is the JSON document of token create: the only time the
// secret is shown.
type createdToken struct {
	*approvals.APIToken
	Role  string `json:"role"`
	Token string `json:"token"`
}

func (a *app) tokenCreate() *cobra.Command {
	var ws, name, member string
	cmd := &cobra.Command{
		Use:   "create --workspace SLUG --name NAME [--member EMAIL]",
		Short: "Create an API token and print it (once)",
		Long: `Create prints a new bearer token for the JSON API (see docs/api.md). Only
its hash is stored: copy it now, it is never shown again.

With --member the token acts as that member: it may submit drafts (channel
"api") and sees what the member sees. Without it, the token is a publisher's:
it may list and fetch the workspace's approved drafts and mark them
published, nothing else.`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			t, secret, err := svc.CreateToken(cmd.Context(), approvals.Operator(ws), name, member)
			if err != nil {
				return err
			}
			who := "a publisher token (reads approved drafts, marks them published)"
			if t.Member != "" {
				who = "acting as " + t.Member
			}
			return a.print(createdToken{APIToken: t, Role: t.Role(), Token: secret},
				"%s\n\ncreated API token %q in workspace %s, %s.\nIt is shown only now; store it in your secret manager.", secret, t.Name, ws, who)
		}),
	}
	workspaceFlag(cmd, &ws)
	cmd.Flags().StringVar(&name, "name", "", "token name, unique among the workspace's active tokens (required)")
	_ = cmd.MarkFlagRequired("name")
	emailFlag(cmd.Flags(), &member, "member", "member the token acts as (omit for a publisher token)")
	return cmd
}

func (a *app) tokenRevoke() *cobra.Command {
	var ws, name string
	cmd := &cobra.Command{
		Use:   "revoke --workspace SLUG --name NAME",
		Short: "Revoke an API token: requests with it get 401 from now on",
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			t, err := svc.RevokeToken(cmd.Context(), approvals.Operator(ws), name)
			if err != nil {
				return err
			}
			return a.print(t, "revoked API token %q in workspace %s", t.Name, ws)
		}),
	}
	workspaceFlag(cmd, &ws)
	cmd.Flags().StringVar(&name, "name", "", "token name (required)")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func (a *app) tokenList() *cobra.Command {
	var ws string
	cmd := &cobra.Command{
		Use:   "list --workspace SLUG",
		Short: "List a workspace's API tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			ts, err := svc.Tokens(cmd.Context(), approvals.Operator(ws))
			if err != nil {
				return err
			}
			return printList(a, ts, "", "NAME\tROLE\tMEMBER\tCREATED\tREVOKED", func(t *approvals.APIToken) string {
				revoked := "-"
				if t.RevokedAt != nil {
					revoked = t.RevokedAt.Format(time.RFC3339)
				}
				return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", t.Name, t.Role(), dash(t.Member), t.CreatedAt.Format(time.RFC3339), revoked)
			})
		}),
	}
	workspaceFlag(cmd, &ws)
	return cmd
}
