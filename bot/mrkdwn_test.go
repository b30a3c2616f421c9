package bot

import (
	"regexp"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/signoff-app/signoff/approvals"
)

// slackLinkRe is how Slack reads a link in mrkdwn: "<" target, optionally
// "|" text, ">"; the target ends at the first "|" or ">".
var slackLinkRe = regexp.MustCompile(`<([^|>]*)(?:\|([^>]*))?>`)

// unescape undoes Slack's entity escapes, as Slack shows text.
func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

func TestLinkNastyURLs(t *testing.T) {
	for _, u := range []string{
		"https://cdn.example/a.png",
		"https://cdn.example/a.png|https://evil.example/",
		"https://cdn.example/a.png?x=1&y=2|click here",
		"https://evil.example/><https://cdn.example/ok.png",
		"https://cdn.example/<!channel>",
		"https://cdn.example/a b\nc\t|d",
		"https://cdn.example/%7C|already-encoded",
		"https://cdn.example/ünïcode|x",
	} {
		t.Run(u, func(t *testing.T) {
			got := link(u, "")
			m := slackLinkRe.FindAllStringSubmatch(got, -1)
			if len(m) != 1 || m[0][0] != got {
				t.Fatalf("link(%q) = %q: Slack reads %d links, want exactly this one", u, got, len(m))
			}
			target, text := unescape(m[0][1]), unescape(m[0][2])
			if text != u {
				t.Errorf("link shows %q, want the URL %q", text, u)
			}
			if strings.ContainsAny(target, "|<> \n\t") {
				t.Errorf("target %q holds markup or whitespace", target)
			}
			// The target is the URL with only markup percent-encoded.
			decoded := strings.NewReplacer("%7C", "|", "%3C", "<", "%3E", ">", "%20", " ", "%0A", "\n", "%09", "\t").Replace(target)
			if decoded != strings.ReplaceAll(u, "%7C", "|") && decoded != u {
				t.Errorf("target %q is not the URL %q", target, u)
			}
		})
	}
}

func TestMentionAndChannelRef(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{mention("U123ABC"), "<@U123ABC>"},
		{mention("U1>|<!channel"), "U1&gt;|&lt;!channel"},
		{channelRef("C0ABC"), "<#C0ABC>"},
		{channelRef("C0|<!here>"), "C0|&lt;!here&gt;"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// The media links of a request show the URL that is their target, however
// the URL is made.
func TestContentBlocksMediaLinks(t *testing.T) {
	evil := "https://cdn.example/cat.png|https://evil.example/login"
	v := &approvals.DraftView{Current: approvals.Revision{Text: "Hi", MediaURLs: []string{evil, "https://ok.example/a.png"}}}
	var media string
	for _, b := range contentBlocks(v, nil) {
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil && strings.HasPrefix(s.Text.Text, "*Media*") {
			media = s.Text.Text
		}
	}
	links := slackLinkRe.FindAllStringSubmatch(media, -1)
	if len(links) != 2 {
		t.Fatalf("media section %q has %d links, want 2", media, len(links))
	}
	for _, l := range links {
		if shown, target := unescape(l[2]), strings.ReplaceAll(unescape(l[1]), "%7C", "|"); shown != target {
			t.Errorf("a link shows %q but leads to %q", shown, target)
		}
	}
}
