package slackfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/signoff-app/signoff/internal/slackfake"
)

const (
	secret = "slackfake-signing-secret"
	team   = "T0FAKE"
)

func TestSignVerifies(t *testing.T) {
	body := slackfake.Command(team, "U0ED", "C0ACME", "list", "1.2.3")
	hd := slackfake.Sign(secret, time.Now(), body)
	sv, err := slack.NewSecretsVerifier(hd, secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sv.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := sv.Ensure(); err != nil {
		t.Errorf("signature refused: %v", err)
	}
}

func TestClickParses(t *testing.T) {
	form, err := url.ParseQuery(slackfake.Payload(slackfake.Click(slackfake.Button{Team: team, User: "U0CLI",
		ActionID: "signoff_approve", Value: "7/1/client", Channel: "C0ACME", TS: "1700000000.000001", Seq: 3})))
	if err != nil {
		t.Fatal(err)
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		t.Fatal(err)
	}
	got := []string{string(cb.Type), cb.Team.ID, cb.User.ID, cb.Channel.ID, cb.Container.MessageTs,
		cb.ActionCallback.BlockActions[0].ActionID, cb.ActionCallback.BlockActions[0].Value, cb.ActionCallback.BlockActions[0].BlockID}
	want := []string{"block_actions", team, "U0CLI", "C0ACME", "1700000000.000001", "signoff_approve", "7/1/client", "decide"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("click (-want +got):\n%s", diff)
	}
}

func TestServer(t *testing.T) {
	ctx := context.Background()
	s := slackfake.New(t, team)
	s.AddUser("U0GUEST", "guest@example.test", map[string]any{"is_restricted": true})
	api := slack.New("xoxb-test", slack.OptionAPIURL(s.URL()))

	u, err := api.GetUserInfoContext(ctx, "U0GUEST")
	if err != nil {
		t.Fatal(err)
	}
	if u.TeamID != team || u.Profile.Email != "guest@example.test" || !u.IsRestricted {
		t.Errorf("users.info = %+v", u)
	}
	if _, err := api.GetUserInfoContext(ctx, "U0NOBODY"); err == nil || !strings.Contains(err.Error(), "user_not_found") {
		t.Errorf("users.info of an unknown user: %v", err)
	}
	ch, ts, err := api.PostMessageContext(ctx, "U0GUEST", slack.MsgOptionText("hello", false))
	if err != nil || ch != "D0GUEST" || ts != "1700000000.000001" {
		t.Errorf("chat.postMessage = %q %q %v", ch, ts, err)
	}
	s.Fail("chat.update", "message_not_found")
	if _, _, _, err := api.UpdateMessageContext(ctx, "C0ACME", ts, slack.MsgOptionText("x", false)); err == nil || !strings.Contains(err.Error(), "message_not_found") {
		t.Errorf("failing chat.update: %v", err)
	}
	s.RateLimit(time.Minute, 7*time.Second, "chat.postMessage")
	_, _, err = api.PostMessageContext(ctx, "C0ACME", slack.MsgOptionText("later", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Errorf("rate-limited chat.postMessage: %v", err)
	}

	calls := s.Take()
	if diff := cmp.Diff([]string{"users.info", "users.info", "chat.postMessage", "chat.update", "chat.postMessage"}, slackfake.Methods(calls)); diff != "" {
		t.Errorf("methods (-want +got):\n%s", diff)
	}
	posts := slackfake.Only(calls, "chat.postMessage")
	if posts[0].Str("text") != "hello" || posts[0].TS != ts || posts[1].Status != http.StatusTooManyRequests || posts[1].RetryAfter != 7*time.Second {
		t.Errorf("posts = %+v", posts)
	}
	if n := s.Count("chat.postMessage", nil); n != 0 {
		t.Errorf("Count after Take = %d, want 0", n)
	}
}
