package slackfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// AppID is the app the requests come from.
const AppID = "A0SIGNOFF"

// Sign returns the headers Slack signs body with at ts: the request
// timestamp and the v0 HMAC-SHA256 of "v0:<ts>:<body>" under secret.
func Sign(secret string, ts time.Time, body string) http.Header {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:%s", ts.Unix(), body)
	hd := http.Header{}
	hd.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	hd.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return hd
}

// Payload encodes an interaction payload as Slack posts it: JSON in the
// "payload" form field.
func Payload(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the payloads here are plain values, which always encode
	}
	return url.Values{"payload": {string(b)}}.Encode()
}

// Command is the form body of the slash command "/signoff text" that user
// sends in channel of team. triggerID tells commands apart (Slack gives
// each its own).
func Command(team, user, channel, text, triggerID string) string {
	return url.Values{
		"token": {"legacy"}, "team_id": {team}, "team_domain": {"agency"}, "channel_id": {channel},
		"channel_name": {"general"}, "user_id": {user}, "user_name": {strings.ToLower(user)}, "command": {"/signoff"},
		"text": {text}, "api_app_id": {AppID}, "is_enterprise_install": {"false"},
		"response_url": {"https://hooks.slack.com/commands/" + team + "/1/x"}, "trigger_id": {triggerID},
	}.Encode()
}

// Button is a press of a button on a message the app posted.
type Button struct {
	Team, User string
	ActionID   string // signoff_approve, signoff_reject, ...
	Value      string // the button's value: "<draft>/<revision>/<tier>"
	BlockID    string // the actions block's ID; "decide" when empty
	Channel    string // the message's channel
	TS         string // the message's ts
	// Seq tells presses apart: the payload's trigger_id and action_ts,
	// which Slack makes unique, are drawn from it.
	Seq int64
}

// Click is the block_actions payload of the press b.
func Click(b Button) map[string]any {
	if b.BlockID == "" {
		b.BlockID = "decide"
	}
	return map[string]any{
		"type": "block_actions", "user": userOf(b.Team, b.User), "api_app_id": AppID, "token": "legacy",
		"container":  map[string]any{"type": "message", "message_ts": b.TS, "channel_id": b.Channel, "is_ephemeral": false},
		"trigger_id": fmt.Sprintf("1337.%d.click", b.Seq), "team": map[string]any{"id": b.Team, "domain": "agency"},
		"enterprise": nil, "is_enterprise_install": false, "channel": map[string]any{"id": b.Channel, "name": "general"},
		"message":      map[string]any{"type": "message", "ts": b.TS, "text": "draft"},
		"state":        map[string]any{"values": map[string]any{}},
		"response_url": "https://hooks.slack.com/actions/" + b.Team + "/1/x",
		"actions": []any{map[string]any{
			"action_id": b.ActionID, "block_id": b.BlockID, "text": map[string]any{"type": "plain_text", "text": "Approve", "emoji": true},
			"value": b.Value, "type": "button", "action_ts": fmt.Sprintf("1700000100.%06d", b.Seq),
		}},
	}
}

// Submission is the view_submission payload of the modal an earlier
// views.open call (opened) showed, submitted by user as view viewID with
// the input values (TextValue).
func Submission(team, user string, opened Call, viewID string, values map[string]any) map[string]any {
	view := opened.View()
	return map[string]any{
		"type": "view_submission", "team": map[string]any{"id": team, "domain": "agency"}, "user": userOf(team, user),
		"api_app_id": AppID, "token": "legacy", "trigger_id": "1337.submit",
		"view": map[string]any{
			"id": viewID, "team_id": team, "type": "modal", "blocks": view["blocks"],
			"private_metadata": view["private_metadata"], "callback_id": view["callback_id"],
			"state": map[string]any{"values": values}, "hash": "1700000200." + viewID,
			"title": view["title"], "submit": view["submit"], "root_view_id": viewID, "app_id": AppID, "bot_id": "B0SIGNOFF",
		},
		"response_urls": []any{}, "is_enterprise_install": false, "enterprise": nil,
	}
}

// TextValue is the state of the plain-text input action holding v, for
// Submission's values.
func TextValue(action, v string) map[string]any {
	return map[string]any{action: map[string]any{"type": "plain_text_input", "value": v}}
}

func userOf(team, id string) map[string]any {
	return map[string]any{"id": id, "username": strings.ToLower(id), "name": strings.ToLower(id), "team_id": team}
}
