package cli

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/internal/servetest"
	"github.com/signoff-app/signoff/internal/slackfake"
)

// TestServeWithSlack runs serve with the slack.* settings and checks that the
// Slack endpoints are mounted and verify signatures.
func TestServeWithSlack(t *testing.T) {
	api := httptest.NewServer(http.NotFoundHandler()) // Slack's Web API: "help" calls none
	defer api.Close()
	const secret = "test-signing-secret"
	env := map[string]string{
		"SIGNOFF_DATABASE_URL":         testDB(t),
		"SIGNOFF_SLACK_BOT_TOKEN":      "xoxb-test",
		"SIGNOFF_SLACK_SIGNING_SECRET": secret,
		"SIGNOFF_SLACK_API_URL":        api.URL + "/",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &servetest.Log{}
	exited := make(chan int, 1)
	go func() {
		exited <- Run(ctx, []string{"serve", "--http-addr", "127.0.0.1:0", "--log-format", "json"},
			strings.NewReader(""), io.Discard, stderr, func(k string) string { return env[k] })
	}()
	base := "http://" + servetest.WaitListening(t, stderr, exited)

	body := "team_id=T0&user_id=U0&command=%2Fsignoff&text=help&trigger_id=1.2.3"
	post := func(signed bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/slack/commands", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range slackfake.Sign(secret, time.Now(), body) {
			req.Header[k] = v
		}
		if !signed {
			req.Header.Set("X-Slack-Signature", "v0="+strings.Repeat("0", 64))
		}
		r, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	if code, _ := post(false); code != http.StatusUnauthorized {
		t.Errorf("unsigned command: %d, want 401", code)
	}
	if code, b := post(true); code != http.StatusOK || !strings.Contains(b, "/signoff new") {
		t.Errorf("signed help: %d %q", code, b)
	}
	cancel()
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("serve exited %d; stderr:\n%s", code, stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	if strings.Contains(stderr.String(), "without the Slack bot") {
		t.Errorf("serve said it runs without Slack:\n%s", stderr)
	}
}
