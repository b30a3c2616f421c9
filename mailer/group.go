package mailer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/outbox"
	"github.com/signoff-app/signoff/templates"
)

var _ outbox.GroupSender = (*Sender)(nil)

// excerptRunes is how much of a draft's text a grouped email or digest
// shows: its start, the rest is on the draft's page.
const excerptRunes = 200

// requestsData is what the grouped-request and digest templates see.
type requestsData struct {
	Name    string
	Digest  bool // a daily digest, rather than requests grouped by the window
	Items   []requestItem
	Expires time.Time
	// ReviewAllURL, when set, is a page where the reader reviews every
	// draft waiting on them at once; the email shows it only then.
	ReviewAllURL string
}

// requestItem is one draft of a grouped email or digest, with its own
// signed links, the same as a single request's.
type requestItem struct {
	Account     string
	Network     string // "" when the account's network is unknown
	Author      string
	DraftID     int64
	Revision    int
	ScheduledAt *time.Time
	Excerpt     string
	Reminder    bool // a reminder rather than a first request
	Again       bool // the reader saw an earlier revision
	ApproveURL  string
	RejectURL   string
}

// SendGroup delivers the messages of one group (outbox.GroupSender): one
// email to their member listing each draft still waiting on them, or, when
// only one is left, that draft's own request email; nothing when none is.
func (s *Sender) SendGroup(ctx context.Context, b *approvals.Batch, group []*approvals.OutboxMessage) error {
	msg, err := s.ComposeGroup(ctx, b, group)
	if err != nil || msg == nil {
		return err
	}
	return s.deliver(ctx, msg)
}

// ComposeGroup renders the email for a group's messages, or returns nil
// when nothing in it waits any more.
func (s *Sender) ComposeGroup(ctx context.Context, b *approvals.Batch, group []*approvals.OutboxMessage) (*gomail.Msg, error) {
	recipient, items, err := s.svc.GroupViews(ctx, b, group)
	if err != nil {
		if errors.Is(err, approvals.ErrRecipientGone) {
			return nil, err
		}
		return nil, fmt.Errorf("load the group's drafts: %w", err)
	}
	switch len(items) {
	case 0:
		s.logger.InfoContext(ctx, "grouped requests all decided or superseded before sending; not sent", "outbox_id", group[0].ID, "messages", len(group))
		return nil, nil
	case 1:
		for _, m := range group {
			if m.Payload.DraftID == items[0].Notification.DraftID {
				return s.compose(ctx, m, items[0].View, recipient)
			}
		}
	}
	review, err := s.ReviewURL(recipient.WorkspaceID, recipient.ID)
	if err != nil {
		return nil, outbox.Permanent(fmt.Errorf("review link: %w", err))
	}
	data := requestsData{Name: recipient.DisplayName(), Expires: s.codec.Expires(), ReviewAllURL: review}
	for _, it := range items {
		ri, err := s.requestItem(it.Notification, it.View, recipient)
		if err != nil {
			return nil, err
		}
		data.Items = append(data.Items, ri)
	}
	keys := make([]string, len(group))
	for i, m := range group {
		keys[i] = m.IdempotencyKey
	}
	ref := &approvals.OutboxMessage{ID: group[0].ID, IdempotencyKey: "group/" + strings.Join(keys, "|")}
	return s.message(ref, recipient.Email, data, templates.RequestsSubject, templates.RequestsText, templates.RequestsHTML)
}

// composeDigest renders digest message m: everything waiting on its
// member, or nil when nothing does.
func (s *Sender) composeDigest(ctx context.Context, m *approvals.OutboxMessage) (*gomail.Msg, error) {
	d, err := s.svc.Digest(ctx, m.Payload)
	if err != nil {
		if errors.Is(err, approvals.ErrRecipientGone) {
			return nil, err
		}
		return nil, fmt.Errorf("load the digest: %w", err)
	}
	if len(d.Waiting) == 0 {
		s.logger.InfoContext(ctx, "digest: nothing waits; not sent", "outbox_id", m.ID)
		return nil, nil
	}
	review, err := s.ReviewURL(d.Member.WorkspaceID, d.Member.ID)
	if err != nil {
		return nil, outbox.Permanent(fmt.Errorf("review link: %w", err))
	}
	data := requestsData{Name: d.Member.DisplayName(), Digest: true, Expires: s.codec.Expires(), ReviewAllURL: review}
	for _, v := range d.Waiting {
		n := approvals.Notification{Event: approvals.EventApprovalRequested, WorkspaceID: v.WorkspaceID, DraftID: v.ID,
			Revision: v.Revision, Tier: v.CurrentTier}
		ri, err := s.requestItem(n, v, d.Member)
		if err != nil {
			return nil, err
		}
		data.Items = append(data.Items, ri)
	}
	return s.message(m, d.Member.Email, data, templates.RequestsSubject, templates.RequestsText, templates.RequestsHTML)
}

// requestItem is view's entry in a grouped email or digest to recipient,
// with the signed links a single request for n would carry.
func (s *Sender) requestItem(n approvals.Notification, view *approvals.DraftView, recipient *approvals.Member) (requestItem, error) {
	it := requestItem{Account: view.Account.Label(), Network: view.Account.Network.Label(), Author: view.Author.DisplayName(),
		DraftID: view.ID, Revision: n.Revision, ScheduledAt: view.Current.ScheduledAt, Excerpt: excerpt(view.Current.Text, excerptRunes),
		Reminder: n.Event == approvals.EventReminder, Again: view.Changes != nil}
	link := Link{WorkspaceID: n.WorkspaceID, DraftID: n.DraftID, Revision: n.Revision, Tier: n.Tier, MemberID: recipient.ID}
	var err error
	if it.ApproveURL, err = s.linkURL(link, approvals.VerdictApprove); err != nil {
		return it, outbox.Permanent(err)
	}
	if it.RejectURL, err = s.linkURL(link, approvals.VerdictReject); err != nil {
		return it, outbox.Permanent(err)
	}
	return it, nil
}

// excerpt is the start of text, at most max runes, cut at a space when
// one is near and marked with an ellipsis when cut.
func excerpt(text string, max int) string {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) <= max {
		return text
	}
	runes := []rune(text)[:max]
	cut := string(runes)
	if i := strings.LastIndexAny(cut, " \n\t"); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimSpace(cut) + "…"
}
