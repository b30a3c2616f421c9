// Package webhook delivers approved drafts to a publisher's HTTP endpoint:
// the outbox sender of approvals.ChannelWebhook. Each delivery is a JSON
// POST signed like Slack's own requests (HMAC-SHA256 over a version, a
// timestamp and the body), and carries an idempotency key that stays the
// same across retries. Verify is the receiver's side, to copy.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/outbox"
)

// Headers of a delivery.
const (
	HeaderTimestamp = "X-Signoff-Timestamp" // Unix seconds when the delivery was signed
	// HeaderSignature is "v1=" + hex(HMAC-SHA256(secret, "v1:" + timestamp +
	// ":" + body)); after a rotation of a workspace's secret, during the
	// overlap, a second value signed with the previous secret follows,
	// comma-separated: "v1=<new>, v1=<old>".
	HeaderSignature = "X-Signoff-Signature"
	HeaderDelivery  = "X-Signoff-Delivery" // idempotency key: the same for every retry of one event
	HeaderEvent     = "X-Signoff-Event"    // the event, e.g. "draft.approved"
)

// EventApproved is the event of a delivery for an approved draft.
const EventApproved = "draft.approved"

// Tolerance is how far a delivery's timestamp may be from the receiver's
// clock before Verify refuses it (replay protection).
const Tolerance = 5 * time.Minute

// Config is the webhook's configuration (the webhooks.* keys).
type Config struct {
	URL     string        `mapstructure:"url"`     // webhooks.url: where deliveries are POSTed
	Secret  string        `mapstructure:"secret"`  // webhooks.secret: the HMAC key (a secret: set it in the environment)
	Timeout time.Duration `mapstructure:"timeout"` // webhooks.timeout: per delivery attempt
}

// DefaultTimeout is the default of webhooks.timeout.
const DefaultTimeout = 10 * time.Second

// Enabled reports whether a webhook is configured.
func (c Config) Enabled() bool { return c.URL != "" || c.Secret != "" }

// FieldError is a problem with one setting, named by its key.
type FieldError struct {
	Key     string
	Message string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Message }

// Validate checks c when it is enabled, returning every problem as a
// *FieldError joined with errors.Join.
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var errs []error
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, &FieldError{Key: "webhooks.url", Message: fmt.Sprintf("must be an absolute http or https URL, got %q", c.URL)})
	}
	if c.Secret == "" {
		errs = append(errs, &FieldError{Key: "webhooks.secret", Message: "required when webhooks.url is set (set SIGNOFF_WEBHOOKS_SECRET)"})
	} else if len(c.Secret) < 16 {
		errs = append(errs, &FieldError{Key: "webhooks.secret", Message: "must be at least 16 characters"})
	}
	if c.Timeout < 0 {
		errs = append(errs, &FieldError{Key: "webhooks.timeout", Message: "must not be negative"})
	}
	return errors.Join(errs...)
}

// Payload is the JSON body of a delivery.
type Payload struct {
	Event      string             `json:"event"`
	DeliveryID string             `json:"delivery_id"`
	Workspace  string             `json:"workspace"`
	Draft      *approvals.Handoff `json:"draft"`
}

// Sender POSTs the outbox messages of approvals.ChannelWebhook.
type Sender struct {
	cfg    Config
	svc    *approvals.Service
	client *http.Client
	now    func() time.Time
	logger *slog.Logger
}

// NewSender returns a Sender for a validated cfg; with cfg not enabled, it
// delivers only for workspaces with a webhook of their own. client may be
// nil for one with cfg.Timeout; now may be nil for time.Now.
func NewSender(cfg Config, svc *approvals.Service, client *http.Client, now func() time.Time, logger *slog.Logger) *Sender {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sender{cfg: cfg, svc: svc, client: client, now: now, logger: logger}
}

// Send delivers one message. 2xx is delivered; a network error, 408, 429
// and 5xx are retried by the outbox; any other status is permanent (the
// receiver refused this delivery and will refuse it again).
func (s *Sender) Send(ctx context.Context, _ *approvals.Batch, m *approvals.OutboxMessage) error {
	if m.Payload.Event != approvals.EventApproved {
		return nil // nothing else is handed off
	}
	target, secrets, err := s.target(ctx, m.Payload.WorkspaceID)
	if err != nil {
		return err
	}
	h, err := s.svc.HandoffView(ctx, m.Payload)
	if err != nil {
		if approvals.ErrorCode(err) == approvals.ENOTFOUND {
			return outbox.Permanent(fmt.Errorf("load draft %d: %w", m.Payload.DraftID, err))
		}
		return fmt.Errorf("load draft %d: %w", m.Payload.DraftID, err)
	}
	body, err := json.Marshal(Payload{Event: EventApproved, DeliveryID: m.IdempotencyKey, Workspace: h.Workspace, Draft: h})
	if err != nil {
		return outbox.Permanent(fmt.Errorf("encode delivery: %w", err))
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return outbox.Permanent(fmt.Errorf("webhook request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Signoff-Webhook/1")
	req.Header.Set(HeaderTimestamp, ts)
	sigs := make([]string, len(secrets))
	for i, secret := range secrets {
		sigs[i] = Sign(secret, ts, body)
	}
	req.Header.Set(HeaderSignature, strings.Join(sigs, ", "))
	req.Header.Set(HeaderDelivery, m.IdempotencyKey)
	req.Header.Set(HeaderEvent, EventApproved)
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook POST: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		err := fmt.Errorf("webhook POST: %s: %s", resp.Status, strings.TrimSpace(string(snippet)))
		if after, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			return &outbox.RetryAfterError{After: after, Err: err}
		}
		return err
	default:
		return outbox.Permanent(fmt.Errorf("webhook POST refused: %s: %s", resp.Status, strings.TrimSpace(string(snippet))))
	}
}

// target returns where a workspace's deliveries go and the secrets that
// sign them: the workspace's own webhook, else the deployment's.
func (s *Sender) target(ctx context.Context, workspaceID int64) (string, []string, error) {
	w, err := s.svc.WebhookOf(ctx, workspaceID)
	switch {
	case err == nil:
		return w.URL, w.Secrets(s.now()), nil
	case approvals.ErrorCode(err) != approvals.ENOTFOUND:
		return "", nil, fmt.Errorf("load webhook of workspace %d: %w", workspaceID, err)
	case s.cfg.URL != "":
		return s.cfg.URL, []string{s.cfg.Secret}, nil
	}
	return "", nil, outbox.Permanent(fmt.Errorf("workspace %d has no webhook and the deployment none (webhooks.url)", workspaceID))
}

func retryAfter(v string) (time.Duration, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0, false
	}
	return min(time.Duration(n)*time.Second, time.Hour), true
}

// Sign returns the signature header value of body signed at timestamp ts
// (Unix seconds, in decimal) with secret.
func Sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v1:" + ts + ":"))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: missing or malformed signature")
	ErrBadSignature = errors.New("webhook: signature mismatch")
	ErrStale        = errors.New("webhook: timestamp outside the tolerance")
)

// Verify checks a delivery as its receiver: header holds the request's
// headers, body its raw bytes (read before any parsing), now the
// receiver's clock. It accepts when the timestamp is within Tolerance of
// now and one of the signature's v1 values matches, comparing in constant
// time. Receivers should also drop deliveries whose X-Signoff-Delivery they
// have processed (retries reuse it).
//
// It depends only on the standard library: copy it.
func Verify(secret string, header http.Header, body []byte, now time.Time) error {
	ts := header.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrNoSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return ErrStale
	}
	want := Sign(secret, ts, body)
	found := false
	// Several comma-separated values allow a rotation of the secret.
	for _, v := range strings.Split(header.Get(HeaderSignature), ",") {
		v = strings.TrimSpace(v)
		if !strings.HasPrefix(v, "v1=") {
			continue
		}
		found = true
		if hmac.Equal([]byte(v), []byte(want)) {
			return nil
		}
	}
	if !found {
		return ErrNoSignature
	}
	return ErrBadSignature
}
