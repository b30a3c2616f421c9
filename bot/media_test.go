package bot_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/slackfake"
	"github.com/signoff-app/signoff/media"
)

// images returns the image blocks' URLs and alt texts.
func images(blocks []map[string]any) []string {
	var out []string
	for _, b := range blocks {
		if b["type"] == "image" {
			out = append(out, fmt.Sprintf("%v %v", b["image_url"], b["alt_text"]))
		}
	}
	return out
}

// A draft's picture shows as an image block, under the signed URL the
// bot was given, in the request message and in App Home; a file that was
// not previewed is a link with its reason.
func TestImageBlocks(t *testing.T) {
	h := newHarness(t)
	pic := func() []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 40, 50))); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/p.png" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(pic)
	}))
	t.Cleanup(srv.Close)
	h.svc.MediaFetcher = media.New(media.Config{AllowPrivate: true}, nil)
	hosts := "127.0.0.1"
	_, err := h.svc.SetWorkspace(h.ctx, approvals.Operator(h.slug), approvals.WorkspaceSettings{MediaHosts: &hosts})
	h.must(err)
	h.bot.MediaURL = func(ws, draft int64, rev, i int) string {
		return fmt.Sprintf("https://signoff.test/m/%d-%d-%d-%d", ws, draft, rev, i)
	}
	v, err := h.svc.Submit(h.ctx, approvals.Actor{Workspace: h.slug, Email: "ed@agency.test", Channel: approvals.ChannelCLI},
		approvals.DraftInput{Account: "acme", Text: "Look", MediaURLs: []string{srv.URL + "/p.png", srv.URL + "/gone.png"}})
	h.must(err)
	want := fmt.Sprintf("https://signoff.test/m/%d-%d-1-0 Picture 1 of the post", v.WorkspaceID, v.ID)

	req := h.request(v.ID)
	if got := images(req.Blocks()); len(got) != 1 || got[0] != want {
		t.Errorf("request image blocks %q, want [%q]", got, want)
	}
	if text := joined(req.Blocks()); !strings.Contains(text, "not previewed: the server answered HTTP 404") {
		t.Errorf("the request does not say why the second file has no preview:\n%s", text)
	}

	event := fmt.Sprintf(`{"token":"legacy","team_id":%q,"api_app_id":"A0SIGNOFF","event":{"type":"app_home_opened","user":%q,"channel":"D0C","tab":"home","event_ts":"1.2"},"type":"event_callback","event_id":"Ev0HOMEPIC","event_time":1700000300}`, team, uClient)
	h.send("/slack/events", "application/json", event, nil)
	pub := slackfake.Only(h.slack.Take(), "views.publish")
	if len(pub) != 1 {
		t.Fatalf("views.publish = %d", len(pub))
	}
	if got := images(pub[0].Blocks()); len(got) != 1 || got[0] != want {
		t.Errorf("App Home image blocks %q, want [%q]", got, want)
	}
}
