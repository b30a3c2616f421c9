package approvals_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/signoff-app/signoff/approvals"
)

// fakeFetcher answers every URL with a picture, as the media package would
// for a host it reached; it counts its calls.
type fakeFetcher struct{ calls atomic.Int32 }

func (f *fakeFetcher) Fetch(_ context.Context, raw string, allowed func(string) bool) (approvals.Media, *approvals.Thumb) {
	f.calls.Add(1)
	return approvals.Media{URL: raw, Kind: approvals.MediaImage, ContentType: "image/png", Width: 10, Height: 10, HasThumb: true},
		&approvals.Thumb{ContentType: "image/jpeg", Data: []byte(raw)}
}

func TestParseMediaHosts(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  string
	}{
		{"cdn.acme.example,*.cloudfront.net", "cdn.acme.example *.cloudfront.net", ""},
		{" CDN.Acme.Example , cdn.acme.example,,", "cdn.acme.example", ""},
		{"127.0.0.1,::1", "127.0.0.1 ::1", ""},
		{"", "", ""},
		{"https://cdn.acme.example", "", "no scheme, port or path"},
		{"cdn.acme.example:443", "", "no scheme, port or path"},
		{"cdn.acme.example/x", "", "no scheme, port or path"},
		{"*", "", "give a host name"},
		{"*.com", "", "too broad"},
		{"a.*.example", "", "give a host name"},
	}
	for _, tc := range tests {
		got, err := approvals.ParseMediaHosts(tc.in)
		if tc.err != "" {
			if approvals.ErrorCode(err) != approvals.EINVALID || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseMediaHosts(%q) = %v, want EINVALID with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("ParseMediaHosts(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestAllowsMediaHost(t *testing.T) {
	w := &approvals.Workspace{MediaHosts: []string{"cdn.acme.example", "*.cloudfront.net", "10.0.0.1"}}
	for host, want := range map[string]bool{
		"cdn.acme.example": true, "CDN.ACME.EXAMPLE": true, "cdn.acme.example.": true,
		"x.cdn.acme.example": false, "acme.example": false, "cdn.acme.example.evil.test": false,
		"d1.cloudfront.net": true, "a.b.cloudfront.net": true, "cloudfront.net": false, "evilcloudfront.net": false,
		"10.0.0.1": true, "10.0.0.2": false, "": false,
	} {
		if got := w.AllowsMediaHost(host); got != want {
			t.Errorf("AllowsMediaHost(%q) = %v, want %v", host, got, want)
		}
	}
	if (&approvals.Workspace{}).AllowsMediaHost("cdn.acme.example") {
		t.Error("a workspace with no media hosts allows one")
	}
}

// Only the hosts the workspace allows are fetched; a submission with
// media from others goes ahead with the reason. A client sees the media,
// and may load the thumbnails, of the revisions that reached them only.
func TestMediaPreviewRules(t *testing.T) {
	f := standard(t)
	fetcher := &fakeFetcher{}
	f.Svc.MediaFetcher = fetcher
	hosts := "cdn.acme.example"
	f.Must(f.Svc.SetWorkspace(f.Ctx, f.Op(), approvals.WorkspaceSettings{MediaHosts: &hosts}))

	v, err := f.Svc.Submit(f.Ctx, f.As("ed@acme.test"), approvals.DraftInput{Account: "both", Text: "One",
		MediaURLs: []string{"https://cdn.acme.example/one.png", "https://elsewhere.example/x.png"}})
	f.OK(err)
	f.Member("out@client.test", approvals.RoleClient)
	if fetcher.calls.Load() != 1 {
		t.Fatalf("%d fetches, want 1: a host the workspace does not allow is never fetched", fetcher.calls.Load())
	}
	if len(v.Media) != 2 || !v.Media[0].HasThumb || v.Media[1].HasThumb || !strings.Contains(v.Media[1].Reason, "does not allow media from this host") {
		t.Fatalf("media %+v", v.Media)
	}
	if v.State != approvals.StatePendingInternal {
		t.Fatalf("draft is %s", v.State)
	}
	_, err = f.Svc.Decide(f.Ctx, f.As("admin@acme.test"), approvals.DecideInput{DraftID: v.ID, Revision: 1, Tier: approvals.TierInternal, Verdict: approvals.VerdictApprove})
	f.OK(err)
	_, err = f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: "Two", MediaURLs: []string{"https://cdn.acme.example/two.png"}})
	f.OK(err)

	// Revision 2 is in internal review: the client sees revision 1's media.
	cv, err := f.Svc.Show(f.Ctx, f.As("c1@client.test"), v.ID)
	f.OK(err)
	if cv.Current.Number != 1 || len(cv.Media) != 2 || cv.Media[0].URL != "https://cdn.acme.example/one.png" {
		t.Fatalf("client sees revision %d with media %+v, want revision 1's", cv.Current.Number, cv.Media)
	}
	if th, err := f.Svc.MediaThumb(f.Ctx, f.As("c1@client.test"), v.ID, 1, 0); err != nil || string(th.Data) != "https://cdn.acme.example/one.png" {
		t.Fatalf("client's thumbnail of revision 1: %v", err)
	}
	for _, tc := range []struct {
		who      string
		rev, idx int
	}{
		{"c1@client.test", 2, 0},  // the revision in internal review
		{"c1@client.test", 1, 1},  // no thumbnail
		{"c1@client.test", 3, 0},  // no such revision
		{"c3@client.test", 2, 0},  // another client: the same
		{"out@client.test", 1, 0}, // a member with no access to the account
	} {
		_, err := f.Svc.MediaThumb(f.Ctx, f.As(tc.who), v.ID, tc.rev, tc.idx)
		if approvals.ErrorCode(err) != approvals.ENOTFOUND {
			t.Errorf("%s, revision %d picture %d: %v, want ENOTFOUND", tc.who, tc.rev, tc.idx, err)
		}
	}
	if th, err := f.Svc.MediaThumb(f.Ctx, f.As("ed@acme.test"), v.ID, 2, 0); err != nil || string(th.Data) != "https://cdn.acme.example/two.png" {
		t.Fatalf("author's thumbnail of revision 2: %v", err)
	}

	// A revision that restates its media (Slack's form does) fetches
	// nothing again: the previews carry over.
	before := fetcher.calls.Load()
	_, err = f.Svc.Revise(f.Ctx, f.As("ed@acme.test"), v.ID, approvals.DraftInput{Text: "Three", MediaURLs: []string{"https://cdn.acme.example/two.png"}})
	f.OK(err)
	if th, err := f.Svc.MediaThumb(f.Ctx, f.As("ed@acme.test"), v.ID, 3, 0); err != nil || string(th.Data) != "https://cdn.acme.example/two.png" || fetcher.calls.Load() != before {
		t.Fatalf("restated media: %d fetches, thumbnail %v", fetcher.calls.Load()-before, err)
	}

	// Who may not submit or revise, or a submission refused anyway, makes
	// Signoff fetch nothing.
	_, err = f.Svc.Submit(f.Ctx, f.As("ed@acme.test"), approvals.DraftInput{Account: "both", Text: "  ", MediaURLs: []string{"https://cdn.acme.example/x.png"}})
	if approvals.ErrorCode(err) != approvals.EINVALID {
		t.Fatalf("blank submission: %v", err)
	}
	_, err = f.Svc.Submit(f.Ctx, f.As("c1@client.test"), approvals.DraftInput{Account: "both", Text: "Mine", MediaURLs: []string{"https://cdn.acme.example/x.png"}})
	if approvals.ErrorCode(err) != approvals.EUNAUTHORIZED {
		t.Fatalf("client submits: %v", err)
	}
	_, err = f.Svc.Revise(f.Ctx, f.As("c1@client.test"), v.ID, approvals.DraftInput{Text: "Mine", MediaURLs: []string{"https://cdn.acme.example/x.png"}})
	if err == nil {
		t.Fatal("a client revised the draft")
	}
	_, err = f.Svc.Submit(f.Ctx, approvals.Actor{Workspace: f.WS, Email: "nobody@else.test", Channel: approvals.ChannelCLI}, approvals.DraftInput{Account: "both", Text: "x", MediaURLs: []string{"https://cdn.acme.example/x.png"}})
	if err == nil {
		t.Fatal("a stranger submitted")
	}
	if got := fetcher.calls.Load(); got != before {
		t.Fatalf("%d fetches for refused callers", got-before)
	}

	// Clearing the hosts fetches nothing.
	none := ""
	f.Must(f.Svc.SetWorkspace(f.Ctx, f.Op(), approvals.WorkspaceSettings{MediaHosts: &none}))
	v2, err := f.Svc.Submit(f.Ctx, f.As("ed@acme.test"), approvals.DraftInput{Account: "free", Text: "Three", MediaURLs: []string{"https://cdn.acme.example/three.png"}})
	f.OK(err)
	if fetcher.calls.Load() != 2 || v2.Media[0].HasThumb {
		t.Fatalf("%d fetches and media %+v after the hosts were cleared", fetcher.calls.Load(), v2.Media)
	}
}

func TestFeed(t *testing.T) {
	for _, n := range approvals.Networks() {
		feed := n.Feed()
		if feed.Aspect < 0 || feed.MoreAfter < 0 {
			t.Errorf("%s: %+v", n, feed)
		}
		if n == approvals.NetworkOther && feed != (approvals.Feed{}) {
			t.Errorf("other: %+v, want no crop and no cut", feed)
		}
	}
	if got := approvals.NetworkInstagram.Feed(); got.MoreAfter != 125 || got.Aspect != 0 {
		t.Errorf("Instagram: %+v", got)
	}
	// One source for a picture's shape: a network with an aspect range has
	// no fixed crop besides it.
	for _, n := range approvals.Networks() {
		if approvals.LimitsOf(n).Aspect != (approvals.AspectRange{}) && n.Feed().Aspect != 0 {
			t.Errorf("%s: a fixed crop %v besides its aspect range", n, n.Feed().Aspect)
		}
	}
	if got := approvals.Network("").Feed(); got != (approvals.Feed{}) {
		t.Errorf(`"": %+v, want other's`, got)
	}
	tests := []struct {
		feed  approvals.Feed
		text  string
		shown string
		cut   bool
	}{
		{approvals.Feed{MoreAfter: 0}, "anything at all", "anything at all", false},
		{approvals.Feed{MoreAfter: 20}, "short", "short", false},
		{approvals.Feed{MoreAfter: 10}, "exactly10!", "exactly10!", false},
		{approvals.Feed{MoreAfter: 12}, "Summer is here and so are we", "Summer is", true},
		{approvals.Feed{MoreAfter: 5}, "Sonnenschein", "Sonne", true},
		// Never inside a character of several code points.
		{approvals.Feed{MoreAfter: 3}, "☀️☀️☀️☀️", "☀️", true},
		{approvals.Feed{MoreAfter: 4}, "☀️☀️☀️☀️", "☀️☀️", true},
		{approvals.Feed{MoreAfter: 3}, "Go👍🏽 team", "Go", true},
		{approvals.Feed{MoreAfter: 4}, "Go👍🏽 team", "Go👍🏽", true},
		{approvals.Feed{MoreAfter: 3}, "🇫🇷🇩🇪🇮🇹", "🇫🇷", true},
		{approvals.Feed{MoreAfter: 2}, "Cafe\u0301s", "Ca", true},
		{approvals.Feed{MoreAfter: 4}, "Cafe\u0301s", "Caf", true},
		{approvals.Feed{MoreAfter: 5}, "Cafe\u0301s", "Cafe\u0301", true},
		// A first character longer than the fold is shown whole.
		{approvals.Feed{MoreAfter: 3}, "👨‍👩‍👧‍👦 family day", "👨‍👩‍👧‍👦", true},
	}
	for _, tc := range tests {
		shown, cut := tc.feed.Fold(tc.text)
		if shown != tc.shown || cut != tc.cut {
			t.Errorf("Fold(%q) at %d = %q, %v; want %q, %v", tc.text, tc.feed.MoreAfter, shown, cut, tc.shown, tc.cut)
		}
	}
}

// TestShownAspect: the mock-up crops a picture as the feed does, by the
// same aspect range the crop warnings use.
func TestShownAspect(t *testing.T) {
	for _, tc := range []struct {
		n    approvals.Network
		w, h int
		want float64
	}{
		{approvals.NetworkInstagram, 1080, 1350, 0},       // 4:5, shown whole
		{approvals.NetworkInstagram, 1600, 900, 0},        // 16:9, within 1.91:1
		{approvals.NetworkInstagram, 600, 1800, 0.8},      // 1:3, cropped to 4:5
		{approvals.NetworkInstagram, 3000, 1000, 1.91},    // 3:1, cropped to 1.91:1
		{approvals.NetworkInstagram, 0, 0, 0},             // size unknown
		{approvals.NetworkLinkedIn, 1000, 1000, 1.91},     // no range: the feed's crop
		{approvals.NetworkOther, 600, 1800, 0},            // no crop at all
		{approvals.NetworkPinterest, 1000, 3000, 1 / 2.1}, // taller than 1:2.1 is cut
		{approvals.NetworkPinterest, 1000, 1500, 0},       // 2:3, shown whole
		{approvals.NetworkThreads, 1000, 3000, 0},         // uncropped
	} {
		if got := tc.n.ShownAspect(tc.w, tc.h); got != tc.want {
			t.Errorf("%s %d×%d: %v, want %v", tc.n, tc.w, tc.h, got, tc.want)
		}
	}
}
