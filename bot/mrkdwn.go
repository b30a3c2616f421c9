package bot

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/slack-go/slack"
)

// Everything Signoff puts into Slack mrkdwn goes through these helpers, one
// per context: escape for text, link for <target|text>, mention and
// channelRef for <@user> and <#channel>. Slack reads "<", ">" and "&" as
// markup anywhere and "|" inside <…> as the end of the target, so a value
// placed raw could make a link whose text shows one address and whose
// target is another, or mention @channel.

// escape makes s safe as text in mrkdwn: Slack's three control characters.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// link is a mrkdwn link to target showing text; with text "" it shows the
// target itself. The target is percent-encoded where Slack would read
// markup ("|", "<", ">", whitespace and control characters) and its "&"
// escaped, so it stays one address; the text is escaped, so whatever it
// holds is shown, never parsed.
func link(target, text string) string {
	if text == "" {
		text = target
	}
	return "<" + linkTarget(target) + "|" + escape(text) + ">"
}

func linkTarget(u string) string {
	var sb strings.Builder
	for _, r := range u {
		switch {
		case r == '&':
			sb.WriteString("&amp;")
		case r == '|' || r == '<' || r == '>' || r == '"' || unicode.IsSpace(r) || unicode.IsControl(r):
			for _, b := range []byte(string(r)) {
				fmt.Fprintf(&sb, "%%%02X", b)
			}
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// mention is <@user> for a Slack user ID; anything that is not an ID is
// shown as text rather than parsed.
func mention(userID string) string {
	if !slackID(userID) {
		return escape(userID)
	}
	return "<@" + userID + ">"
}

// channelRef is <#channel> for a Slack channel ID, or the value as text.
func channelRef(channelID string) string {
	if !slackID(channelID) {
		return escape(channelID)
	}
	return "<#" + channelID + ">"
}

// slackID reports whether s has the shape of a Slack user, channel or team
// ID: upper-case letters and digits.
func slackID(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}
