// Package approvals is Signoff's core: the domain types, the access rules, the
// draft state machine and the one Service that every channel (CLI, Slack,
// email links, API) calls. It imports no database, Slack, SMTP or HTTP
// package; it defines the interfaces it consumes (Store, Sender).
package approvals

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Service owns every rule. Channels translate their medium into its calls and
// its errors back into their medium.
type Service struct {
	store Store
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Logger receives operational logs (never tokens or secrets).
	Logger *slog.Logger
	// Channels lists optional channels this deployment feeds besides email
	// (always) and Slack (for workspaces bound to a Slack team), such as a
	// publishing webhook.
	Channels []Channel
	// Metrics, when set, receives operational counts (see Metrics).
	Metrics Metrics
	// MediaFetcher, when set, fetches media for previews (preview.go);
	// MediaTimeout bounds that for one revision (DefaultMediaTimeout).
	MediaFetcher MediaFetcher
	MediaTimeout time.Duration

	refusals *refusalLimiter
}

// NewService returns a Service over store.
func NewService(store Store) *Service {
	return &Service{store: store, Now: time.Now, Logger: slog.Default(), refusals: newRefusalLimiter()}
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) notifies(c Channel) bool {
	for _, x := range s.Channels {
		if x == c {
			return true
		}
	}
	return false
}

// Actor is who asks for an action, as the channel knows them. Exactly one
// identity is set: Email (CLI, API), MemberID (an email link, whose token the
// channel verified) or SlackUserID (Slack, with Meta.SlackTeamID). An Actor
// with none of them on ChannelCLI is the operator at the server's console,
// who is trusted for administration but is no member and decides nothing.
type Actor struct {
	Workspace   string // slug; or WorkspaceID
	WorkspaceID int64
	Email       string
	MemberID    int64
	SlackUserID string
	// Token is the API token the request carried, as Authenticate found it;
	// with MemberID set for a member's token, alone for a publisher's.
	Token   *APIToken
	Channel Channel
	Meta    Meta
}

// Operator returns the console operator's Actor for the workspace slug.
func Operator(workspace string) Actor { return Actor{Workspace: workspace, Channel: ChannelCLI} }

func (a Actor) isOperator() bool {
	return a.Channel == ChannelCLI && a.Email == "" && a.MemberID == 0 && a.SlackUserID == ""
}

func (a Actor) label() string {
	switch {
	case a.Email != "":
		return a.Email
	case a.SlackUserID != "":
		return "slack:" + a.SlackUserID
	case a.MemberID != 0:
		return "member"
	case a.isOperator():
		return "operator"
	case a.Token != nil:
		return "token " + a.Token.Name
	}
	return "unknown"
}

// principal is a resolved actor.
type principal struct {
	ws     *Workspace
	member *Member   // nil for the operator and for a publisher token
	token  *APIToken // the API token the actor came with, checked again in the transaction
	actor  Actor
}

func (p *principal) memberID() int64 {
	if p.member == nil {
		return 0
	}
	return p.member.ID
}

func (p *principal) label() string {
	if p.member != nil {
		return p.member.Label()
	}
	return p.actor.label()
}

// resolve finds the workspace and member an actor names. A token that acts
// for no member (a publisher's) is refused unless publisher is true: such a
// principal has no member, like the operator, and must never pass for one.
func (s *Service) resolve(ctx context.Context, tx Tx, a Actor, publisher bool) (*principal, error) {
	if a.Token != nil {
		p, err := s.tokenCaller(ctx, tx, a)
		if err == nil && p.member != nil && !p.member.Active() {
			err = deactivatedError(p.ws, p.member, a)
		}
		if err == nil && p.member == nil && !publisher {
			err = Errorf(EUNAUTHORIZED, "API token %q acts for no member, so it may only read approved drafts and mark them published; create a token with --member EMAIL to do this", a.Token.Name)
		}
		return p, err
	}
	var k PrincipalKey
	switch {
	case a.WorkspaceID != 0:
		k.WorkspaceID = a.WorkspaceID
	case a.Workspace != "":
		k.Workspace = a.Workspace
	case a.Meta.SlackTeamID != "":
		k.SlackTeamID = a.Meta.SlackTeamID
	default:
		return nil, Errorf(EINVALID, "no workspace given")
	}
	switch {
	case a.Email != "":
		k.Email = a.Email
	case a.MemberID != 0:
		k.MemberID = a.MemberID
	case a.SlackUserID != "":
		k.SlackUserID = a.SlackUserID
	}
	// The workspace and the member in one round trip.
	ws, m, err := tx.Principal(ctx, k)
	if ws == nil {
		if k.SlackTeamID != "" && ErrorCode(err) == ENOTFOUND {
			return nil, Errorf(EUNAUTHORIZED, "this Slack team is not connected to a Signoff workspace; ask your Signoff admin to run: signoff admin workspace set SLUG --slack-team %s", a.Meta.SlackTeamID)
		}
		return nil, err
	}
	p := &principal{ws: ws, actor: a}
	switch {
	case err != nil && ErrorCode(err) != ENOTFOUND:
		return p, err
	case k.Email != "":
		if m == nil {
			return p, Errorf(EUNAUTHORIZED, "%q is not a member of workspace %q", a.Email, ws.Slug)
		}
		p.member = m
	case k.MemberID != 0:
		if m == nil {
			return p, Errorf(EUNAUTHORIZED, "you are no longer a member of workspace %q", ws.Name)
		}
		p.member = m
	case k.SlackUserID != "":
		if m == nil {
			return p, Errorf(EUNAUTHORIZED, "your Slack user is not linked to a member of %q; run /signoff link, or ask an admin to run: signoff admin member set --workspace %s --email YOUR_EMAIL --slack-user %s", ws.Name, ws.Slug, a.SlackUserID)
		}
		p.member = m
	case a.isOperator():
	default:
		return p, Errorf(EUNAUTHORIZED, "unknown actor")
	}
	if p.member != nil && !p.member.Active() {
		return p, deactivatedError(ws, p.member, a)
	}
	return p, nil
}

// deactivatedError refuses a deactivated member, in the words of the channel
// they came through: an emailed link (MemberID) is no longer valid.
func deactivatedError(ws *Workspace, m *Member, a Actor) error {
	msg := fmt.Sprintf("%s was deactivated in workspace %q and can no longer act", m.Email, ws.Slug)
	if a.MemberID != 0 && a.Token == nil {
		msg = "this link is no longer valid: the member it was sent to was deactivated"
	}
	return &Error{Code: EUNAUTHORIZED, Reason: ReasonDeactivated, Message: msg}
}

// runOpts tunes audited.
type runOpts struct {
	draftID   int64 // the draft acted on, known before anything is looked up
	read      bool  // a read: audited only when refused for lack of rights
	publisher bool  // a publisher token (no member) may act
	unlinked  bool  // a Slack user linked to no member may act (to link themselves)
}

// audited runs fn in a transaction as the resolved actor and writes the audit
// entry: the one fn filled on success (not for reads), or a "refused" entry
// on a refusal, in a transaction of its own since fn's was rolled back.
// Every channel's call goes through here, so every refused attempt is
// logged the same way.
func (s *Service) audited(ctx context.Context, a Actor, action string, o runOpts, fn func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error) error {
	var refused *AuditEntry
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		e := &AuditEntry{At: s.now(), Channel: a.Channel, Action: action, Outcome: OutcomeOK, Meta: a.Meta, Actor: a.label(), DraftID: o.draftID}
		p, err := s.resolve(ctx, tx, a, o.publisher)
		if o.unlinked && p != nil && p.member == nil && a.SlackUserID != "" && ErrorCode(err) == EUNAUTHORIZED {
			err = nil // resolve found the workspace but no member: what linking is for
		}
		if p != nil {
			e.WorkspaceID, e.ActorID, e.Actor = p.ws.ID, p.memberID(), p.label()
		}
		if err == nil {
			err = fn(ctx, tx, p, e)
		}
		if err != nil {
			if !o.read || ErrorCode(err) == EUNAUTHORIZED || errors.Is(err, errHidden) {
				e.Outcome, e.Detail = OutcomeRefused, ErrorMessage(err)
				refused = e
			}
			return err
		}
		if o.read {
			return nil
		}
		e.bound()
		return tx.AppendAudit(ctx, e)
	})
	if err != nil && refused != nil && auditable(err) {
		refused.bound()
		if aerr := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.AppendAudit(ctx, refused) }); aerr != nil {
			s.Logger.ErrorContext(ctx, "audit refused attempt", "action", action, "err", aerr)
		}
	}
	return err
}

// change runs a state change as the resolved actor; see audited.
func (s *Service) change(ctx context.Context, a Actor, action string, fn func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error) error {
	return s.audited(ctx, a, action, runOpts{}, fn)
}

// changeDraft is change for an action on one draft, so that even an attempt refused
// before the draft is looked at (an unknown actor) is logged against it.
func (s *Service) changeDraft(ctx context.Context, a Actor, action string, draftID int64, fn func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error) error {
	return s.audited(ctx, a, action, runOpts{draftID: draftID}, fn)
}

// read runs a read as the resolved actor; refusals are audited too.
func (s *Service) read(ctx context.Context, a Actor, action string, fn func(ctx context.Context, tx Tx, p *principal) error) error {
	return s.audited(ctx, a, action, runOpts{read: true}, func(ctx context.Context, tx Tx, p *principal, _ *AuditEntry) error {
		return fn(ctx, tx, p)
	})
}

// auditable reports whether a failed attempt belongs in the audit log: every
// refusal does; outages and bugs go to the logs instead.
func auditable(err error) bool {
	switch ErrorCode(err) {
	case EINTERNAL, EUNAVAILABLE:
		return false
	}
	return !errors.Is(err, context.Canceled)
}

func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
