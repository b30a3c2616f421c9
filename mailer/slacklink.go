package mailer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	gomail "github.com/wneessen/go-mail"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/outbox"
	"github.com/signoff-app/signoff/templates"
)

// The Slack link confirmation pages, behind the one-time link emailed to a
// member when a guest or a user of another Slack team (Slack Connect) asks
// to be linked to them:
//
//	GET/HEAD /slack-link/{token}   what would be linked, and a Confirm form; never changes state
//	POST     /slack-link/{token}   the link, through approvals.Service.ConfirmSlackLink
//
// As with decision links, mail scanners open the link, so only the POST of
// the page's form, with its CSRF token, links. The core makes the request
// usable once.

// slackLinkTokenName is the securecookie name of a Slack link token: a
// decision link's token never decodes as one, nor the reverse.
const slackLinkTokenName = "signoff-slack-link/v1"

// purposeSlackLink is the CSRF purpose of the Confirm form.
const purposeSlackLink = "slack-link"

// SlackLinkToken is what a Slack link confirmation token carries: which
// request of which member. The Slack user it links is the request's, read
// from Postgres, never from the URL.
type SlackLinkToken struct {
	WorkspaceID int64 `json:"w"`
	RequestID   int64 `json:"r"`
	MemberID    int64 `json:"m"`
	IssuedAt    int64 `json:"i"`
}

func (t SlackLinkToken) valid() bool {
	return t.WorkspaceID > 0 && t.RequestID > 0 && t.MemberID > 0 && t.IssuedAt > 0
}

// EncodeSlackLink mints a token for t, stamping IssuedAt with the codec's
// clock. It expires after links.ttl, like decision links.
func (c *Codec) EncodeSlackLink(t SlackLinkToken) (string, error) {
	t.IssuedAt = c.Now().Unix()
	tok, err := c.strict[0].Encode(slackLinkTokenName, t)
	if err != nil {
		return "", fmt.Errorf("encode slack link token: %w", err)
	}
	return tok, nil
}

// DecodeSlackLink checks a token as Decode does: a genuine but expired
// token gives its payload and ErrTokenExpired, anything else that fails
// ErrTokenInvalid.
func (c *Codec) DecodeSlackLink(token string) (SlackLinkToken, error) {
	var t SlackLinkToken
	if token == "" || len(token) > 4096 {
		return SlackLinkToken{}, ErrTokenInvalid
	}
	if err := securecookie.DecodeMulti(slackLinkTokenName, token, &t, c.strict...); err != nil {
		t = SlackLinkToken{}
		if lerr := securecookie.DecodeMulti(slackLinkTokenName, token, &t, c.lenient...); lerr != nil || !t.valid() {
			return SlackLinkToken{}, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
		}
		return t, ErrTokenExpired
	}
	if !t.valid() {
		return SlackLinkToken{}, fmt.Errorf("%w: incomplete payload", ErrTokenInvalid)
	}
	if c.Now().After(time.Unix(t.IssuedAt, 0).Add(c.ttl)) {
		return t, ErrTokenExpired
	}
	return t, nil
}

func (h *Links) registerSlackLink(mux Mux) {
	mux.Handle("GET /slack-link/{token}", http.HandlerFunc(h.showSlackLink))
	mux.Handle("POST /slack-link/{token}", http.HandlerFunc(h.confirmSlackLink))
}

func (h *Links) slackLinkActor(r *http.Request, token string, t SlackLinkToken) approvals.Actor {
	return approvals.Actor{WorkspaceID: t.WorkspaceID, MemberID: t.MemberID, Channel: approvals.ChannelEmail, Meta: h.meta(r, token)}
}

// showSlackLink renders what the link would do and the Confirm form; it
// reads only.
func (h *Links) showSlackLink(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	t, err := h.codec.DecodeSlackLink(token)
	if err != nil {
		h.slackLinkTokenFailure(w, r, token, t, err, "member.link_slack_preview")
		return
	}
	c, err := h.svc.PreviewSlackLink(r.Context(), h.slackLinkActor(r, token, t), t.RequestID)
	if err != nil {
		h.slackLinkFailure(w, r, err)
		return
	}
	p := page{Title: "Link your Slack user", Tone: "info",
		Heading: "Link a Slack user to your Signoff membership in " + c.Workspace.Name + "?",
		Lines: []string{
			fmt.Sprintf("The Slack user %s of Slack team %s asked to act in Signoff as you (%s).", c.Request.SlackUserID, c.Request.SlackTeamID, c.Member.Email),
			"Confirm only if that Slack user is you. If you did not ask for this, close this page: nothing is linked until you click Confirm.",
		},
		Form: &decisionForm{Action: h.prefix + "/slack-link/" + token, CSRF: h.codec.CSRF(token, purposeSlackLink)}}
	h.render(w, http.StatusOK, templates.PageSlackLink, p)
}

// confirmSlackLink links the Slack user the form confirms.
func (h *Links) confirmSlackLink(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	t, err := h.codec.DecodeSlackLink(token)
	if err != nil {
		h.slackLinkTokenFailure(w, r, token, t, err, "member.link_slack")
		return
	}
	a := h.slackLinkActor(r, token, t)
	form, err := ParseDecisionForm(r.Header.Get("Content-Type"), http.MaxBytesReader(w, r.Body, MaxFormBytes))
	if err != nil || !h.codec.CheckCSRF(token, purposeSlackLink, form.CSRF) {
		h.svc.RecordRefusal(r.Context(), a, "member.link_slack", "Slack link form without a valid CSRF token")
		h.message(w, r, http.StatusForbidden, page{Title: "Not accepted", Heading: "Please use the button on the page", Tone: "error",
			Lines: []string{"This request did not come from the Signoff page for your link, so nothing was linked. Open the link from your email again and click Confirm there."}})
		return
	}
	m, err := h.svc.ConfirmSlackLink(r.Context(), a, t.RequestID)
	if err != nil {
		h.slackLinkFailure(w, r, err)
		return
	}
	h.message(w, r, http.StatusOK, page{Title: "Linked", Heading: "Your Slack user is linked", Tone: "ok",
		Lines: []string{fmt.Sprintf("Slack user %s now acts in Signoff as %s. Go back to Slack and run your command again.", m.SlackUserID, m.Email)}})
}

func (h *Links) slackLinkTokenFailure(w http.ResponseWriter, r *http.Request, token string, t SlackLinkToken, err error, action string) {
	if errors.Is(err, ErrTokenExpired) {
		if r.Method == http.MethodPost {
			h.svc.RecordRefusal(r.Context(), h.slackLinkActor(r, token, t), action, "expired Slack link")
		}
		h.message(w, r, http.StatusGone, page{Title: "Link expired", Heading: "This link has expired", Tone: "warn",
			Lines: []string{fmt.Sprintf("Links are valid for %s. Nothing was linked. Run /signoff link in Slack again for a new email.", humanDuration(h.codec.TTL()))}})
		return
	}
	h.svc.RecordRefusal(r.Context(), approvals.Actor{Channel: approvals.ChannelEmail, Meta: h.meta(r, token)}, action, "invalid or tampered Slack link token")
	h.message(w, r, http.StatusBadRequest, page{Title: "Invalid link", Heading: "This link is not valid", Tone: "error",
		Lines: []string{"The link is incomplete or was changed. Copy the whole link from your email, or open it by clicking it there. Nothing was linked."}})
}

// slackLinkFailure renders the page of a core refusal of a Slack link.
func (h *Links) slackLinkFailure(w http.ResponseWriter, r *http.Request, err error) {
	status, title, tone := StatusOf(err), "This link cannot be used", "error"
	switch approvals.ErrorCode(err) {
	case approvals.EUNAUTHORIZED:
		if approvals.ErrorReason(err) == approvals.ReasonDeactivated {
			status, title, tone = http.StatusGone, "This link is no longer valid", "warn"
		}
	case approvals.ECONFLICT: // used already, or the Slack user was linked meanwhile: the line says which
		title, tone = "This link cannot be used any more", "info"
	case approvals.ENOTFOUND:
		title = "Link not found"
	case approvals.EINTERNAL, approvals.EUNAVAILABLE:
		h.logger.ErrorContext(r.Context(), "slack link page", "err", err)
		title = "Please try again later"
	}
	h.message(w, r, status, page{Title: title, Heading: title, Tone: tone,
		Lines: []string{sentence(approvals.ErrorMessage(err)), "Nothing was linked."}})
}

// slackLinkEmail is what the Slack link confirmation email templates see.
type slackLinkEmail struct {
	Name        string
	Email       string
	Workspace   string
	SlackUserID string
	SlackTeamID string
	ConfirmURL  string
	Expires     time.Time
}

// composeSlackLink renders the confirmation email of an
// EventSlackLinkRequested message, or nothing when the request can no
// longer be confirmed (used, its member deactivated or gone).
func (s *Sender) composeSlackLink(ctx context.Context, m *approvals.OutboxMessage) (*gomail.Msg, error) {
	n := m.Payload
	c, err := s.svc.SlackLinkNotice(ctx, n)
	switch approvals.ErrorCode(err) {
	case "":
	case approvals.ENOTFOUND, approvals.ECONFLICT, approvals.EUNAUTHORIZED:
		s.logger.InfoContext(ctx, "slack link confirmation moot before sending; not sent", "outbox_id", m.ID, "reason", approvals.ErrorMessage(err))
		return nil, nil
	default:
		return nil, fmt.Errorf("load slack link request %d: %w", n.LinkRequestID, err)
	}
	tok, err := s.codec.EncodeSlackLink(SlackLinkToken{WorkspaceID: c.Workspace.ID, RequestID: c.Request.ID, MemberID: c.Member.ID})
	if err != nil {
		return nil, outbox.Permanent(err)
	}
	data := slackLinkEmail{Name: c.Member.DisplayName(), Email: c.Member.Email, Workspace: c.Workspace.Name,
		SlackUserID: c.Request.SlackUserID, SlackTeamID: c.Request.SlackTeamID,
		ConfirmURL: strings.TrimRight(s.cfg.BaseURL, "/") + "/slack-link/" + tok, Expires: s.codec.Expires()}
	return s.message(m, c.Member.Email, data, templates.SlackLinkSubject, templates.SlackLinkText, templates.SlackLinkHTML)
}
