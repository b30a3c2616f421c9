package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/slack-go/slack"

	"github.com/signoff-app/signoff/approvals"
)

// usage is the help text of the slash command.
func (b *Bot) usage() string {
	c := b.cfg.Command
	return strings.Join([]string{
		"*Signoff* — get clients' sign-off on post drafts.",
		"`" + c + " new` — open the form for a new draft",
		"`" + c + " submit HANDLE TEXT` — submit a draft inline",
		"`" + c + " list [HANDLE] [STATE]` — drafts you can see (states: pending_internal, pending_client, approved, rejected, withdrawn)",
		"`" + c + " show ID` — one draft",
		"`" + c + " revise ID` — edit and resubmit a draft",
		"`" + c + " withdraw ID` — withdraw a draft",
		"`" + c + " history ID` — revisions, decisions and comments",
		"`" + c + " comment ID [--internal] [TEXT]` — comment on a draft (`--internal`: staff only, never shown to clients; without TEXT, a form)",
		"`" + c + " bind HANDLE` — post the account's client approvals in this channel (needs manage)",
		"`" + c + " link` — link your Slack user to your Signoff member",
		"`" + c + " help` — this text",
	}, "\n")
}

func ephemeral(text string) *slack.Msg {
	return &slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: text}
}

// Command runs a slash command and returns the immediate answer (an
// ephemeral *slack.Msg), or nil when the answer is a modal. Both HTTP and
// Socket Mode call it.
func (b *Bot) Command(ctx context.Context, req Request, cmd slack.SlashCommand) any {
	sub, rest := splitWord(cmd.Text)
	sub = strings.ToLower(sub)
	if sub == "" || sub == "help" {
		return ephemeral(b.usage())
	}
	if !knownCommand(sub) {
		return ephemeral(fmt.Sprintf("I don't know `%s`.\n%s", escape(truncate(sub, 40)), b.usage()))
	}
	// A slash command is delivered once (Slack does not retry them), but a
	// duplicate delivery must still not submit twice.
	if cmd.TriggerID != "" {
		ok, done, err := b.claim(ctx, "command:"+cmd.TeamID+":"+cmd.TriggerID)
		if err != nil {
			return ephemeral(b.userMessage(ctx, err))
		}
		if !ok {
			return nil
		}
		msg := b.command(ctx, req, cmd, sub, rest)
		done(false)
		if msg == nil {
			return nil
		}
		return msg
	}
	if msg := b.command(ctx, req, cmd, sub, rest); msg != nil {
		return msg
	}
	return nil
}

func knownCommand(sub string) bool {
	switch sub {
	case "new", "submit", "list", "show", "revise", "withdraw", "history", "bind", "link", "comment":
		return true
	}
	return false
}

// command runs a known subcommand as the linked member; nil means no
// message (a modal was opened).
func (b *Bot) command(ctx context.Context, req Request, cmd slack.SlashCommand, sub, rest string) *slack.Msg {
	a, m, err := b.identify(ctx, req, cmd.TeamID, cmd.UserID)
	if err != nil {
		return ephemeral(b.userMessage(ctx, err))
	}
	usage := func(form string) *slack.Msg {
		return ephemeral(fmt.Sprintf("Usage: `%s %s`", b.cfg.Command, form))
	}
	switch sub {
	case "link":
		return ephemeral(fmt.Sprintf("Your Slack user is linked to %s (%s) in Signoff.", escape(m.DisplayName()), m.Role))
	case "new":
		if rest != "" {
			return usage("new")
		}
		return b.openNew(ctx, a, cmd)
	case "submit":
		handle, text := splitWord(rest)
		if handle == "" || strings.TrimSpace(text) == "" {
			return usage("submit HANDLE TEXT")
		}
		v, err := b.svc.Submit(ctx, a, approvals.DraftInput{Account: handle, Text: text})
		if err != nil {
			return ephemeral(b.userMessage(ctx, err))
		}
		b.wake()
		return ephemeral(fmt.Sprintf("Submitted draft #%d on %s: %s.", v.ID, escape(v.Account.Handle), v.State.Describe()) + notesText(v.Notes))
	case "list":
		var in approvals.ListInput
		for _, f := range strings.Fields(rest) {
			if st, err := approvals.ParseState(strings.ToLower(f)); err == nil && in.State == "" {
				in.State = st
			} else if in.Account == "" {
				in.Account = f
			} else {
				return usage("list [HANDLE] [STATE]")
			}
		}
		in.Limit = 20
		ds, err := b.svc.List(ctx, a, in)
		if err != nil {
			return ephemeral(b.userMessage(ctx, err))
		}
		return ephemeral(listText(ds))
	}
	if sub == "comment" {
		return b.comment(ctx, a, m, cmd.TriggerID, rest, usage("comment ID [--internal] [TEXT]"))
	}
	// The rest take one argument.
	arg, extra := splitWord(rest)
	if extra != "" {
		arg = ""
	}
	if sub == "bind" {
		if arg == "" {
			return usage("bind HANDLE")
		}
		if strings.HasPrefix(cmd.ChannelID, "D") {
			return ephemeral("Run `" + b.cfg.Command + " bind HANDLE` in the client's channel, not in a direct message.")
		}
		acc, err := b.svc.BindChannel(ctx, a, arg, cmd.ChannelID)
		if err != nil {
			return ephemeral(b.userMessage(ctx, err))
		}
		return ephemeral(fmt.Sprintf("Client approvals for %s now post in %s. Make sure the Signoff app is in this channel (`/invite @Signoff`).", escape(acc.Handle), channelRef(cmd.ChannelID)))
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(arg, "#"), 10, 64)
	if err != nil || id <= 0 {
		return usage(sub + " ID")
	}
	switch sub {
	case "show":
		v, err := b.svc.Show(ctx, a, id)
		if err != nil {
			return ephemeral(b.userMessage(ctx, err))
		}
		return &slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: fmt.Sprintf("Draft #%d", v.ID), Blocks: slack.Blocks{BlockSet: showBlocks(v, b.MediaURL)}}
	case "revise":
		v, err := b.svc.Show(ctx, a, id)
		if err != nil {
			return ephemeral(b.userMessage(ctx, err))
		}
		if _, err := b.api.OpenViewContext(ctx, cmd.TriggerID, draftModal(nil, v, modalMeta{DraftID: v.ID, Revision: v.Revision, Channel: cmd.ChannelID})); err != nil {
			return ephemeral(b.userMessage(ctx, fmt.Errorf("views.open: %w", err)))
		}
		return nil
	case "withdraw":
		v, err := b.svc.Withdraw(ctx, a, id)
		if err != nil {
			return ephemeral(b.userMessage(ctx, err))
		}
		b.wake()
		return ephemeral(fmt.Sprintf("Withdrew draft #%d on %s.", v.ID, escape(v.Account.Handle)))
	case "history":
		h, err := b.svc.DraftHistory(ctx, a, id)
		if err != nil {
			return ephemeral(b.userMessage(ctx, err))
		}
		return ephemeral(historyText(h))
	}
	return ephemeral(b.usage())
}

// openNew opens the new-draft modal with the accounts the member may
// create on; views.open is the only Slack call made before answering.
func (b *Bot) openNew(ctx context.Context, a approvals.Actor, cmd slack.SlashCommand) *slack.Msg {
	all, err := b.svc.Accounts(ctx, a)
	if err != nil {
		return ephemeral(b.userMessage(ctx, err))
	}
	var accounts []approvals.Access
	for _, acc := range all {
		if acc.Can(approvals.CapCreate) {
			accounts = append(accounts, acc)
		}
	}
	if len(accounts) == 0 {
		return ephemeral("You may not create drafts on any account. Ask an admin to grant you `create` on one.")
	}
	if len(accounts) > 100 {
		accounts = accounts[:100] // Slack's limit on a static select
	}
	if _, err := b.api.OpenViewContext(ctx, cmd.TriggerID, draftModal(accounts, nil, modalMeta{Channel: cmd.ChannelID})); err != nil {
		return ephemeral(b.userMessage(ctx, fmt.Errorf("views.open: %w", err)))
	}
	return nil
}

// splitWord returns the first whitespace-separated word of s and the rest,
// kept exactly but for the whitespace that separates them.
// comment runs `comment ID [--internal] TEXT`.
func (b *Bot) comment(ctx context.Context, a approvals.Actor, m *approvals.Member, trigger, rest string, usage *slack.Msg) *slack.Msg {
	arg, text := splitWord(rest)
	id, err := strconv.ParseInt(strings.TrimPrefix(arg, "#"), 10, 64)
	if err != nil || id <= 0 {
		return usage
	}
	in := approvals.CommentInput{Text: text}
	if flag, after := splitWord(text); flag == "--internal" {
		in = approvals.CommentInput{Text: after, Internal: true}
	}
	if strings.TrimSpace(in.Text) == "" {
		if in.Internal || trigger == "" {
			return usage
		}
		// No text: the form, after the core says the draft is theirs to see.
		if _, err := b.svc.Show(ctx, a, id); err != nil {
			return ephemeral(b.userMessage(ctx, err))
		}
		staff := approvals.ReaderOf(m).Audience == approvals.AudienceStaff
		if _, err := b.api.OpenViewContext(ctx, trigger, commentModal(id, staff)); err != nil {
			return ephemeral(b.userMessage(ctx, fmt.Errorf("views.open: %w", err)))
		}
		return nil
	}
	c, err := b.svc.AddComment(ctx, a, id, in)
	if err != nil {
		return ephemeral(b.userMessage(ctx, err))
	}
	kind := "Commented"
	if c.Internal {
		kind = "Commented (internal: staff only)"
	}
	return ephemeral(fmt.Sprintf("%s on draft #%d.", kind, c.DraftID))
}

func splitWord(s string) (word, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeftFunc(s[i:], unicode.IsSpace)
}

func listText(ds []approvals.DraftSummary) string {
	if len(ds) == 0 {
		return "No drafts."
	}
	var sb strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&sb, "#%d · %s · %s · rev %d · %s\n", d.ID, escape(d.Account), d.State.Describe(), d.Revision,
			escape(truncate(strings.Join(strings.Fields(d.Text), " "), 80)))
	}
	return strings.TrimRight(sb.String(), "\n")
}

// notesText appends the core's notes on a submission, one per line.
func notesText(notes []string) string {
	var sb strings.Builder
	for _, n := range notes {
		sb.WriteString("\n:warning: Note: " + escape(n))
	}
	return sb.String()
}

// showBlocks is a draft as /signoff show shows it.
func showBlocks(v *approvals.DraftView, pics PictureURL) []slack.Block {
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(fmt.Sprintf("Draft #%d — %s", v.ID, v.StatusLine()))),
		slack.NewSectionBlock(nil, draftFields(v), nil),
	}
	blocks = append(blocks, contentBlocks(v, pics)...)
	var lines []string
	for _, t := range v.Tiers {
		if !t.Required {
			continue
		}
		line := fmt.Sprintf("*%s* (%s): %s", t.Tier, t.Rule, t.Status)
		for _, a := range t.Approvers {
			if a.Verdict != "" {
				line += fmt.Sprintf("\n  • %s %sd via %s", escape(a.Name), a.Verdict, channelName(a.Channel))
			}
		}
		lines = append(lines, line)
	}
	if len(lines) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(strings.Join(lines, "\n"), maxSection)), nil, nil))
	}
	return blocks
}

func historyText(h *approvals.History) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "*History of draft #%d* (%s)\n", h.Draft.ID, h.Draft.StatusLine())
	for _, r := range h.Revisions {
		fmt.Fprintf(&sb, "• %s revision %d: %s\n", approvals.Stamp(r.CreatedAt), r.Number, escape(truncate(strings.Join(strings.Fields(r.Text), " "), 60)))
	}
	for _, d := range h.Decisions {
		fmt.Fprintf(&sb, "• %s %s (rev %d, %s) via %s", approvals.Stamp(d.CreatedAt), escape(d.Approver), d.Revision, d.Tier, channelName(d.Channel))
		if d.Verdict == approvals.VerdictReject {
			fmt.Fprintf(&sb, " rejected: %s\n", escape(truncate(d.Comment, 200)))
		} else {
			sb.WriteString(" approved\n")
		}
	}
	for _, c := range h.Comments {
		note := "commented"
		if c.Internal {
			note = "commented (internal)"
		}
		fmt.Fprintf(&sb, "• %s %s %s: %s\n", approvals.Stamp(c.CreatedAt), escape(c.Author), note, escape(truncate(c.Text, 200)))
	}
	return truncate(strings.TrimRight(sb.String(), "\n"), 3900)
}
