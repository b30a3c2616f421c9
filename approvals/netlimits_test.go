package approvals

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/unicode/norm"
)

func TestXLength(t *testing.T) {
	long := "https://example.com/a/very/long/path/that/goes/on/and/on?with=query"
	tests := []struct {
		name string
		text string
		want int
	}{
		{"empty", "", 0},
		{"ascii", "hello", 5},
		{"exactly 280 latin", strings.Repeat("a", 280), 280},
		{"281 latin", strings.Repeat("a", 281), 281},
		{"accented latin weighs 1", "café résumé", 11},
		{"decomposed accent is normalised first", "cafe\u0301", 4},
		{"cyrillic, greek, hebrew, arabic weigh 1", "Привет γειά שלום مرحبا", 22},
		{"CJK weighs 2", "こんにちは世界", 14},
		{"140 CJK is exactly 280", strings.Repeat("あ", 140), 280},
		{"141 CJK is 282", strings.Repeat("あ", 141), 282},
		{"hangul weighs 2", "안녕", 4},
		{"curly quotes and dashes weigh 1", "“quote” – ‘x’ — ′″", 18},
		{"ellipsis is outside the light ranges", "wait…", 6},
		{"emoji weighs 2", "😀", 2},
		{"heart with variation selector is one emoji", "❤️", 2},
		{"skin tone is part of the emoji", "👍🏽", 2},
		{"ZWJ family is one emoji", "👨‍👩‍👧‍👦", 2},
		{"flag is one emoji", "🇯🇵", 2},
		{"two flags", "🇯🇵🇫🇷", 4},
		{"keycap is one emoji", "1️⃣", 2},
		{"tagged flag is one emoji", "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", 2},
		{"text and emoji", "Launch day 🚀🚀", 15},
		{"a URL counts 23", long, 23},
		{"a short URL counts 23 too", "http://x.co", 23},
		{"www URL counts 23", "www.example.com/path", 23},
		{"URL in a sentence, full stop outside", "See https://example.com/a.", 4 + 23 + 1},
		{"two URLs", "https://a.example https://b.example", 23 + 1 + 23},
		{"exactly 280 with a URL", strings.Repeat("a", 256) + " " + long, 280},
		{"281 with a URL", strings.Repeat("a", 257) + " " + long, 281},
		{"exactly 280 mixed CJK and emoji", strings.Repeat("字", 130) + strings.Repeat("🎉", 10), 280},
		{"281 mixed", strings.Repeat("字", 130) + strings.Repeat("🎉", 10) + "a", 281},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := XLength(tt.text); got != tt.want {
				t.Errorf("XLength(%q) = %d, want %d", tt.text, got, tt.want)
			}
		})
	}
}

func TestCountings(t *testing.T) {
	tests := []struct {
		counting Counting
		text     string
		want     int
	}{
		{CountCharacters, "héllo 😀", 7},
		{CountUTF16, "héllo 😀", 8},  // the emoji is a surrogate pair
		{CountBytes, "héllo 😀", 11}, // é is 2 bytes, the emoji 4
		{CountThreads, "héllo 😀", 10},
		{CountThreads, "👨‍👩‍👧", 18}, // 3 × 4 bytes + 2 ZWJ × 3 bytes
	}
	for _, tt := range tests {
		if got := tt.counting.Length(tt.text); got != tt.want {
			t.Errorf("%s.Length(%q) = %d, want %d", tt.counting, tt.text, got, tt.want)
		}
	}
}

func TestTagCounts(t *testing.T) {
	tests := []struct {
		text                   string
		hashtags, mentions, ln int
	}{
		{"#a #b #c", 3, 0, 0},
		{"#1 is not a tag, #no1 is", 1, 0, 0},
		{"mid#word and a&#39;s entity are not tags", 0, 0, 0},
		{"fullwidth ＃タグ counts", 1, 0, 0},
		{"@ana and @bob_2, not mail@example.com", 0, 2, 0},
		{"https://a.example https://a.example www.b.example/x.", 0, 0, 2},
		{"https://a.example/#anchor is a link, not a tag", 0, 0, 1},
	}
	for _, tt := range tests {
		got := []int{countHashtags(tt.text), countMentions(tt.text), countLinks(tt.text)}
		if diff := cmp.Diff([]int{tt.hashtags, tt.mentions, tt.ln}, got); diff != "" {
			t.Errorf("%q: hashtags, mentions, links (-want +got):\n%s", tt.text, diff)
		}
	}
}

// TestNetworkLimits checks every network's row: at the limit the network
// takes the post, one over it refuses it with the rule and the excess.
func TestNetworkLimits(t *testing.T) {
	tags := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(" #tag" + strings.Repeat("x", i%5) + string(rune('a'+i%26)))
		}
		return "Caption" + b.String()
	}
	links := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(" https://l" + string(rune('a'+i)) + ".example")
		}
		return "Read" + b.String()
	}
	mentions := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(" @user" + string(rune('a'+i%26)) + strings.Repeat("x", i/26))
		}
		return "Hi" + b.String()
	}
	tests := []struct {
		network Network
		text    string
		media   int
		want    []string // the problems, in order; nil when the post passes
	}{
		{NetworkInstagram, strings.Repeat("a", 2200), 1, nil},
		{NetworkInstagram, strings.Repeat("a", 2201), 1, []string{"Instagram captions take at most 2,200 characters; this one has 2,201"}},
		{NetworkInstagram, tags(5), 0, nil},
		{NetworkInstagram, tags(34), 0, []string{"Instagram captions take at most 5 hashtags; this one has 34"}},
		{NetworkInstagram, mentions(20), 0, nil},
		{NetworkInstagram, mentions(21), 0, []string{"Instagram captions take at most 20 @mentions; this one has 21"}},
		{NetworkInstagram, "x", 10, nil},
		{NetworkInstagram, "x", 11, []string{"Instagram posts take at most 10 pictures or videos; this one has 11"}},
		{NetworkInstagram, strings.Repeat("a", 2195) + tags(6), 12, []string{
			"Instagram captions take at most 2,200 characters; this one has 2,248",
			"Instagram captions take at most 5 hashtags; this one has 6",
			"Instagram posts take at most 10 pictures or videos; this one has 12"}},
		{NetworkFacebook, strings.Repeat("a", 20000) + tags(40), 40, nil},
		{NetworkLinkedIn, strings.Repeat("a", 3000), 20, nil},
		{NetworkLinkedIn, strings.Repeat("a", 3001), 21, []string{
			"LinkedIn posts take at most 3,000 characters; this one has 3,001",
			"LinkedIn posts take at most 20 pictures or videos; this one has 21"}},
		{NetworkX, strings.Repeat("a", 280), 4, nil},
		{NetworkX, strings.Repeat("a", 281), 0, []string{"X posts take at most 280 characters as X counts them (a link counts 23; emoji and CJK characters 2); this one has 281"}},
		{NetworkX, strings.Repeat("字", 141), 0, []string{"X posts take at most 280 characters as X counts them (a link counts 23; emoji and CJK characters 2); this one has 282"}},
		{NetworkX, "x", 5, []string{"X posts take at most 4 pictures or videos; this one has 5"}},
		{NetworkTikTok, strings.Repeat("a", 2200), 35, nil},
		{NetworkTikTok, strings.Repeat("a", 2198) + "😀", 0, nil},
		{NetworkTikTok, strings.Repeat("a", 2199) + "😀", 36, []string{
			"TikTok captions take at most 2,200 characters as TikTok counts them (UTF-16 units; most emoji count 2); this one has 2,201",
			"TikTok posts take at most 35 pictures or videos; this one has 36"}},
		{NetworkThreads, strings.Repeat("a", 496) + "😀", 20, nil},
		{NetworkThreads, strings.Repeat("a", 497) + "😀", 0, []string{"Threads posts take at most 500 characters as Threads counts them (an emoji counts its UTF-8 bytes); this one has 501"}},
		{NetworkThreads, "one #topic", 0, nil},
		{NetworkThreads, "two #topics #here", 0, []string{"Threads posts take at most 1 hashtag; this one has 2"}},
		{NetworkThreads, links(5), 0, nil},
		{NetworkThreads, links(6), 21, []string{
			"Threads posts take at most 5 links; this one has 6",
			"Threads posts take at most 20 pictures or videos; this one has 21"}},
		{NetworkPinterest, strings.Repeat("a", 800), 5, nil},
		{NetworkPinterest, strings.Repeat("a", 801), 6, []string{
			"Pinterest Pin descriptions take at most 800 characters; this one has 801",
			"Pinterest posts take at most 5 pictures or videos; this one has 6"}},
		{NetworkYouTube, strings.Repeat("a", 5000), 1, nil},
		{NetworkYouTube, strings.Repeat("é", 2501), 0, []string{"YouTube video descriptions take at most 5,000 bytes (UTF-8; most accented letters count 2, emoji 4); this one has 5,002"}},
		{NetworkYouTube, "Watch <this>", 2, []string{
			`YouTube video descriptions may not contain < or >; this one has "<"`,
			"YouTube posts take at most 1 picture or video; this one has 2"}},
		{NetworkOther, strings.Repeat("a", 10000) + tags(50), 10, nil},
	}
	for _, tt := range tests {
		got := LimitsOf(tt.network).Problems(tt.text, tt.media)
		if len(tt.want) == 0 && len(got) == 0 {
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s, %d characters, %d media (-want +got):\n%s", tt.network, utf8.RuneCountInString(tt.text), tt.media, diff)
		}
	}
}

// TestNetworkTable checks that every network has a row and every figure
// names where it comes from.
func TestNetworkTable(t *testing.T) {
	rows := AllNetworkLimits()
	if len(rows) != len(Networks()) {
		t.Fatalf("%d rows for %d networks", len(rows), len(Networks()))
	}
	for i, n := range Networks() {
		l := rows[i]
		if l.Network != n {
			t.Fatalf("row %d is %s, want %s (Networks order)", i, l.Network, n)
		}
		for name, lim := range map[string]Limit{"caption": l.Caption, "hashtags": l.Hashtags, "mentions": l.Mentions, "links": l.Links, "media": l.Media} {
			if lim.Max > 0 && !strings.HasPrefix(lim.Source, "https://") {
				t.Errorf("%s %s limit %d cites no source", n, name, lim.Max)
			}
		}
		if (l.Aspect.Min > 0 || l.Aspect.Max > 0) && !strings.HasPrefix(l.Aspect.Source, "https://") {
			t.Errorf("%s aspect range cites no source", n)
		}
		if l.Forbidden != "" && !strings.HasPrefix(l.ForbiddenSource, "https://") {
			t.Errorf("%s forbidden characters cite no source", n)
		}
	}
}

func TestCropNotes(t *testing.T) {
	img := func(i, w, h int) Media { return Media{Index: i, Kind: MediaImage, Width: w, Height: h} }
	media := []Media{
		img(0, 1080, 1350),                                // 4:5, shown whole
		img(1, 1000, 3000),                                // 1:3, too tall
		img(2, 2000, 1000),                                // 2:1, too wide
		img(3, 1080, 1080),                                // square
		{Index: 4, Kind: MediaImage},                      // size unknown: not judged
		{Index: 5, Kind: MediaVideo, Width: 1, Height: 9}, // videos are not judged
		img(6, 1233, 1000),                                // an odd shape, written as a decimal
		img(7, 1000, 2100),                                // exactly Pinterest's 1:2.1
	}
	tests := []struct {
		network Network
		want    []string
	}{
		{NetworkInstagram, []string{
			"Instagram will crop picture 2 (1:3, 1000×3000) to 4:5",
			"Instagram will crop picture 3 (2:1, 2000×1000) to 1.91:1",
			"Instagram will crop picture 8 (10:21, 1000×2100) to 4:5"}},
		{NetworkPinterest, []string{"Pinterest will crop picture 2 (1:3, 1000×3000) to 1:2.1"}},
		{NetworkX, nil},
		{NetworkOther, nil},
	}
	for _, tt := range tests {
		got := LimitsOf(tt.network).CropNotes(media)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.network, diff)
		}
	}
}

// FuzzXLength checks the X counter on any input: it never panics, never
// goes negative, depends only on the normalised text, and a word added
// after a space adds exactly its weight.
func FuzzXLength(f *testing.F) {
	for _, s := range []string{"", "hello", "こんにちは", "👨‍👩‍👧‍👦", "🇯🇵🇫", "1️⃣#️⃣", "See https://example.com/a.", "www.x.co",
		"cafe\u0301", "\u200d\u200d", "😀\u200d", "\xe3\x81", "#️", "🏴\U000E0067", strings.Repeat("a", 281)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := XLength(s)
		if n < 0 {
			t.Fatalf("XLength(%q) = %d", s, n)
		}
		if !utf8.ValidString(s) {
			return
		}
		if m := XLength(norm.NFC.String(s)); m != n {
			t.Fatalf("XLength(%q) = %d but %d once normalised", s, n, m)
		}
		if m := XLength(s + " a"); m != n+2 {
			t.Fatalf("XLength(%q + \" a\") = %d, want %d", s, m, n+2)
		}
		if !strings.Contains(strings.ToLower(s), "www.") && !strings.Contains(s, "://") {
			if max := 2 * utf8.RuneCountInString(norm.NFC.String(s)); n > max {
				t.Fatalf("XLength(%q) = %d, more than twice its %d code points", s, n, max/2)
			}
		}
	})
}
