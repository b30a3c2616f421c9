//go:build faults

package faults

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"
)

const (
	signingSecret = "faults-signing-secret-0123456789ab"
	teamID        = "T0FAULTS"
)

// slackCall is one Web API call the fake Slack received.
type slackCall struct {
	At         time.Time
	Method     string
	Args       map[string]string
	Status     int           // 200, or 429 while rate limiting
	RetryAfter time.Duration // the Retry-After of a 429
	TS         string        // the ts a successful chat.postMessage returned
}

// fakeSlack is slacktest's server extended with the methods the bot calls;
// it records and counts every call, and can answer 429 with Retry-After.
type fakeSlack struct {
	srv *slacktest.Server

	mu    sync.Mutex
	calls []slackCall
	ts    int
	// Until limitUntil, chat.postMessage and chat.update answer 429 with
	// Retry-After: retryAfter seconds.
	limitUntil time.Time
	retryAfter int
	emails     map[string]string // user ID → verified email, for users.info
}

func newFakeSlack(t testing.TB) *fakeSlack {
	t.Helper()
	f := &fakeSlack{emails: map[string]string{}}
	methods := []string{"chat.postMessage", "chat.update", "chat.postEphemeral", "users.info",
		"conversations.open", "views.open", "views.publish", "views.update"}
	f.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		for _, m := range methods {
			c.Handle("/"+m, f.handler(m))
		}
	})
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	return f
}

// URL is the Web API base URL (slack.api_url).
func (f *fakeSlack) URL() string { return f.srv.GetAPIURL() }

// RateLimit makes chat.postMessage and chat.update answer 429 with
// Retry-After: after for d from now.
func (f *fakeSlack) RateLimit(d time.Duration, after time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limitUntil = time.Now().Add(d)
	f.retryAfter = int(after / time.Second)
}

func (f *fakeSlack) handler(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		args := map[string]string{}
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct == "application/json" {
			var raw map[string]any
			_ = json.Unmarshal(body, &raw)
			for k, v := range raw {
				if s, ok := v.(string); ok {
					args[k] = s
				} else {
					b, _ := json.Marshal(v)
					args[k] = string(b)
				}
			}
		} else {
			form, _ := url.ParseQuery(string(body))
			for k, v := range form {
				args[k] = v[0]
			}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		c := slackCall{At: time.Now(), Method: method, Args: args, Status: http.StatusOK}
		w.Header().Set("Content-Type", "application/json")
		if (method == "chat.postMessage" || method == "chat.update") && c.At.Before(f.limitUntil) {
			c.Status, c.RetryAfter = http.StatusTooManyRequests, time.Duration(f.retryAfter)*time.Second
			f.calls = append(f.calls, c)
			w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
			return
		}
		var resp map[string]any
		switch method {
		case "chat.postMessage":
			f.ts++
			ch := args["channel"]
			if strings.HasPrefix(ch, "U") {
				ch = "D" + ch[1:] // a DM to a user lands in the IM channel
			}
			c.TS = fmt.Sprintf("1700000000.%06d", f.ts)
			resp = map[string]any{"ok": true, "channel": ch, "ts": c.TS}
		case "chat.update":
			resp = map[string]any{"ok": true, "channel": args["channel"], "ts": args["ts"]}
		case "chat.postEphemeral":
			resp = map[string]any{"ok": true, "message_ts": "1700000001.000001"}
		case "users.info":
			id := args["user"]
			email, ok := f.emails[id]
			if !ok {
				resp = map[string]any{"ok": false, "error": "user_not_found"}
				break
			}
			resp = map[string]any{"ok": true, "user": map[string]any{"id": id, "team_id": teamID, "name": id,
				"is_email_confirmed": true, "profile": map[string]any{"email": email}}}
		case "conversations.open":
			resp = map[string]any{"ok": true, "channel": map[string]any{"id": "D" + strings.TrimPrefix(args["users"], "U")}}
		default:
			resp = map[string]any{"ok": true, "view": map[string]any{"id": fmt.Sprintf("V%d", len(f.calls))}}
		}
		f.calls = append(f.calls, c)
		_ = json.NewEncoder(w).Encode(resp)
	}
}

// Calls returns a copy of every call so far.
func (f *fakeSlack) Calls() []slackCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]slackCall(nil), f.calls...)
}

// Count counts the successful calls of method that match (nil: all).
func (f *fakeSlack) Count(method string, match func(slackCall) bool) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Method == method && c.Status == http.StatusOK && (match == nil || match(c)) {
			n++
		}
	}
	return n
}

// sign returns the v0 signature headers Slack sends with body at ts.
func sign(secret string, ts time.Time, body string) http.Header {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:%s", ts.Unix(), body)
	hd := http.Header{}
	hd.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	hd.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	hd.Set("Content-Type", "application/x-www-form-urlencoded")
	return hd
}

// clickBody is the form body of a block_actions payload: user pressed
// Approve on the request message channel/ts of draft id, revision 1.
func clickBody(user, channel, ts string, draftID int64, seq int) string {
	payload := map[string]any{
		"type": "block_actions", "api_app_id": "A0SIGNOFF", "token": "legacy",
		"user":       map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user), "team_id": teamID},
		"container":  map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
		"trigger_id": fmt.Sprintf("1337.%d.click", seq), "team": map[string]any{"id": teamID, "domain": "agency"},
		"channel": map[string]any{"id": channel, "name": "client"},
		"message": map[string]any{"type": "message", "ts": ts, "text": "draft"},
		"state":   map[string]any{"values": map[string]any{}}, "response_url": "https://hooks.slack.com/actions/T0FAULTS/1/x",
		"actions": []any{map[string]any{
			"action_id": "signoff_approve", "block_id": "decide", "value": fmt.Sprintf("%d/1/client", draftID), "type": "button",
			"text": map[string]any{"type": "plain_text", "text": "Approve"}, "action_ts": fmt.Sprintf("1700000100.%06d", seq),
		}},
	}
	b, err := json.Marshal(payload)
	if err != nil {
		panic(err) // a map of plain values always encodes
	}
	return url.Values{"payload": {string(b)}}.Encode()
}
