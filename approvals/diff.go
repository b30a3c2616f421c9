package approvals

import (
	"strings"
	"unicode"
)

// DiffOp is one run of a word-level diff: Op is "=" (kept), "-" (removed) or
// "+" (added).
type DiffOp struct {
	Op   string `json:"op"`
	Text string `json:"text"`
}

// maxDiffCells bounds the LCS table; texts beyond it diff as a whole swap,
// which is still true, only coarser.
const maxDiffCells = 4_000_000

// WordDiff returns what changed from old to new, word by word. Whitespace
// runs are tokens too, so joining the "=" and "+" runs gives new exactly, and
// joining "=" and "-" gives old.
func WordDiff(old, new string) []DiffOp {
	a, b := tokenize(old), tokenize(new)
	// Trim the common prefix and suffix: most revisions touch a few words.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var ops []DiffOp
	add := func(op, text string) {
		if text == "" {
			return
		}
		if n := len(ops); n > 0 && ops[n-1].Op == op {
			ops[n-1].Text += text
			return
		}
		ops = append(ops, DiffOp{Op: op, Text: text})
	}
	add("=", strings.Join(a[:pre], ""))
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if len(ma)*len(mb) > maxDiffCells {
		add("-", strings.Join(ma, ""))
		add("+", strings.Join(mb, ""))
	} else {
		// lcs[i][j] = length of the LCS of ma[i:] and mb[j:].
		n, m := len(ma), len(mb)
		lcs := make([]int32, (n+1)*(m+1))
		at := func(i, j int) int32 { return lcs[i*(m+1)+j] }
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					lcs[i*(m+1)+j] = at(i+1, j+1) + 1
				} else {
					lcs[i*(m+1)+j] = max(at(i+1, j), at(i, j+1))
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && ma[i] == mb[j]:
				add("=", ma[i])
				i++
				j++
			case i < n && (j == m || at(i+1, j) >= at(i, j+1)):
				add("-", ma[i])
				i++
			default:
				add("+", mb[j])
				j++
			}
		}
	}
	add("=", strings.Join(a[len(a)-suf:], ""))
	return ops
}

// tokenize splits s into alternating runs of space and non-space.
func tokenize(s string) []string {
	var toks []string
	start := 0
	inSpace := false
	for i, r := range s {
		sp := unicode.IsSpace(r)
		if i > start && sp != inSpace {
			toks = append(toks, s[start:i])
			start = i
		}
		inSpace = sp
	}
	if start < len(s) {
		toks = append(toks, s[start:])
	}
	return toks
}

// DiffChanged reports whether a diff has any change.
func DiffChanged(ops []DiffOp) bool {
	for _, op := range ops {
		if op.Op != "=" {
			return true
		}
	}
	return false
}
