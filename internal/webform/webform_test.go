package webform

import "testing"

func TestHidden(t *testing.T) {
	page := `<form id="a"><input type="hidden" name="csrf" value="x&amp;y"><input name="text" value="no"></form>` +
		`<form id="b"><input type="hidden" name="items" value="1.2.client"></form>`
	for _, tc := range []struct{ id, field, want string }{
		{"a", "csrf", "x&y"},
		{"a", "items", ""},
		{"b", "items", "1.2.client"},
		{"missing", "csrf", ""},
	} {
		if got := Hidden(page, tc.id).Get(tc.field); got != tc.want {
			t.Errorf("form %s field %s: %q, want %q", tc.id, tc.field, got, tc.want)
		}
	}
}
