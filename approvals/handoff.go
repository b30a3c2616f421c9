package approvals

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Hand-off: approved drafts flow to whatever publishes them, by a signed
// webhook (an outbox message on ChannelWebhook, when the deployment has one)
// and by the JSON API (a cursor over the workspace's approvals, and a record
// of what was published). Signoff never posts to social networks itself.

// ChannelWebhook is the outbox channel of the publishing webhook. The
// Service queues on it when listed in Service.Channels (the deployment's
// webhook) or when the draft's workspace has a webhook of its own.
const ChannelWebhook Channel = "webhook"

// HandoffRecord is the hand-off row of an approved draft: written in the
// transaction that approves it, numbered per workspace when first read (the
// numbers order hand-offs in the order they became visible: the API's
// cursor), and the publication once a publisher reports it.
type HandoffRecord struct {
	WorkspaceID  int64      `json:"workspace_id"`
	DraftID      int64      `json:"draft_id"`
	AccountID    int64      `json:"account_id"`
	Seq          int64      `json:"seq"`
	Revision     int        `json:"revision"`
	ApprovedAt   time.Time  `json:"approved_at"`
	PublishedAt  *time.Time `json:"published_at,omitempty"`
	PublishedURL string     `json:"published_url,omitempty"`
	PublishedBy  string     `json:"published_by,omitempty"`
}

// HandoffTx is the persistence of hand-offs and API tokens; Tx embeds it.
type HandoffTx interface {
	TokenTx
	// CreateHandoff inserts h, not yet numbered (Seq 0): approvals take no
	// lock shared by the workspace. A draft has at most one hand-off:
	// creating it again changes nothing and returns the existing row in h.
	CreateHandoff(ctx context.Context, h *HandoffRecord) error
	// Handoffs returns up to limit hand-offs of the accounts with Seq >
	// after, in Seq order. It first numbers the workspace's committed
	// unnumbered hand-offs after its highest number, one numbering at a
	// time, so a number is never read before a smaller one is: the cursor
	// skips nothing. A nil accountIDs selects nothing.
	Handoffs(ctx context.Context, workspaceID int64, accountIDs []int64, after int64, limit int) ([]*HandoffRecord, error)
	// HandoffByDraft returns the draft's hand-off, numbered as Handoffs
	// numbers (ENOTFOUND if it has none).
	HandoffByDraft(ctx context.Context, workspaceID, draftID int64) (*HandoffRecord, error)
	// MarkPublished records the publication unless one is recorded, and
	// returns the row and whether this call recorded it.
	MarkPublished(ctx context.Context, workspaceID, draftID int64, at time.Time, url, by string) (*HandoffRecord, bool, error)
}

// Handoff is an approved draft (or, for a member's API token, any draft it
// may see) as the API and the webhook carry it: the approved revision's
// content and who approved it, through which channel and when.
type Handoff struct {
	ID           int64      `json:"id"`
	Workspace    string     `json:"workspace"`
	Account      string     `json:"account"`
	AccountName  string     `json:"account_name"`
	Network      Network    `json:"network"` // where the account posts (network.go)
	State        State      `json:"state"`
	Revision     int        `json:"revision"`
	Author       Person     `json:"author"`
	Text         string     `json:"text"`
	MediaURLs    []string   `json:"media_urls"`
	ScheduledAt  *time.Time `json:"scheduled_at"`
	ApprovedAt   *time.Time `json:"approved_at"`
	Approvals    []Approval `json:"approvals"`
	Cursor       string     `json:"cursor,omitempty"`
	PublishedAt  *time.Time `json:"published_at"`
	PublishedURL string     `json:"published_url,omitempty"`
	// Notes are the submission's notes (see DraftView.Notes), on the
	// answer to a submission only.
	Notes []string `json:"notes,omitempty"`
}

// Person names a member in hand-offs.
type Person struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Approval is one approving decision of the handed-off revision.
type Approval struct {
	Tier     Tier      `json:"tier"`
	Approver Person    `json:"approver"`
	Channel  Channel   `json:"channel"`
	At       time.Time `json:"at"`
	// Comment is what the approver said with the approval, if anything.
	Comment string `json:"comment,omitempty"`
}

// HandoffQuery selects a page of approved drafts.
type HandoffQuery struct {
	// Since is the cursor of the last draft seen (a Handoff's Cursor, or a
	// page's NextCursor); "" starts from the first approval.
	Since string
	Limit int // 1 to 500; 0 for 100
}

// HandoffPage is one page of approved drafts, oldest approval first.
// NextCursor is where the next page starts: pass it as Since. It is the
// same cursor when no draft was approved since, so a publisher can poll
// with it.
type HandoffPage struct {
	Drafts     []*Handoff `json:"drafts"`
	NextCursor string     `json:"next_cursor"`
}

// handOff records a draft's approval for publishers, and queues the
// webhook when the deployment or the workspace has one. enterState calls
// it when a draft becomes approved. h is not read after CreateHandoff: a
// decision (callTx) holds it to the commit.
func (s *Service) handOff(ctx context.Context, tx Tx, ws *Workspace, d *Draft) error {
	h := &HandoffRecord{WorkspaceID: d.WorkspaceID, DraftID: d.ID, AccountID: d.AccountID, Revision: d.Revision, ApprovedAt: s.now()}
	if err := tx.CreateHandoff(ctx, h); err != nil {
		return err
	}
	if !s.notifies(ChannelWebhook) && !ws.OwnWebhook {
		return nil
	}
	n := Notification{Event: EventApproved, WorkspaceID: d.WorkspaceID, DraftID: d.ID, Revision: d.Revision}
	return s.enqueue(ctx, tx, []*OutboxMessage{s.message(ChannelWebhook, n, 0, "")})
}

// ParseCursor parses a hand-off cursor ("" is the start).
// Errors: EINVALID.
func ParseCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil || n < 0 {
		return 0, Errorf(EINVALID, "invalid cursor %q: pass a cursor or next_cursor from an earlier response", c)
	}
	return n, nil
}

func formatCursor(seq int64) string { return strconv.FormatInt(seq, 10) }

// ApprovedDrafts returns the approved drafts the actor may see, in the
// order they were approved, after q.Since. A publisher token (or the
// operator) sees every account of its workspace; a member's token what that
// member may view.
// Errors: EINVALID (cursor, limit), EUNAUTHORIZED.
func (s *Service) ApprovedDrafts(ctx context.Context, a Actor, q HandoffQuery) (*HandoffPage, error) {
	after, err := ParseCursor(q.Since)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = 100
	case limit < 0 || limit > 500:
		return nil, Errorf(EINVALID, "limit must be from 1 to 500, got %d", limit)
	}
	out := &HandoffPage{Drafts: []*Handoff{}, NextCursor: formatCursor(after)}
	err = s.viewAs(ctx, a, "draft.handoff.list", func(ctx context.Context, tx Tx, p *principal) error {
		accountIDs, err := s.readableAccounts(ctx, tx, p)
		if err != nil {
			return err
		}
		hs, err := tx.Handoffs(ctx, p.ws.ID, accountIDs, after, limit)
		if err != nil || len(hs) == 0 {
			return err
		}
		// A page's drafts and what their views need are read in bulk: a
		// fixed number of statements for up to 500 drafts.
		ids := make([]int64, len(hs))
		for i, h := range hs {
			ids[i] = h.DraftID
		}
		byID, err := tx.DraftsByID(ctx, p.ws.ID, ids)
		if err != nil {
			return err
		}
		ds := make([]*Draft, 0, len(hs))
		for _, h := range hs {
			d, ok := byID[h.DraftID]
			if !ok {
				return Errorf(EINTERNAL, "draft %d was handed off but is gone", h.DraftID)
			}
			ds = append(ds, d)
		}
		pre := &preloadedTx{Tx: tx, ws: p.ws.ID}
		if err := pre.preload(ctx, ds, nil); err != nil {
			return err
		}
		reader := ReaderOf(p.member)
		for i, h := range hs {
			if !reader.SeesDraft(ds[i]) {
				out.NextCursor = formatCursor(h.Seq) // passed over, not lost
				continue
			}
			v, err := s.handoffView(ctx, pre, p, ds[i], h)
			if err != nil {
				return err
			}
			out.Drafts = append(out.Drafts, v)
			out.NextCursor = v.Cursor
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readableAccounts returns the accounts whose drafts the principal may read.
func (s *Service) readableAccounts(ctx context.Context, tx Tx, p *principal) ([]int64, error) {
	var ids []int64
	if p.member == nil {
		accs, err := tx.Accounts(ctx, p.ws.ID)
		if err != nil {
			return nil, err
		}
		for _, acc := range accs {
			ids = append(ids, acc.ID)
		}
		return ids, nil
	}
	access, err := s.memberAccess(ctx, tx, p.member)
	if err != nil {
		return nil, err
	}
	for _, x := range access {
		ids = append(ids, x.Account.ID)
	}
	return ids, nil
}

// DraftHandoff returns one draft as the API shows it. A publisher token (or
// the operator) sees approved drafts only; a member's token any draft the
// member may see.
// Errors: ENOTFOUND (no such draft, or not one the actor may read),
// EUNAUTHORIZED.
func (s *Service) DraftHandoff(ctx context.Context, a Actor, draftID int64) (*Handoff, error) {
	var out *Handoff
	err := s.viewAs(ctx, a, "draft.handoff.show", func(ctx context.Context, tx Tx, p *principal) error {
		d, err := s.readableDraft(ctx, tx, p, draftID)
		if err != nil {
			return err
		}
		h, err := tx.HandoffByDraft(ctx, p.ws.ID, d.ID)
		if ErrorCode(err) == ENOTFOUND {
			h = nil
		} else if err != nil {
			return err
		}
		out, err = s.handoffView(ctx, tx, p, d, h)
		return err
	})
	return out, err
}

// readableDraft is visibleDraft for API callers: a publisher reads approved
// drafts only, and what may not be read does not exist.
func (s *Service) readableDraft(ctx context.Context, tx Tx, p *principal, id int64) (*Draft, error) {
	notFound := Errorf(ENOTFOUND, "no draft %d in workspace %q", id, p.ws.Slug)
	if p.member == nil {
		d, err := tx.DraftByID(ctx, p.ws.ID, id)
		if ErrorCode(err) == ENOTFOUND || (err == nil && d.State != StateApproved) {
			return nil, notFound
		}
		return d, err
	}
	d, _, _, err := s.visibleDraft(ctx, tx, p, id)
	if ErrorCode(err) == EUNAUTHORIZED {
		return nil, notFound
	}
	return d, err
}

// MarkPublished records that an approved draft was published (at url, if
// given). It is idempotent: marking it again changes nothing and returns
// the first record with first false. A publisher token, the operator, or a
// member who may create drafts on the account may.
// Errors: ENOTFOUND, ECONFLICT (the draft is not approved), EINVALID (url),
// EUNAUTHORIZED.
func (s *Service) MarkPublished(ctx context.Context, a Actor, draftID int64, publishedURL string) (out *Handoff, first bool, err error) {
	publishedURL = strings.TrimSpace(publishedURL)
	if publishedURL != "" {
		u, err := url.Parse(publishedURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(publishedURL) > 2000 {
			return nil, false, Errorf(EINVALID, "published url %q must be an absolute http or https URL", publishedURL)
		}
	}
	err = s.audited(ctx, a, "draft.published", runOpts{draftID: draftID, publisher: true}, func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		tok := p.token
		d, err := s.readableDraft(ctx, tx, p, draftID)
		if err != nil {
			return err
		}
		e.AccountID, e.Revision = d.AccountID, d.Revision
		if p.member != nil {
			acc, err := tx.AccountByID(ctx, p.ws.ID, d.AccountID)
			if err != nil {
				return err
			}
			access, err := s.access(ctx, tx, p.member, acc)
			if err != nil {
				return err
			}
			if !access.Can(CapCreate) {
				return Errorf(EUNAUTHORIZED, "%s may not mark drafts of account %q published", p.member.Email, acc.Handle)
			}
		}
		if d.State != StateApproved {
			return Errorf(ECONFLICT, "draft %d is %s, not approved; only approved drafts can be published", d.ID, d.State.Describe())
		}
		by := p.label()
		if tok != nil {
			by = "token " + tok.Name
		}
		h, recorded, err := tx.MarkPublished(ctx, p.ws.ID, d.ID, s.now(), publishedURL, by)
		if err != nil {
			return err
		}
		first = recorded
		if recorded {
			e.Detail = "published"
			if publishedURL != "" {
				e.Detail += " at " + publishedURL
			}
		} else {
			e.Detail = "repeat: already published at " + Stamp(*h.PublishedAt)
		}
		out, err = s.handoffView(ctx, tx, p, d, h)
		return err
	})
	return out, first, err
}

// HandoffView loads what the webhook sends for a notification: the draft as
// approved. Senders are trusted parts of the service; no actor check applies.
// Errors: ENOTFOUND.
func (s *Service) HandoffView(ctx context.Context, n Notification) (*Handoff, error) {
	var out *Handoff
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		ws, err := tx.WorkspaceByID(ctx, n.WorkspaceID)
		if err != nil {
			return err
		}
		d, err := tx.DraftByID(ctx, ws.ID, n.DraftID)
		if err != nil {
			return err
		}
		h, err := tx.HandoffByDraft(ctx, ws.ID, d.ID)
		if err != nil {
			return err
		}
		out, err = s.handoffView(ctx, tx, &principal{ws: ws}, d, h)
		return err
	})
	return out, err
}

// handoffView builds a Handoff of d; h is its hand-off row, nil if it has none.
func (s *Service) handoffView(ctx context.Context, tx Tx, p *principal, d *Draft, h *HandoffRecord) (*Handoff, error) {
	ws := p.ws
	v, err := s.draftView(ctx, tx, p, d)
	if err != nil {
		return nil, err
	}
	rev := v.Current
	if h != nil && h.Revision != d.Revision {
		return nil, Errorf(EINTERNAL, "draft %d was handed off at revision %d but is at %d", d.ID, h.Revision, d.Revision)
	}
	out := &Handoff{
		ID: d.ID, Workspace: ws.Slug, Account: v.Account.Handle, AccountName: v.Account.Name, Network: v.Account.Network,
		State: d.State, Revision: d.Revision, Author: Person{Name: v.Author.Name, Email: v.Author.Email},
		Text: rev.Text, MediaURLs: append([]string{}, rev.MediaURLs...), ScheduledAt: rev.ScheduledAt,
		Approvals: []Approval{},
	}
	emails := map[int64]string{}
	for _, t := range v.Tiers {
		for _, a := range t.Approvers {
			emails[a.MemberID] = a.Email
		}
	}
	for _, x := range v.Decisions {
		if x.Revision != d.Revision || x.Verdict != VerdictApprove {
			continue
		}
		name := x.Approver
		if email := emails[x.ApproverID]; email != "" {
			name = strings.TrimSuffix(name, " <"+email+">")
		}
		out.Approvals = append(out.Approvals, Approval{Tier: x.Tier, Approver: Person{Name: name, Email: emails[x.ApproverID]}, Channel: x.Channel, At: x.CreatedAt, Comment: x.Comment})
	}
	if h != nil {
		at := h.ApprovedAt
		out.ApprovedAt, out.Cursor = &at, formatCursor(h.Seq)
		out.PublishedAt, out.PublishedURL = h.PublishedAt, h.PublishedURL
	}
	return out, nil
}

// viewAs is view that a publisher token (no member) may pass too.
func (s *Service) viewAs(ctx context.Context, a Actor, action string, fn func(ctx context.Context, tx Tx, p *principal) error) error {
	return s.audited(ctx, a, action, runOpts{read: true, publisher: true}, func(ctx context.Context, tx Tx, p *principal, _ *AuditEntry) error {
		return fn(ctx, tx, p)
	})
}
