package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/signoff-app/signoff/approvals"
)

// "Approve all on ACCOUNT" in the App Home opens a modal that lists the
// drafts it will approve; its private_metadata carries them, each pinned to
// the revision and tier listed. Submitting queues them as one click (see
// action.go); the worker decides each on its own through the core
// (approvals.Service.DecideEach), leaves alone any draft revised, withdrawn
// or decided since, and tells the clicker in their DM what it did.

const (
	actionApproveAll   = "signoff_approve_all"
	callbackApproveAll = "signoff_approve_all"
	// maxApproveAll is the most drafts one modal lists: its blocks and its
	// private_metadata (3,000 characters) must hold them.
	maxApproveAll = 100
)

// approveAllMeta is the private metadata of the approve-all modal.
type approveAllMeta struct {
	Account string `json:"a"` // the account's name, for the report
	Items   string `json:"i"` // decisionRef values, comma-separated
}

func formatRefs(refs []decisionRef) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = r.value()
	}
	return strings.Join(parts, ",")
}

func parseRefs(s string) ([]decisionRef, error) {
	if s == "" {
		return nil, fmt.Errorf("no drafts")
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxApproveAll {
		return nil, fmt.Errorf("%d drafts: at most %d", len(parts), maxApproveAll)
	}
	out := make([]decisionRef, 0, len(parts))
	for _, p := range parts {
		r, err := parseDecisionRef(p)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// waitingByAccount groups drafts by account, in the order each account
// first appears (the drafts are oldest first).
func waitingByAccount(vs []*approvals.DraftView) [][]*approvals.DraftView {
	var out [][]*approvals.DraftView
	at := map[int64]int{}
	for _, v := range vs {
		i, ok := at[v.Account.ID]
		if !ok {
			i = len(out)
			at[v.Account.ID] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], v)
	}
	return out
}

// approveAllButton is the App Home's "Approve all on ACCOUNT" for drafts
// of one account.
func approveAllButton(vs []*approvals.DraftView) *slack.ButtonBlockElement {
	btn := slack.NewButtonBlockElement(actionApproveAll, strconv.FormatInt(vs[0].Account.ID, 10),
		plain(truncate(fmt.Sprintf("Approve all %d on %s", len(vs), vs[0].Account.Label()), 75)))
	btn.Style = slack.StylePrimary
	return btn
}

// openApproveAll answers a click on "Approve all on ACCOUNT": the modal
// listing what waits on the clicker on that account now.
func (b *Bot) openApproveAll(ctx context.Context, req Request, cb slack.InteractionCallback, act *slack.BlockAction) {
	key := fmt.Sprintf("action:%s:%s:%s:%s", cb.Team.ID, cb.User.ID, act.ActionTs, act.ActionID)
	ok, done, err := b.claim(ctx, key)
	if err != nil {
		b.answer(ctx, cb, b.userMessage(ctx, err))
		return
	}
	if !ok {
		return
	}
	failed := true
	defer func() { done(failed) }()
	accountID, perr := strconv.ParseInt(act.Value, 10, 64)
	a, _, err := b.identify(ctx, req, cb.Team.ID, cb.User.ID)
	if err != nil {
		failed = transient(err)
		b.answer(ctx, cb, b.userMessage(ctx, err))
		return
	}
	waiting, err := b.svc.Waiting(ctx, a)
	if err != nil {
		failed = transient(err)
		b.answer(ctx, cb, b.userMessage(ctx, err))
		return
	}
	var vs []*approvals.DraftView
	for _, v := range waiting {
		if perr == nil && v.Account.ID == accountID {
			vs = append(vs, v)
		}
	}
	failed = false
	if len(vs) == 0 {
		b.answer(ctx, cb, "Nothing on that account waits on your decision any more.")
		return
	}
	if _, err := b.api.OpenViewContext(ctx, cb.TriggerID, approveAllModal(vs)); err != nil {
		b.answer(ctx, cb, b.userMessage(ctx, fmt.Errorf("views.open: %w", err)))
	}
}

// approveAllModal lists the drafts "Approve all" will approve.
func approveAllModal(vs []*approvals.DraftView) slack.ModalViewRequest {
	total := len(vs)
	if len(vs) > maxApproveAll {
		vs = vs[:maxApproveAll]
	}
	name := vs[0].Account.Label()
	intro := fmt.Sprintf("Approve these %d drafts on *%s*? Each is approved as listed here; a draft revised, withdrawn or decided since is left alone, and you will be told which.", len(vs), escape(name))
	if total > len(vs) {
		intro += fmt.Sprintf(" (The oldest %d of the %d waiting; the rest stay in your App Home.)", len(vs), total)
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(intro), nil, nil)}
	refs := make([]decisionRef, len(vs))
	var lines []string
	for i, v := range vs {
		refs[i] = decisionRef{DraftID: v.ID, Revision: v.Revision, Tier: v.CurrentTier}
		lines = append(lines, fmt.Sprintf("• #%d · rev %d · %s", v.ID, v.Revision, escape(truncate(strings.Join(strings.Fields(v.Current.Text), " "), 80))))
	}
	for _, c := range chunks(strings.Join(lines, "\n"), maxSection) {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(c), nil, nil))
	}
	meta, _ := json.Marshal(approveAllMeta{Account: name, Items: formatRefs(refs)})
	return slack.ModalViewRequest{
		Type: slack.VTModal, Title: plain("Approve all"), Submit: plain(truncate(fmt.Sprintf("Approve %d", len(vs)), 24)), Close: plain("Cancel"),
		CallbackID: callbackApproveAll, PrivateMetadata: string(meta), Blocks: slack.Blocks{BlockSet: blocks},
	}
}

// queueApproveAll queues the approve-all modal's submission as one click;
// the modal closes at once and the worker reports the outcome.
func (b *Bot) queueApproveAll(ctx context.Context, req Request, cb slack.InteractionCallback, key string) *slack.ViewSubmissionResponse {
	var meta approveAllMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil {
		return nil
	}
	refs, err := parseRefs(meta.Items)
	if err != nil {
		b.logger.WarnContext(ctx, "approve-all modal with unreadable drafts", "err", err)
		return nil
	}
	q := queuedAction{Meta: req.Meta, TeamID: cb.Team.ID, UserID: cb.User.ID, Home: true,
		Verdict: approvals.VerdictApprove, Items: refs, Account: meta.Account}
	q.Meta.SlackTeamID, q.Meta.SlackUserID = cb.Team.ID, cb.User.ID
	if _, err := b.enqueue(ctx, key, q); err != nil {
		b.answer(ctx, cb, b.userMessage(ctx, err))
	}
	return nil
}

// decideAll decides a queued approve-all through the core and words the
// report; err is a failure of the whole call (nothing decided).
func (b *Bot) decideAll(ctx context.Context, a approvals.Actor, q queuedAction) ([]approvals.DecideOutcome, error) {
	ins := make([]approvals.DecideInput, len(q.Items))
	for i, r := range q.Items {
		ins[i] = approvals.DecideInput{DraftID: r.DraftID, Revision: r.Revision, Tier: r.Tier, Verdict: approvals.VerdictApprove}
	}
	return b.svc.DecideEach(ctx, a, ins)
}

// allReport words what an approve-all queued at queued did, draft by
// draft. An approval already made in Slack since it was queued is its own,
// from an earlier attempt that a passing failure had it retry.
func (b *Bot) allReport(ctx context.Context, account string, queued time.Time, outcomes []approvals.DecideOutcome) string {
	approved := 0
	var rest []string
	for _, o := range outcomes {
		switch {
		case o.Decided(), o.Err == nil && o.Result.Decision.Channel == approvals.ChannelSlack && !o.Result.Decision.CreatedAt.Before(queued):
			approved++
		case o.Err == nil:
			rest = append(rest, fmt.Sprintf("• #%d left alone: you had already approved revision %d.", o.Input.DraftID, o.Result.Decision.Revision))
		case o.Skipped():
			rest = append(rest, fmt.Sprintf("• #%d left alone: %s.", o.Input.DraftID, strings.TrimSuffix(approvals.ErrorMessage(o.Err), ".")))
		default:
			rest = append(rest, fmt.Sprintf("• #%d not approved: %s", o.Input.DraftID, b.userMessage(ctx, o.Err)))
		}
	}
	text := fmt.Sprintf("Approved %d of %d drafts on %s.", approved, len(outcomes), escape(account))
	if len(rest) > 0 {
		text += "\n" + strings.Join(rest, "\n")
	}
	return text
}
