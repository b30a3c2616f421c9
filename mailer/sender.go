package mailer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/outbox"
	"github.com/signoff-app/signoff/templates"
)

// Sender delivers the outbox messages of approvals.ChannelEmail by SMTP.
// Send is safe for concurrent use: it keeps a small pool of connections
// (smtp.connections), each reused across messages, dialed when first needed
// and redialed when the server dropped it. Register it with the dispatcher
// for ChannelEmail.
type Sender struct {
	svc    *approvals.Service
	codec  *Codec
	tmpl   *templates.Set
	cfg    Config
	logger *slog.Logger
	domain string // of mail.from, for Message-IDs (fromDomain)
	// from and replyTo are mail.from and mail.reply_to parsed once; nil
	// when unset or unparsable (message then parses them, and fails as it
	// always did).
	from, replyTo *mail.Address

	// conns holds the idle connections; a Send takes one for its SMTP
	// transaction and puts it back, so each is used by one at a time.
	conns chan *conn
	all   []*conn
}

var _ outbox.ConcurrentSender = (*Sender)(nil)

// conn is one SMTP client of the pool and whether it is connected.
type conn struct {
	client *gomail.Client
	dialed bool
}

// NewSender returns a Sender for a validated cfg.
func NewSender(cfg Config, svc *approvals.Service, codec *Codec, tmpl *templates.Set, logger *slog.Logger) (*Sender, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := []gomail.Option{
		gomail.WithPort(cfg.SMTP.Port),
		gomail.WithTimeout(cfg.SMTP.Timeout),
		// No NOOP before each message: a connection the server dropped
		// fails at MAIL FROM instead, before anything of the message went
		// out, and deliver redials then. That is one round trip of six
		// less per email.
		gomail.WithoutNoop(),
	}
	switch cfg.SMTP.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	}
	if cfg.SMTP.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.SMTP.Username), gomail.WithPassword(cfg.SMTP.Password))
	}
	if d := cfg.Mail.DKIM; d.KeyFile != "" {
		pem, err := os.ReadFile(d.KeyFile)
		if err != nil {
			return nil, &ConfigError{Key: "mail.dkim.key_file", Message: err.Error()}
		}
		key, err := gomail.PrivKeyFromPEM(pem)
		if err != nil {
			return nil, &ConfigError{Key: "mail.dkim.key_file", Message: "not a PEM RSA or Ed25519 private key: " + err.Error()}
		}
		opts = append(opts, gomail.WithAlwaysDKIMSign(gomail.NewDKIMSigner(d.Domain, d.Selector, key)))
	}
	n := cfg.SMTP.Connections
	if n <= 0 {
		n = DefaultConnections
	}
	s := &Sender{svc: svc, codec: codec, tmpl: tmpl, cfg: cfg, logger: logger, conns: make(chan *conn, n)}
	s.domain = s.fromDomain()
	s.from, _ = mail.ParseAddress(cfg.Mail.From)
	if cfg.Mail.ReplyTo != "" {
		s.replyTo, _ = mail.ParseAddress(cfg.Mail.ReplyTo)
	}
	for range n {
		// NewClient only configures; nothing is dialed until a Send.
		client, err := gomail.NewClient(cfg.SMTP.Host, opts...)
		if err != nil {
			return nil, fmt.Errorf("smtp client: %w", err)
		}
		c := &conn{client: client}
		s.all = append(s.all, c)
		s.conns <- c
	}
	return s, nil
}

// Concurrency is the size of the connection pool: as many Sends as there
// are connections run at once (outbox.ConcurrentSender).
func (s *Sender) Concurrency() int { return len(s.all) }

// Close closes the open SMTP connections. It waits for Sends in flight.
func (s *Sender) Close() error {
	var errs []error
	for range s.all {
		c := <-s.conns
		errs = append(errs, c.hangUp())
	}
	for _, c := range s.all {
		s.conns <- c
	}
	return errors.Join(errs...)
}

func (c *conn) hangUp() error {
	if !c.dialed {
		return nil
	}
	c.dialed = false
	return c.client.Close()
}

// Send delivers one outbox message: it loads the draft as it is now,
// renders the email for the event and sends it. Events that owe no email
// (Slack-only updates) and approval requests that a later revision or
// decision made moot are done without sending. A temporary failure (4xx,
// network, timeout) is returned for the dispatcher to retry; a permanent one
// (5xx for the recipient or the content, a broken template, a draft that
// no longer exists) is marked outbox.Permanent so the row goes dead with
// the reason.
func (s *Sender) Send(ctx context.Context, b *approvals.Batch, m *approvals.OutboxMessage) error {
	msg, err := s.Compose(ctx, b, m)
	if err != nil || msg == nil {
		return err
	}
	return s.deliver(ctx, msg)
}

// Compose renders the email for m of batch b (nil outside any), or returns
// nil when m owes none.
func (s *Sender) Compose(ctx context.Context, b *approvals.Batch, m *approvals.OutboxMessage) (*gomail.Msg, error) {
	n := m.Payload
	if n.Event == approvals.EventSlackLinkRequested {
		return s.composeSlackLink(ctx, m) // slacklink.go
	}
	if n.Event == approvals.EventDigest {
		return s.composeDigest(ctx, m) // group.go
	}
	switch n.Event {
	case approvals.EventApprovalRequested, approvals.EventRejected, approvals.EventApproved,
		approvals.EventReminder, approvals.EventEscalated, approvals.EventExpired, approvals.EventAutoApproved:
	default:
		return nil, nil
	}
	view, recipient, err := s.svc.NotificationView(ctx, b, n)
	if err != nil {
		if approvals.ErrorCode(err) == approvals.ENOTFOUND {
			return nil, outbox.Permanent(fmt.Errorf("load draft %d: %w", n.DraftID, err))
		}
		return nil, fmt.Errorf("load draft %d: %w", n.DraftID, err)
	}
	if recipient == nil {
		return nil, outbox.Permanent(fmt.Errorf("outbox message %d names no recipient member", m.ID))
	}
	return s.compose(ctx, m, view, recipient)
}

// compose renders the email for m from the loaded view and recipient, or
// returns nil when m owes none (a superseded request).
func (s *Sender) compose(ctx context.Context, m *approvals.OutboxMessage, view *approvals.DraftView, recipient *approvals.Member) (*gomail.Msg, error) {
	n := m.Payload
	var embeds map[int]*approvals.Thumb
	data := newEmailData(n, view, recipient)
	var subject, text, html string
	switch n.Event {
	case approvals.EventApprovalRequested, approvals.EventReminder, approvals.EventEscalated:
		// A request that a revision or a decision made moot before it went
		// out would only lead to a "this was revised/decided" page.
		if !view.Awaits(n.Revision, n.Tier) {
			s.logger.InfoContext(ctx, "approval request superseded before sending; not sent", "outbox_id", m.ID, "draft", n.DraftID, "revision", n.Revision)
			return nil, nil
		}
		var media []mediaItem
		media, embeds = s.inlineMedia(ctx, view)
		if err := s.requestData(&data, n, view, recipient, media); err != nil {
			return nil, outbox.Permanent(err)
		}
		subject, text, html = templates.ApprovalRequestSubject, templates.ApprovalRequestText, templates.ApprovalRequestHTML
		data.SubjectPrefix = subjectPrefix(n) // reminder.go
	case approvals.EventExpired, approvals.EventAutoApproved:
		data.Comment, data.Outcome = view.NoticeComment(n), outcomeOf(n.Event)
		data.Expired = data.Outcome == "expired"
		subject, text, html = templates.DeadlineSubject, templates.DeadlineText, templates.DeadlineHTML
	case approvals.EventRejected:
		data.Comment = view.NoticeComment(n) // exactly as the approver typed it
		data.Decider, data.Via = "Signoff", n.Channel
		if d := view.Cause(n); d != nil {
			data.Decider, data.Via, data.At, data.DecidedAt = d.Approver, d.Channel, &d.CreatedAt, stamp(d.CreatedAt)
		}
		data.Remarks = approvalRemarks(view, n.Revision) // a tier that approved before another rejected
		subject, text, html = templates.RejectedSubject, templates.RejectedText, templates.RejectedHTML
	case approvals.EventApproved:
		if d := view.Cause(n); d != nil {
			data.Decider, data.Via, data.At, data.DecidedAt = d.Approver, d.Channel, &d.CreatedAt, stamp(d.CreatedAt)
		}
		data.Remarks = approvalRemarks(view, n.Revision)
		subject, text, html = templates.ApprovedSubject, templates.ApprovedText, templates.ApprovedHTML
	}
	msg, err := s.message(m, recipient.Email, data, subject, text, html)
	if err != nil {
		return nil, err
	}
	if err := embed(msg, embeds); err != nil {
		return nil, outbox.Permanent(err)
	}
	return msg, nil
}

// newEmailData is what every email of n about view tells recipient.
func newEmailData(n approvals.Notification, view *approvals.DraftView, recipient *approvals.Member) emailData {
	data := emailData{
		Name: recipient.DisplayName(), Email: recipient.Email, Draft: view, DraftID: view.ID,
		Account: view.Account.Name, Author: view.Author.DisplayName(),
		Revision: n.Revision, Text: view.Current.Text,
	}
	if at := view.Current.ScheduledAt; at != nil {
		data.Scheduled = stamp(*at)
	}
	if data.Account == "" {
		data.Account = view.Account.Handle
	}
	return data
}

// requestData adds to data what an approval request tells: the signed
// links, the diff, the earlier comments, and media (inlineMedia's) with the
// post's mock-up.
func (s *Sender) requestData(data *emailData, n approvals.Notification, view *approvals.DraftView, recipient *approvals.Member, media []mediaItem) error {
	var err error
	link := Link{WorkspaceID: n.WorkspaceID, DraftID: n.DraftID, Revision: n.Revision, Tier: n.Tier, MemberID: recipient.ID}
	if data.ApproveURL, err = s.linkURL(link, approvals.VerdictApprove); err != nil {
		return err
	}
	if data.RejectURL, err = s.linkURL(link, approvals.VerdictReject); err != nil {
		return err
	}
	data.Expires = s.codec.Expires()
	data.ExpiresOn = stamp(data.Expires)
	data.Changes = view.Changes
	data.Again = view.Changes != nil // the reader saw an earlier revision
	data.Feedback = feedbackOf(view)
	data.Media = media
	data.Post = postOf(view, media)
	return nil
}

func (s *Sender) linkURL(l Link, action approvals.Verdict) (string, error) {
	l.Action = action
	tok, err := s.codec.Encode(l)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(s.cfg.BaseURL, "/") + "/l/" + tok, nil
}

// message builds the MIME message: the plain-text part first (it must work
// alone), the HTML part as the alternative.
func (s *Sender) message(m *approvals.OutboxMessage, to string, data any, subjectT, textT, htmlT string) (*gomail.Msg, error) {
	subject, err := s.tmpl.Subject(subjectT, data)
	if err != nil {
		return nil, outbox.Permanent(err)
	}
	if d, ok := data.(emailData); ok {
		subject = d.SubjectPrefix + subject
	}
	text, err := s.tmpl.TextBytes(textT, data)
	if err != nil {
		return nil, outbox.Permanent(err)
	}
	html, err := s.tmpl.HTMLBytes(htmlT, data)
	if err != nil {
		return nil, outbox.Permanent(err)
	}
	msg := gomail.NewMsg()
	// A copy of the parsed address each: a message holds a pointer.
	if s.from != nil {
		from := *s.from
		msg.FromMailAddress(&from)
	} else if err := msg.From(s.cfg.Mail.From); err != nil {
		return nil, outbox.Permanent(fmt.Errorf("mail.from: %w", err))
	}
	if err := msg.To(to); err != nil {
		return nil, outbox.Permanent(fmt.Errorf("recipient address: %w", err))
	}
	if s.replyTo != nil {
		replyTo := *s.replyTo
		msg.ReplyToMailAddress(&replyTo)
	} else if s.cfg.Mail.ReplyTo != "" {
		if err := msg.ReplyTo(s.cfg.Mail.ReplyTo); err != nil {
			return nil, outbox.Permanent(fmt.Errorf("mail.reply_to: %w", err))
		}
	}
	msg.Subject(subject)
	msg.SetDate()
	// The Message-ID is derived from the outbox row's idempotency key, so a
	// retry after an ambiguous failure (the server took the message but the
	// connection died before its answer) carries the same ID and receiving
	// systems can fold the copies into one.
	ref := idempotencyRef(m.IdempotencyKey)
	msg.SetMessageIDWithValue(ref + "@" + s.domain)
	msg.SetGenHeader("X-Signoff-Ref", ref)
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	// The bodies are written as SetBodyString would write them, without
	// its copy of each.
	msg.SetBodyWriter(gomail.TypeTextPlain, writeBody(text))
	msg.AddAlternativeWriter(gomail.TypeTextHTML, writeBody(html))
	return msg, nil
}

// writeBody is a part's write function for a rendered body.
func writeBody(b []byte) func(io.Writer) (int64, error) {
	return func(w io.Writer) (int64, error) {
		n, err := w.Write(b)
		return int64(n), err
	}
}

func (s *Sender) fromDomain() string {
	if a, err := mail.ParseAddress(s.cfg.Mail.From); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok {
			return d
		}
	}
	return "signoff.invalid"
}

func idempotencyRef(key string) string {
	sum := sha256.Sum256([]byte(key))
	const prefix = "signoff."
	var b [len(prefix) + 2*16]byte
	copy(b[:], prefix)
	hex.Encode(b[len(prefix):], sum[:16])
	return string(b[:])
}

// deliver sends msg on a pooled connection, dialing when it has none and
// redialing once when the server dropped the one it had.
func (s *Sender) deliver(ctx context.Context, msg *gomail.Msg) error {
	var c *conn
	select {
	case c = <-s.conns:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { s.conns <- c }()
	for attempt := 0; ; attempt++ {
		reused := c.dialed
		if !c.dialed {
			if err := c.client.DialWithContext(ctx); err != nil {
				return fmt.Errorf("smtp dial %s:%d: %w", s.cfg.SMTP.Host, s.cfg.SMTP.Port, err)
			}
			c.dialed = true
		}
		err := c.client.Send(msg)
		if err == nil {
			return nil
		}
		if reused && attempt == 0 && connDropped(err) {
			// A kept connection the server closed: nothing of the message
			// went out on it.
			_ = c.hangUp()
			continue
		}
		var se *gomail.SendError
		if !(errors.As(err, &se) && se.Reason == gomail.ErrSMTPRcptTo) {
			// After anything but a refused recipient (which go-mail resets)
			// the session state is unknown: start afresh next time.
			_ = c.hangUp()
		}
		return classify(err)
	}
}

// connDropped reports whether err says the connection was gone before the
// message was begun: the connection check failed, or MAIL FROM got no
// answer from the server (a network error, where a refusal has a code).
func connDropped(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	return se.Reason == gomail.ErrConnCheck || (se.Reason == gomail.ErrSMTPMailFrom && se.ErrorCode() == 0)
}

// classify marks an SMTP error permanent when retrying cannot help: a 5xx
// answer to the recipient or to the message content. Everything else
// (4xx, network errors, timeouts, 5xx to MAIL FROM, which is a sender-side
// setting an operator can fix while the row waits) is retried.
func classify(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		switch se.Reason {
		case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
			if code >= 500 && code < 600 {
				return outbox.Permanent(fmt.Errorf("smtp refused permanently (%d): %w", code, err))
			}
		}
	}
	return fmt.Errorf("smtp: %w", err)
}

// emailData is what the email templates see.
type emailData struct {
	Name       string // the recipient's name, else email
	Email      string
	Draft      *approvals.DraftView
	DraftID    int64 // Draft.ID
	Account    string
	Author     string
	Revision   int    // the revision the notification is about
	Text       string // the current revision's text
	ApproveURL string
	RejectURL  string
	Expires    time.Time
	ExpiresOn  string // Expires as stamp words it
	Changes    []approvals.DiffOp
	Again      bool // the reader saw an earlier revision (a client's first request may be for revision 2)
	Feedback   []feedback
	Decider    string
	Via        approvals.Channel
	At         *time.Time
	DecidedAt  string // At as stamp words it; "" when At is nil
	Comment    string
	// Remarks are what approvers said with their approvals (EventApproved).
	Remarks []feedback
	// Outcome is the deadline policy's outcome for the deadline templates:
	// "expired" or "auto_approved".
	Outcome string
	Expired bool // Outcome is "expired"
	// SubjectPrefix goes before the rendered subject ("Reminder: ").
	SubjectPrefix string
	// Media and Post are the current revision's media and the mock-up of
	// the post, for approval requests (media.go).
	Media []mediaItem
	Post  *post
	// Scheduled is when the current revision is scheduled, as stamp words
	// it; "" when it is not.
	Scheduled string
}

// feedback is one earlier remark on a draft: a rejection's comment or a
// plain comment.
type feedback struct {
	Who      string
	At       time.Time
	When     string // At as stamp words it
	Revision int
	Text     string
}

// feedbackOf lists what the view's reader may read of what was said about
// earlier rounds and this one, oldest first; staff see which remarks are
// internal.
func feedbackOf(v *approvals.DraftView) []feedback {
	remarks := v.Remarks()
	if len(remarks) == 0 {
		return nil
	}
	out := make([]feedback, 0, len(remarks))
	for _, r := range remarks {
		who := r.Who
		if r.Verdict != "" {
			who += " (" + pastTense(r.Verdict) + ")"
		}
		if r.Internal {
			who += ", internal"
		}
		out = append(out, feedback{Who: who, At: r.At, When: stamp(r.At), Revision: r.Revision, Text: r.Text})
	}
	return out
}

// approvalRemarks are the comments approvals of revision rev carried, of
// those the view's reader may see: the author is told them with the outcome.
func approvalRemarks(v *approvals.DraftView, rev int) []feedback {
	var out []feedback
	for _, x := range v.ApprovalRemarks(rev) {
		out = append(out, feedback{Who: x.Approver, At: x.CreatedAt, When: stamp(x.CreatedAt), Revision: x.Revision, Text: x.Comment})
	}
	return out
}

func pastTense(v approvals.Verdict) string {
	if v == approvals.VerdictReject {
		return "rejected"
	}
	return "approved"
}
