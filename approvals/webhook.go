package approvals

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"strings"
	"time"
)

// A workspace's own webhook: where its approved drafts are delivered and
// the secret that signs them, so that two agencies sharing a deployment
// never receive each other's drafts. A workspace without one uses the
// deployment's webhooks.url and secret, if any.

// WebhookSecretPrefix starts every generated webhook secret.
const WebhookSecretPrefix = "whsec_"

// DefaultWebhookOverlap is how long, after a rotation, deliveries are also
// signed with the previous secret: time for the publisher to switch.
const DefaultWebhookOverlap = 72 * time.Hour

// WorkspaceWebhook is a workspace's webhook as stored. After a rotation,
// PreviousSecret also signs deliveries until PreviousUntil.
type WorkspaceWebhook struct {
	WorkspaceID    int64
	URL            string
	Secret         string
	PreviousSecret string
	PreviousUntil  *time.Time
	UpdatedAt      time.Time
}

// Secrets returns the secrets that sign a delivery made at now: the
// current one first, then the previous one during the overlap.
func (w *WorkspaceWebhook) Secrets(now time.Time) []string {
	out := []string{w.Secret}
	if w.PreviousSecret != "" && w.PreviousUntil != nil && now.Before(*w.PreviousUntil) {
		out = append(out, w.PreviousSecret)
	}
	return out
}

// WebhookTx is the persistence of workspace webhooks; Tx embeds it.
type WebhookTx interface {
	// WorkspaceWebhook returns the workspace's webhook (ENOTFOUND if it has none).
	WorkspaceWebhook(ctx context.Context, workspaceID int64) (*WorkspaceWebhook, error)
	// SetWorkspaceWebhook creates or replaces the workspace's webhook.
	SetWorkspaceWebhook(ctx context.Context, w *WorkspaceWebhook) error
	// DeleteWorkspaceWebhook removes it (ENOTFOUND if it has none).
	DeleteWorkspaceWebhook(ctx context.Context, workspaceID int64) error
}

// WebhookSettings changes a workspace's webhook. URL nil keeps the URL; a
// URL of "" removes the workspace's webhook (its drafts go to the
// deployment's default again). Rotate makes a new secret, the old one
// signing alongside it for Overlap (0 for DefaultWebhookOverlap).
type WebhookSettings struct {
	URL     *string
	Rotate  bool
	Overlap time.Duration
}

// WebhookInfo is a workspace's webhook as shown to its admins. Secret is
// set only when this call made it, the one time it is shown.
type WebhookInfo struct {
	Workspace     string     `json:"workspace"`
	URL           string     `json:"url"`
	Secret        string     `json:"secret,omitempty"`
	PreviousUntil *time.Time `json:"previous_secret_until,omitempty"`
	Removed       bool       `json:"removed,omitempty"`
}

// SetWebhook sets, rotates or removes the actor's workspace's webhook. The
// first URL comes with a generated secret; the secret is returned by that
// call and by rotations only. Only the operator, owners and admins may.
// Errors: EINVALID (the URL; a rotation of a webhook that does not exist),
// EUNAUTHORIZED.
func (s *Service) SetWebhook(ctx context.Context, a Actor, set WebhookSettings) (*WebhookInfo, error) {
	var out *WebhookInfo
	err := s.change(ctx, a, "workspace.webhook", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "change the workspace's webhook"); err != nil {
			return err
		}
		now := s.now()
		out = &WebhookInfo{Workspace: p.ws.Slug}
		cur, err := tx.WorkspaceWebhook(ctx, p.ws.ID)
		if ErrorCode(err) == ENOTFOUND {
			cur = nil
		} else if err != nil {
			return err
		}
		if set.URL != nil && strings.TrimSpace(*set.URL) == "" {
			if set.Rotate {
				return Errorf(EINVALID, "give a webhook URL or remove the webhook, not both with a rotation")
			}
			if cur == nil {
				return Errorf(EINVALID, "workspace %q has no webhook of its own to remove", p.ws.Slug)
			}
			e.Detail, out.Removed = "removed", true
			return tx.DeleteWorkspaceWebhook(ctx, p.ws.ID)
		}
		w := &WorkspaceWebhook{WorkspaceID: p.ws.ID, UpdatedAt: now}
		if cur != nil {
			*w = *cur
			w.UpdatedAt = now
		}
		if set.URL != nil {
			u := strings.TrimSpace(*set.URL)
			if err := validWebhookURL(u); err != nil {
				return err
			}
			w.URL = u
		}
		if cur == nil && w.URL == "" {
			return Errorf(EINVALID, "workspace %q has no webhook yet: give its URL (--webhook-url)", p.ws.Slug)
		}
		switch {
		case cur == nil:
			if w.Secret, err = newWebhookSecret(); err != nil {
				return err
			}
			out.Secret = w.Secret
			e.Detail = "set " + w.URL
		case set.Rotate:
			overlap := set.Overlap
			if overlap == 0 {
				overlap = DefaultWebhookOverlap
			}
			if overlap < 0 {
				return Errorf(EINVALID, "the overlap of a rotation must not be negative")
			}
			until := now.Add(overlap)
			w.PreviousSecret, w.PreviousUntil = cur.Secret, &until
			if w.Secret, err = newWebhookSecret(); err != nil {
				return err
			}
			out.Secret = w.Secret
			e.Detail = "rotated the secret; the previous one signs until " + until.Format(time.RFC3339)
		default:
			e.Detail = "set " + w.URL
		}
		if w.PreviousSecret != "" && w.PreviousUntil != nil && now.Before(*w.PreviousUntil) {
			out.PreviousUntil = w.PreviousUntil
		}
		out.URL = w.URL
		return tx.SetWorkspaceWebhook(ctx, w)
	})
	return out, err
}

// WebhookOf returns the webhook of a workspace, for the sender; ENOTFOUND
// when the workspace has none of its own.
func (s *Service) WebhookOf(ctx context.Context, workspaceID int64) (*WorkspaceWebhook, error) {
	var out *WorkspaceWebhook
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		out, err = tx.WorkspaceWebhook(ctx, workspaceID)
		return err
	})
	return out, err
}

func validWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > 2000 {
		return Errorf(EINVALID, "webhook URL %q must be an absolute http or https URL", raw)
	}
	return nil
}

func newWebhookSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", &Error{Code: EINTERNAL, Message: "internal error", Err: err}
	}
	return WebhookSecretPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}
