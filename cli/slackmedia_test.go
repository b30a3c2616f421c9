package cli

import "testing"

// TestSlackCanFetch: image blocks go to Slack only when it could download
// them: a public https base URL.
func TestSlackCanFetch(t *testing.T) {
	for base, want := range map[string]bool{
		"https://signoff.acme.example":      true,
		"https://signoff.acme.example:8443": true,
		"https://203.0.113.7":               false, // documentation range: reserved
		"https://8.8.8.8":                   true,
		"http://signoff.acme.example":       false,
		"https://localhost":                 false,
		"https://127.0.0.1:8080":            false,
		"https://10.0.0.5":                  false,
		"https://intranet":                  false,
		"http://127.0.0.1:8080":             false,
		"::not a url":                       false,
	} {
		if got := slackCanFetch(base); got != want {
			t.Errorf("%s: %v, want %v", base, got, want)
		}
	}
}
