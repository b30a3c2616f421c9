// Package slackfake is Slack as the bot tests, the fault suite and the
// bench see it: a Web API server (slack-go's slacktest, extended with every
// method the bot calls) that records each call and can refuse or rate-limit
// some, and the requests Slack sends to the app (signed slash commands,
// button clicks and modal submissions).
package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
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

// methods are the Web API methods the bot calls.
var methods = []string{"chat.postMessage", "chat.update", "chat.postEphemeral", "users.info", "conversations.open",
	"views.open", "views.publish", "views.update", "apps.connections.open"}

// Server is a fake Slack Web API for one team. users.info knows the users
// added with AddUser; every other method succeeds unless told to fail.
type Server struct {
	srv    *slacktest.Server
	team   string
	onCall func(Call) // when set, is given each call, which is not kept

	mu    sync.Mutex
	calls []Call
	n     int // calls so far
	posts int // successful chat.postMessage calls so far
	users map[string]map[string]any
	// fail is the Slack error a method answers, by method.
	fail map[string]string
	// Until limitUntil, the methods of limited answer 429 with retryAfter.
	limited    map[string]bool
	limitUntil time.Time
	retryAfter time.Duration
	socketURL  string
}

// New starts a server for team that keeps every call, and stops it when
// the test ends.
func New(tb testing.TB, team string) *Server {
	tb.Helper()
	s := Start(team, nil)
	tb.Cleanup(s.Close)
	return s
}

// Start starts a server for team; the caller closes it. With onCall nil it
// keeps every call (Calls, Take); otherwise it gives each call to onCall,
// from the request's goroutine, and keeps none, so that a long run does
// not hold them all.
func Start(team string, onCall func(Call)) *Server {
	s := &Server{team: team, onCall: onCall, users: map[string]map[string]any{}, fail: map[string]string{}}
	s.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		for _, m := range methods {
			c.Handle("/"+m, s.handler(m))
		}
	})
	s.srv.Start()
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Stop() }

// URL is the Web API base URL (the bot's APIURL, slack.api_url).
func (s *Server) URL() string { return s.srv.GetAPIURL() }

// AddUser makes users.info answer for id: a full member of the server's
// team whose confirmed profile email is email. fields add to or replace
// the user's fields (team_id, is_restricted, is_bot, ...).
func (s *Server) AddUser(id, email string, fields map[string]any) {
	user := map[string]any{"id": id, "team_id": s.team, "name": id, "is_email_confirmed": true,
		"profile": map[string]any{"email": email}}
	maps.Copy(user, fields)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = user
}

// Fail makes method answer the Slack error code ("channel_not_found"),
// until Fail(method, "").
func (s *Server) Fail(method, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = code
}

// RateLimit makes the methods named answer 429 with Retry-After:
// retryAfter (whole seconds) for d from now, in place of any earlier limit;
// RateLimit(0, 0) lifts it.
func (s *Server) RateLimit(d, retryAfter time.Duration, names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited = map[string]bool{}
	for _, m := range names {
		s.limited[m] = true
	}
	s.limitUntil = time.Now().Add(d)
	s.retryAfter = retryAfter.Truncate(time.Second)
}

// SetSocketURL is the WebSocket URL apps.connections.open returns (Socket
// Mode).
func (s *Server) SetSocketURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.socketURL = u
}

// Calls returns a copy of the calls kept so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Take returns the calls kept since the last Take, and forgets them.
func (s *Server) Take() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.calls
	s.calls = nil
	return out
}

// Count counts the successful calls of method that match (nil: all).
func (s *Server) Count(method string, match func(Call) bool) int {
	n := 0
	for _, c := range s.Calls() {
		if c.Method == method && c.Status == http.StatusOK && (match == nil || match(c)) {
			n++
		}
	}
	return n
}

func (s *Server) handler(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := Call{At: time.Now(), Method: method, Args: args(r), Status: http.StatusOK}
		status, resp := s.answer(&c)
		if s.onCall != nil {
			s.onCall(c)
		}
		w.Header().Set("Content-Type", "application/json")
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(int(c.RetryAfter/time.Second)))
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(resp)
	}
}

// args reads a request's form values or JSON body.
func args(r *http.Request) map[string]any {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	out := map[string]any{}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		_ = json.Unmarshal(body, &out)
		return out
	}
	form, _ := url.ParseQuery(string(body))
	for k, v := range form {
		out[k] = v[0]
	}
	return out
}

// answer records c and returns the status and body the method answers.
func (s *Server) answer(c *Call) (int, map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.onCall == nil {
		defer func() { s.calls = append(s.calls, *c) }()
	}
	if s.limited[c.Method] && c.At.Before(s.limitUntil) {
		c.Status, c.RetryAfter = http.StatusTooManyRequests, s.retryAfter
		return c.Status, map[string]any{"ok": false, "error": "ratelimited"}
	}
	if e := s.fail[c.Method]; e != "" {
		return http.StatusOK, map[string]any{"ok": false, "error": e}
	}
	switch c.Method {
	case "chat.postMessage":
		s.posts++
		ch := c.Str("channel")
		if strings.HasPrefix(ch, "U") {
			ch = "D" + ch[1:] // a DM to a user lands in the IM channel
		}
		c.TS = fmt.Sprintf("1700000000.%06d", s.posts)
		return http.StatusOK, map[string]any{"ok": true, "channel": ch, "ts": c.TS}
	case "chat.update":
		return http.StatusOK, map[string]any{"ok": true, "channel": c.Args["channel"], "ts": c.Args["ts"]}
	case "chat.postEphemeral":
		return http.StatusOK, map[string]any{"ok": true, "message_ts": "1700000001.000001"}
	case "users.info":
		user, ok := s.users[c.Str("user")]
		if !ok {
			return http.StatusOK, map[string]any{"ok": false, "error": "user_not_found"}
		}
		return http.StatusOK, map[string]any{"ok": true, "user": user}
	case "conversations.open":
		return http.StatusOK, map[string]any{"ok": true, "channel": map[string]any{"id": "D" + strings.TrimPrefix(c.Str("users"), "U")}}
	case "views.open", "views.publish", "views.update":
		return http.StatusOK, map[string]any{"ok": true, "view": map[string]any{"id": "V" + strconv.Itoa(s.n)}}
	case "apps.connections.open":
		return http.StatusOK, map[string]any{"ok": true, "url": s.socketURL}
	}
	return http.StatusOK, map[string]any{"ok": true}
}
