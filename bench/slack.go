package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/slack-go/slack/slacktest"
)

// fakeSlack is slacktest's server with the Web API methods the bot calls,
// answering at once and recording when each bench marker was first posted
// to a channel (chat.postMessage).
type fakeSlack struct {
	srv *slacktest.Server

	mu       sync.Mutex
	calls    map[string]int
	byMarker map[string]time.Time
	ts       int
}

func startFakeSlack() *fakeSlack {
	f := &fakeSlack{calls: map[string]int{}, byMarker: map[string]time.Time{}}
	methods := []string{"chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "views.publish",
		"views.update", "users.info", "conversations.open"}
	f.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		for _, m := range methods {
			c.Handle("/"+m, f.handler(m))
		}
	})
	f.srv.Start()
	return f
}

func (f *fakeSlack) apiURL() string { return f.srv.GetAPIURL() }

func (f *fakeSlack) close() { f.srv.Stop() }

func (f *fakeSlack) handler(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		now := time.Now()
		var markers [][]byte
		channel := ""
		if method == "chat.postMessage" {
			// The bot posts forms; the text may be percent-encoded, markers
			// are alphanumeric and survive it.
			markers = markerRe.FindAll(body, -1)
			if form, err := url.ParseQuery(string(body)); err == nil {
				channel = form.Get("channel")
			}
		}
		f.mu.Lock()
		f.calls[method]++
		f.ts++
		ts := f.ts
		for _, m := range markers {
			if _, ok := f.byMarker[string(m)]; !ok {
				f.byMarker[string(m)] = now
			}
		}
		f.mu.Unlock()
		var resp map[string]any
		switch method {
		case "chat.postMessage":
			if channel == "" {
				channel = "C0BENCH"
			}
			resp = map[string]any{"ok": true, "channel": channel, "ts": fmt.Sprintf("1700000000.%06d", ts)}
		case "chat.update":
			resp = map[string]any{"ok": true}
		case "chat.postEphemeral":
			resp = map[string]any{"ok": true, "message_ts": fmt.Sprintf("1700000001.%06d", ts)}
		case "users.info":
			resp = map[string]any{"ok": false, "error": "user_not_found"}
		case "views.open", "views.publish", "views.update":
			resp = map[string]any{"ok": true, "view": map[string]any{"id": fmt.Sprintf("V%d", ts)}}
		default:
			resp = map[string]any{"ok": true}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}
}

// arrival returns when a channel post carrying marker first arrived.
func (f *fakeSlack) arrival(marker string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.byMarker[marker]
	return t, ok
}
