package mailer

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/templates"
)

// The review page is everything waiting on one approver, behind a review
// link (a ReviewLink token bound to the member, not to a draft):
//
//	GET/HEAD /r/{token}              the drafts waiting, each with its Approve and Reject forms, and "Approve all N shown"; never changes state
//	POST     /r/{token}              one draft's decision, pinned to the revision and tier shown
//	POST     /r/{token}/all          the confirmation of "Approve all": what it will approve; never changes state
//	POST     /r/{token}/all/approve  the approvals, one core Decide per draft; a draft changed since it was shown is left alone and reported
//
// The list "Approve all" approves travels in the form, sealed with an HMAC
// bound to the token, so it holds exactly the drafts and revisions the page
// showed that approver; the core checks each decision again anyway.

// CSRF purposes of the review page's forms. Only the confirmation page
// carries the one that approves everything, so that takes two clicks.
const (
	purposeReview  = "review"
	purposeConfirm = "review-confirm"
	purposeItems   = "review-items:" // + the items: the seal of an "Approve all" list
)

func (h *Links) registerReview(mux Mux) {
	mux.Handle("GET /r/{token}", http.HandlerFunc(h.review))
	mux.Handle("POST /r/{token}", http.HandlerFunc(h.reviewDecide))
	mux.Handle("POST /r/{token}/all", http.HandlerFunc(h.reviewConfirm))
	mux.Handle("POST /r/{token}/all/approve", http.HandlerFunc(h.reviewApproveAll))
}

// reviewPage is what page/review.html sees: the list (Items), the
// confirmation (Confirm) or the result (Results).
type reviewPage struct {
	Nonce   string
	Title   string
	Heading string
	Tone    string
	Lines   []string
	CSRF    string // of the drafts' forms
	Items   []reviewItem
	All     *allForm
	Confirm []confirmItem
	Results []resultLine
	Back    string // the review page, to go back to
}

// reviewItem is one waiting draft; its form posts back to the page. Its
// fields are flat, not a DraftView: a page of hundreds of drafts renders
// noticeably faster without the template's lookups through embedded structs.
type reviewItem struct {
	ID        int64
	Revision  int
	Tier      approvals.Tier
	Account   string
	Author    string
	Text      string
	Scheduled string
	Media     []string
	Changes   []approvals.DiffOp
	Feedback  []feedback
	Comment   string // what was typed, shown again with Error
	Error     string
}

func newReviewItem(v *approvals.DraftView) reviewItem {
	it := reviewItem{ID: v.ID, Revision: v.Revision, Tier: v.CurrentTier, Account: accountName(v), Author: v.Author.DisplayName(),
		Text: v.Current.Text, Media: v.Current.MediaURLs, Feedback: feedbackOf(v)}
	if v.Current.ScheduledAt != nil {
		it.Scheduled = stamp(*v.Current.ScheduledAt)
	}
	if approvals.DiffChanged(v.Changes) {
		it.Changes = v.Changes
	}
	return it
}

// allForm posts an "Approve all" list.
type allForm struct {
	Action string
	CSRF   string
	Items  string
	Seal   string
	Label  string // the button's words
	Button string // the button's element ID
}

// confirmItem is one line of the confirmation: a draft "Approve all" will
// approve, or one that changed since and will be left alone (Gone).
type confirmItem struct {
	ID       int64
	Revision int
	Account  string
	Text     string
	Gone     bool
}

// resultLine is what "Approve all" did with one draft.
type resultLine struct {
	ID      int64
	Outcome string // approved, skipped, refused
	Text    string
}

// ReviewForm is a parsed review page POST.
type ReviewForm struct {
	DecisionForm
	DraftID  int64
	Revision int
	Tier     approvals.Tier
	Items    string
	Seal     string
}

// ParseReviewForm reads a review page POST: ParseDecisionForm's fields,
// and the draft, revision and tier of a single decision or the sealed list
// of "Approve all". It never panics on any input (see FuzzParseReviewForm).
func ParseReviewForm(contentType string, body io.Reader) (ReviewForm, error) {
	vals, err := readForm(contentType, body)
	if err != nil {
		return ReviewForm{}, err
	}
	df, err := decisionFields(vals)
	if err != nil {
		return ReviewForm{}, err
	}
	f := ReviewForm{DecisionForm: df, Items: vals.Get("items"), Seal: vals.Get("seal")}
	if v := vals.Get("draft"); v != "" {
		if f.DraftID, err = strconv.ParseInt(v, 10, 64); err != nil || f.DraftID <= 0 {
			return ReviewForm{}, fmt.Errorf("bad draft %q", v)
		}
	}
	if v := vals.Get("revision"); v != "" {
		if f.Revision, err = strconv.Atoi(v); err != nil || f.Revision <= 0 {
			return ReviewForm{}, fmt.Errorf("bad revision %q", v)
		}
	}
	switch v := approvals.Tier(vals.Get("tier")); v {
	case "", approvals.TierInternal, approvals.TierClient:
		f.Tier = v
	default:
		return ReviewForm{}, fmt.Errorf("unknown tier %q", v)
	}
	return f, nil
}

// review lists what waits on the approver. It only reads.
func (h *Links) review(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	rl, err := h.codec.DecodeReview(token)
	if err != nil {
		h.reviewTokenFailure(w, r, token, rl, err, "review.open")
		return
	}
	h.reviewList(w, r, token, rl, http.StatusOK, nil, nil)
}

// reviewList renders the list of what waits on the approver now, with a
// banner p (optional) and, for one draft, the error of its form.
func (h *Links) reviewList(w http.ResponseWriter, r *http.Request, token string, rl ReviewLink, status int, banner *reviewPage, formErr *reviewItem) {
	a := h.reviewActor(r, token, rl)
	views, err := h.svc.Waiting(r.Context(), a)
	if err != nil {
		h.coreFailure(w, r, token, Link{MemberID: rl.MemberID}, err)
		return
	}
	base := h.prefix + "/r/" + token
	p := reviewPage{Title: "Review drafts", Tone: "info"}
	if banner != nil {
		p.Tone, p.Lines = banner.Tone, banner.Lines
	}
	switch len(views) {
	case 0:
		p.Heading = "Nothing waits on your decision"
		p.Lines = append(p.Lines, "Every draft sent to you for approval is decided. New ones will come by email.")
	case 1:
		p.Heading = "1 draft waits on your decision"
	default:
		p.Heading = fmt.Sprintf("%d drafts wait on your decision", len(views))
	}
	if len(views) > 0 && banner == nil {
		p.Lines = append(p.Lines, "Approve or reject each draft on its own, or approve all of them at once. Nothing is recorded until you click.")
	}
	csrf := h.codec.CSRF(token, purposeReview)
	p.CSRF = csrf
	ins := make([]approvals.DecideInput, 0, len(views))
	for _, v := range views {
		it := newReviewItem(v)
		if formErr != nil && formErr.ID == v.ID {
			it.Comment, it.Error = formErr.Comment, formErr.Error
		}
		p.Items = append(p.Items, it)
		ins = append(ins, approvals.DecideInput{DraftID: v.ID, Revision: v.Revision, Tier: v.CurrentTier})
	}
	if len(ins) > 1 {
		label := fmt.Sprintf("Approve all %d shown", len(ins))
		if len(ins) > approvals.MaxDecideEach {
			ins = ins[:approvals.MaxDecideEach]
			label = fmt.Sprintf("Approve the first %d shown", len(ins))
		}
		items := FormatItems(ins)
		p.All = &allForm{Action: base + "/all", CSRF: csrf, Items: items, Seal: h.codec.CSRF(token, purposeItems+items),
			Label: label, Button: "approve-all"}
	}
	h.renderReview(w, status, p)
}

// reviewForm reads and checks a review page POST: the token, the form and
// its CSRF token for purpose. It answers the request itself and returns
// ok false when any of them fails.
func (h *Links) reviewForm(w http.ResponseWriter, r *http.Request, purpose, action string) (string, ReviewLink, ReviewForm, bool) {
	token := r.PathValue("token")
	rl, err := h.codec.DecodeReview(token)
	if err != nil {
		h.reviewTokenFailure(w, r, token, rl, err, action)
		return "", rl, ReviewForm{}, false
	}
	a := h.reviewActor(r, token, rl)
	form, err := ParseReviewForm(r.Header.Get("Content-Type"), http.MaxBytesReader(w, r.Body, MaxFormBytes))
	if err != nil {
		h.svc.RecordRefusal(r.Context(), a, action, "malformed form: "+err.Error())
		h.message(w, r, http.StatusBadRequest, page{Title: "Bad request", Heading: "That did not work", Tone: "error",
			Lines: []string{"The form could not be read. Open the link from your email again and use the buttons on the page."}})
		return "", rl, ReviewForm{}, false
	}
	if !h.codec.CheckCSRF(token, purpose, form.CSRF) {
		h.svc.RecordRefusal(r.Context(), a, action, "review form without a valid CSRF token")
		h.message(w, r, http.StatusForbidden, page{Title: "Not accepted", Heading: "Please use the buttons on the page", Tone: "error",
			Lines: []string{"This request did not come from the Signoff page for your link, so nothing was recorded. Open the link from your email again and use the buttons there."}})
		return "", rl, ReviewForm{}, false
	}
	return token, rl, form, true
}

// reviewDecide records one draft's decision and shows the list again.
func (h *Links) reviewDecide(w http.ResponseWriter, r *http.Request) {
	token, rl, form, ok := h.reviewForm(w, r, purposeReview, "review.decide")
	if !ok {
		return
	}
	a := h.reviewActor(r, token, rl)
	if form.DraftID == 0 || form.Revision == 0 || form.Tier == "" || form.Verdict == "" {
		h.svc.RecordRefusal(r.Context(), a, "review.decide", "review form without draft, revision, tier or verdict")
		h.message(w, r, http.StatusBadRequest, page{Title: "Bad request", Heading: "That did not work", Tone: "error",
			Lines: []string{"The form could not be read. Open the link from your email again and use the buttons on the page."}})
		return
	}
	// One form holds both buttons: a comment typed there is the
	// rejection's reason, or the approval's remark, as on the link page.
	in := approvals.DecideInput{DraftID: form.DraftID, Revision: form.Revision, Tier: form.Tier, Verdict: form.Verdict, Comment: form.Comment}
	res, err := h.svc.Decide(r.Context(), a, in)
	if err != nil {
		row := lookupError(err)
		switch row.code {
		case approvals.EUNAUTHORIZED, approvals.EUNAVAILABLE, approvals.EINTERNAL:
			h.coreFailure(w, r, token, Link{MemberID: rl.MemberID}, err)
			return
		}
		why := sentence(approvals.ErrorMessage(err))
		if row.code == approvals.ENOTFOUND {
			// Which draft it was, and in which workspace, is not theirs to learn.
			why = "It is not a draft you may decide."
		}
		banner := &reviewPage{Tone: row.tone, Lines: []string{why, "Nothing was recorded for it."}}
		if row.code != approvals.ENOTFOUND {
			banner.Lines[0] = fmt.Sprintf("Draft %d: %s", form.DraftID, why)
		}
		var item *reviewItem
		if row.code == approvals.EINVALID {
			// The core refused the comment: keep what was typed.
			item = &reviewItem{ID: form.DraftID, Comment: form.Comment, Error: upperFirst(sentence(approvals.ErrorMessage(err)))}
		}
		h.reviewList(w, r, token, rl, row.status, banner, item)
		return
	}
	verb := pastTense(res.Decision.Verdict)
	line := fmt.Sprintf("You %s draft %d (revision %d) on %s. It is now %s.", verb, res.Draft.ID, res.Decision.Revision, accountName(res.Draft), res.Draft.StatusAfter(res.Decision))
	if res.Noop {
		line = fmt.Sprintf("You had already %s draft %d (revision %d) at %s via %s. Nothing else to do.", verb, res.Draft.ID, res.Decision.Revision, stamp(res.Decision.CreatedAt), res.Decision.Channel)
	}
	h.reviewList(w, r, token, rl, http.StatusOK, &reviewPage{Tone: "ok", Lines: []string{line}}, nil)
}

// sealedItems checks the seal of an "Approve all" list and parses it. It
// answers the request itself and returns ok false when either fails.
func (h *Links) sealedItems(w http.ResponseWriter, r *http.Request, token string, rl ReviewLink, form ReviewForm, action string) ([]approvals.DecideInput, bool) {
	a := h.reviewActor(r, token, rl)
	if !h.codec.CheckCSRF(token, purposeItems+form.Items, form.Seal) {
		h.svc.RecordRefusal(r.Context(), a, action, "approve-all list without a valid seal")
		h.message(w, r, http.StatusForbidden, page{Title: "Not accepted", Heading: "Please use the buttons on the page", Tone: "error",
			Lines: []string{"This list of drafts is not the one Signoff showed you, so nothing was recorded. Open the link from your email again and use the buttons there."}})
		return nil, false
	}
	ins, err := ParseItems(form.Items)
	if err != nil {
		// A sealed list is one Signoff wrote; this is a bug, not an attack.
		h.logger.ErrorContext(r.Context(), "sealed approve-all list does not parse", "token_ref", TokenRef(token), "err", err)
		h.message(w, r, http.StatusBadRequest, page{Title: "Bad request", Heading: "That did not work", Tone: "error",
			Lines: []string{"Nothing was recorded. Open the link from your email again."}})
		return nil, false
	}
	return ins, true
}

// reviewConfirm shows what "Approve all" will approve. It only reads.
func (h *Links) reviewConfirm(w http.ResponseWriter, r *http.Request) {
	token, rl, form, ok := h.reviewForm(w, r, purposeReview, "review.approve_all")
	if !ok {
		return
	}
	ins, ok := h.sealedItems(w, r, token, rl, form, "review.approve_all")
	if !ok {
		return
	}
	views, err := h.svc.Waiting(r.Context(), h.reviewActor(r, token, rl))
	if err != nil {
		h.coreFailure(w, r, token, Link{MemberID: rl.MemberID}, err)
		return
	}
	byID := make(map[int64]*approvals.DraftView, len(views))
	for _, v := range views {
		byID[v.ID] = v
	}
	p := reviewPage{Title: "Approve all", Tone: "warn", Back: h.prefix + "/r/" + token}
	gone := 0
	for _, in := range ins {
		c := confirmItem{ID: in.DraftID, Revision: in.Revision}
		if v, ok := byID[in.DraftID]; ok && v.Revision == in.Revision && v.CurrentTier == in.Tier {
			c.Account, c.Text = accountName(v), excerpt(v.Current.Text, 140)
		} else {
			c.Gone = true
			gone++
		}
		p.Confirm = append(p.Confirm, c)
	}
	p.Heading = fmt.Sprintf("Approve these %d drafts?", len(ins)-gone)
	p.Lines = []string{"Each draft below is approved as it was shown to you. Nothing is recorded until you click the button at the bottom."}
	if gone > 0 {
		p.Lines = append(p.Lines, fmt.Sprintf("%d of the drafts shown changed since (revised, withdrawn or decided); they will be left alone.", gone))
	}
	p.All = &allForm{Action: h.prefix + "/r/" + token + "/all/approve", CSRF: h.codec.CSRF(token, purposeConfirm),
		Items: form.Items, Seal: form.Seal, Label: fmt.Sprintf("Yes, approve these %d drafts", len(ins)-gone), Button: "confirm-approve-all"}
	if gone == len(ins) {
		p.Heading, p.All = "Nothing left to approve", nil
		p.Lines = []string{"Every draft shown changed since (revised, withdrawn or decided). Nothing was recorded."}
	}
	h.renderReview(w, http.StatusOK, p)
}

// reviewApproveAll approves every draft of the confirmed list on its own,
// through the core, and reports each outcome.
func (h *Links) reviewApproveAll(w http.ResponseWriter, r *http.Request) {
	token, rl, form, ok := h.reviewForm(w, r, purposeConfirm, "review.approve_all")
	if !ok {
		return
	}
	ins, ok := h.sealedItems(w, r, token, rl, form, "review.approve_all")
	if !ok {
		return
	}
	a := h.reviewActor(r, token, rl)
	outcomes, err := h.svc.DecideEach(r.Context(), a, ins)
	if err != nil {
		h.coreFailure(w, r, token, Link{MemberID: rl.MemberID}, err)
		return
	}
	p := reviewPage{Title: "Approved", Tone: "ok", Back: h.prefix + "/r/" + token}
	approved, skipped, refused := 0, 0, 0
	for _, o := range outcomes {
		l := resultLine{ID: o.Input.DraftID}
		switch {
		case o.Decided():
			approved++
			l.Outcome = "approved"
			l.Text = fmt.Sprintf("Draft %d (revision %d) on %s: approved. It is now %s.", o.Input.DraftID, o.Input.Revision, accountName(o.Result.Draft), o.Result.Draft.StatusAfter(o.Result.Decision))
		case o.Skipped():
			skipped++
			l.Outcome = "skipped"
			if o.Err == nil {
				l.Text = fmt.Sprintf("Draft %d: left alone: you had already approved revision %d at %s.", o.Input.DraftID, o.Result.Decision.Revision, stamp(o.Result.Decision.CreatedAt))
			} else {
				l.Text = fmt.Sprintf("Draft %d: left alone: %s", o.Input.DraftID, sentence(approvals.ErrorMessage(o.Err)))
			}
		default:
			refused++
			l.Outcome = "refused"
			l.Text = fmt.Sprintf("Draft %d: not approved: %s", o.Input.DraftID, sentence(approvals.ErrorMessage(o.Err)))
			if approvals.ErrorCode(o.Err) == approvals.EINTERNAL {
				h.logger.ErrorContext(r.Context(), "approve all", "token_ref", TokenRef(token), "draft", o.Input.DraftID, "err", o.Err)
				l.Text = fmt.Sprintf("Draft %d: not approved: something went wrong; please try again.", o.Input.DraftID)
			}
		}
		p.Results = append(p.Results, l)
	}
	p.Heading = fmt.Sprintf("You approved %d of %d drafts", approved, len(outcomes))
	if skipped+refused > 0 {
		p.Tone = "warn"
		p.Lines = []string{fmt.Sprintf("%d left alone because they changed since you saw them, %d not approved. Each is listed below.", skipped, refused)}
	} else {
		p.Lines = []string{"Every draft you confirmed is approved."}
	}
	h.renderReview(w, http.StatusOK, p)
}

// reviewTokenFailure answers a review token that did not decode, as
// tokenFailure does a link's; an expired review link needs no resend
// button, since every newer email carries a fresh one.
func (h *Links) reviewTokenFailure(w http.ResponseWriter, r *http.Request, token string, rl ReviewLink, err error, action string) {
	if errors.Is(err, ErrTokenExpired) {
		if r.Method == http.MethodPost {
			h.svc.RecordRefusal(r.Context(), h.reviewActor(r, token, rl), action, "expired review link")
		}
		h.message(w, r, http.StatusGone, page{Title: "Link expired", Heading: "This link has expired", Tone: "warn",
			Lines: []string{fmt.Sprintf("Links are valid for %s. Nothing was recorded. Each grouped request email and daily digest from Signoff carries a fresh review link; the approval request emails have links of their own.", humanDuration(h.codec.TTL()))}})
		return
	}
	h.logger.InfoContext(r.Context(), "invalid review token", "token_ref", TokenRef(token), "method", r.Method)
	h.svc.RecordRefusal(r.Context(), approvals.Actor{Channel: approvals.ChannelEmail, Meta: h.meta(r, token)}, action, "invalid or tampered review link token")
	h.message(w, r, http.StatusBadRequest, page{Title: "Invalid link", Heading: "This link is not valid", Tone: "error",
		Lines: []string{"The link is incomplete or was changed. Copy the whole link from your email, or open it by clicking it there. Nothing was recorded."}})
}

func (h *Links) reviewActor(r *http.Request, token string, rl ReviewLink) approvals.Actor {
	return approvals.Actor{WorkspaceID: rl.WorkspaceID, MemberID: rl.MemberID, Channel: approvals.ChannelEmail, Meta: h.meta(r, token)}
}

func (h *Links) renderReview(w http.ResponseWriter, status int, p reviewPage) {
	p.Nonce = nonce()
	h.write(w, status, templates.PageReview, p.Nonce, p)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	// A message that starts with an email address keeps it as written.
	if first, _, _ := strings.Cut(s, " "); strings.Contains(first, "@") {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}
