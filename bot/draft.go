package bot

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/signoff-app/signoff/approvals"
)

// Action IDs of the decision buttons, and callback IDs of the modals.
const (
	actionApprove = "signoff_approve"
	actionReject  = "signoff_reject"
	// actionApproveComment opens a modal for a remark to approve with.
	actionApproveComment = "signoff_approve_comment"

	callbackSubmit         = "signoff_submit"
	callbackRevise         = "signoff_revise"
	callbackReject         = "signoff_reject"
	callbackComment        = "signoff_comment"
	callbackApproveComment = "signoff_approve_comment"

	// Block and action IDs of the modals' inputs (response_action errors
	// name the block IDs).
	blockAccount  = "account"
	blockText     = "text"
	blockMedia    = "media"
	blockSchedule = "schedule"
	blockComment  = "comment"
	blockInternal = "internal"
)

// maxSection is Slack's limit on a section's text.
const maxSection = 3000

// decisionRef is what a decision button carries: the draft, the revision
// and the tier the approver saw.
type decisionRef struct {
	DraftID  int64          `json:"d"`
	Revision int            `json:"r"`
	Tier     approvals.Tier `json:"t"`
	Channel  string         `json:"c,omitempty"` // where to answer ephemerally (modals only)
}

func (r decisionRef) value() string {
	return fmt.Sprintf("%d/%d/%s", r.DraftID, r.Revision, r.Tier)
}

func parseDecisionRef(v string) (decisionRef, error) {
	parts := strings.Split(v, "/")
	if len(parts) != 3 {
		return decisionRef{}, fmt.Errorf("malformed button value %q", v)
	}
	id, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || id <= 0 {
		return decisionRef{}, fmt.Errorf("malformed draft in button value %q", v)
	}
	rev, err := strconv.Atoi(parts[1])
	if err != nil || rev <= 0 {
		return decisionRef{}, fmt.Errorf("malformed revision in button value %q", v)
	}
	tier, err := approvals.ParseTier(parts[2])
	if err != nil {
		return decisionRef{}, fmt.Errorf("malformed tier in button value %q: %w", v, err)
	}
	return decisionRef{DraftID: id, Revision: rev, Tier: tier}, nil
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// chunks splits s into pieces of at most n characters.
func chunks(s string, n int) []string {
	var out []string
	for utf8.RuneCountInString(s) > n {
		r := []rune(s)
		out = append(out, string(r[:n]))
		s = string(r[n:])
	}
	return append(out, s)
}

// truncate shortens s to n characters, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func channelName(c approvals.Channel) string {
	switch c {
	case approvals.ChannelSlack:
		return "Slack"
	case approvals.ChannelEmail:
		return "email"
	case approvals.ChannelCLI:
		return "the command line"
	case approvals.ChannelAPI:
		return "the API"
	case approvals.ChannelSystem:
		return "Signoff"
	}
	return string(c)
}

// approverName is how a decision's approver is shown: their name (not
// their email, which a shared channel need not see).
func approverName(v *approvals.DraftView, d *approvals.Decision) string {
	for _, ts := range v.Tiers {
		for _, a := range ts.Approvers {
			if a.MemberID == d.ApproverID && d.ApproverID != 0 && a.Name != "" {
				return a.Name
			}
		}
	}
	if i := strings.Index(d.Approver, " <"); i > 0 {
		return d.Approver[:i]
	}
	return d.Approver
}

// decisionLine says one decision: "Approved by X via Slack at T".
func decisionLine(v *approvals.DraftView, d *approvals.Decision) string {
	verb, icon := "Approved", ":white_check_mark:"
	if d.Verdict == approvals.VerdictReject {
		verb, icon = "Rejected", ":x:"
	}
	return fmt.Sprintf("%s %s by %s via %s at %s", icon, verb, escape(approverName(v, d)), channelName(d.Channel), approvals.Stamp(d.CreatedAt))
}

// requestStatus words where the request for (revision, tier) stands now
// (the core's view.Request): lines to show, and whether it still takes
// decisions (buttons shown).
func requestStatus(v *approvals.DraftView, st approvals.RequestStatus) (lines []string, open bool) {
	for _, d := range st.Decisions {
		lines = append(lines, decisionLine(v, d))
	}
	switch st.Outcome {
	case approvals.RequestWithdrawn:
		return []string{":no_entry_sign: Withdrawn by its author"}, false
	case approvals.RequestExpired:
		return []string{":hourglass: Expired: nobody decided by the deadline"}, false
	case approvals.RequestSuperseded:
		if st.SupersededBy == 0 {
			return []string{":arrows_counterclockwise: Superseded: the agency is preparing a new version"}, false
		}
		return []string{fmt.Sprintf(":arrows_counterclockwise: Superseded by revision %d", st.SupersededBy)}, false
	case approvals.RequestApproved:
		lines = append(lines, ":tada: The draft is approved")
	case approvals.RequestPassed:
		lines = append(lines, "Passed internal approval; now waiting for client approval")
	case approvals.RequestReturned:
		if len(lines) == 0 {
			lines = append(lines, "Returned to its author")
		}
	}
	return lines, st.Open()
}

// requestBlocks is the Block Kit of an approval request for (revision,
// tier) of the draft, as it stands now: the content, the decisions so far
// and, while it takes decisions, the Approve and Reject buttons.
func requestBlocks(v *approvals.DraftView, rev int, tier approvals.Tier, pics PictureURL) []slack.Block {
	st := v.Request(rev, tier)
	lines, open := requestStatus(v, st)
	title := fmt.Sprintf("Draft #%d for %s approval", v.ID, tier)
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(truncate(title, 150))),
		slack.NewSectionBlock(nil, draftFields(v), nil),
	}
	if st.ShowsContent() {
		blocks = append(blocks, contentBlocks(v, pics)...)
	}
	if len(lines) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(strings.Join(lines, "\n"), maxSection)), nil, nil,
			slack.SectionBlockOptionBlockID(fmt.Sprintf("status_%d_%d_%s", v.ID, rev, tier))))
	}
	if open {
		blocks = append(blocks, decideButtons(v.ID, rev, tier))
	}
	return blocks
}

// decideButtons are a request's Approve, Approve with comment and Reject
// buttons, wherever the request is shown.
func decideButtons(draftID int64, rev int, tier approvals.Tier) *slack.ActionBlock {
	ref := decisionRef{DraftID: draftID, Revision: rev, Tier: tier}
	approve := slack.NewButtonBlockElement(actionApprove, ref.value(), plain("Approve")).WithStyle(slack.StylePrimary)
	withComment := slack.NewButtonBlockElement(actionApproveComment, ref.value(), plain("Approve with comment"))
	reject := slack.NewButtonBlockElement(actionReject, ref.value(), plain("Reject")).WithStyle(slack.StyleDanger)
	return slack.NewActionBlock(fmt.Sprintf("decide_%d_%d_%s", draftID, rev, tier), approve, withComment, reject)
}

// draftFields are the facts of a draft: account, author, schedule, revision.
func draftFields(v *approvals.DraftView) []*slack.TextBlockObject {
	schedule := "not scheduled"
	if at := v.Current.ScheduledAt; at != nil {
		schedule = approvals.Stamp(*at)
	}
	account := escape(v.Account.Name) + " (" + escape(v.Account.Handle) + ")"
	if n := v.Account.Network.Label(); n != "" {
		account += " on " + n
	}
	return []*slack.TextBlockObject{
		mrkdwn("*Account*\n" + account),
		mrkdwn("*Author*\n" + escape(v.Author.DisplayName())),
		mrkdwn("*Scheduled*\n" + schedule),
		mrkdwn(fmt.Sprintf("*Revision*\n%d", v.Current.Number)),
	}
}

// PictureURL returns the public URL of picture index of a revision, signed
// by Signoff (mailer.Links.MediaURL), or "" when it has none.
type PictureURL func(workspaceID, draftID int64, rev, index int) string

// contentBlocks show the current revision: its text exactly (plain text,
// so markup shows as typed), an image block per picture (when pics can
// make their URLs), its media links with what they hold or why they are
// not previewed, and what changed since the previous revision.
func contentBlocks(v *approvals.DraftView, pics PictureURL) []slack.Block {
	var blocks []slack.Block
	for _, c := range chunks(v.Current.Text, maxSection) {
		blocks = append(blocks, slack.NewSectionBlock(plain(c), nil, nil))
	}
	media := v.MediaList()
	if pics != nil {
		for _, m := range media {
			if !m.HasThumb {
				continue
			}
			if u := pics(v.WorkspaceID, v.ID, v.Current.Number, m.Index); u != "" {
				blocks = append(blocks, slack.NewImageBlock(u, fmt.Sprintf("Picture %d of the post", m.Index+1),
					fmt.Sprintf("picture_%d_%d_%d", v.ID, v.Current.Number, m.Index), nil))
			}
		}
	}
	if len(media) > 0 {
		// Whole links only: a link cut short would show as broken markup.
		text := "*Media*"
		for i, m := range media {
			line := "\n• " + link(m.URL, "")
			if m.Reason != "" {
				line += " _" + escape(m.Reason) + "_"
			} else if d := m.Describe(); d != "" {
				line += " (" + escape(d) + ")"
			}
			if utf8.RuneCountInString(text+line) > maxSection-20 {
				text += fmt.Sprintf("\n…and %d more", len(media)-i)
				break
			}
			text += line
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(text), nil, nil))
	}
	if changes := changesText(v.Changes); changes != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate("*Changed since the last round*\n"+changes, maxSection)), nil, nil))
	}
	return blocks
}

// changesText renders a word diff in mrkdwn: ~removed~ and *added*; "" when
// nothing changed (or there is no earlier revision).
func changesText(ops []approvals.DiffOp) string {
	changed := false
	var sb strings.Builder
	for _, op := range ops {
		text := escape(op.Text)
		switch op.Op {
		case "-":
			changed = true
			if strings.TrimSpace(text) != "" {
				sb.WriteString("~" + strings.TrimSpace(text) + "~ ")
			}
		case "+":
			changed = true
			if strings.TrimSpace(text) != "" {
				sb.WriteString("*" + strings.TrimSpace(text) + "* ")
			} else {
				sb.WriteString(text)
			}
		default:
			sb.WriteString(text)
		}
	}
	if !changed {
		return ""
	}
	return strings.TrimSpace(sb.String())
}

// requestText is the notification text of a request (shown where blocks
// cannot be: notifications, screen readers).
func requestText(v *approvals.DraftView, tier approvals.Tier) string {
	return fmt.Sprintf("Draft #%d on %s by %s needs your %s approval", v.ID, escape(v.Account.Handle), escape(v.Author.DisplayName()), tier)
}

// modalMeta is the private metadata of a modal.
type modalMeta struct {
	DraftID  int64          `json:"d,omitempty"`
	Revision int            `json:"r,omitempty"`
	Tier     approvals.Tier `json:"t,omitempty"`
	Channel  string         `json:"c,omitempty"`
}

func (m modalMeta) String() string {
	b, _ := json.Marshal(m)
	return string(b)
}

// draftModal is the form of /signoff new (accounts given) and /signoff
// revise (v given: pre-filled with its current revision).
func draftModal(accounts []approvals.Access, v *approvals.DraftView, meta modalMeta) slack.ModalViewRequest {
	textInput := slack.NewPlainTextInputBlockElement(plain("What the post says"), blockText)
	textInput.Multiline = true
	mediaInput := slack.NewPlainTextInputBlockElement(plain("https://… (one per line)"), blockMedia)
	mediaInput.Multiline = true
	schedule := slack.NewDateTimePickerBlockElement(blockSchedule)
	var blocks []slack.Block
	title, submit, callback := "New draft", "Submit", callbackSubmit
	if v == nil {
		var opts []*slack.OptionBlockObject
		for _, a := range accounts {
			opts = append(opts, slack.NewOptionBlockObject(a.Account.Handle, plain(truncate(a.Account.Name+" ("+a.Account.Handle+")", 75)), nil))
		}
		sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose an account"), blockAccount, opts...)
		blocks = append(blocks, slack.NewInputBlock(blockAccount, plain("Account"), nil, sel))
	} else {
		title, submit, callback = "Revise draft", "Resubmit", callbackRevise
		textInput.InitialValue = v.Current.Text
		mediaInput.InitialValue = strings.Join(v.Current.MediaURLs, "\n")
		if v.Current.ScheduledAt != nil {
			schedule.InitialDateTime = v.Current.ScheduledAt.Unix()
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(fmt.Sprintf("Draft #%d on *%s*, revision %d → %d", v.ID, escape(v.Account.Handle), v.Revision, v.Revision+1)), nil, nil))
	}
	media := slack.NewInputBlock(blockMedia, plain("Media URLs"), plain("Optional; http or https, one per line"), mediaInput)
	media.Optional = true
	when := slack.NewInputBlock(blockSchedule, plain("Publish at"), plain("Optional; must be in the future"), schedule)
	when.Optional = true
	blocks = append(blocks, slack.NewInputBlock(blockText, plain("Text"), nil, textInput), media, when)
	return slack.ModalViewRequest{
		Type: slack.VTModal, Title: plain(title), Submit: plain(submit), Close: plain("Cancel"),
		CallbackID: callback, PrivateMetadata: meta.String(), Blocks: slack.Blocks{BlockSet: blocks},
	}
}

// decisionModal asks for the comment of a decision: the reason of a
// rejection, or the remark an approval carries.
func decisionModal(ref decisionRef, verdict approvals.Verdict) slack.ModalViewRequest {
	if verdict == approvals.VerdictReject {
		return rejectModal(ref)
	}
	in := slack.NewPlainTextInputBlockElement(plain("Approved, but fix the typo in the last line"), blockComment)
	in.Multiline = true
	in.MaxLength = approvals.MaxCommentLen
	meta := modalMeta(ref)
	return slack.ModalViewRequest{
		Type: slack.VTModal, Title: plain("Approve draft"), Submit: plain("Approve"), Close: plain("Cancel"),
		CallbackID: callbackApproveComment, PrivateMetadata: meta.String(),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(fmt.Sprintf("Approving draft #%d (revision %d). The author is told your comment with the approval, exactly as written.", ref.DraftID, ref.Revision)), nil, nil),
			slack.NewInputBlock(blockComment, plain("Comment"), nil, in),
		}},
	}
}

// rejectModal asks for the reason of a rejection.
func rejectModal(ref decisionRef) slack.ModalViewRequest {
	in := slack.NewPlainTextInputBlockElement(plain("What should change?"), blockComment)
	in.Multiline = true
	in.MaxLength = approvals.MaxCommentLen
	meta := modalMeta(ref)
	return slack.ModalViewRequest{
		Type: slack.VTModal, Title: plain("Reject draft"), Submit: plain("Reject"), Close: plain("Cancel"),
		CallbackID: callbackReject, PrivateMetadata: meta.String(),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(fmt.Sprintf("Rejecting draft #%d (revision %d). The author gets your comment exactly as written.", ref.DraftID, ref.Revision)), nil, nil),
			slack.NewInputBlock(blockComment, plain("Comment"), nil, in),
		}},
	}
}

// commentModal asks for a comment on a draft; staff also get a checkbox to
// keep it from clients.
func commentModal(draftID int64, staff bool) slack.ModalViewRequest {
	in := slack.NewPlainTextInputBlockElement(plain("Your comment"), blockComment)
	in.Multiline = true
	in.MaxLength = approvals.MaxCommentLen
	blocks := []slack.Block{slack.NewInputBlock(blockComment, plain("Comment"), nil, in)}
	if staff {
		internal := slack.NewCheckboxGroupsBlockElement(blockInternal,
			slack.NewOptionBlockObject(blockInternal, plain("Internal: staff only, never shown to clients"), nil))
		box := slack.NewInputBlock(blockInternal, plain("Who may read it"), nil, internal)
		box.Optional = true
		blocks = append(blocks, box)
	}
	meta := modalMeta{DraftID: draftID}
	return slack.ModalViewRequest{
		Type: slack.VTModal, Title: plain(fmt.Sprintf("Comment on #%d", draftID)), Submit: plain("Comment"), Close: plain("Cancel"),
		CallbackID: callbackComment, PrivateMetadata: meta.String(), Blocks: slack.Blocks{BlockSet: blocks},
	}
}

// verdictBlocks is the message to a draft's author about the outcome, with
// the reviewer's comment exactly as written (plain text).
func verdictBlocks(v *approvals.DraftView, n approvals.Notification) (text string, blocks []slack.Block) {
	if n.Event == approvals.EventApproved {
		text = fmt.Sprintf(":tada: Your draft #%d on %s (revision %d) is approved.", v.ID, escape(v.Account.Handle), n.Revision)
		return text, append([]slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil)}, approvalRemarkBlocks(v, n.Revision)...)
	}
	by := "a reviewer"
	if d := v.Cause(n); d != nil {
		by = approverName(v, d) + " via " + channelName(d.Channel)
	}
	if n.Channel == approvals.ChannelSystem {
		by = "Signoff"
	}
	text = fmt.Sprintf(":x: Your draft #%d on %s (revision %d) was rejected by %s. Revise it with `/signoff revise %d`.", v.ID, escape(v.Account.Handle), n.Revision, escape(by), v.ID)
	blocks = []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil)}
	for i, c := range chunks(v.NoticeComment(n), maxSection) {
		blocks = append(blocks, slack.NewSectionBlock(plain(c), nil, nil, slack.SectionBlockOptionBlockID(fmt.Sprintf("comment_%d", i))))
	}
	// A tier that approved before another rejected may have said something too.
	return text, append(blocks, approvalRemarkBlocks(v, n.Revision)...)
}

// maxRemarkBlocks keeps an approval's message within Slack's 50 blocks.
const maxRemarkBlocks = 45

// approvalRemarkBlocks show what approvers said with their approvals of
// revision rev, those the view's reader may see, exactly as written.
func approvalRemarkBlocks(v *approvals.DraftView, rev int) []slack.Block {
	var blocks []slack.Block
	remarks := v.ApprovalRemarks(rev)
	for i, x := range remarks {
		cs := chunks(x.Comment, maxSection)
		if len(blocks)+1+len(cs) > maxRemarkBlocks {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(fmt.Sprintf("…and %d more comments in the draft's history.", len(remarks)-i)), nil, nil))
			break
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(fmt.Sprintf("*%s* approved with a comment:", escape(approverName(v, x)))), nil, nil))
		for j, c := range cs {
			blocks = append(blocks, slack.NewSectionBlock(plain(c), nil, nil, slack.SectionBlockOptionBlockID(fmt.Sprintf("approval_comment_%d_%d", i, j))))
		}
	}
	return blocks
}
