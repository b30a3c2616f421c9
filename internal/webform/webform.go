// Package webform reads a link page's forms as a browser posts them, for
// the load generators and fault suite that drive the pages over HTTP.
package webform

import (
	"html"
	"net/url"
	"regexp"
	"strings"
)

var hiddenRe = regexp.MustCompile(`name="([a-z]+)" value="([^"]*)"`)

// Hidden returns the hidden fields of the page's form with the id; none
// when there is no such form.
func Hidden(page, id string) url.Values {
	v := url.Values{}
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		return v
	}
	rest := page[i:]
	if j := strings.Index(rest, "</form>"); j >= 0 {
		rest = rest[:j]
	}
	for _, m := range hiddenRe.FindAllStringSubmatch(rest, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}
