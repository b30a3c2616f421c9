package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/signoff-app/signoff/approvals"
)

// Interaction handles a button click or a modal submission and returns the
// immediate answer: a *slack.ViewSubmissionResponse for a submission that
// needs one (inline errors), else nil. Both HTTP and Socket Mode call it.
func (b *Bot) Interaction(ctx context.Context, req Request, cb slack.InteractionCallback) any {
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		for _, act := range cb.ActionCallback.BlockActions {
			b.blockAction(ctx, req, cb, act)
		}
		return nil
	case slack.InteractionTypeViewSubmission:
		if resp := b.viewSubmission(ctx, req, cb); resp != nil {
			return resp
		}
		return nil
	}
	return nil
}

// blockAction handles an Approve, Approve with comment or Reject click.
// Approve is decided at once when the database answers in time, else
// queued (the worker decides and answers, see action.go); the others open
// the comment modal at once, since its trigger_id expires in about three
// seconds.
func (b *Bot) blockAction(ctx context.Context, req Request, cb slack.InteractionCallback, act *slack.BlockAction) {
	if act.ActionID == actionApproveAll {
		b.openApproveAll(ctx, req, cb, act) // approveall.go
		return
	}
	if act.ActionID != actionApprove && act.ActionID != actionReject && act.ActionID != actionApproveComment {
		return
	}
	key := fmt.Sprintf("action:%s:%s:%s:%s:%s:%s", cb.Team.ID, cb.User.ID, act.ActionTs, act.ActionID, act.BlockID, cb.Container.MessageTs+cb.Container.ViewID)
	ref, refErr := parseDecisionRef(act.Value)
	if act.ActionID == actionApprove && refErr == nil {
		q := queuedAction{Meta: req.Meta, TeamID: cb.Team.ID, UserID: cb.User.ID, Channel: cb.Channel.ID,
			Home: cb.Container.Type == "view", DraftID: ref.DraftID, Revision: ref.Revision, Tier: ref.Tier,
			Verdict: approvals.VerdictApprove}
		q.Meta.SlackTeamID, q.Meta.SlackUserID = cb.Team.ID, cb.User.ID
		if b.decideNow(ctx, key, q) {
			return
		}
		queued, err := b.enqueue(ctx, key, q)
		switch {
		case err != nil:
			b.answer(ctx, cb, b.userMessage(ctx, err))
		case !queued && req.Retry == 0:
			// Slack sends a click once, but for its retries: the key was
			// recorded by decideNow's own decision, committed as its budget
			// ran out, and nobody has answered it.
			b.answerDecided(ctx, q)
		}
		return // queued, or a retry or a duplicate of a click already queued
	}
	ok, done, err := b.claim(ctx, key)
	if err != nil {
		b.answer(ctx, cb, b.userMessage(ctx, err))
		return
	}
	if !ok {
		return // a retry or a duplicate of a click already handled
	}
	failed := true
	defer func() { done(failed) }()
	if refErr != nil {
		failed = false
		b.answer(ctx, cb, "This button is not one of Signoff's.")
		return
	}
	a, _, err := b.identify(ctx, req, cb.Team.ID, cb.User.ID)
	if err != nil {
		failed = transient(err)
		b.answer(ctx, cb, b.userMessage(ctx, err))
		return
	}
	// Ask for the comment at once, unless the core would refuse any
	// decision by this member now.
	verdict := approvals.VerdictReject
	if act.ActionID == actionApproveComment {
		verdict = approvals.VerdictApprove
	}
	in := approvals.DecideInput{DraftID: ref.DraftID, Revision: ref.Revision, Tier: ref.Tier, Verdict: verdict}
	if _, err := b.svc.PreviewDecision(ctx, a, in); err != nil {
		failed = transient(err)
		b.answer(ctx, cb, b.userMessage(ctx, err))
		return
	}
	ref.Channel = cb.Channel.ID
	if _, err := b.api.OpenViewContext(ctx, cb.TriggerID, decisionModal(ref, verdict)); err != nil {
		b.answer(ctx, cb, b.userMessage(ctx, fmt.Errorf("views.open: %w", err)))
		return
	}
	failed = false
}

// transient reports whether a failure may succeed on Slack's retry.
func transient(err error) bool {
	switch approvals.ErrorCode(err) {
	case approvals.EINTERNAL, approvals.EUNAVAILABLE:
		return true
	}
	return false
}

// answer tells the clicking user something only they see, after the
// request was acknowledged (see say).
func (b *Bot) answer(ctx context.Context, cb slack.InteractionCallback, text string) {
	channel, user := cb.Channel.ID, cb.User.ID
	b.later(ctx, "answer", func(ctx context.Context) error { return b.say(ctx, channel, user, text) })
}

// say tells user something only they see: ephemerally in channel, or in
// their DM with the app when there is no channel (App Home) or the app is
// not in it.
func (b *Bot) say(ctx context.Context, channel, user, text string) error {
	if channel == "" {
		_, _, err := b.api.PostMessageContext(ctx, user, slack.MsgOptionText(text, false))
		return err
	}
	_, err := b.api.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false))
	if err != nil {
		// The app may not be in that conversation: say it in the DM.
		_, _, err = b.api.PostMessageContext(ctx, user, slack.MsgOptionText(text, false))
	}
	return err
}

// viewSubmission handles the new-draft, revise and reject modals.
func (b *Bot) viewSubmission(ctx context.Context, req Request, cb slack.InteractionCallback) *slack.ViewSubmissionResponse {
	if cb.View.CallbackID == callbackApproveAll {
		return b.queueApproveAll(ctx, req, cb, "view:"+cb.Team.ID+":"+cb.View.ID+":"+cb.View.Hash) // approveall.go
	}
	var meta modalMeta
	if cb.View.PrivateMetadata != "" {
		if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil {
			return nil
		}
	}
	var field string
	switch cb.View.CallbackID {
	case callbackSubmit:
		field = blockText
	case callbackRevise:
		field = blockText
	case callbackReject, callbackComment, callbackApproveComment:
		field = blockComment
	default:
		return nil
	}
	key := "view:" + cb.Team.ID + ":" + cb.View.ID + ":" + cb.View.Hash
	switch cb.View.CallbackID {
	case callbackReject:
		return b.queueDecision(ctx, req, cb, meta, key, approvals.VerdictReject)
	case callbackApproveComment:
		return b.queueDecision(ctx, req, cb, meta, key, approvals.VerdictApprove)
	}
	ok, done, err := b.claim(ctx, key)
	if err != nil {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{field: b.userMessage(ctx, err)})
	}
	if !ok {
		return nil // already handled: close the modal
	}
	var errs map[string]string
	if cb.View.CallbackID == callbackComment {
		errs = b.commentView(ctx, req, cb, meta)
	} else {
		errs = b.submitView(ctx, req, cb, meta)
	}
	done(len(errs) > 0)
	if len(errs) > 0 {
		return slack.NewErrorsViewSubmissionResponse(errs)
	}
	return nil
}

// commentView adds the comment modal's comment; the map holds an inline
// error by block ID (empty when it succeeded).
func (b *Bot) commentView(ctx context.Context, req Request, cb slack.InteractionCallback, meta modalMeta) map[string]string {
	a, _, err := b.identify(ctx, req, cb.Team.ID, cb.User.ID)
	if err != nil {
		return map[string]string{blockComment: b.userMessage(ctx, err)}
	}
	values := cb.View.State.Values
	in := approvals.CommentInput{Text: values[blockComment][blockComment].Value}
	for _, o := range values[blockInternal][blockInternal].SelectedOptions {
		if o.Value == blockInternal {
			in.Internal = true
		}
	}
	if _, err := b.svc.AddComment(ctx, a, meta.DraftID, in); err != nil {
		return map[string]string{blockComment: b.userMessage(ctx, err)}
	}
	return nil
}

// submitView acts on a modal's values; the map holds inline errors by
// block ID (empty when it succeeded).
func (b *Bot) submitView(ctx context.Context, req Request, cb slack.InteractionCallback, meta modalMeta) map[string]string {
	values := cb.View.State.Values
	first := blockText
	if cb.View.CallbackID == callbackSubmit {
		first = blockAccount
	}
	a, _, err := b.identify(ctx, req, cb.Team.ID, cb.User.ID)
	if err != nil {
		return map[string]string{first: b.userMessage(ctx, err)}
	}
	in := approvals.DraftInput{
		Account: values[blockAccount][blockAccount].SelectedOption.Value,
		Text:    values[blockText][blockText].Value,
	}
	for _, line := range strings.Split(values[blockMedia][blockMedia].Value, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			in.MediaURLs = append(in.MediaURLs, line)
		}
	}
	if ts := values[blockSchedule][blockSchedule].SelectedDateTime; ts != 0 {
		at := time.Unix(ts, 0).UTC()
		in.ScheduledAt = &at
	}
	errs := map[string]string{}
	for f, err := range b.svc.InputErrors(in) {
		errs[string(f)] = upperFirst(approvals.ErrorMessage(err)) + "."
	}
	if cb.View.CallbackID == callbackSubmit && in.Account == "" {
		errs[blockAccount] = "Choose an account."
	}
	if len(errs) > 0 {
		return errs
	}
	var v *approvals.DraftView
	verb := "Submitted"
	if cb.View.CallbackID == callbackSubmit {
		v, err = b.svc.Submit(ctx, a, in)
	} else {
		verb = "Resubmitted"
		v, err = b.svc.Revise(ctx, a, meta.DraftID, in)
	}
	if err != nil {
		return map[string]string{first: b.userMessage(ctx, err)}
	}
	b.wake()
	text := fmt.Sprintf("%s draft #%d on %s (revision %d): %s.", verb, v.ID, escape(v.Account.Handle), v.Revision, v.State.Describe()) + notesText(v.Notes)
	if meta.Channel != "" {
		cb.Channel.ID = meta.Channel
	}
	b.answer(ctx, cb, text)
	return nil
}

// queueDecision handles the submission of the reject or approve-with-comment
// modal: a comment the core would refuse is an inline error on the field
// at once; otherwise the decision is queued (claimed with the delivery, so
// retries do nothing), the modal closes, and the worker decides and
// answers the clicker.
func (b *Bot) queueDecision(ctx context.Context, req Request, cb slack.InteractionCallback, meta modalMeta, key string, verdict approvals.Verdict) *slack.ViewSubmissionResponse {
	comment := cb.View.State.Values[blockComment][blockComment].Value
	if err := b.svc.CommentError(verdict, comment); err != nil {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{blockComment: b.userMessage(ctx, err)})
	}
	q := queuedAction{Meta: req.Meta, TeamID: cb.Team.ID, UserID: cb.User.ID, Channel: meta.Channel,
		DraftID: meta.DraftID, Revision: meta.Revision, Tier: meta.Tier, Verdict: verdict, Comment: comment}
	q.Meta.SlackTeamID, q.Meta.SlackUserID = cb.Team.ID, cb.User.ID
	if _, err := b.enqueue(ctx, key, q); err != nil {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{blockComment: b.userMessage(ctx, err)})
	}
	return nil // queued, or already queued by an earlier delivery: close the modal
}
