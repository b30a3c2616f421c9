package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/spf13/cobra"
)

// The admin command line: one approvals.Service call per command, as the
// console operator of the workspace. Flags are checked for syntax only.

func (a *app) adminCommand() *cobra.Command {
	return group("admin", "Configure workspaces, members, groups, accounts, access and approvers",
		group("workspace", "Create and change workspaces", a.workspaceCreate(), a.workspaceSet(), a.workspaceShow()),
		group("member", "Manage a workspace's members", a.memberAdd(), a.memberRemove(), a.memberSet(), a.memberDeactivate(), a.memberList()),
		group("group", "Manage groups of members", a.groupCreate(), a.groupAdd(), a.groupRemove()),
		group("account", "Manage social accounts", a.accountAdd(), a.accountSet(), a.accountList()),
		a.grant(),
		a.revoke(),
		group("approver", "Flag members as approvers of an account", a.approver("add"), a.approver("remove")),
		a.access(),
		a.tokenCommand(),
	)
}

func workspaceFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "workspace", "", "workspace slug (required)")
	_ = cmd.MarkFlagRequired("workspace")
}

// done is the JSON document of commands that change something but have no
// object to show.
type done struct {
	Action    string         `json:"action"`
	Workspace string         `json:"workspace,omitempty"`
	Account   string         `json:"account,omitempty"`
	Member    string         `json:"member,omitempty"`
	Group     string         `json:"group,omitempty"`
	Tier      approvals.Tier `json:"tier,omitempty"`
	Caps      []string       `json:"caps,omitempty"`
}

func (a *app) workspaceCreate() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "create SLUG --name NAME",
		Short: "Create a workspace",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			w, err := svc.CreateWorkspace(cmd.Context(), approvals.Operator(args[0]), args[0], name)
			if err != nil {
				return err
			}
			return a.print(w, "created workspace %s", w.Slug)
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "display name (required)")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func (a *app) workspaceSet() *cobra.Command {
	var name, team, channel, hookURL, mediaHosts string
	var rotate bool
	var overlap, window time.Duration
	cmd := &cobra.Command{
		Use:   "set SLUG [--name NAME] [--slack-team TEAM_ID] [--internal-channel CHANNEL_ID] [--group-window DURATION] [--media-hosts HOST,...] [--webhook-url URL] [--rotate-webhook-secret [--overlap DURATION]]",
		Short: "Change a workspace's settings",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			if changed(fs, "webhook-url") || rotate {
				if changed(fs, "name") || changed(fs, "slack-team") || changed(fs, "internal-channel") || changed(fs, "group-window") || changed(fs, "media-hosts") {
					return usagef("change the webhook in a command of its own")
				}
				return a.setWebhook(cmd, args[0], changed(fs, "webhook-url"), hookURL, rotate, overlap)
			}
			var set approvals.WorkspaceSettings
			if changed(fs, "name") {
				set.Name = &name
			}
			if changed(fs, "slack-team") {
				set.SlackTeamID = &team
			}
			if changed(fs, "internal-channel") {
				set.InternalChannel = &channel
			}
			if changed(fs, "group-window") {
				set.GroupWindow = &window
			}
			if changed(fs, "media-hosts") {
				set.MediaHosts = &mediaHosts
			}
			if set == (approvals.WorkspaceSettings{}) {
				return usagef("nothing to change: give --name, --slack-team, --internal-channel, --group-window, --media-hosts, --webhook-url or --rotate-webhook-secret")
			}
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			w, err := svc.SetWorkspace(cmd.Context(), approvals.Operator(args[0]), set)
			if err != nil {
				return err
			}
			return a.print(w, "updated workspace %s", w.Slug)
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "display name")
	cmd.Flags().StringVar(&team, "slack-team", "", "Slack team ID to bind (\"\" unbinds)")
	cmd.Flags().StringVar(&channel, "internal-channel", "", "Slack channel ID for internal-tier requests (\"\" for DMs)")
	cmd.Flags().DurationVar(&window, "group-window", approvals.DefaultGroupWindow, "how long approval requests and reminders to one person wait to go out as one email (0: each at once)")
	cmd.Flags().StringVar(&mediaHosts, "media-hosts", "", "comma-separated hosts media previews may be fetched from, e.g. cdn.acme.example,*.cloudfront.net (\"\" fetches none)")
	cmd.Flags().StringVar(&hookURL, "webhook-url", "", "where this workspace's approved drafts are delivered (\"\" for the deployment's webhooks.url); the first one prints the new signing secret, once")
	cmd.Flags().BoolVar(&rotate, "rotate-webhook-secret", false, "make a new webhook secret (printed once); the old one also signs deliveries during --overlap")
	cmd.Flags().DurationVar(&overlap, "overlap", approvals.DefaultWebhookOverlap, "with --rotate-webhook-secret: how long the old secret also signs")
	return cmd
}

// setWebhook sets, rotates or removes a workspace's webhook, printing a new
// secret the one time it exists in clear.
func (a *app) setWebhook(cmd *cobra.Command, slug string, setURL bool, hookURL string, rotate bool, overlap time.Duration) error {
	set := approvals.WebhookSettings{Rotate: rotate, Overlap: overlap}
	if setURL {
		set.URL = &hookURL
	}
	svc, err := a.service(cmd.Context())
	if err != nil {
		return err
	}
	info, err := svc.SetWebhook(cmd.Context(), approvals.Operator(slug), set)
	if err != nil {
		return err
	}
	switch {
	case info.Removed:
		return a.print(info, "workspace %s: own webhook removed; its approved drafts go to the deployment's webhooks.url, if set", slug)
	case info.Secret != "" && info.PreviousUntil != nil:
		return a.print(info, "workspace %s: webhook %s\nnew signing secret (shown once; store it now): %s\nthe previous secret also signs deliveries until %s", slug, info.URL, info.Secret, info.PreviousUntil.Format(time.RFC3339))
	case info.Secret != "":
		return a.print(info, "workspace %s: webhook %s\nsigning secret (shown once; store it now): %s", slug, info.URL, info.Secret)
	}
	return a.print(info, "workspace %s: webhook %s (secret unchanged)", slug, info.URL)
}

func (a *app) workspaceShow() *cobra.Command {
	return &cobra.Command{
		Use:   "show SLUG",
		Short: "Show a workspace",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			w, err := svc.Workspace(cmd.Context(), approvals.Operator(args[0]))
			if err != nil {
				return err
			}
			return a.print(w, "%s\t%s\tslack-team=%s\tinternal-channel=%s\tgroup-window=%s\tmedia-hosts=%s", w.Slug, w.Name, dash(w.SlackTeamID), dash(w.InternalChannel), w.GroupWindow, dash(strings.Join(w.MediaHosts, ",")))
		}),
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *app) memberAdd() *cobra.Command {
	var ws, email, name string
	var role approvals.Role
	cmd := &cobra.Command{
		Use:   "add --workspace SLUG --email EMAIL --name NAME --role owner|admin|editor|client",
		Short: "Add a member",
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			m, err := svc.AddMember(cmd.Context(), approvals.Operator(ws), email, name, role)
			if err != nil {
				return err
			}
			return a.print(m, "added %s (%s) to %s", m.Email, m.Role, ws)
		}),
	}
	workspaceFlag(cmd, &ws)
	emailFlag(cmd.Flags(), &email, "email", "email address (required)")
	cmd.Flags().StringVar(&name, "name", "", "name (required)")
	cmd.Flags().Var(roleValue{&role}, "role", "owner, admin, editor or client (required)")
	for _, f := range []string{"email", "name", "role"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func (a *app) memberRemove() *cobra.Command {
	return a.memberCommand("remove", "Remove a member without history, with their access and approver flags (else: deactivate)",
		func(ctx context.Context, svc *approvals.Service, ws, email string) error {
			if err := svc.RemoveMember(ctx, approvals.Operator(ws), email); err != nil {
				return err
			}
			return a.print(done{Action: "member.remove", Workspace: ws, Member: email}, "removed %s from %s", email, ws)
		})
}

func (a *app) memberSet() *cobra.Command {
	var ws, email, name, slackUser, digestAt, zone string
	var notify approvals.NotifyMode
	var role approvals.Role
	cmd := &cobra.Command{
		Use:   "set --workspace SLUG (--email EMAIL | EMAIL) [--name NAME] [--slack-user USER_ID] [--role ROLE] [--notify immediate|digest [--digest-at HH:MM --time-zone ZONE]]",
		Short: "Change a member's name, Slack link, role or how requests reach them",
		Long: `Change a member's name, Slack link, role or how requests reach them.

--slack-user "" unlinks the member's Slack user; automatic linking will not
link that Slack user to the member again until an admin links it with
--slack-user. --role drops the approver flags the new role cannot hold, and
is refused if that leaves an account that needs the tier without an approver.

--notify digest sends the member one email a day, at --digest-at in
--time-zone (an IANA name such as Europe/Berlin), listing everything waiting
on them; requests, reminders and Slack DMs are not sent on their own.
--notify immediate sends them as they come (grouped by the workspace's
--group-window).`,
		Args: cobra.MaximumNArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			switch {
			case len(args) == 1 && changed(fs, "email"):
				return usagef("give the member's email once: as an argument or with --email")
			case len(args) == 1:
				email = args[0]
			case !changed(fs, "email"):
				return usagef("name the member: --email EMAIL")
			}
			var set approvals.MemberSettings
			if changed(fs, "name") {
				set.Name = &name
			}
			if changed(fs, "slack-user") {
				set.SlackUserID = &slackUser
			}
			if changed(fs, "role") {
				set.Role = &role
			}
			if changed(fs, "notify") {
				set.Notify = &approvals.NotifySettings{Mode: notify, DigestAt: digestAt, TimeZone: zone}
			} else if changed(fs, "digest-at") || changed(fs, "time-zone") {
				return usagef("--digest-at and --time-zone go with --notify digest")
			}
			if set == (approvals.MemberSettings{}) {
				return usagef("nothing to change: give --name, --slack-user, --role or --notify")
			}
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			m, err := svc.SetMember(cmd.Context(), approvals.Operator(ws), email, set)
			if err != nil {
				return err
			}
			return a.print(m, "updated %s in %s (%s, slack-user=%s, notify=%s)", m.Email, ws, m.Role, dash(m.SlackUserID), m.NotifyLabel())
		}),
	}
	workspaceFlag(cmd, &ws)
	emailFlag(cmd.Flags(), &email, "email", "email address (or give it as the argument)")
	cmd.Flags().StringVar(&name, "name", "", "new name")
	cmd.Flags().StringVar(&slackUser, "slack-user", "", "Slack user ID to link (\"\" unlinks, and keeps it unlinked)")
	cmd.Flags().Var(roleValue{&role}, "role", "new role: owner, admin, editor or client")
	cmd.Flags().Var(notifyValue{&notify}, "notify", "how requests reach the member: immediate, or digest (one email a day)")
	cmd.Flags().StringVar(&digestAt, "digest-at", "", "with --notify digest: the local time of the daily digest, HH:MM (24-hour)")
	cmd.Flags().StringVar(&zone, "time-zone", "", "with --notify digest: the member's time zone, an IANA name such as Europe/Berlin")
	return cmd
}

func (a *app) memberDeactivate() *cobra.Command {
	return a.memberCommand("deactivate", "Offboard a member: keep their history, take away their access, approver flags, Slack link, tokens and links",
		func(ctx context.Context, svc *approvals.Service, ws, email string) error {
			m, err := svc.DeactivateMember(ctx, approvals.Operator(ws), email)
			if err != nil {
				return err
			}
			return a.print(m, "deactivated %s in %s", m.Email, ws)
		})
}

// memberCommand is a command that acts on one member named by email.
func (a *app) memberCommand(verb, short string, act func(ctx context.Context, svc *approvals.Service, ws, email string) error) *cobra.Command {
	var ws, email string
	cmd := &cobra.Command{
		Use:   verb + " --workspace SLUG --email EMAIL",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			return act(cmd.Context(), svc, ws, email)
		}),
	}
	workspaceFlag(cmd, &ws)
	emailFlag(cmd.Flags(), &email, "email", "email address (required)")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}

func (a *app) memberList() *cobra.Command {
	var ws string
	cmd := &cobra.Command{
		Use:   "list --workspace SLUG",
		Short: "List a workspace's members",
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			ms, err := svc.Members(cmd.Context(), approvals.Operator(ws))
			if err != nil {
				return err
			}
			return printList(a, ms, "", "EMAIL\tNAME\tROLE\tSLACK USER\tSTATUS", func(m *approvals.Member) string {
				status := "active"
				if !m.Active() {
					status = "deactivated " + m.DeactivatedAt.Format(time.DateOnly)
				}
				return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", m.Email, m.Name, m.Role, dash(m.SlackUserID), status)
			})
		}),
	}
	workspaceFlag(cmd, &ws)
	return cmd
}

func (a *app) groupCreate() *cobra.Command {
	var ws string
	cmd := &cobra.Command{
		Use:   "create --workspace SLUG NAME",
		Short: "Create a group",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			g, err := svc.CreateGroup(cmd.Context(), approvals.Operator(ws), args[0])
			if err != nil {
				return err
			}
			return a.print(g, "created group %s in %s", g.Name, ws)
		}),
	}
	workspaceFlag(cmd, &ws)
	return cmd
}

func (a *app) groupAdd() *cobra.Command    { return a.groupMembership("add") }
func (a *app) groupRemove() *cobra.Command { return a.groupMembership("remove") }

func (a *app) groupMembership(verb string) *cobra.Command {
	var ws, grp, email string
	short := map[string]string{"add": "Add a member to a group", "remove": "Remove a member from a group"}[verb]
	cmd := &cobra.Command{
		Use:   verb + " --workspace SLUG --group NAME --member EMAIL",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			op := approvals.Operator(ws)
			d := done{Action: "group." + verb, Workspace: ws, Group: grp, Member: email}
			if verb == "add" {
				if err := svc.AddToGroup(cmd.Context(), op, grp, email); err != nil {
					return err
				}
				return a.print(d, "added %s to group %s", email, grp)
			}
			if err := svc.RemoveFromGroup(cmd.Context(), op, grp, email); err != nil {
				return err
			}
			return a.print(d, "removed %s from group %s", email, grp)
		}),
	}
	workspaceFlag(cmd, &ws)
	cmd.Flags().StringVar(&grp, "group", "", "group name (required)")
	emailFlag(cmd.Flags(), &email, "member", "member's email (required)")
	_ = cmd.MarkFlagRequired("group")
	_ = cmd.MarkFlagRequired("member")
	return cmd
}

func (a *app) accountAdd() *cobra.Command {
	var ws, name string
	network := approvals.NetworkOther
	cmd := &cobra.Command{
		Use:   "add --workspace SLUG HANDLE --name NAME [--network NETWORK]",
		Short: "Add a social account",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			acc, err := svc.AddNetworkAccount(cmd.Context(), approvals.Operator(ws), args[0], name, network)
			if err != nil {
				return err
			}
			return a.print(acc, "added account %s (network %s) to %s", acc.Handle, networkName(acc.Network), ws)
		}),
	}
	workspaceFlag(cmd, &ws)
	cmd.Flags().StringVar(&name, "name", "", "display name (required)")
	_ = cmd.MarkFlagRequired("name")
	cmd.Flags().Var(networkValue{&network}, "network", "the network it posts to; drafts are checked against its limits (default other: no limits)")
	return cmd
}

func (a *app) accountSet() *cobra.Command {
	var (
		ws, name, channel        string
		network                  approvals.Network
		internal, client         bool
		internalRule, clientRule approvals.Rule
		remindAfter              time.Duration
		deadline                 deadlineFlags // reminder.go
	)
	cmd := &cobra.Command{
		Use:   "set --workspace SLUG HANDLE [--network NETWORK] [--internal-approval on|off] [--client-approval on|off] [--internal-rule any|all] [--client-rule any|all] [--slack-channel CHANNEL_ID] [--remind-after DURATION] [--remind-max N] [--deadline-policy none|expire|auto-approve|escalate] [--deadline-margin DURATION] [--decide-within DURATION] [--backup-approver EMAIL] [--min-review DURATION]",
		Short: "Change a social account's settings",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			var set approvals.AccountSettings
			fs := cmd.Flags()
			if changed(fs, "name") {
				set.Name = &name
			}
			if changed(fs, "network") {
				set.Network = &network
			}
			if changed(fs, "internal-approval") {
				set.NeedsInternalApproval = &internal
			}
			if changed(fs, "client-approval") {
				set.NeedsClientApproval = &client
			}
			if changed(fs, "internal-rule") {
				set.InternalRule = &internalRule
			}
			if changed(fs, "client-rule") {
				set.ClientRule = &clientRule
			}
			if changed(fs, "slack-channel") {
				set.SlackChannel = &channel
			}
			if changed(fs, "remind-after") {
				set.RemindAfter = &remindAfter
			}
			deadline.apply(fs, &set)
			if set == (approvals.AccountSettings{}) {
				return usagef("nothing to change: give at least one setting flag")
			}
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			acc, err := svc.SetAccount(cmd.Context(), approvals.Operator(ws), args[0], set)
			if err != nil {
				return err
			}
			return a.print(acc, "updated account %s: %s", acc.Handle, describeAccount(acc))
		}),
	}
	workspaceFlag(cmd, &ws)
	fs := cmd.Flags()
	fs.StringVar(&name, "name", "", "display name")
	fs.Var(networkValue{&network}, "network", "the network it posts to; drafts submitted or revised from now on are checked against its limits")
	fs.Var(onOffValue{&internal}, "internal-approval", "require internal approval: on or off")
	fs.Var(onOffValue{&client}, "client-approval", "require client approval: on or off")
	fs.Var(ruleValue{&internalRule}, "internal-rule", "internal tier completes on any or all approvals")
	fs.Var(ruleValue{&clientRule}, "client-rule", "client tier completes on any or all approvals")
	fs.StringVar(&channel, "slack-channel", "", "bound Slack channel ID for client requests (\"\" unbinds)")
	fs.DurationVar(&remindAfter, "remind-after", 0, "remind approvers after this long (e.g. 24h)")
	deadline.add(fs)
	return cmd
}

func describeAccount(acc *approvals.Account) string {
	tier := func(on bool, r approvals.Rule) string {
		if !on {
			return "off"
		}
		return "on (" + string(r) + ")"
	}
	return fmt.Sprintf("network %s, internal approval %s, client approval %s, slack channel %s, remind after %s, %s",
		networkName(acc.Network), tier(acc.NeedsInternalApproval, acc.InternalRule), tier(acc.NeedsClientApproval, acc.ClientRule),
		dash(acc.SlackChannel), acc.RemindAfter, describeDeadline(acc))
}

func (a *app) accountList() *cobra.Command {
	var ws string
	cmd := &cobra.Command{
		Use:   "list --workspace SLUG",
		Short: "List a workspace's social accounts",
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			xs, err := svc.Accounts(cmd.Context(), approvals.Operator(ws))
			if err != nil {
				return err
			}
			accs := []approvals.Account{}
			for _, x := range xs {
				accs = append(accs, x.Account)
			}
			return printList(a, accs, "", "HANDLE\tNAME\tNETWORK\tINTERNAL\tCLIENT\tSLACK CHANNEL\tREMIND AFTER", func(acc approvals.Account) string {
				return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", acc.Handle, acc.Name, networkName(acc.Network),
					tierSetting(acc.NeedsInternalApproval, acc.InternalRule), tierSetting(acc.NeedsClientApproval, acc.ClientRule),
					dash(acc.SlackChannel), acc.RemindAfter)
			})
		}),
	}
	workspaceFlag(cmd, &ws)
	return cmd
}

func tierSetting(on bool, r approvals.Rule) string {
	if !on {
		return "off"
	}
	return "on/" + string(r)
}

// grantTargetFlags adds --member and --group, exactly one required.
func grantTargetFlags(cmd *cobra.Command, to *approvals.GrantTarget) {
	emailFlag(cmd.Flags(), &to.Email, "member", "member's email")
	cmd.Flags().StringVar(&to.Group, "group", "", "group name")
	cmd.MarkFlagsOneRequired("member", "group")
	cmd.MarkFlagsMutuallyExclusive("member", "group")
}

func describeTarget(to approvals.GrantTarget) string {
	if to.Email != "" {
		return "member " + to.Email
	}
	return "group " + to.Group
}

func (a *app) grant() *cobra.Command {
	var ws, handle string
	var to approvals.GrantTarget
	var caps approvals.Caps
	cmd := &cobra.Command{
		Use:   "grant --workspace SLUG --account HANDLE (--member EMAIL | --group NAME) --caps view,comment,create,manage",
		Short: "Set the capabilities of a member or group on an account",
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			if err := svc.Grant(cmd.Context(), approvals.Operator(ws), handle, to, caps); err != nil {
				return err
			}
			d := done{Action: "access.grant", Workspace: ws, Account: handle, Member: to.Email, Group: to.Group, Caps: caps.Strings()}
			return a.print(d, "granted %s on %s to %s", caps, handle, describeTarget(to))
		}),
	}
	workspaceFlag(cmd, &ws)
	cmd.Flags().StringVar(&handle, "account", "", "account handle (required)")
	_ = cmd.MarkFlagRequired("account")
	grantTargetFlags(cmd, &to)
	cmd.Flags().Var(capsValue{&caps}, "caps", "comma-separated: view, comment, create, manage (required)")
	_ = cmd.MarkFlagRequired("caps")
	return cmd
}

func (a *app) revoke() *cobra.Command {
	var ws, handle string
	var from approvals.GrantTarget
	cmd := &cobra.Command{
		Use:   "revoke --workspace SLUG --account HANDLE (--member EMAIL | --group NAME)",
		Short: "Remove the access of a member or group to an account",
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			if err := svc.Revoke(cmd.Context(), approvals.Operator(ws), handle, from); err != nil {
				return err
			}
			d := done{Action: "access.revoke", Workspace: ws, Account: handle, Member: from.Email, Group: from.Group}
			return a.print(d, "revoked the access of %s to %s", describeTarget(from), handle)
		}),
	}
	workspaceFlag(cmd, &ws)
	cmd.Flags().StringVar(&handle, "account", "", "account handle (required)")
	_ = cmd.MarkFlagRequired("account")
	grantTargetFlags(cmd, &from)
	return cmd
}

func (a *app) approver(verb string) *cobra.Command {
	var ws, handle, email string
	var tier approvals.Tier
	short := map[string]string{"add": "Make a member an approver of an account", "remove": "Remove a member's approver flag"}[verb]
	cmd := &cobra.Command{
		Use:   verb + " --workspace SLUG --account HANDLE --member EMAIL --tier internal|client",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			op := approvals.Operator(ws)
			d := done{Action: "approver." + verb, Workspace: ws, Account: handle, Member: email, Tier: tier}
			if verb == "add" {
				if err := svc.AddApprover(cmd.Context(), op, handle, email, tier); err != nil {
					return err
				}
				return a.print(d, "%s is now a %s approver of %s", email, tier, handle)
			}
			if err := svc.RemoveApprover(cmd.Context(), op, handle, email, tier); err != nil {
				return err
			}
			return a.print(d, "%s is no longer a %s approver of %s", email, tier, handle)
		}),
	}
	workspaceFlag(cmd, &ws)
	cmd.Flags().StringVar(&handle, "account", "", "account handle (required)")
	emailFlag(cmd.Flags(), &email, "member", "member's email (required)")
	cmd.Flags().Var(tierValue{&tier}, "tier", "internal or client (required)")
	for _, f := range []string{"account", "member", "tier"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

// accessView is one account's line of `admin access`.
type accessView struct {
	Account       string           `json:"account"`
	Name          string           `json:"name"`
	Caps          []string         `json:"caps"`
	ApproverTiers []approvals.Tier `json:"approver_tiers"`
}

func (a *app) access() *cobra.Command {
	var ws, email, handle string
	cmd := &cobra.Command{
		Use:   "access --workspace SLUG --member EMAIL [--account HANDLE]",
		Short: "Show a member's effective capabilities and approver tiers per account",
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			xs, err := svc.MemberAccess(cmd.Context(), approvals.Operator(ws), email, handle)
			if err != nil {
				return err
			}
			views := []accessView{}
			for _, x := range xs {
				v := accessView{Account: x.Account.Handle, Name: x.Account.Name, Caps: x.Caps.Strings(), ApproverTiers: append([]approvals.Tier{}, x.Tiers...)}
				views = append(views, v)
			}
			if a.jsonOut {
				return a.print(views, "")
			}
			if len(views) == 0 {
				return a.print(nil, "%s has no access to any account in %s", email, ws)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ACCOUNT\tCAPABILITIES\tAPPROVER")
			for _, v := range views {
				tiers := make([]string, len(v.ApproverTiers))
				for i, t := range v.ApproverTiers {
					tiers[i] = string(t)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Account, dash(strings.Join(v.Caps, ",")), dash(strings.Join(tiers, ",")))
			}
			return tw.Flush()
		}),
	}
	workspaceFlag(cmd, &ws)
	emailFlag(cmd.Flags(), &email, "member", "member's email (required)")
	_ = cmd.MarkFlagRequired("member")
	cmd.Flags().StringVar(&handle, "account", "", "only this account (shown even without access)")
	return cmd
}
