package approvals

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Counting is how a network measures a caption against its length limit.
type Counting string

const (
	// CountCharacters counts Unicode code points.
	CountCharacters Counting = "characters"
	// CountXWeighted is X's weighted length (twitter-text v3): see XLength.
	CountXWeighted Counting = "x-weighted"
	// CountUTF16 counts UTF-16 code units, as TikTok's API does ("UTF-16 runes").
	CountUTF16 Counting = "utf-16"
	// CountBytes counts the bytes of the UTF-8 encoding, as YouTube does.
	CountBytes Counting = "bytes"
	// CountThreads counts code points, but an emoji as the bytes of its
	// UTF-8 encoding, as the Threads API documents.
	CountThreads Counting = "threads"
)

// Length measures text the way c says.
func (c Counting) Length(text string) int {
	switch c {
	case CountXWeighted:
		return XLength(text)
	case CountUTF16:
		n := 0
		for _, r := range text {
			n += utf16Len(r)
		}
		return n
	case CountBytes:
		return len(text)
	case CountThreads:
		n := 0
		forEachUnit(text, func(unit string, emoji bool) {
			if emoji {
				n += len(unit)
			} else {
				n++
			}
		})
		return n
	}
	return utf8.RuneCountInString(text)
}

func utf16Len(r rune) int {
	if r >= 0x10000 && r <= utf8.MaxRune {
		return 2
	}
	return 1
}

// X's counting, from twitter-text's config/v3.json: code points weigh 2
// unless they fall in one of these ranges; an emoji sequence weighs 2 as a
// whole; a URL weighs xURLLength whatever its length.
const (
	xMaxLength = 280
	xURLLength = 23
)

var xLightRanges = []struct{ lo, hi rune }{{0, 4351}, {8192, 8205}, {8208, 8223}, {8242, 8247}}

// xURL finds what X turns into a t.co link: a URL with a scheme, or one
// starting "www.". X also links bare domains ("example.com"); those are
// counted as text here, which can only understate a link's weight when the
// domain is shorter than 23 characters.
var xURL = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"]+`)

// XLength returns text's length as X counts it against the 280 limit
// (twitter-text v3, https://docs.x.com/resources/fundamentals/counting-characters):
// the text is NFC-normalised; each URL counts 23; each emoji sequence
// (a ZWJ family, a flag, a keycap, a skin-toned hand) counts 2; any other
// code point counts 1 in the ranges U+0000–U+10FF, U+2000–U+200D,
// U+2010–U+201F and U+2032–U+2037 (Latin, Greek, Cyrillic, Hebrew, Arabic,
// Devanagari, … and common punctuation) and 2 elsewhere (CJK, most emoji).
func XLength(text string) int {
	text = norm.NFC.String(text)
	n := 0
	last := 0
	for _, m := range xURL.FindAllStringIndex(text, -1) {
		end := m[0] + len(trimURLTail(text[m[0]:m[1]]))
		n += xWeight(text[last:m[0]]) + xURLLength
		last = end
	}
	return n + xWeight(text[last:])
}

func xWeight(s string) int {
	n := 0
	forEachUnit(s, func(unit string, emoji bool) {
		if emoji {
			n += 2
			return
		}
		r, _ := utf8.DecodeRuneInString(unit)
		n += 2
		for _, rg := range xLightRanges {
			if r >= rg.lo && r <= rg.hi {
				n--
				break
			}
		}
	})
	return n
}

// trimURLTail drops the punctuation that ends a sentence rather than a URL.
func trimURLTail(u string) string {
	return strings.TrimRight(u, ".,;:!?)]}'’”")
}

// forEachUnit walks s as a reader sees it: each emoji sequence as one unit
// (emoji true), every other code point alone.
func forEachUnit(s string, f func(unit string, emoji bool)) {
	for i := 0; i < len(s); {
		if n := emojiLen(s[i:]); n > 0 {
			f(s[i:i+n], true)
			i += n
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		f(s[i:i+size], false)
		i += size
	}
}

// emojiLen returns the byte length of the emoji sequence s starts with, or
// 0: a pictograph with its variation selector, skin tone, tags and ZWJ
// continuations; a pair of regional indicators (a flag); a keycap.
func emojiLen(s string) int {
	r, size := utf8.DecodeRuneInString(s)
	switch {
	case isRegional(r):
		if r2, size2 := utf8.DecodeRuneInString(s[size:]); isRegional(r2) {
			return size + size2
		}
		return size
	case r == '#' || r == '*' || (r >= '0' && r <= '9'):
		// A keycap: the base, an optional U+FE0F, then U+20E3.
		i := size
		if r2, s2 := utf8.DecodeRuneInString(s[i:]); r2 == 0xFE0F {
			i += s2
		}
		if r2, s2 := utf8.DecodeRuneInString(s[i:]); r2 == 0x20E3 {
			return i + s2
		}
		return 0
	case !isPictograph(r):
		// © ® ™ and the like are emoji only with U+FE0F.
		if r > 0x7F && r < 0x2000 && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			if r2, s2 := utf8.DecodeRuneInString(s[size:]); r2 == 0xFE0F {
				return size + s2
			}
		}
		return 0
	}
	i := size
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0xFE0F || r == 0x20E3 || (r >= 0x1F3FB && r <= 0x1F3FF) || (r >= 0xE0020 && r <= 0xE007F):
			i += n // variation selector, keycap, skin tone, tag
		case r == 0x200D:
			if next, m := utf8.DecodeRuneInString(s[i+n:]); isPictograph(next) {
				i += n + m
				continue
			}
			return i
		default:
			return i
		}
	}
	return i
}

func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// isPictograph approximates Unicode's Extended_Pictographic property with
// the blocks emoji live in.
func isPictograph(r rune) bool {
	switch {
	case r >= 0x1F000 && r <= 0x1FAFF:
		return !isRegional(r) && !(r >= 0x1F3FB && r <= 0x1F3FF)
	case r >= 0x2600 && r <= 0x27BF, r >= 0x2300 && r <= 0x23FF, r >= 0x2B00 && r <= 0x2BFF,
		r >= 0x2190 && r <= 0x21FF, r >= 0x25A0 && r <= 0x25FF, r >= 0x2934 && r <= 0x2935,
		r == 0x3030, r == 0x303D, r == 0x3297, r == 0x3299:
		return true
	}
	return false
}

// hashtagRe and mentionRe find tags the way the networks link them: after
// the start or a character that is not part of a word.
var (
	hashtagRe = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_&/])[#＃][\p{L}\p{M}\p{N}_]*[\p{L}\p{M}_][\p{L}\p{M}\p{N}_]*`)
	mentionRe = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_.@])[@＠][A-Za-z0-9_.]*[A-Za-z0-9_]`)
)

// countHashtags counts the hashtags of text: "#" then a word that is not
// all digits ("#1" is no tag).
func countHashtags(text string) int { return len(hashtagRe.FindAllStringIndex(text, -1)) }

func countMentions(text string) int { return len(mentionRe.FindAllStringIndex(text, -1)) }

// countLinks counts the distinct URLs of text.
func countLinks(text string) int {
	seen := map[string]bool{}
	for _, u := range xURL.FindAllString(text, -1) {
		seen[strings.ToLower(trimURLTail(u))] = true
	}
	return len(seen)
}
