package approvals

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// SlackLinkTx is what linking a Slack user to a member reads and writes
// (embedded in Tx). Every lookup is scoped to the workspace.
type SlackLinkTx interface {
	// BlockSlackLink records that an admin unlinked the Slack user from
	// the member (idempotent); UnblockSlackLink forgets it; SlackLinkBlocked
	// reports whether it is recorded.
	BlockSlackLink(ctx context.Context, workspaceID, memberID int64, slackUserID string) error
	UnblockSlackLink(ctx context.Context, workspaceID, memberID int64, slackUserID string) error
	SlackLinkBlocked(ctx context.Context, workspaceID, memberID int64, slackUserID string) (bool, error)

	// CreateSlackLinkRequest inserts r and sets its ID and CreatedAt.
	CreateSlackLinkRequest(ctx context.Context, r *SlackLinkRequest) error
	// OpenSlackLinkRequest returns the newest unused request of the pair
	// created at or after since. Errors: ENOTFOUND.
	OpenSlackLinkRequest(ctx context.Context, workspaceID, memberID int64, slackUserID string, since time.Time) (*SlackLinkRequest, error)
	// LockSlackLinkRequest returns the request with a row lock held until
	// the transaction ends. Errors: ENOTFOUND.
	LockSlackLinkRequest(ctx context.Context, workspaceID, id int64) (*SlackLinkRequest, error)
	// UseSlackLinkRequest marks the request used at at.
	UseSlackLinkRequest(ctx context.Context, workspaceID, id int64, at time.Time) error

	// RecordDelivery records that the request named key (a Slack delivery)
	// was acted on in this transaction. It costs no round trip of its own:
	// the commit fails with ECONFLICT, Reason ReasonDelivered, when the key
	// was recorded before (by an earlier delivery of the same request),
	// so nothing the transaction did is kept.
	RecordDelivery(ctx context.Context, key string) error
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

// SlackUser is what Slack's users.info said of a user, as the bot read it:
// plain facts for LinkSlackUser to judge.
type SlackUser struct {
	ID string
	// TeamID is the user's own team (users.info team_id): a Slack Connect
	// user from another organisation has theirs, not the workspace's.
	TeamID         string
	Email          string // the profile email
	EmailConfirmed bool   // is_email_confirmed
	// Restricted and UltraRestricted are Slack's multi- and single-channel
	// guests (is_restricted, is_ultra_restricted).
	Restricted      bool
	UltraRestricted bool
	Bot             bool // is_bot (apps and bots)
	Deleted         bool
}

// slackTrust is how far a Slack user's profile may be trusted to link them.
type slackTrust int

const (
	slackUntrusted slackTrust = iota // no link by email at all
	slackConfirm                     // only once the member confirms by a link emailed to them
	slackAuto                        // at once: a full member of the workspace's own team
)

// slackTrustOf decides how a Slack user may be linked in ws: automatically
// only a full (not guest) human member of the workspace's own Slack team
// whose email Slack confirmed; a guest or a user of another team (Slack
// Connect) whose confirmed email is a member's only after that member
// confirms by email; a bot, a deleted user or an unconfirmed email never.
func slackTrustOf(ws *Workspace, u SlackUser) slackTrust {
	switch {
	case u.Bot || u.Deleted || !u.EmailConfirmed || normEmail(u.Email) == "":
		return slackUntrusted
	case u.TeamID == "" || u.TeamID != ws.SlackTeamID || u.Restricted || u.UltraRestricted:
		return slackConfirm
	}
	return slackAuto
}

// SlackLinkRequest is a one-time confirmation emailed to a member: the Slack
// user (of another team, or a guest) who asked to be linked to them.
type SlackLinkRequest struct {
	ID          int64      `json:"id"`
	WorkspaceID int64      `json:"workspace_id"`
	MemberID    int64      `json:"member_id"`
	SlackUserID string     `json:"slack_user_id"`
	SlackTeamID string     `json:"slack_team_id"`
	CreatedAt   time.Time  `json:"created_at"`
	UsedAt      *time.Time `json:"used_at,omitempty"`
}

// LinkSlackUser links a Slack user, who wrote to the bot from the Slack
// team teamID, to the member of the team's workspace whose email is the
// user's profile email as Slack's users.info returned it (never one typed
// in a message). A full member of the workspace's own team with a confirmed
// email is linked at once; a guest or a user of another team (Slack
// Connect) gets a one-time confirmation link emailed to the member's
// address on file and is linked when the member confirms (ConfirmSlackLink).
// It links only a member who is active, not linked to another Slack user,
// and whom an admin did not unlink from this Slack user. A user already
// linked gets their member back unchanged. Links, requests and refusals are
// audited.
// Errors: EINVALID (no user); EUNAUTHORIZED (team not bound, no usable
// email, no such member, member deactivated, linked to someone else or
// unlinked by an admin, or a confirmation was emailed: the message says so).
func (s *Service) LinkSlackUser(ctx context.Context, teamID string, u SlackUser) (*Member, error) {
	slackUserID := strings.TrimSpace(u.ID)
	if slackUserID == "" {
		return nil, Errorf(EINVALID, "no Slack user given")
	}
	if strings.TrimSpace(teamID) == "" {
		return nil, Errorf(EUNAUTHORIZED, "no Slack team given")
	}
	a := Actor{SlackUserID: slackUserID, Channel: ChannelSlack, Meta: Meta{SlackTeamID: teamID, SlackUserID: slackUserID}}
	var out *Member
	var emailed *Error // the answer when a confirmation was queued: the queueing must commit
	err := s.audited(ctx, a, "member.link_slack", runOpts{unlinked: true}, func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if p.member != nil { // linked meanwhile (a concurrent request)
			out, e.Detail = p.member, "already linked"
			return nil
		}
		ws := p.ws
		howTo := "ask an admin to run: signoff admin member set --workspace " + ws.Slug + " --email YOUR_EMAIL --slack-user " + slackUserID
		trust := slackTrustOf(ws, u)
		email := normEmail(u.Email)
		if trust == slackUntrusted {
			return Errorf(EUNAUTHORIZED, "your Slack profile shows Signoff no confirmed email address, so it cannot link you to a member of %q; %s", ws.Name, howTo)
		}
		m, err := tx.MemberByEmail(ctx, ws.ID, email)
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(EUNAUTHORIZED, "your Slack email %s is not the email of a member of %q; ask an admin to add you with that email, or %s", email, ws.Name, howTo)
		} else if err != nil {
			return err
		}
		e.ActorID, e.Actor = m.ID, m.Label()
		if err := s.linkable(ctx, tx, ws, m, slackUserID, howTo); err != nil {
			return err
		}
		if trust == slackConfirm {
			r, err := s.slackLinkRequest(ctx, tx, ws, m, slackUserID, u.TeamID)
			if err != nil {
				return err
			}
			e.Detail = fmt.Sprintf("confirmation link #%d for Slack user %s (team %s) emailed to %s", r.ID, slackUserID, u.TeamID, m.Email)
			emailed = Errorf(EUNAUTHORIZED, "you are not linked yet: Signoff emailed a one-time confirmation link to %s, the address on file for that member of %q; open it and confirm to link your Slack user, or %s", m.Email, ws.Name, howTo)
			return nil
		}
		m.SlackUserID = slackUserID
		if err := tx.UpdateMember(ctx, m); err != nil {
			return err
		}
		e.Detail = "linked Slack user " + slackUserID + " by verified email " + email
		out = m
		return nil
	})
	if err == nil && emailed != nil {
		return nil, emailed
	}
	return out, err
}

// linkable refuses linking slackUserID to m on the rules every way of
// linking but an admin's shares: m is active, linked to nobody else, and
// no admin unlinked this very pair.
func (s *Service) linkable(ctx context.Context, tx Tx, ws *Workspace, m *Member, slackUserID, howTo string) error {
	if !m.Active() {
		return Errorf(EUNAUTHORIZED, "the member %s was deactivated in %q and cannot be linked", m.Email, ws.Name)
	}
	if m.SlackUserID != "" && m.SlackUserID != slackUserID {
		return Errorf(EUNAUTHORIZED, "the member %s is linked to another Slack user; %s", m.Email, howTo)
	}
	blocked, err := tx.SlackLinkBlocked(ctx, ws.ID, m.ID, slackUserID)
	if err != nil {
		return err
	}
	if blocked {
		return Errorf(EUNAUTHORIZED, "an admin unlinked Slack user %s from %s, so it is not linked again automatically; %s", slackUserID, m.Email, howTo)
	}
	return nil
}

// slackLinkRequest returns the open confirmation of the pair made within
// resendWindow, or makes one and queues its email: repeated attempts send
// one email per window.
func (s *Service) slackLinkRequest(ctx context.Context, tx Tx, ws *Workspace, m *Member, slackUserID, slackTeamID string) (*SlackLinkRequest, error) {
	now := s.now()
	r, err := tx.OpenSlackLinkRequest(ctx, ws.ID, m.ID, slackUserID, now.Add(-resendWindow))
	if err == nil {
		return r, nil
	} else if ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	r = &SlackLinkRequest{WorkspaceID: ws.ID, MemberID: m.ID, SlackUserID: slackUserID, SlackTeamID: slackTeamID, CreatedAt: now}
	if err := tx.CreateSlackLinkRequest(ctx, r); err != nil {
		return nil, err
	}
	n := Notification{Event: EventSlackLinkRequested, WorkspaceID: ws.ID, RecipientID: m.ID, Target: m.Email,
		LinkRequestID: r.ID, Channel: ChannelSlack}
	msg := s.message(ChannelEmail, n, m.ID, m.Email)
	msg.IdempotencyKey = fmt.Sprintf("%s/l%d", EventSlackLinkRequested, r.ID)
	return r, s.enqueue(ctx, tx, []*OutboxMessage{msg})
}

// SlackLinkConfirmation is what a Slack link confirmation shows: the
// request, the member it is for and their workspace.
type SlackLinkConfirmation struct {
	Request   *SlackLinkRequest
	Member    *Member
	Workspace *Workspace
}

// SlackLinkNotice loads what the email of an EventSlackLinkRequested
// notification shows. It audits nothing.
// Errors: ENOTFOUND (the request or member is gone); ECONFLICT (the
// request was used); EUNAUTHORIZED (the member was deactivated).
func (s *Service) SlackLinkNotice(ctx context.Context, n Notification) (*SlackLinkConfirmation, error) {
	var out *SlackLinkConfirmation
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		ws, err := tx.WorkspaceByID(ctx, n.WorkspaceID)
		if err != nil {
			return err
		}
		m, err := tx.MemberByID(ctx, ws.ID, n.RecipientID)
		if err != nil {
			return err
		}
		out, err = s.slackLinkOpen(ctx, tx, ws, m, n.LinkRequestID)
		return err
	})
	return out, err
}

// slackLinkOpen returns the request id of member m, locked, if it may
// still be confirmed.
func (s *Service) slackLinkOpen(ctx context.Context, tx Tx, ws *Workspace, m *Member, id int64) (*SlackLinkConfirmation, error) {
	if !m.Active() {
		return nil, &Error{Code: EUNAUTHORIZED, Reason: ReasonDeactivated, Message: "this link is no longer valid: its member was deactivated"}
	}
	r, err := tx.LockSlackLinkRequest(ctx, ws.ID, id)
	if ErrorCode(err) == ENOTFOUND || (err == nil && r.MemberID != m.ID) {
		return nil, Errorf(ENOTFOUND, "this Slack link confirmation does not exist")
	} else if err != nil {
		return nil, err
	}
	if r.UsedAt != nil {
		return nil, Errorf(ECONFLICT, "this confirmation link was already used at %s; it works once", Stamp(*r.UsedAt))
	}
	return &SlackLinkConfirmation{Request: r, Member: m, Workspace: ws}, nil
}

// PreviewSlackLink answers, changing nothing, whether the actor (the member
// a confirmation link was emailed to, as the channel verified it) may still
// confirm the request id: the page behind the link shows it and a confirm
// form. Errors: as ConfirmSlackLink.
func (s *Service) PreviewSlackLink(ctx context.Context, a Actor, id int64) (*SlackLinkConfirmation, error) {
	var out *SlackLinkConfirmation
	err := s.read(ctx, a, "member.link_slack_preview", func(ctx context.Context, tx Tx, p *principal) error {
		if err := requireMember(p); err != nil {
			return err
		}
		c, err := s.slackLinkOpen(ctx, tx, p.ws, p.member, id)
		if err != nil {
			return err
		}
		out = c
		return s.linkable(ctx, tx, p.ws, p.member, c.Request.SlackUserID, "ask an admin to link you")
	})
	return out, err
}

// ConfirmSlackLink links the Slack user of the request id to the actor, the
// member the confirmation link was emailed to, and uses the request up.
// Errors: ENOTFOUND (no such request of theirs); ECONFLICT (used already,
// or the Slack user is linked to another member); EUNAUTHORIZED (the member
// is deactivated, linked to another Slack user, or an admin unlinked the
// pair).
func (s *Service) ConfirmSlackLink(ctx context.Context, a Actor, id int64) (*Member, error) {
	var out *Member
	err := s.change(ctx, a, "member.link_slack", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireMember(p); err != nil {
			return err
		}
		c, err := s.slackLinkOpen(ctx, tx, p.ws, p.member, id)
		if err != nil {
			return err
		}
		r, m := c.Request, p.member
		if err := s.linkable(ctx, tx, p.ws, m, r.SlackUserID, "ask an admin to link you"); err != nil {
			return err
		}
		if err := tx.UseSlackLinkRequest(ctx, p.ws.ID, r.ID, s.now()); err != nil {
			return err
		}
		m.SlackUserID = r.SlackUserID
		if err := tx.UpdateMember(ctx, m); err != nil {
			return err
		}
		e.Detail = fmt.Sprintf("linked Slack user %s (team %s) by confirmation link #%d", r.SlackUserID, r.SlackTeamID, r.ID)
		out = m
		return nil
	})
	return out, err
}
