package cli

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/spf13/cobra"
)

// The draft command line: the draft lifecycle as a member (--as EMAIL)
// acting through the "cli" channel.

func (a *app) draftCommand() *cobra.Command {
	return group("draft", "Submit, decide on and follow drafts",
		a.draftSubmit(), a.draftDecide(approvals.VerdictApprove), a.draftDecide(approvals.VerdictReject),
		a.draftRevise(), a.draftWithdraw(), a.draftComment(), a.draftShow(), a.draftList(), a.draftHistory(),
	)
}

// draftFlags holds the flags the draft commands share.
type draftFlags struct {
	workspace string
	as        string
	text      string
	media     []string
	at        *time.Time
}

func (f *draftFlags) actor() approvals.Actor {
	if f.as == "" {
		return approvals.Operator(f.workspace)
	}
	return approvals.Actor{Workspace: f.workspace, Email: f.as, Channel: approvals.ChannelCLI}
}

func (f *draftFlags) add(cmd *cobra.Command, asRequired bool) {
	workspaceFlag(cmd, &f.workspace)
	usage := "acting member's email"
	if asRequired {
		usage += " (required)"
	}
	emailFlag(cmd.Flags(), &f.as, "as", usage)
	if asRequired {
		_ = cmd.MarkFlagRequired("as")
	}
}

func (f *draftFlags) addContent(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.text, "text", "", "the post's text; - reads it from standard input (required)")
	_ = cmd.MarkFlagRequired("text")
	cmd.Flags().StringArrayVar(&f.media, "media", nil, "media URL (http or https; repeatable)")
	cmd.Flags().Var(timeValue{&f.at}, "at", "scheduled publication time, RFC 3339")
}

// readText returns s, or standard input for "-" (less one trailing newline,
// as a shell's $(...) would).
func (a *app) readText(s string) (string, error) {
	if s != "-" {
		return s, nil
	}
	b, err := io.ReadAll(a.stdin)
	if err != nil {
		return "", fmt.Errorf("read standard input: %w", err)
	}
	t := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(t, "\r"), nil
}

func draftID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("invalid draft ID %q: want a positive number", s)
	}
	return id, nil
}

func (a *app) draftSubmit() *cobra.Command {
	var f draftFlags
	var account string
	cmd := &cobra.Command{
		Use:   "submit --workspace SLUG --account HANDLE --as EMAIL --text TEXT [--media URL]... [--at RFC3339]",
		Short: "Submit a draft; prints its ID",
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			text, err := a.readText(f.text)
			if err != nil {
				return err
			}
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			v, err := svc.Submit(cmd.Context(), f.actor(), approvals.DraftInput{Account: account, Text: text, MediaURLs: f.media, ScheduledAt: f.at})
			if err != nil {
				return err
			}
			a.warn(v.Notes)
			return a.print(v, "%d", v.ID)
		}),
	}
	f.add(cmd, true)
	cmd.Flags().StringVar(&account, "account", "", "account handle (required)")
	_ = cmd.MarkFlagRequired("account")
	f.addContent(cmd)
	return cmd
}

func (a *app) draftDecide(verdict approvals.Verdict) *cobra.Command {
	var f draftFlags
	var comment string
	var revision int
	use, short := "approve --workspace SLUG ID --as EMAIL [--revision N] [--comment TEXT]", "Approve a draft in your tier, with a remark for its author if you like"
	if verdict == approvals.VerdictReject {
		use, short = "reject --workspace SLUG ID --as EMAIL --comment TEXT [--revision N]", "Reject a draft with a comment that says what to change"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			id, err := draftID(args[0])
			if err != nil {
				return err
			}
			if revision < 0 {
				return usagef("invalid --revision %d: want a positive number", revision)
			}
			if comment, err = a.readText(comment); err != nil {
				return err
			}
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			res, err := svc.Decide(cmd.Context(), f.actor(), approvals.DecideInput{DraftID: id, Revision: revision, Verdict: verdict, Comment: comment})
			if err != nil {
				return err
			}
			return a.print(res, "%s", res.Message)
		}),
	}
	f.add(cmd, true)
	// Without it the decision is on the current revision, which a revise
	// racing the command may have just replaced: the answer names it.
	cmd.Flags().IntVar(&revision, "revision", 0, "the revision you read (see draft show); refused if the draft was revised since")
	if verdict == approvals.VerdictReject {
		cmd.Flags().StringVar(&comment, "comment", "", "what to change; - reads it from standard input (required)")
		_ = cmd.MarkFlagRequired("comment")
	} else {
		cmd.Flags().StringVar(&comment, "comment", "", `a remark the author is told with the approval ("fix the typo in the last line"); - reads it from standard input`)
	}
	return cmd
}

func (a *app) draftRevise() *cobra.Command {
	var f draftFlags
	cmd := &cobra.Command{
		Use:   "revise --workspace SLUG ID --as EMAIL --text TEXT [--media URL]... [--at RFC3339]",
		Short: "Make a new revision of a draft and restart its approval",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			id, err := draftID(args[0])
			if err != nil {
				return err
			}
			text, err := a.readText(f.text)
			if err != nil {
				return err
			}
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			v, err := svc.Revise(cmd.Context(), f.actor(), id, approvals.DraftInput{Text: text, MediaURLs: f.media, ScheduledAt: f.at})
			if err != nil {
				return err
			}
			a.warn(v.Notes)
			return a.print(v, "revised draft %d to revision %d; it is now %s", v.ID, v.Revision, v.State)
		}),
	}
	f.add(cmd, true)
	f.addContent(cmd)
	return cmd
}

func (a *app) draftWithdraw() *cobra.Command {
	var f draftFlags
	cmd := &cobra.Command{
		Use:   "withdraw --workspace SLUG ID --as EMAIL",
		Short: "Withdraw a draft that is not yet approved",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			id, err := draftID(args[0])
			if err != nil {
				return err
			}
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			v, err := svc.Withdraw(cmd.Context(), f.actor(), id)
			if err != nil {
				return err
			}
			return a.print(v, "withdrew draft %d", v.ID)
		}),
	}
	f.add(cmd, true)
	return cmd
}

func (a *app) draftComment() *cobra.Command {
	var f draftFlags
	var internal bool
	cmd := &cobra.Command{
		Use:   "comment --workspace SLUG ID --as EMAIL --text TEXT [--internal]",
		Short: "Comment on a draft (not a decision)",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			id, err := draftID(args[0])
			if err != nil {
				return err
			}
			text, err := a.readText(f.text)
			if err != nil {
				return err
			}
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			c, err := svc.AddComment(cmd.Context(), f.actor(), id, approvals.CommentInput{Text: text, Internal: internal})
			if err != nil {
				return err
			}
			return a.print(c, "commented on draft %d", c.DraftID)
		}),
	}
	f.add(cmd, true)
	cmd.Flags().StringVar(&f.text, "text", "", "the comment; - reads it from standard input (required)")
	_ = cmd.MarkFlagRequired("text")
	cmd.Flags().BoolVar(&internal, "internal", false, "for staff only: clients never see it")
	return cmd
}

func (a *app) draftShow() *cobra.Command {
	var f draftFlags
	cmd := &cobra.Command{
		Use:   "show --workspace SLUG ID [--as EMAIL]",
		Short: "Show a draft: state, current revision, tiers and who decided",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			id, err := draftID(args[0])
			if err != nil {
				return err
			}
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			v, err := svc.Show(cmd.Context(), f.actor(), id)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.print(v, "")
			}
			return a.showDraft(v)
		}),
	}
	f.add(cmd, false)
	return cmd
}

func (a *app) showDraft(v *approvals.DraftView) error {
	w := a.stdout
	fmt.Fprintf(w, "draft %d on %s (%s) by %s\n", v.ID, v.Account.Handle, v.Account.Name, v.Author.Label())
	if v.Account.Network != "" {
		fmt.Fprintf(w, "network:  %s\n", networkName(v.Account.Network))
	}
	fmt.Fprintf(w, "state:    %s\n", v.State)
	// The revision the reader sees: a client's may be older than the draft's.
	fmt.Fprintf(w, "revision: %d (%s)\n", v.Current.Number, v.Current.CreatedAt.UTC().Format(time.RFC3339))
	if v.Current.ScheduledAt != nil {
		fmt.Fprintf(w, "scheduled: %s\n", v.Current.ScheduledAt.UTC().Format(time.RFC3339))
	}
	for _, m := range v.Current.MediaURLs {
		fmt.Fprintf(w, "media:    %s\n", m)
	}
	for _, t := range v.Tiers {
		if !t.Required {
			fmt.Fprintf(w, "%s tier: not required\n", t.Tier)
			continue
		}
		fmt.Fprintf(w, "%s tier (%s): %s\n", t.Tier, t.Rule, t.Status)
		for _, ap := range t.Approvers {
			line := "  " + ap.Name
			if ap.Email != "" {
				line += " <" + ap.Email + ">"
			}
			if ap.Verdict != "" && ap.At != nil {
				line += fmt.Sprintf(": %s at %s via %s", ap.Verdict, ap.At.UTC().Format(time.RFC3339), ap.Channel)
				if ap.Comment != "" {
					line += ": " + strconv.Quote(ap.Comment)
				}
			} else if t.Status == "pending" {
				line += ": waiting"
			} else {
				line += ": no decision"
			}
			fmt.Fprintln(w, line)
		}
	}
	fmt.Fprintln(w, "text:")
	for _, l := range strings.Split(v.Current.Text, "\n") {
		fmt.Fprintln(w, "  "+l)
	}
	_, err := fmt.Fprintln(w)
	return err
}

func (a *app) draftList() *cobra.Command {
	var f draftFlags
	var in approvals.ListInput
	cmd := &cobra.Command{
		Use:   "list --workspace SLUG --as EMAIL [--status STATE] [--account HANDLE]",
		Short: "List the drafts a member can see, newest first",
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			ds, err := svc.List(cmd.Context(), f.actor(), in)
			if err != nil {
				return err
			}
			return printList(a, ds, "no drafts", "ID\tACCOUNT\tSTATE\tREV\tAUTHOR\tUPDATED\tTEXT", func(d approvals.DraftSummary) string {
				return fmt.Sprintf("%d\t%s\t%s\t%d\t%s\t%s\t%s", d.ID, d.Account, d.State, d.Revision, d.Author,
					d.UpdatedAt.UTC().Format("2006-01-02 15:04"), excerpt(d.Text, 50))
			})
		}),
	}
	f.add(cmd, true)
	cmd.Flags().Var(stateValue{&in.State}, "status", "only drafts in this state (pending_internal, pending_client, approved, rejected, withdrawn)")
	cmd.Flags().StringVar(&in.Account, "account", "", "only drafts of this account")
	return cmd
}

// excerpt returns the first line of s, cut to n characters.
func excerpt(s string, n int) string {
	s, _, more := strings.Cut(s, "\n")
	r := []rune(s)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	if more {
		return s + " …"
	}
	return s
}

func (a *app) draftHistory() *cobra.Command {
	var f draftFlags
	cmd := &cobra.Command{
		Use:   "history --workspace SLUG ID [--as EMAIL]",
		Short: "Show everything that happened to a draft",
		Args:  cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			id, err := draftID(args[0])
			if err != nil {
				return err
			}
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			h, err := svc.DraftHistory(cmd.Context(), f.actor(), id)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.print(h, "")
			}
			return a.showHistory(h)
		}),
	}
	f.add(cmd, false)
	return cmd
}

func (a *app) showHistory(h *approvals.History) error {
	type line struct {
		at   time.Time
		text string
	}
	var lines []line
	for _, r := range h.Revisions {
		lines = append(lines, line{r.CreatedAt, fmt.Sprintf("revision %d: %s", r.Number, strconv.Quote(excerpt(r.Text, 60)))})
	}
	for _, d := range h.Decisions {
		verb := "approved"
		if d.Verdict == approvals.VerdictReject {
			verb = "rejected"
		}
		t := fmt.Sprintf("%s %s revision %d in the %s tier via %s", d.Approver, verb, d.Revision, d.Tier, d.Channel)
		if d.Comment != "" {
			t += ": " + strconv.Quote(d.Comment)
		}
		lines = append(lines, line{d.CreatedAt, t})
	}
	for _, c := range h.Comments {
		lines = append(lines, line{c.CreatedAt, fmt.Sprintf("%s commented via %s: %s", c.Author, c.Channel, strconv.Quote(c.Text))})
	}
	for _, e := range h.Audit {
		t := fmt.Sprintf("%s %s via %s: %s", e.Actor, e.Action, e.Channel, e.Outcome)
		if e.Detail != "" {
			t += " (" + e.Detail + ")"
		}
		lines = append(lines, line{e.At, "audit: " + t})
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at.Before(lines[j].at) })
	fmt.Fprintf(a.stdout, "draft %d on %s: %s, revision %d\n", h.Draft.ID, h.Draft.Account.Handle, h.Draft.State, h.Draft.Current.Number)
	for _, l := range lines {
		fmt.Fprintf(a.stdout, "%s  %s\n", l.at.UTC().Format("2006-01-02 15:04:05"), l.text)
	}
	return nil
}

func (a *app) outboxCommand() *cobra.Command {
	var state approvals.OutboxState
	var limit int
	list := &cobra.Command{
		Use:   "list [--state pending|dead|sent]",
		Short: "List outbox messages, newest first",
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			ms, err := svc.Outbox(cmd.Context(), state, limit)
			if err != nil {
				return err
			}
			return printList(a, ms, "no outbox messages", "ID\tSTATE\tCHANNEL\tEVENT\tDRAFT\tTO\tATTEMPTS\tNEXT ATTEMPT\tLAST ERROR",
				func(m *approvals.OutboxMessage) string {
					return fmt.Sprintf("%d\t%s\t%s\t%s\t%d/%d\t%s\t%d\t%s\t%s", m.ID, m.State, m.Channel, m.Payload.Event,
						m.Payload.DraftID, m.Payload.Revision, dash(m.Payload.Target), m.Attempts,
						m.NextAttemptAt.UTC().Format(time.RFC3339), excerpt(m.LastError, 60))
				})
		}),
	}
	list.Flags().Var(outboxStateValue{&state}, "state", "only messages in this state: pending, sent or dead")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many messages")
	return group("outbox", "Inspect the notification outbox", list)
}
