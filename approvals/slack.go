package approvals

import (
	"context"
	"strings"
	"time"
)

// SlackMessage is a Slack message the bot posted for an approval request:
// where it is, so that later events (a decision, a revision) update it in
// place with chat.update.
type SlackMessage struct {
	WorkspaceID int64     `json:"workspace_id"`
	DraftID     int64     `json:"draft_id"`
	Revision    int       `json:"revision"`
	Tier        Tier      `json:"tier"`
	Target      string    `json:"target"`  // the outbox target: a channel ID or a user ID (DM)
	Channel     string    `json:"channel"` // the conversation ID Slack returned
	TS          string    `json:"ts"`
	CreatedAt   time.Time `json:"created_at"`
}

// SlackMember returns the member linked to a Slack user of the team bound to
// a workspace. It audits nothing: it is how the bot learns whether to link.
// Errors: EUNAUTHORIZED (the team is bound to no workspace), ENOTFOUND (the
// user is not linked).
func (s *Service) SlackMember(ctx context.Context, teamID, slackUserID string) (*Member, error) {
	var out *Member
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		ws, err := s.slackWorkspace(ctx, tx, teamID)
		if err != nil {
			return err
		}
		out, err = tx.MemberBySlackUser(ctx, ws.ID, slackUserID)
		return err
	})
	return out, err
}

func (s *Service) slackWorkspace(ctx context.Context, tx Tx, teamID string) (*Workspace, error) {
	if strings.TrimSpace(teamID) == "" {
		return nil, Errorf(EUNAUTHORIZED, "no Slack team given")
	}
	ws, err := tx.WorkspaceBySlackTeam(ctx, teamID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(EUNAUTHORIZED, "this Slack team is not connected to a Signoff workspace; ask your Signoff admin to run: signoff admin workspace set SLUG --slack-team %s", teamID)
	}
	return ws, err
}

// LinkSlackUser links a Slack user to the member of the team's workspace
// whose email is verifiedEmail: the email from the user's Slack profile, as
// Slack's API returned it (never one typed in a message). It links only when
// that email names exactly one member (emails are unique per workspace) who
// is not linked to another Slack user. A user already linked gets their
// member back unchanged. Links and refusals are audited.
// Errors: EUNAUTHORIZED (team not bound, no email, no such member, member
// linked to someone else).
func (s *Service) LinkSlackUser(ctx context.Context, teamID, slackUserID, verifiedEmail string) (*Member, error) {
	a := Actor{SlackUserID: slackUserID, Channel: ChannelSlack, Meta: Meta{SlackTeamID: teamID, SlackUserID: slackUserID}}
	var out *Member
	var refused *AuditEntry
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		e := &AuditEntry{At: s.now(), Channel: ChannelSlack, Action: "member.link_slack", Outcome: OutcomeOK, Meta: a.Meta, Actor: a.label()}
		err := func() error {
			if strings.TrimSpace(slackUserID) == "" {
				return Errorf(EINVALID, "no Slack user given")
			}
			ws, err := s.slackWorkspace(ctx, tx, teamID)
			if err != nil {
				return err
			}
			e.WorkspaceID = ws.ID
			if m, err := tx.MemberBySlackUser(ctx, ws.ID, slackUserID); err == nil {
				out = m
				return nil
			} else if ErrorCode(err) != ENOTFOUND {
				return err
			}
			howTo := "ask an admin to run: signoff admin member set --workspace " + ws.Slug + " --email YOUR_EMAIL --slack-user " + slackUserID
			email := normEmail(verifiedEmail)
			if email == "" {
				return Errorf(EUNAUTHORIZED, "your Slack profile shows Signoff no email address, so it cannot link you to a member of %q; %s", ws.Name, howTo)
			}
			m, err := tx.MemberByEmail(ctx, ws.ID, email)
			if ErrorCode(err) == ENOTFOUND {
				return Errorf(EUNAUTHORIZED, "your Slack email %s is not the email of a member of %q; ask an admin to add you with that email, or %s", email, ws.Name, howTo)
			} else if err != nil {
				return err
			}
			e.ActorID, e.Actor = m.ID, m.Label()
			if m.SlackUserID != "" && m.SlackUserID != slackUserID {
				return Errorf(EUNAUTHORIZED, "the member %s is linked to another Slack user; ask an admin to relink: %s", m.Email, howTo)
			}
			m.SlackUserID = slackUserID
			if err := tx.UpdateMember(ctx, m); err != nil {
				return err
			}
			e.Detail = "linked Slack user " + slackUserID + " by verified email " + email
			out = m
			return tx.AppendAudit(ctx, e)
		}()
		if err != nil {
			e.Outcome, e.Detail = OutcomeRefused, ErrorMessage(err)
			refused = e
		}
		return err
	})
	if err != nil && refused != nil && auditable(err) {
		if aerr := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.AppendAudit(ctx, refused) }); aerr != nil {
			s.Logger.ErrorContext(ctx, "audit refused attempt", "action", "member.link_slack", "err", aerr)
		}
	}
	return out, err
}

// BindChannel binds the account to a Slack channel: its client-tier
// requests are posted there. It needs "manage" on the account.
// Errors: ENOTFOUND, EINVALID, EUNAUTHORIZED.
func (s *Service) BindChannel(ctx context.Context, a Actor, handle, channelID string) (*Account, error) {
	channelID = strings.TrimSpace(channelID)
	if channelID == "" {
		return nil, Errorf(EINVALID, "no Slack channel given")
	}
	return s.SetAccount(ctx, a, handle, AccountSettings{SlackChannel: &channelID})
}

// Inbox is what a member has on their plate: the drafts waiting on their
// decision and their own drafts still in flight.
type Inbox struct {
	Member *Member `json:"member"`
	// Waiting are drafts in a tier the member approves, on their current
	// revision, which the member has not decided yet (never their own).
	Waiting []*DraftView `json:"waiting"`
	// Mine are the member's own drafts that wait on a tier or were rejected.
	Mine []DraftSummary `json:"mine"`
}

// Inbox returns the actor's inbox (for Slack's App Home).
// Errors: ENOTFOUND, EUNAUTHORIZED.
func (s *Service) Inbox(ctx context.Context, a Actor) (*Inbox, error) {
	var out *Inbox
	err := s.view(ctx, a, "draft.inbox", func(ctx context.Context, tx Tx, p *principal) error {
		if err := requireMember(p); err != nil {
			return err
		}
		access, err := s.memberAccess(ctx, tx, p.member, true)
		if err != nil {
			return err
		}
		in := &Inbox{Member: p.member, Waiting: []*DraftView{}, Mine: []DraftSummary{}}
		handles := map[int64]string{}
		var ids []int64
		for _, acc := range access {
			handles[acc.Account.ID] = acc.Account.Handle
			ids = append(ids, acc.Account.ID)
			if len(acc.Tiers) == 0 {
				continue
			}
			ds, err := tx.PendingDrafts(ctx, p.ws.ID, acc.Account.ID)
			if err != nil {
				return err
			}
			for _, d := range ds {
				t, _ := d.State.Tier()
				if !acc.IsApprover(t) || d.AuthorID == p.member.ID || !canSee(p.member, acc, d) {
					continue
				}
				decisions, err := tx.Decisions(ctx, d.ID)
				if err != nil {
					return err
				}
				decided := false
				for _, x := range decisions {
					if x.Revision == d.Revision && x.Tier == t && x.ApproverID == p.member.ID {
						decided = true
					}
				}
				if decided {
					continue
				}
				v, err := s.draftView(ctx, tx, p.ws, d)
				if err != nil {
					return err
				}
				in.Waiting = append(in.Waiting, v)
			}
		}
		if len(ids) > 0 {
			ds, err := tx.Drafts(ctx, DraftFilter{WorkspaceID: p.ws.ID, AccountIDs: ids,
				States: []State{StatePendingInternal, StatePendingClient, StateRejected}, Limit: 200})
			if err != nil {
				return err
			}
			for _, d := range ds {
				if d.AuthorID != p.member.ID {
					continue
				}
				in.Mine = append(in.Mine, DraftSummary{ID: d.ID, Account: handles[d.AccountID], Author: p.member.Label(),
					State: d.State, Revision: d.Revision, Text: d.Text, UpdatedAt: d.UpdatedAt})
			}
		}
		out = in
		return nil
	})
	return out, err
}

// DraftField names a field of DraftInput, for channels that show an error
// next to the field it is about (Slack modals).
type DraftField string

const (
	FieldText     DraftField = "text"
	FieldMedia    DraftField = "media"
	FieldSchedule DraftField = "schedule"
)

// InputErrors checks a submission or revision field by field with the very
// rules Submit and Revise apply, and returns the error of each field that
// breaks one (an empty map when the content is acceptable). Access and the
// account's approvers are checked by Submit and Revise themselves.
func (s *Service) InputErrors(in DraftInput) map[DraftField]error {
	errs := map[DraftField]error{}
	if err := s.validateInput(DraftInput{Text: in.Text}); err != nil {
		errs[FieldText] = err
	}
	const ok = "x" // a text that passes, to check the other fields alone
	if err := s.validateInput(DraftInput{Text: ok, MediaURLs: in.MediaURLs}); err != nil {
		errs[FieldMedia] = err
	}
	if err := s.validateInput(DraftInput{Text: ok, ScheduledAt: in.ScheduledAt}); err != nil {
		errs[FieldSchedule] = err
	}
	return errs
}
