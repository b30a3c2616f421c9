package approvals

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rivo/uniseg"
)

// Limit is one figure of a network's rules, with the page it comes from.
// Max 0 means the network documents no such limit and Signoff checks none.
type Limit struct {
	Max    int    `json:"max,omitempty"`
	Source string `json:"source,omitempty"`
}

// AspectRange is the range of picture shapes (width ÷ height) a network's
// feed shows whole; it crops anything outside. Min or Max 0: no bound.
type AspectRange struct {
	Min     float64 `json:"min,omitempty"`
	MinName string  `json:"min_name,omitempty"` // Min as people write it: "4:5"
	Max     float64 `json:"max,omitempty"`
	MaxName string  `json:"max_name,omitempty"`
	Source  string  `json:"source,omitempty"`
}

// NetworkLimits is what a network refuses in a post, and how its feed
// crops pictures. Every figure names its source.
type NetworkLimits struct {
	Network  Network  `json:"network"`
	Counting Counting `json:"counting"` // how Caption is measured
	// Noun is what the network calls a post's text ("captions", "posts").
	Noun     string `json:"noun"`
	Caption  Limit  `json:"caption"`
	Hashtags Limit  `json:"hashtags"`
	Mentions Limit  `json:"mentions"`
	Links    Limit  `json:"links"`
	Media    Limit  `json:"media"` // pictures and videos in one post
	// Forbidden are characters the network refuses in the text.
	Forbidden       string      `json:"forbidden,omitempty"`
	ForbiddenSource string      `json:"forbidden_source,omitempty"`
	Aspect          AspectRange `json:"aspect"`
}

// Sources of the figures below, checked December 2026.
const (
	srcInstagramAPI      = "https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media"
	srcInstagramHashtags = "https://www.socialmediatoday.com/news/instagram-implements-new-limits-on-hashtag-use/808309/ (Instagram's @creators announcement of December 2025: five hashtags per post or reel)"
	srcInstagramCarousel = "https://developers.facebook.com/docs/instagram-platform/content-publishing#carousel-posts (the app has taken 20 since August 2024; the publishing API, which scheduling tools use, takes 10)"
	srcXCounting         = "https://docs.x.com/resources/fundamentals/counting-characters"
	srcXMedia            = "https://help.x.com/en/using-x/posting-gifs-and-pictures"
	srcLinkedInPosts     = "https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api"
	srcLinkedInImages    = "https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/multiimage-post-api"
	srcTikTokVideo       = "https://developers.tiktok.com/doc/content-posting-api-reference-direct-post"
	srcTikTokPhoto       = "https://developers.tiktok.com/doc/content-posting-api-reference-photo-post"
	srcThreadsPosts      = "https://developers.facebook.com/docs/threads/posts"
	srcThreadsLinks      = "https://developers.facebook.com/documentation/threads/create-posts/text-attachments (from 22 December 2025, posts with more than 5 links fail)"
	srcThreadsTags       = "https://developers.facebook.com/docs/threads/posts#topic-tags--links--and-gifs (one topic tag per post)"
	srcPinterestAPI      = "https://developers.pinterest.com/docs/api/v5/pins-create"
	srcPinterestSpecs    = "https://help.pinterest.com/en/business/article/pinterest-product-specs (Pins taller than 1:2.1 are cut off in the feed)"
	srcYouTubeVideos     = "https://developers.google.com/youtube/v3/docs/videos#snippet.description"
)

// networkLimits is the table of every network's limits.
var networkLimits = []NetworkLimits{
	{Network: NetworkInstagram, Counting: CountCharacters, Noun: "captions",
		Caption:  Limit{2200, srcInstagramAPI},
		Hashtags: Limit{5, srcInstagramHashtags},
		Mentions: Limit{20, srcInstagramAPI},
		Media:    Limit{10, srcInstagramCarousel},
		Aspect:   AspectRange{Min: 4.0 / 5, MinName: "4:5", Max: 1.91, MaxName: "1.91:1", Source: srcInstagramAPI}},
	// Meta documents no limit on a Page post's text or photos.
	{Network: NetworkFacebook, Counting: CountCharacters, Noun: "posts"},
	{Network: NetworkLinkedIn, Counting: CountCharacters, Noun: "posts",
		Caption: Limit{3000, srcLinkedInPosts},
		Media:   Limit{20, srcLinkedInImages}},
	{Network: NetworkX, Counting: CountXWeighted, Noun: "posts",
		Caption: Limit{xMaxLength, srcXCounting},
		Media:   Limit{4, srcXMedia}},
	// A video's caption; a photo post's description may be 4,000.
	{Network: NetworkTikTok, Counting: CountUTF16, Noun: "captions",
		Caption: Limit{2200, srcTikTokVideo},
		Media:   Limit{35, srcTikTokPhoto}},
	{Network: NetworkThreads, Counting: CountThreads, Noun: "posts",
		Caption:  Limit{500, srcThreadsPosts},
		Hashtags: Limit{1, srcThreadsTags},
		Links:    Limit{5, srcThreadsLinks},
		Media:    Limit{20, srcThreadsPosts}},
	{Network: NetworkPinterest, Counting: CountCharacters, Noun: "Pin descriptions",
		Caption: Limit{800, srcPinterestAPI},
		Media:   Limit{5, srcPinterestAPI}, // a carousel Pin: 2 to 5 images
		Aspect:  AspectRange{Min: 1 / 2.1, MinName: "1:2.1", Source: srcPinterestSpecs}},
	{Network: NetworkYouTube, Counting: CountBytes, Noun: "video descriptions",
		Caption:   Limit{5000, srcYouTubeVideos},
		Media:     Limit{1, srcYouTubeVideos},
		Forbidden: "<>", ForbiddenSource: srcYouTubeVideos},
	{Network: NetworkOther, Counting: CountCharacters, Noun: "posts"},
}

// AllNetworkLimits returns the limits of every network, in Networks order.
func AllNetworkLimits() []NetworkLimits {
	return append([]NetworkLimits(nil), networkLimits...)
}

// LimitsOf returns network n's limits; an unknown network has none.
func LimitsOf(n Network) NetworkLimits {
	for _, l := range networkLimits {
		if l.Network == n {
			return l
		}
	}
	return NetworkLimits{Network: n, Counting: CountCharacters, Noun: "posts"}
}

// Problems lists, in words a person acts on, each rule of the network that
// a post of text with media media items breaks, with the excess; nil when
// the network would take it.
func (l NetworkLimits) Problems(text string, media int) []string {
	name := l.Network.Name()
	var out []string
	if l.Caption.Max > 0 {
		if n := l.Counting.Length(text); n > l.Caption.Max {
			out = append(out, fmt.Sprintf("%s %s take at most %s %s; this one has %s", name, l.Noun, thousands(l.Caption.Max), l.Counting.unit(), thousands(n)))
		}
	}
	if l.Hashtags.Max > 0 {
		if n := countHashtags(text); n > l.Hashtags.Max {
			out = append(out, fmt.Sprintf("%s %s take at most %s; this one has %d", name, l.Noun, plural(l.Hashtags.Max, "hashtag"), n))
		}
	}
	if l.Mentions.Max > 0 {
		if n := countMentions(text); n > l.Mentions.Max {
			out = append(out, fmt.Sprintf("%s %s take at most %s; this one has %d", name, l.Noun, plural(l.Mentions.Max, "@mention"), n))
		}
	}
	if l.Links.Max > 0 {
		if n := countLinks(text); n > l.Links.Max {
			out = append(out, fmt.Sprintf("%s %s take at most %s; this one has %d", name, l.Noun, plural(l.Links.Max, "link"), n))
		}
	}
	if l.Forbidden != "" {
		if i := strings.IndexAny(text, l.Forbidden); i >= 0 {
			out = append(out, fmt.Sprintf("%s %s may not contain %s; this one has %q", name, l.Noun, orList(l.Forbidden), text[i:i+1]))
		}
	}
	if l.Media.Max > 0 && media > l.Media.Max {
		out = append(out, fmt.Sprintf("%s posts take at most %s; this one has %d", name, plural(l.Media.Max, "picture or video", "pictures or videos"), media))
	}
	return out
}

// check refuses a post the network would refuse. Errors: EINVALID naming
// every rule broken and by how much.
func (l NetworkLimits) check(text string, media int) error {
	if p := l.Problems(text, media); len(p) > 0 {
		return Errorf(EINVALID, "%s", strings.Join(p, "; "))
	}
	return nil
}

// CropNotes warns of each picture the network's feed would crop, once its
// dimensions are known: "Instagram will crop picture 2 (1:3) to 4:5".
// Media of unknown size, and videos, are not judged.
func (l NetworkLimits) CropNotes(media []Media) []string {
	a := l.Aspect
	if a.Min == 0 && a.Max == 0 {
		return nil
	}
	var out []string
	for _, m := range media {
		if m.Kind != MediaImage || m.Width <= 0 || m.Height <= 0 {
			continue
		}
		r := float64(m.Width) / float64(m.Height)
		to := ""
		switch {
		case a.Min > 0 && r < a.Min*0.995: // a rounding's worth of tolerance
			to = a.MinName
		case a.Max > 0 && r > a.Max*1.005:
			to = a.MaxName
		}
		if to != "" {
			out = append(out, fmt.Sprintf("%s will crop picture %d (%s, %s) to %s", l.Network.Name(), m.Index+1, ratioName(m.Width, m.Height), sizeName(m.Width, m.Height), to))
		}
	}
	return out
}

func (c Counting) unit() string {
	switch c {
	case CountXWeighted:
		return "characters as X counts them (a link counts 23; emoji and CJK characters 2)"
	case CountUTF16:
		return "characters as TikTok counts them (UTF-16 units; most emoji count 2)"
	case CountBytes:
		return "bytes (UTF-8; most accented letters count 2, emoji 4)"
	case CountThreads:
		return "characters as Threads counts them (an emoji counts its UTF-8 bytes)"
	}
	return "characters"
}

// ratioName words a shape: "1:3", "4:5", else "2.18:1" or "1:2.18".
func ratioName(w, h int) string {
	g := gcd(w, h)
	if a, b := w/g, h/g; a <= 32 && b <= 32 {
		return fmt.Sprintf("%d:%d", a, b)
	}
	if w >= h {
		return strconv.FormatFloat(float64(w)/float64(h), 'f', 2, 64) + ":1"
	}
	return "1:" + strconv.FormatFloat(float64(h)/float64(w), 'f', 2, 64)
}

func sizeName(w, h int) string { return fmt.Sprintf("%d×%d", w, h) }

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func plural(n int, one string, many ...string) string {
	if n == 1 {
		return "1 " + one
	}
	if len(many) > 0 {
		return fmt.Sprintf("%d %s", n, many[0])
	}
	return fmt.Sprintf("%d %ss", n, one)
}

// orList words a set of characters: "< or >".
func orList(chars string) string {
	var parts []string
	for _, r := range chars {
		parts = append(parts, string(r))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// thousands writes n with thousands separators: 2,200.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// checkNetwork refuses content that the account's network would refuse;
// Submit and Revise call it, so every channel gets the same answer.
// Errors: EINVALID.
func checkNetwork(acc *Account, in DraftInput) error {
	return LimitsOf(acc.Network).check(in.Text, len(in.MediaURLs))
}

// networkNotes warns of what the account's network would crop (for the
// media whose dimensions are known) and where its feed cuts the caption.
func networkNotes(acc *Account, text string, media []Media) []string {
	notes := LimitsOf(acc.Network).CropNotes(media)
	feed := acc.Network.Feed()
	if shown, cut := feed.Fold(text); cut {
		notes = append(notes, fmt.Sprintf("%s's feed shows the first %d characters of this caption, then \"… more\": %q",
			acc.Network.Name(), uniseg.GraphemeClusterCount(shown), lastWords(shown, 6)))
	}
	return notes
}

// lastWords is the end of s, at most n words, for a note to quote.
func lastWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		return "…" + strings.Join(f[len(f)-n:], " ")
	}
	return strings.Join(f, " ")
}
