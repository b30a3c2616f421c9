package mailer

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/httpserver"
	"github.com/signoff-app/signoff/templates"
)

// MaxFormBytes bounds the body of a link page POST: a 4,000-character
// comment is at most 16 KB of UTF-8, percent-encoding can triple that.
const MaxFormBytes = 64 << 10

// Links serves the pages behind emailed links:
//
//	GET/HEAD /l/{token}          the draft and the Approve / Reject forms; never changes state
//	POST     /l/{token}          the decision, through approvals.Service.Decide; only the link's own verdict
//	POST     /l/{token}/resend   "send me a new link", to the approver's address on file
//
// Mail scanners open every link with GET and HEAD, often in a headless
// browser that runs scripts; so a GET only reads, the pages carry no script
// at all (the CSP forbids it), and only a POST carrying the page's CSRF
// token, i.e. a human click on a rendered button, decides.
type Links struct {
	svc    *approvals.Service
	codec  *Codec
	tmpl   *templates.Set
	prefix string // path of http.base_url, so forms post back through a proxy prefix
	logger *slog.Logger
}

// NewLinks returns the link pages handler.
func NewLinks(svc *approvals.Service, codec *Codec, tmpl *templates.Set, cfg Config, logger *slog.Logger) *Links {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	prefix := ""
	if u, err := url.Parse(cfg.BaseURL); err == nil {
		prefix = strings.TrimRight(u.Path, "/")
	}
	return &Links{svc: svc, codec: codec, tmpl: tmpl, prefix: prefix, logger: logger}
}

// Mux is where Register mounts the routes: an *http.ServeMux or Signoff's
// httpserver.Server.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Register mounts the link routes. "GET" patterns also match HEAD.
func (h *Links) Register(mux Mux) {
	mux.Handle("GET /l/{token}", http.HandlerFunc(h.show))
	mux.Handle("POST /l/{token}", http.HandlerFunc(h.decide))
	mux.Handle("POST /l/{token}/resend", http.HandlerFunc(h.resend))
	h.registerSlackLink(mux) // slacklink.go
	h.registerReview(mux)    // review.go
	h.registerMedia(mux)     // media.go
}

// show renders the draft and the forms. It calls only read-only core
// methods: PreviewDecision tells whether the approver may still decide, and
// why not.
func (h *Links) show(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	l, err := h.codec.Decode(token)
	if err != nil {
		h.tokenFailure(w, r, token, l, err, "link.open")
		return
	}
	a := h.actor(r, token, l)
	view, err := h.svc.PreviewDecision(r.Context(), a, approvals.DecideInput{DraftID: l.DraftID, Revision: l.Revision, Tier: l.Tier})
	if err != nil {
		h.coreFailure(w, r, token, l, err)
		return
	}
	h.formPage(w, r, http.StatusOK, token, l, view, "", "")
}

// decide performs the decision the form posted.
func (h *Links) decide(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	l, err := h.codec.Decode(token)
	if err != nil {
		h.tokenFailure(w, r, token, l, err, "link.decide")
		return
	}
	a := h.actor(r, token, l)
	form, err := ParseDecisionForm(r.Header.Get("Content-Type"), http.MaxBytesReader(w, r.Body, MaxFormBytes))
	if err != nil {
		h.svc.RecordRefusal(r.Context(), a, "link.decide", "malformed form: "+err.Error())
		h.message(w, r, http.StatusBadRequest, page{Title: "Bad request", Heading: "That did not work", Tone: "error",
			Lines: []string{"The form could not be read. Open the link from your email again and use the buttons on the page."}})
		return
	}
	if !h.codec.CheckCSRF(token, purposeDecide, form.CSRF) {
		h.svc.RecordRefusal(r.Context(), a, "draft."+string(form.Verdict), "link form without a valid CSRF token")
		h.message(w, r, http.StatusForbidden, page{Title: "Not accepted", Heading: "Please use the buttons on the page", Tone: "error",
			Lines: []string{"This request did not come from the Signoff page for your link, so nothing was recorded. Open the link from your email again and click Approve or Reject there."}})
		return
	}
	if form.Verdict != l.Action {
		h.wrongButton(w, r, token, l, a, form.Verdict)
		return
	}
	in := approvals.DecideInput{DraftID: l.DraftID, Revision: l.Revision, Tier: l.Tier, Verdict: form.Verdict, Comment: form.Comment}
	res, err := h.svc.Decide(r.Context(), a, in)
	if err != nil {
		if approvals.ErrorCode(err) == approvals.EINVALID {
			// The core refused the comment (a rejection's blank, either too
			// long): show the form again with what was typed, and the
			// core's reason.
			view, verr := h.svc.PreviewDecision(r.Context(), a, approvals.DecideInput{DraftID: l.DraftID, Revision: l.Revision, Tier: l.Tier})
			if verr != nil {
				h.coreFailure(w, r, token, l, verr)
				return
			}
			h.formPage(w, r, http.StatusUnprocessableEntity, token, l, view, form.Comment, approvals.ErrorMessage(err))
			return
		}
		h.coreFailure(w, r, token, l, err)
		return
	}
	p := page{Title: "Done", Tone: "ok", Draft: res.Draft}
	verb := pastTense(res.Decision.Verdict)
	if res.Noop {
		p.Heading = "You already " + verb + " this draft"
		p.Lines = []string{fmt.Sprintf("You %s revision %d at %s via %s. Nothing else to do.", verb, res.Decision.Revision, stamp(res.Decision.CreatedAt), res.Decision.Channel)}
	} else {
		p.Heading = "Thank you: " + verb
		p.Lines = []string{fmt.Sprintf("You %s revision %d of this draft. It is now %s.", verb, res.Decision.Revision, res.Draft.StatusAfter(res.Decision))}
		if res.Decision.Verdict == approvals.VerdictApprove && res.Decision.Comment != "" {
			p.Lines = append(p.Lines, "The author will be told your comment with the outcome.")
		}
	}
	h.message(w, r, http.StatusOK, p)
}

// wrongButton refuses a POST whose verdict is not the one the link was made
// for: an email's Reject link never approves, nor its Approve link rejects,
// whatever the form says. Nothing is decided; the page shows the link's own
// form again, unless the approver may not decide at all, which it says.
func (h *Links) wrongButton(w http.ResponseWriter, r *http.Request, token string, l Link, a approvals.Actor, got approvals.Verdict) {
	h.svc.RecordRefusal(r.Context(), a, "draft."+string(cmp.Or(got, "decide")), fmt.Sprintf("a link for %s posted %q", gerund(l.Action), got))
	view, err := h.svc.PreviewDecision(r.Context(), a, approvals.DecideInput{DraftID: l.DraftID, Revision: l.Revision, Tier: l.Tier})
	if err != nil {
		h.coreFailure(w, r, token, l, err)
		return
	}
	other := approvals.VerdictReject
	if l.Action == approvals.VerdictReject {
		other = approvals.VerdictApprove
	}
	msg := fmt.Sprintf("This link is for %s; use the %s link from your email to %s. Nothing was recorded.", gerund(l.Action), buttonName(other), other)
	h.formPage(w, r, http.StatusForbidden, token, l, view, "", msg)
}

func gerund(v approvals.Verdict) string {
	if v == approvals.VerdictReject {
		return "rejecting"
	}
	return "approving"
}

func buttonName(v approvals.Verdict) string {
	if v == approvals.VerdictReject {
		return "Reject"
	}
	return "Approve"
}

// resend enqueues a fresh link. It accepts genuine tokens, expired or not;
// the address comes from the member record, never from the request.
func (h *Links) resend(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	l, err := h.codec.Decode(token)
	if err != nil && !errors.Is(err, ErrTokenExpired) {
		h.tokenFailure(w, r, token, l, err, "link.resend")
		return
	}
	a := h.actor(r, token, l)
	form, err := ParseDecisionForm(r.Header.Get("Content-Type"), http.MaxBytesReader(w, r.Body, MaxFormBytes))
	if err != nil || !h.codec.CheckCSRF(token, purposeResend, form.CSRF) {
		h.svc.RecordRefusal(r.Context(), a, "link.resend", "resend form without a valid CSRF token")
		h.message(w, r, http.StatusForbidden, page{Title: "Not accepted", Heading: "Please use the button on the page", Tone: "error",
			Lines: []string{"This request did not come from the Signoff page for your link. Open the link from your email again."}})
		return
	}
	to, err := h.svc.RequestNewLink(r.Context(), a, l.DraftID, l.Tier)
	if err != nil {
		h.coreFailure(w, r, token, l, err)
		return
	}
	h.message(w, r, http.StatusOK, page{Title: "New link sent", Heading: "We sent you a new link", Tone: "ok",
		Lines: []string{"A new email with fresh Approve and Reject links is on its way to " + maskEmail(to) + ", the address we have on file for you."}})
}

// tokenFailure answers a token that did not decode: 410 with a resend
// button for a genuine expired one, 400 for anything else. Attempts to act
// (POST) and every forged token are audited; reads of expired links are not
// attempts at anything.
func (h *Links) tokenFailure(w http.ResponseWriter, r *http.Request, token string, l Link, err error, action string) {
	if errors.Is(err, ErrTokenExpired) {
		if r.Method == http.MethodPost {
			h.svc.RecordRefusal(r.Context(), h.actor(r, token, l), action, "expired link")
		}
		h.message(w, r, http.StatusGone, page{Title: "Link expired", Heading: "This link has expired", Tone: "warn",
			Lines:  []string{fmt.Sprintf("Links are valid for %s. Nothing was recorded. Ask for a new link and we will email it to the address we have on file for you.", humanDuration(h.codec.TTL()))},
			Resend: &resendForm{Action: h.prefix + "/l/" + token + "/resend", CSRF: h.codec.CSRF(token, purposeResend)}})
		return
	}
	h.logger.InfoContext(r.Context(), "invalid link token", "token_ref", TokenRef(token), "method", r.Method)
	h.svc.RecordRefusal(r.Context(), approvals.Actor{Channel: approvals.ChannelEmail, Meta: h.meta(r, token)}, action, "invalid or tampered link token")
	h.message(w, r, http.StatusBadRequest, page{Title: "Invalid link", Heading: "This link is not valid", Tone: "error",
		Lines: []string{"The link is incomplete or was changed. Copy the whole link from your email, or open it by clicking it there. Nothing was recorded."}})
}

// errorPage is one row of the table that maps a core error to a page.
type errorPage struct {
	code, reason string // reason "" matches any reason of the code
	status       int
	title, tone  string
}

// errorPages is the one table from approvals errors to HTTP statuses.
// "Decided" and "revised" are 200: the link worked and the page tells the
// truth about the draft, which is not an error of the request.
func errorPages() []errorPage {
	return []errorPage{
		{approvals.ECONFLICT, approvals.ReasonDecided, http.StatusOK, "Already decided", "info"},
		{approvals.ECONFLICT, approvals.ReasonRevised, http.StatusOK, "This draft was revised", "info"},
		{approvals.ECONFLICT, approvals.ReasonWithdrawn, http.StatusGone, "This draft was withdrawn", "warn"},
		{approvals.ECONFLICT, approvals.ReasonExpired, http.StatusGone, "This request expired", "warn"},
		{approvals.ECONFLICT, "", http.StatusConflict, "Not possible right now", "warn"},
		{approvals.EUNAUTHORIZED, approvals.ReasonDeactivated, http.StatusGone, "This link is no longer valid", "warn"},
		{approvals.EUNAUTHORIZED, "", http.StatusForbidden, "You can no longer act on this draft", "error"},
		{approvals.ENOTFOUND, "", http.StatusNotFound, "This draft is not available to you", "error"},
		{approvals.EINVALID, "", http.StatusUnprocessableEntity, "That did not work", "error"},
		{approvals.EUNAVAILABLE, "", http.StatusServiceUnavailable, "Please try again in a minute", "error"},
		{approvals.EINTERNAL, "", http.StatusInternalServerError, "Something went wrong", "error"},
	}
}

// StatusOf returns the HTTP status of a core error per errorPages.
func StatusOf(err error) int { return lookupError(err).status }

func lookupError(err error) errorPage {
	code, reason := approvals.ErrorCode(err), approvals.ErrorReason(err)
	rows := errorPages()
	for _, row := range rows {
		if row.code == code && (row.reason == "" || row.reason == reason) {
			return row
		}
	}
	return rows[len(rows)-1]
}

// coreFailure renders the page of a core error.
func (h *Links) coreFailure(w http.ResponseWriter, r *http.Request, token string, l Link, err error) {
	row := lookupError(err)
	p := page{Title: row.title, Heading: row.title, Tone: row.tone}
	var e *approvals.Error
	errors.As(err, &e)
	switch {
	case row.code == approvals.ECONFLICT && row.reason == approvals.ReasonDecided && e != nil && e.Decision != nil:
		d := e.Decision
		who := d.Approver
		if d.ApproverID == l.MemberID {
			who = "you"
		}
		p.Lines = []string{fmt.Sprintf("This draft (revision %d) was already %s by %s at %s via %s.", d.Revision, pastTense(d.Verdict), who, stamp(d.CreatedAt), d.Channel)}
		if d.Comment != "" {
			p.Lines = append(p.Lines, "Comment: "+d.Comment)
		}
		p.Lines = append(p.Lines, "Nothing else to do; your link changed nothing.")
	case row.reason == approvals.ReasonRevised && e != nil && e.Revision == 0:
		p.Lines = []string{
			fmt.Sprintf("This link was for revision %d. The draft has been revised since.", l.Revision),
			"You will get a new email as soon as the new version is ready for your approval. Your link changed nothing.",
		}
	case row.reason == approvals.ReasonRevised && e != nil:
		p.Lines = []string{
			fmt.Sprintf("This link was for revision %d. The author has since revised the draft to revision %d.", l.Revision, e.Revision),
			fmt.Sprintf("A new link for revision %d was sent to you, or will be as soon as it is ready for your approval. Please use the newest email.", e.Revision),
		}
	case row.code == approvals.EINTERNAL:
		h.logger.ErrorContext(r.Context(), "link page", "token_ref", TokenRef(token), "err", err)
		p.Lines = []string{"Nothing was recorded. Please try again later."}
	case row.code == approvals.EUNAVAILABLE:
		p.Lines = []string{"Signoff cannot reach its database right now. Nothing was recorded."}
	default:
		p.Lines = []string{sentence(approvals.ErrorMessage(err))}
		switch row.code {
		case approvals.EUNAUTHORIZED:
			p.Lines = append(p.Lines, "Nothing was recorded. If you think you should be able to decide, ask the agency that sent you this email.")
		case approvals.ENOTFOUND:
			// A genuine link names a draft that existed: it is gone, or no
			// longer the reader's to see. Which one is not theirs to learn.
			p.Lines = []string{"This link no longer leads to a draft you may see: your access may have been removed.",
				"Nothing was recorded. If you think you should be able to decide, ask the agency that sent you this email."}
		}
	}
	h.message(w, r, row.status, p)
}

// formPage renders the draft with the Approve and Reject forms.
func (h *Links) formPage(w http.ResponseWriter, r *http.Request, status int, token string, l Link, view *approvals.DraftView, comment, formErr string) {
	p := page{Title: "Review draft", Draft: view, Feedback: feedbackOf(view),
		Heading: fmt.Sprintf("%s: review revision %d", accountName(view), view.Revision),
		Form: &decisionForm{Action: h.prefix + "/l/" + token, CSRF: h.codec.CSRF(token, purposeDecide), Intended: string(l.Action),
			Approving: l.Action == approvals.VerdictApprove, Rejecting: l.Action == approvals.VerdictReject,
			Revision: view.Revision, Comment: comment, Error: formErr}}
	if approvals.DiffChanged(view.Changes) {
		p.Changes = view.Changes
	}
	p.Media = mediaOf(view, func(i int) string { return fmt.Sprintf("%s/l/%s/media/%d", h.prefix, token, i) })
	p.Post = postOf(view, p.Media)
	// The page offers only the link's own button: the email's other link
	// is the way to the other verdict.
	if l.Action == approvals.VerdictReject {
		p.Lines = []string{"Tell the author what to change, then click Reject. Nothing is recorded until you click.",
			"To approve instead, use the Approve link in your email."}
	} else {
		p.Lines = []string{"Read the post, then click Approve; you may leave a comment for the author. Nothing is recorded until you click.",
			"To reject instead, use the Reject link in your email."}
	}
	p.Tone = "info"
	h.render(w, status, templates.PageLink, p)
}

func (h *Links) message(w http.ResponseWriter, r *http.Request, status int, p page) {
	if p.Draft != nil {
		p.Feedback = feedbackOf(p.Draft)
		p.Media = mediaOf(p.Draft, func(int) string { return "" })
	}
	h.render(w, status, templates.PageMessage, p)
}

// page is what the page templates see.
type page struct {
	Nonce   string
	Title   string
	Heading string
	Tone    string // ok, info, warn, error
	Lines   []string
	Draft   *approvals.DraftView
	// DraftID, Revision, By (the author's name) and Scheduled (stamped;
	// "" when not scheduled) are the Draft's, set by render: printed from
	// here rather than through the view's embedded Draft and a template
	// call each.
	DraftID   int64
	Revision  int
	By        string
	Scheduled string
	Changes   []approvals.DiffOp
	Feedback  []feedback
	Form      *decisionForm
	Resend    *resendForm
	Media     []mediaItem // the current revision's media (media.go)
	Post      *post       // the mock-up of the post; nil on pages without the form
}

type decisionForm struct {
	Action   string
	CSRF     string
	Intended string
	Revision int
	Comment  string
	Error    string
	// Approving and Rejecting are Intended == "approve" and "reject",
	// which the template tests without a call to eq.
	Approving bool
	Rejecting bool
}

type resendForm struct {
	Action string
	CSRF   string
}

// render writes a page with the security headers every link page carries.
func (h *Links) render(w http.ResponseWriter, status int, name string, p page) {
	if d := p.Draft; d != nil {
		p.DraftID, p.Revision, p.By = d.ID, d.Revision, d.Author.DisplayName()
		if at := d.Current.ScheduledAt; at != nil {
			p.Scheduled = stamp(*at)
		}
	}
	p.Nonce = nonce()
	h.write(w, status, name, p.Nonce, p)
}

// write renders template name with data, whose style element carries
// nonce, under the headers every link page carries.
func (h *Links) write(w http.ResponseWriter, status int, name, nonce string, data any) {
	hd := w.Header()
	// No script, no external anything; the one inline <style> is allowed
	// by its nonce; forms may post only back to Signoff.
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Robots-Tag", "noindex, nofollow")
	// HTML renders into a buffer of its own and writes nothing unless the
	// whole page rendered; pw sends the status with the first byte.
	pw := &pageWriter{w: w, status: status}
	if err := h.tmpl.HTML(pw, name, data); err != nil && !pw.started {
		h.logger.Error("render link page", "template", name, "err", err)
		hd.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "Something went wrong. Nothing was recorded.\n")
		return
	}
	pw.start() // a page of no bytes still has its status
}

// pageWriter writes a rendered page to w, with its Content-Type and status
// before the first byte.
type pageWriter struct {
	w       http.ResponseWriter
	status  int
	started bool
}

func (p *pageWriter) start() {
	if !p.started {
		p.started = true
		p.w.Header().Set("Content-Type", "text/html; charset=utf-8")
		p.w.WriteHeader(p.status)
	}
}

func (p *pageWriter) Write(b []byte) (int, error) {
	p.start()
	return p.w.Write(b)
}

func (h *Links) actor(r *http.Request, token string, l Link) approvals.Actor {
	return approvals.Actor{WorkspaceID: l.WorkspaceID, MemberID: l.MemberID, Channel: approvals.ChannelEmail, Meta: h.meta(r, token)}
}

// meta is what the audit log keeps of a link request: the client's IP and
// user agent, and a reference to the token (never the token).
func (h *Links) meta(r *http.Request, token string) approvals.Meta {
	m := httpserver.RequestMeta(r)
	m.RequestID = "link:" + TokenRef(token)
	return m
}

// DecisionForm is a parsed link page POST.
type DecisionForm struct {
	CSRF    string
	Verdict approvals.Verdict
	Comment string
}

// ParseDecisionForm reads an application/x-www-form-urlencoded body. It
// accepts a verdict of approve or reject (absent for the resend form), and
// turns the CRLF line breaks browsers send for a textarea back into the
// LF the user typed, so a comment is stored as written. It never panics on
// any input (see FuzzParseDecisionForm).
func ParseDecisionForm(contentType string, body io.Reader) (DecisionForm, error) {
	vals, err := readForm(contentType, body)
	if err != nil {
		return DecisionForm{}, err
	}
	return decisionFields(vals)
}

// readForm reads an application/x-www-form-urlencoded body of at most
// MaxFormBytes in which no field is given twice.
func readForm(contentType string, body io.Reader) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fmt.Errorf("content type %q: want application/x-www-form-urlencoded", contentType)
	}
	raw, err := io.ReadAll(io.LimitReader(body, MaxFormBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read form: %w", err)
	}
	if len(raw) > MaxFormBytes {
		return nil, fmt.Errorf("form larger than %d bytes", MaxFormBytes)
	}
	vals, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, fmt.Errorf("parse form: %w", err)
	}
	for k, v := range vals {
		if len(v) > 1 {
			return nil, fmt.Errorf("field %q given %d times", k, len(v))
		}
	}
	return vals, nil
}

// decisionFields reads the CSRF token, verdict and comment of a form.
func decisionFields(vals url.Values) (DecisionForm, error) {
	f := DecisionForm{CSRF: vals.Get("csrf"), Comment: strings.ReplaceAll(vals.Get("comment"), "\r\n", "\n")}
	switch v := vals.Get("verdict"); v {
	case "":
	case string(approvals.VerdictApprove), string(approvals.VerdictReject):
		f.Verdict = approvals.Verdict(v)
	default:
		return DecisionForm{}, fmt.Errorf("unknown verdict %q", v)
	}
	if !utf8.ValidString(f.Comment) {
		return DecisionForm{}, errors.New("comment is not valid UTF-8")
	}
	return f, nil
}

// sentence ends a core message with a full stop unless it has one.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}

func nonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}

func maskEmail(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" {
		return "your address"
	}
	r, _ := utf8.DecodeRuneInString(local)
	return string(r) + "…@" + domain
}

func accountName(v *approvals.DraftView) string { return v.Account.Label() }

func stamp(t time.Time) string { return t.UTC().Format("Mon 2 Jan 2006 15:04 UTC") }

// humanDuration says a TTL the way people do: "7 days", "36 hours".
func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d >= 2*time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return d.String()
}
