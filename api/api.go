// Package api is Signoff's JSON API under /api/v1: bearer-token access for
// publishers (list approved drafts since a cursor, fetch one, mark it
// published) and integrations (submit drafts, as the CLI does, on channel
// "api"). It translates HTTP into approvals calls and approvals errors into
// JSON errors; no rule lives here. docs/api.md documents it.
package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/httpserver"
)

// MaxBody is the largest request body the API reads.
const MaxBody = 1 << 20

// API serves /api/v1.
type API struct {
	svc    *approvals.Service
	logger *slog.Logger
}

// New returns the API over svc.
func New(svc *approvals.Service, logger *slog.Logger) *API {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &API{svc: svc, logger: logger}
}

// Register adds the API's routes to mux (an *httpserver.Server or an
// *http.ServeMux).
func (a *API) Register(mux interface {
	Handle(pattern string, h http.Handler)
}) {
	mux.Handle("GET /api/v1/drafts", a.authed(a.listDrafts))
	mux.Handle("POST /api/v1/drafts", a.authed(a.submitDraft))
	mux.Handle("GET /api/v1/drafts/{id}", a.authed(a.showDraft))
	mux.Handle("POST /api/v1/drafts/{id}/published", a.authed(a.markPublished))
	mux.Handle("POST /api/v1/drafts/{id}/comments", a.authed(a.addComment))
	mux.Handle("POST /api/v1/drafts/{id}/decisions", a.authed(a.decide)) // decision.go
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such API endpoint: "+r.Method+" "+r.URL.Path)
	}))
}

// statuses maps the core's error codes to HTTP statuses: the one table.
var statuses = map[string]int{
	approvals.EINVALID:      http.StatusBadRequest,
	approvals.ENOTFOUND:     http.StatusNotFound,
	approvals.EUNAUTHORIZED: http.StatusForbidden, // authenticated, but not allowed; a bad token is 401 (authed)
	approvals.ECONFLICT:     http.StatusConflict,
	approvals.EUNAVAILABLE:  http.StatusServiceUnavailable,
	approvals.EINTERNAL:     http.StatusInternalServerError,
}

// Status returns the HTTP status of an approvals error code.
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is an error's code (an approvals code, or "unauthenticated",
// "too_large", "idempotency_key_reused") and a message for people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: message}})
}

// fail answers with a core error, logging those that are not the caller's.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := approvals.ErrorCode(err)
	if code == approvals.EINTERNAL || code == approvals.EUNAVAILABLE {
		a.logger.ErrorContext(r.Context(), "api request failed", "path", r.URL.Path, "err", err)
	}
	writeError(w, Status(code), code, approvals.ErrorMessage(err))
}

// handler is an authenticated API handler.
type handler func(w http.ResponseWriter, r *http.Request, actor approvals.Actor)

// authed authenticates the bearer token: missing → 401 with a
// WWW-Authenticate challenge; unknown or revoked → 401 invalid_token.
func (a *API) authed(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="signoff"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "send an API token: Authorization: Bearer so_…")
			return
		}
		meta := httpserver.RequestMeta(r)
		actor, err := a.svc.Authenticate(r.Context(), token, meta)
		if err != nil {
			if approvals.ErrorCode(err) != approvals.EUNAUTHORIZED {
				a.fail(w, r, err)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="signoff", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", approvals.ErrorMessage(err))
			return
		}
		h(w, r, actor)
	})
}

// DraftList is the body of GET /api/v1/drafts.
type DraftList = approvals.HandoffPage

func (a *API) listDrafts(w http.ResponseWriter, r *http.Request, actor approvals.Actor) {
	q := r.URL.Query()
	if st := q.Get("state"); st != "" && st != string(approvals.StateApproved) {
		writeError(w, http.StatusBadRequest, approvals.EINVALID, fmt.Sprintf("query parameter \"state\": only %q drafts are listed; fetch others with GET /api/v1/drafts/{id}", approvals.StateApproved))
		return
	}
	in := approvals.HandoffQuery{Since: q.Get("since")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			writeError(w, http.StatusBadRequest, approvals.EINVALID, fmt.Sprintf("query parameter \"limit\" must be a number from 1 to 500, got %q", l))
			return
		}
		in.Limit = n
	}
	page, err := a.svc.ApprovedDrafts(r.Context(), actor, in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func draftID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, approvals.ENOTFOUND, fmt.Sprintf("no draft %q", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

func (a *API) showDraft(w http.ResponseWriter, r *http.Request, actor approvals.Actor) {
	id, ok := draftID(w, r)
	if !ok {
		return
	}
	h, err := a.svc.DraftHandoff(r.Context(), actor, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// SubmitRequest is the body of POST /api/v1/drafts.
type SubmitRequest struct {
	Account     string   `json:"account"`
	Text        string   `json:"text"`
	MediaURLs   []string `json:"media_urls"`
	ScheduledAt *string  `json:"scheduled_at"` // RFC 3339
}

// IdempotencyHeader names the key that makes a submission safe to retry.
const IdempotencyHeader = "Idempotency-Key"

func (a *API) submitDraft(w http.ResponseWriter, r *http.Request, actor approvals.Actor) {
	var req SubmitRequest
	body, ok := decodeBody(w, r, &req, false)
	if !ok {
		return
	}
	in := approvals.DraftInput{Account: req.Account, Text: req.Text, MediaURLs: req.MediaURLs}
	if strings.TrimSpace(req.Account) == "" {
		writeError(w, http.StatusBadRequest, approvals.EINVALID, `field "account" is required: the account's handle`)
		return
	}
	if req.ScheduledAt != nil && *req.ScheduledAt != "" {
		t, err := time.Parse(time.RFC3339, *req.ScheduledAt)
		if err != nil {
			writeError(w, http.StatusBadRequest, approvals.EINVALID, fmt.Sprintf(`field "scheduled_at" must be an RFC 3339 time such as 2026-05-01T09:00:00Z, got %q`, *req.ScheduledAt))
			return
		}
		in.ScheduledAt = &t
	}
	if key, keyed := r.Header[http.CanonicalHeaderKey(IdempotencyHeader)]; keyed {
		a.submitOnce(w, r, actor, in, strings.Join(key, ","), body)
		return
	}
	v, err := a.svc.Submit(r.Context(), actor, in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	h, err := a.svc.DraftHandoff(r.Context(), actor, v.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	h.Notes = v.Notes
	w.Header().Set("Location", fmt.Sprintf("/api/v1/drafts/%d", v.ID))
	writeJSON(w, http.StatusCreated, h)
}

// submitOnce submits with an idempotency key: a retry with the same key
// and body gets the first answer again (marked with an Idempotent-Replayed
// header), the same key with another body 422.
func (a *API) submitOnce(w http.ResponseWriter, r *http.Request, actor approvals.Actor, in approvals.DraftInput, key string, body []byte) {
	sum := sha256.Sum256(body)
	sub, err := a.svc.SubmitOnce(r.Context(), actor, in, approvals.IdempotencyKey{Key: key, RequestHash: sum[:]})
	if approvals.ErrorReason(err) == approvals.ReasonKeyReused {
		writeError(w, http.StatusUnprocessableEntity, "idempotency_key_reused", approvals.ErrorMessage(err))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if sub.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/drafts/%d", sub.Draft.ID))
	writeJSON(w, http.StatusCreated, sub.Draft)
}

// CommentRequest is the body of POST /api/v1/drafts/{id}/comments.
type CommentRequest struct {
	Text string `json:"text"`
	// Internal keeps the comment from clients; staff members' tokens only.
	Internal bool `json:"internal"`
}

// addComment comments on a draft as the token's member.
func (a *API) addComment(w http.ResponseWriter, r *http.Request, actor approvals.Actor) {
	id, req, ok := draftRequest[CommentRequest](w, r, false)
	if !ok {
		return
	}
	c, err := a.svc.AddComment(r.Context(), actor, id, approvals.CommentInput{Text: req.Text, Internal: req.Internal})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

// PublishedRequest is the optional body of POST /api/v1/drafts/{id}/published.
type PublishedRequest struct {
	URL string `json:"url"` // where the post went live
}

// PublishedResponse is the body of POST /api/v1/drafts/{id}/published.
type PublishedResponse struct {
	// AlreadyPublished is true when an earlier call recorded the publication;
	// Draft then shows that first record.
	AlreadyPublished bool               `json:"already_published"`
	Draft            *approvals.Handoff `json:"draft"`
}

func (a *API) markPublished(w http.ResponseWriter, r *http.Request, actor approvals.Actor) {
	id, req, ok := draftRequest[PublishedRequest](w, r, true)
	if !ok {
		return
	}
	h, first, err := a.svc.MarkPublished(r.Context(), actor, id, req.URL)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, PublishedResponse{AlreadyPublished: !first, Draft: h})
}

// draftRequest reads the draft ID of the path and the JSON body of a
// request on one draft, answering the error itself when either is bad.
func draftRequest[T any](w http.ResponseWriter, r *http.Request, optional bool) (int64, T, bool) {
	var req T
	id, ok := draftID(w, r)
	if !ok || !decode(w, r, &req, optional) {
		return 0, req, false
	}
	return id, req, true
}

// decode reads one JSON object (at most MaxBody) into v, refusing unknown
// fields, and answers 400 (413 for a body too large) with a message that
// names the field at fault. An empty body is allowed when optional.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	_, ok := decodeBody(w, r, v, optional)
	return ok
}

// decodeBody is decode that also returns the body as read.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", MaxBody))
			return nil, false
		}
		writeError(w, http.StatusBadRequest, approvals.EINVALID, "cannot read the request body")
		return nil, false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return body, true
		}
		writeError(w, http.StatusBadRequest, approvals.EINVALID, "request body is empty: send a JSON object")
		return nil, false
	}
	if msg := decodeError(body, v); msg != "" {
		writeError(w, http.StatusBadRequest, approvals.EINVALID, msg)
		return nil, false
	}
	return body, true
}

// decodeError decodes body into v and describes what is wrong, naming the
// field; "" when it decoded.
func decodeError(body []byte, v any) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case err == nil:
		if dec.More() {
			return "request body must hold a single JSON object"
		}
		return ""
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: the body ends early"
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return fmt.Sprintf("request body must be a JSON object, not %s", typeErr.Value)
		}
		return fmt.Sprintf("field %q must be %s, not %s", typeErr.Field, jsonType(typeErr.Type), typeErr.Value)
	}
	// The decoder has no error type for an unknown field: find it.
	if unknown := unknownFields(body, v); len(unknown) > 0 {
		return fmt.Sprintf("unknown field %q (known: %s)", unknown[0], strings.Join(knownFields(v), ", "))
	}
	return "malformed JSON"
}

func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonType(t.Elem()), "a "), "an ") + "s"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonType(t.Elem()) + " or null"
	}
	return "an object"
}

func knownFields(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

func unknownFields(body []byte, v any) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	known := map[string]bool{}
	for _, k := range knownFields(v) {
		known[strings.ToLower(k)] = true // the decoder matches names case-insensitively
	}
	var out []string
	for k := range m {
		if !known[strings.ToLower(k)] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
