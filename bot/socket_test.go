package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/bot"
	"github.com/signoff-app/signoff/internal/slackfake"
)

// TestSocketMode drives slack-go's socketmode client against a local fake
// of Slack's Socket Mode websocket: the envelopes reach the same handlers
// as HTTP, and their answers come back as the envelopes' acks.
func TestSocketMode(t *testing.T) {
	envelopes := make(chan string, 8)
	acks := make(chan map[string]any, 8)
	upgrader := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://api.slack.com" }}
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","num_connections":1,"debug_info":{"host":"test"},"connection_info":{"app_id":"A0SIGNOFF"}}`))
		go func() {
			for {
				var ack map[string]any
				if err := conn.ReadJSON(&ack); err != nil {
					return
				}
				acks <- ack
			}
		}()
		for {
			select {
			case env := <-envelopes:
				if err := conn.WriteMessage(websocket.TextMessage, []byte(env)); err != nil {
					return
				}
			case <-r.Context().Done():
				return
			}
		}
	}))
	defer ws.Close()

	h := newHarness(t, func(c *bot.Config) { c.AppToken = "xapp-1-test"; c.SigningSecret = "" })
	h.slack.SetSocketURL("ws" + strings.TrimPrefix(ws.URL, "http"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.bot.RunSocketMode(ctx) }()

	waitAck := func(id string) map[string]any {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case ack := <-acks:
				if ack["envelope_id"] == id {
					return ack
				}
			case <-timeout:
				t.Fatalf("no ack for envelope %s", id)
			}
		}
	}

	// A slash command: its ephemeral answer is the ack's payload.
	cmd := fmt.Sprintf(`{"envelope_id":"E1","type":"slash_commands","accepts_response_payload":true,"payload":{"token":"legacy","team_id":%q,"team_domain":"agency","channel_id":%q,"channel_name":"acme","user_id":%q,"user_name":"ed","command":"/signoff","text":"submit acme Via the socket","api_app_id":"A0SIGNOFF","response_url":"https://hooks.slack.com/commands/1","trigger_id":"9.9.socket"}}`, team, chanAcme, uEditor)
	envelopes <- cmd
	ack := waitAck("E1")
	payload, _ := ack["payload"].(map[string]any)
	if text, _ := payload["text"].(string); !strings.Contains(text, "Submitted draft #") || payload["response_type"] != "ephemeral" {
		t.Errorf("slash command ack payload = %v", payload)
	}

	// A modal submission with an inline error: the ack carries the errors.
	envelopes <- strings.NewReplacer("submit acme Via the socket", "new", `"E1"`, `"E1b"`, "9.9.socket", "9.10.socket").Replace(cmd)
	if ack := waitAck("E1b"); ack["payload"] != nil {
		t.Errorf("new ack payload = %v, want none (a modal opened)", ack["payload"])
	}
	opened := slackfake.Only(h.slack.Take(), "views.open")[0]
	sub := slackfake.Submission(team, uEditor, opened, "V0SOCK", map[string]any{"text": slackfake.TextValue("text", "no account chosen")})
	raw, _ := json.Marshal(map[string]any{"envelope_id": "E2", "type": "interactive", "accepts_response_payload": true, "payload": sub})
	envelopes <- string(raw)
	ack = waitAck("E2")
	payload, _ = ack["payload"].(map[string]any)
	if payload["response_action"] != "errors" {
		t.Errorf("view_submission ack payload = %v, want response_action errors", payload)
	}

	// An event, delivered twice (a retry): acknowledged both times, acted on once.
	ev := fmt.Sprintf(`{"envelope_id":"%%s","type":"events_api","accepts_response_payload":false,"retry_attempt":%%d,"payload":{"token":"legacy","team_id":%q,"api_app_id":"A0SIGNOFF","event":{"type":"app_home_opened","user":%q,"channel":"D0E","tab":"home","event_ts":"1.1"},"type":"event_callback","event_id":"Ev0SOCK","event_time":1700000000}}`, team, uEditor)
	envelopes <- fmt.Sprintf(ev, "E3", 0)
	waitAck("E3")
	envelopes <- fmt.Sprintf(ev, "E4", 1)
	waitAck("E4")
	h.bot.Wait()
	if n := len(slackfake.Only(h.slack.Take(), "views.publish")); n != 1 {
		t.Errorf("views.publish calls = %d, want 1", n)
	}

	// An Approve click: acknowledged with no payload, queued, and decided
	// by the same worker as an HTTP click.
	ds, err := h.svc.List(h.ctx, approvals.Actor{Workspace: h.slug, Email: "ed@agency.test", Channel: approvals.ChannelCLI}, approvals.ListInput{})
	h.must(err)
	if len(ds) != 1 {
		t.Fatalf("drafts = %d, want 1", len(ds))
	}
	raw, _ = json.Marshal(map[string]any{"envelope_id": "E5", "type": "interactive", "accepts_response_payload": true,
		"payload": click(uClient, "signoff_approve", fmt.Sprintf("%d/1/client", ds[0].ID), chanAcme, "1700000000.000001")})
	envelopes <- string(raw)
	if ack := waitAck("E5"); ack["payload"] != nil {
		t.Errorf("click ack payload = %v, want none", ack["payload"])
	}
	h.bot.Wait()
	h.work()
	if st := h.draft(ds[0].ID).State; st != approvals.StateApproved {
		t.Errorf("state after a Socket Mode approve = %s, want approved", st)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunSocketMode: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("RunSocketMode did not stop")
	}
}
