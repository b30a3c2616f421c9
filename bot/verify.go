package bot

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/httpserver"
)

// MaxBody is the largest request body the bot reads.
const MaxBody = 1 << 20

// verified reads the raw body (at most MaxBody) and checks Slack's v0
// signature over it, with the five-minute timestamp window, before anything
// parses it. A failure gets 401 and an audit entry.
func (b *Bot) verified(next func(w http.ResponseWriter, r *http.Request, req Request, body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := Request{Meta: httpserver.RequestMeta(r)}
		req.Retry, _ = strconv.Atoi(r.Header.Get("X-Slack-Retry-Num"))
		refuse := func(status int, detail string) {
			b.svc.RecordRefusal(r.Context(), approvals.Actor{Channel: approvals.ChannelSlack, Meta: req.Meta}, "slack.request", detail)
			http.Error(w, http.StatusText(status), status)
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				refuse(http.StatusRequestEntityTooLarge, "request body over 1 MiB")
				return
			}
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		sv, err := slack.NewSecretsVerifier(r.Header, b.cfg.SigningSecret)
		if err != nil {
			refuse(http.StatusUnauthorized, "slack signature refused: "+err.Error())
			return
		}
		if _, err := sv.Write(body); err != nil {
			refuse(http.StatusUnauthorized, "slack signature refused: "+err.Error())
			return
		}
		if err := sv.Ensure(); err != nil {
			refuse(http.StatusUnauthorized, "slack signature refused: "+err.Error())
			return
		}
		next(w, r, req, body)
	})
}

func (b *Bot) serveCommand(w http.ResponseWriter, r *http.Request, req Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	cmd := slack.SlashCommand{
		Token: form.Get("token"), TeamID: form.Get("team_id"), TeamDomain: form.Get("team_domain"),
		EnterpriseID: form.Get("enterprise_id"), ChannelID: form.Get("channel_id"), ChannelName: form.Get("channel_name"),
		UserID: form.Get("user_id"), UserName: form.Get("user_name"), Command: form.Get("command"), Text: form.Get("text"),
		ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id"), APIAppID: form.Get("api_app_id"),
	}
	writeJSON(w, b.Command(r.Context(), req, cmd))
}

func (b *Bot) serveInteraction(w http.ResponseWriter, r *http.Request, req Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return
	}
	writeJSON(w, b.Interaction(r.Context(), req, cb))
}

func (b *Bot) serveEvent(w http.ResponseWriter, r *http.Request, req Request, body []byte) {
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	if ev.Type == slackevents.URLVerification {
		var ch slackevents.ChallengeResponse
		if err := json.Unmarshal(body, &ch); err != nil {
			http.Error(w, "malformed challenge", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, ch.Challenge)
		return
	}
	b.Event(r.Context(), req, ev)
	w.WriteHeader(http.StatusOK)
}

// writeJSON answers 200 with v as JSON, or with an empty body for nil.
func writeJSON(w http.ResponseWriter, v any) {
	if v == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encode", http.StatusInternalServerError)
	}
}
