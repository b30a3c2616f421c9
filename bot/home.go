package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/signoff-app/signoff/approvals"
)

// Event handles an Events API event (app_home_opened). It acknowledges at
// once; the App Home is published after. A delivery whose event_id was seen
// before (Slack's retries) does nothing. Both HTTP and Socket Mode call it.
func (b *Bot) Event(ctx context.Context, req Request, ev slackevents.EventsAPIEvent) {
	if ev.Type != slackevents.CallbackEvent {
		return
	}
	outer, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || outer.EventID == "" {
		return
	}
	home, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || home.Tab != "home" {
		return
	}
	claimed, done, err := b.claim(ctx, "event:"+outer.EventID)
	if err != nil {
		b.logger.WarnContext(ctx, "claim slack event", "event_id", outer.EventID, "err", err)
		return
	}
	if !claimed {
		return
	}
	done(false)
	team := ev.TeamID
	b.later(ctx, "app home", func(ctx context.Context) error { return b.publishHome(ctx, req, team, home.User) })
}

// publishHome publishes the member's App Home: the drafts waiting on them
// by account (with the same buttons as the channel messages, and "Approve
// all" per account, see approveall.go) and their own drafts in
// flight; or, for a user who cannot be linked, how to get linked.
func (b *Bot) publishHome(ctx context.Context, req Request, teamID, userID string) error {
	var blocks []slack.Block
	a, _, err := b.identify(ctx, req, teamID, userID)
	if err == nil {
		var in *approvals.Inbox
		in, err = b.svc.Inbox(ctx, a)
		if err == nil {
			blocks = homeBlocks(in, b.cfg.Command, b.MediaURL)
		}
	}
	if err != nil {
		blocks = []slack.Block{
			slack.NewHeaderBlock(plain("Signoff")),
			slack.NewSectionBlock(mrkdwn(escape(b.userMessage(ctx, err))), nil, nil),
		}
	}
	_, err = b.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: userID,
		View: slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}})
	if err != nil {
		return fmt.Errorf("views.publish: %w", err)
	}
	return nil
}

// maxHomeBlocks is Slack's limit on a Home tab's blocks.
const maxHomeBlocks = 100

func homeBlocks(in *approvals.Inbox, command string, pics PictureURL) []slack.Block {
	blocks := []slack.Block{slack.NewHeaderBlock(plain(fmt.Sprintf("Waiting on you (%d)", len(in.Waiting))))}
	if len(in.Waiting) == 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn("Nothing waits on your decision."), nil, nil))
	}
	full := false
	for _, group := range waitingByAccount(in.Waiting) {
		if full {
			break
		}
		// Each account's drafts under its name, with "Approve all" when
		// there is more than one.
		var all *slack.Accessory
		if len(group) > 1 {
			all = slack.NewAccessory(approveAllButton(group))
		}
		head := fmt.Sprintf("*%s* · %d waiting", escape(group[0].Account.Label()), len(group))
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(head), nil, all, slack.SectionBlockOptionBlockID(fmt.Sprintf("account_%d", group[0].Account.ID))))
		for _, v := range group {
			req := requestBlocks(v, v.Revision, v.CurrentTier, pics)
			if len(blocks)+len(req)+1 > maxHomeBlocks-12 {
				blocks = append(blocks, slack.NewSectionBlock(mrkdwn("…and more: `"+command+" list`"), nil, nil))
				full = true
				break
			}
			blocks = append(blocks, req[1:]...) // without the header
			blocks = append(blocks, slack.NewDividerBlock())
		}
	}
	blocks = append(blocks, slack.NewHeaderBlock(plain(fmt.Sprintf("Your drafts in flight (%d)", len(in.Mine)))))
	if len(in.Mine) == 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn("None. Start one with `"+command+" new`."), nil, nil))
		return blocks
	}
	var lines []string
	for _, d := range in.Mine {
		lines = append(lines, fmt.Sprintf("#%d · %s · %s · rev %d · %s", d.ID, escape(d.Account), d.State.Describe(), d.Revision,
			escape(truncate(strings.Join(strings.Fields(d.Text), " "), 60))))
	}
	for _, c := range chunks(strings.Join(lines, "\n"), maxSection) {
		if len(blocks) >= maxHomeBlocks {
			break
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(c), nil, nil))
	}
	return blocks
}
