package approvals

import (
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Feed returns how n's feed shows a post. The figures are what each
// network's own help pages and its apps showed in 2024–2025; they describe
// the feed's look, not a rule a caption must meet (limits are network.go's).
func (n Network) Feed() Feed {
	switch n {
	case NetworkInstagram:
		// Pictures are shown within the network's aspect range, 4:5 to
		// 1.91:1 (netlimits.go, ShownAspect), not at one shape; the caption
		// folds after about 125 characters.
		return Feed{MoreAfter: 125}
	case NetworkFacebook:
		// A single photo shows up to 4:5 in the feed (Meta Business Help,
		// "feed image specs"); text folds with "See more" near 480 characters.
		return Feed{Aspect: 4.0 / 5.0, MoreAfter: 480}
	case NetworkLinkedIn:
		// Shared images and link cards show at 1.91:1 (LinkedIn Help,
		// "image specifications"); "…see more" after about 210 characters.
		return Feed{Aspect: 1.91, MoreAfter: 210}
	case NetworkX:
		// One image shows at 16:9 in the timeline (X Help, "posting
		// photos"); a post of up to 280 weighted characters is never folded.
		return Feed{Aspect: 16.0 / 9.0, MoreAfter: 0}
	case NetworkTikTok:
		// Full-screen 9:16 (TikTok creator portal); the caption folds after
		// about 100 characters.
		return Feed{Aspect: 9.0 / 16.0, MoreAfter: 100}
	case NetworkThreads:
		// Pictures show uncropped; a post of up to 500 characters shows whole
		// (Threads Help, "post a thread").
		return Feed{Aspect: 0, MoreAfter: 0}
	case NetworkPinterest:
		// Pins show as they are down to 1:2.1, taller ones are cut
		// (netlimits.go, ShownAspect); the description folds after about
		// 50 characters in the grid.
		return Feed{MoreAfter: 50}
	case NetworkYouTube:
		// Thumbnails are 16:9 (YouTube Help, "video thumbnails"); the
		// description folds after about 100 characters.
		return Feed{Aspect: 16.0 / 9.0, MoreAfter: 100}
	}
	return Feed{}
}

// Fold cuts text where the feed shows "… more": the part the feed shows
// first, and whether anything was cut. It cuts at the last space before
// MoreAfter characters when there is one, as the apps do, and never inside
// a character drawn from several code points (an emoji with its skin tone
// or variation selector, a flag, a letter with its accent).
func (f Feed) Fold(text string) (shown string, cut bool) {
	if f.MoreAfter <= 0 {
		return text, false
	}
	r := []rune(text)
	if len(r) <= f.MoreAfter {
		return text, false
	}
	end := f.MoreAfter
	for i := end; i > f.MoreAfter/2; i-- {
		if r[i] == ' ' || r[i] == '\n' {
			end = i
			break
		}
	}
	// The whole characters within end code points; at least the first.
	at, runes, state := 0, 0, -1
	for rest := text; rest != ""; {
		var c string
		c, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		runes += utf8.RuneCountInString(c)
		if runes > end && at > 0 {
			break
		}
		at += len(c)
		if runes >= end {
			break
		}
	}
	return text[:at], at < len(text)
}

// ShownAspect is the shape (width ÷ height) in which the feed shows a w×h
// picture. A network with an aspect range (netlimits.go) shows a picture
// within it as it is and crops one outside it to the nearer bound: the
// same range its crop warnings judge by. Other networks crop every
// picture to Feed().Aspect. 0 means shown as it is (or size unknown).
func (n Network) ShownAspect(w, h int) float64 {
	if w <= 0 || h <= 0 {
		return 0
	}
	r := float64(w) / float64(h)
	if a := LimitsOf(n).Aspect; a.Min > 0 || a.Max > 0 {
		switch {
		case a.Min > 0 && r < a.Min:
			return a.Min
		case a.Max > 0 && r > a.Max:
			return a.Max
		}
		return 0
	}
	return n.Feed().Aspect
}
