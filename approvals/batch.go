package approvals

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// ErrRecipientGone is the error of a notification to a member removed
// after it was queued (an approver who had not decided): nothing is owed to
// them, so a sender that meets it is done with the message, which is not
// dead.
var ErrRecipientGone = errors.New("recipient is no longer a member")

// Batch is a claimed batch of outbox messages as its senders see it: their
// messages often share a draft (a tier's request goes to each approver, by
// email and by Slack), so NotificationView reads the views of all the
// batch's drafts at once and answers each message from them. A dispatcher
// makes one per claim (NewBatch) and hands it to every send of the batch.
// Concurrent loads of one key wait for the first; a failed load is not
// kept, so the next caller tries again.
type Batch struct {
	msgs    []*OutboxMessage // the batch's messages, whose drafts preload reads
	once    sync.Once        // preload, at the batch's first load
	mu      sync.Mutex
	drafts  map[[2]int64]*cacheEntry[*DraftView]
	members map[[2]int64]*cacheEntry[*Member]
}

// NewBatch returns the Batch of the claimed messages msgs, with nothing
// read yet.
func NewBatch(msgs []*OutboxMessage) *Batch {
	return &Batch{msgs: msgs,
		drafts: map[[2]int64]*cacheEntry[*DraftView]{}, members: map[[2]int64]*cacheEntry[*Member]{}}
}

// PreloadBatch reads the views of b's drafts and their recipients, once
// for the batch: a dispatcher calls it as it claims b, so that the first
// sends find the views ready; a NotificationView that comes first reads
// them itself, and the other callers wait for the one that does. A failed
// read is logged, and each NotificationView then loads its own view.
func (s *Service) PreloadBatch(ctx context.Context, b *Batch) {
	if len(b.msgs) > 0 {
		b.load(ctx, s.store, b.msgs[0].Payload, s.Logger)
	}
}

// NotificationView loads what a sender shows for a notification: the draft
// as it is now, built for the notification's reader (see
// NotificationReader), and the recipient (nil when the target is a
// channel). Senders are trusted parts of the service; no actor check
// applies. Within batch b (nil outside any) a draft is loaded once for all
// its messages, and the view returned is shared: callers must not change
// it.
// Errors: ENOTFOUND; ErrRecipientGone when the recipient was removed.
func (s *Service) NotificationView(ctx context.Context, b *Batch, n Notification) (*DraftView, *Member, error) {
	view, recipient, err := s.fullNotificationView(ctx, b, n)
	if err != nil {
		return nil, nil, err
	}
	return view.For(NotificationReader(n, recipient)), recipient, nil
}

// NotificationReader is who reads notification n: its recipient, or for a
// post to a channel, that channel's readers (an account's bound channel is
// read by clients, the internal channel by staff).
func NotificationReader(n Notification, recipient *Member) Reader {
	switch {
	case recipient != nil:
		return ReaderOf(recipient)
	case n.Tier == TierInternal:
		return StaffReader
	}
	return ClientReader
}

// fullNotificationView is NotificationView before the view is cut to its
// reader.
func (s *Service) fullNotificationView(ctx context.Context, b *Batch, n Notification) (*DraftView, *Member, error) {
	if b == nil {
		return s.notificationView(ctx, n, true)
	}
	// The first call of a batch reads the views of all its drafts at once
	// (unless PreloadBatch did); the others wait for it.
	b.load(ctx, s.store, n, s.Logger)
	var recipient *Member
	view, err := b.draft(n.WorkspaceID, n.DraftID, func() (*DraftView, error) {
		v, r, err := s.notificationView(ctx, n, true)
		if r != nil {
			recipient = r
			b.putMember(n.WorkspaceID, r)
		}
		return v, err
	})
	if err != nil || n.RecipientID == 0 || recipient != nil {
		return view, recipient, err
	}
	recipient, err = b.member(n.WorkspaceID, n.RecipientID, func() (*Member, error) {
		_, r, err := s.notificationView(ctx, n, false)
		return r, err
	})
	if err != nil {
		return nil, nil, err
	}
	return view, recipient, nil
}

// notificationView loads, in one transaction, the draft view (withView) and
// the notification's recipient, if it names one.
func (s *Service) notificationView(ctx context.Context, n Notification, withView bool) (*DraftView, *Member, error) {
	var view *DraftView
	var recipient *Member
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if withView {
			ws, err := tx.WorkspaceByID(ctx, n.WorkspaceID)
			if err != nil {
				return err
			}
			d, err := tx.DraftByID(ctx, ws.ID, n.DraftID)
			if err != nil {
				return err
			}
			if view, err = loadDraftView(ctx, tx, ws, d); err != nil {
				return err
			}
		}
		if n.RecipientID != 0 {
			var err error
			if recipient, err = tx.MemberByID(ctx, n.WorkspaceID, n.RecipientID); ErrorCode(err) == ENOTFOUND {
				return fmt.Errorf("%w: %w", ErrRecipientGone, err)
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return view, recipient, nil
}

// ViewsTx is what PreloadBatch reads in bulk for a claimed batch: with
// InboxTx's reads, the views of all the batch's drafts in a fixed number of
// statements. Every lookup is scoped to the workspace.
type ViewsTx interface {
	// DraftsByID returns the drafts with the IDs, by ID (absent IDs are
	// left out).
	DraftsByID(ctx context.Context, workspaceID int64, ids []int64) (map[int64]*Draft, error)
}

// preload reads, in one transaction and a few set-based statements per
// workspace, the views of the drafts the batch's messages are about and
// their recipients, and keeps them in b, so that NotificationView answers
// every message of the batch from memory. The draft of first (the call
// that started it) is read as NotificationView reads one (DraftByID), the
// others in bulk. A draft or member it does not find is left out:
// NotificationView then looks for it itself, and reports what it finds.
func (b *Batch) preload(ctx context.Context, store Store, first Notification) error {
	msgs := b.msgs
	type want struct {
		drafts, members []int64
		seen            map[[2]int64]bool
	}
	byWS := map[int64]*want{}
	var order []int64
	for _, m := range msgs {
		n := m.Payload
		if n.WorkspaceID == 0 || n.DraftID == 0 {
			continue
		}
		w := byWS[n.WorkspaceID]
		if w == nil {
			w = &want{seen: map[[2]int64]bool{}}
			byWS[n.WorkspaceID] = w
			order = append(order, n.WorkspaceID)
		}
		if !w.seen[[2]int64{0, n.DraftID}] {
			w.seen[[2]int64{0, n.DraftID}] = true
			w.drafts = append(w.drafts, n.DraftID)
		}
		if n.RecipientID != 0 && !w.seen[[2]int64{1, n.RecipientID}] {
			w.seen[[2]int64{1, n.RecipientID}] = true
			w.members = append(w.members, n.RecipientID)
		}
	}
	if len(order) == 0 {
		return nil
	}
	views := map[[2]int64]*DraftView{}
	members := map[[2]int64]*Member{}
	err := store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		for _, wsID := range order {
			w := byWS[wsID]
			ws, err := tx.WorkspaceByID(ctx, wsID)
			if ErrorCode(err) == ENOTFOUND {
				continue
			} else if err != nil {
				return err
			}
			var rest []int64
			for _, id := range w.drafts {
				if wsID != first.WorkspaceID || id != first.DraftID {
					rest = append(rest, id)
				}
			}
			ds, err := tx.DraftsByID(ctx, wsID, rest)
			if err != nil {
				return err
			}
			if wsID == first.WorkspaceID && first.DraftID != 0 {
				d, err := tx.DraftByID(ctx, wsID, first.DraftID)
				if err == nil {
					ds[d.ID] = d
				} else if ErrorCode(err) != ENOTFOUND {
					return err
				}
			}
			pre := &preloadedTx{Tx: tx, ws: wsID}
			var list []*Draft
			for _, id := range w.drafts {
				if d, ok := ds[id]; ok {
					list = append(list, d)
				}
			}
			if err := pre.preload(ctx, list, w.members); err != nil {
				return err
			}
			for _, id := range w.members {
				if m, ok := pre.rows.Members[id]; ok {
					members[[2]int64{wsID, id}] = m
				}
			}
			for _, d := range list {
				if _, ok := pre.rows.Accounts[d.AccountID]; !ok {
					continue
				}
				if _, ok := pre.rows.Members[d.AuthorID]; !ok {
					continue
				}
				v, err := loadDraftView(ctx, pre, ws, d)
				if err != nil {
					return err
				}
				views[[2]int64{wsID, d.ID}] = v
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, v := range views {
		e := &cacheEntry[*DraftView]{ready: make(chan struct{}), val: v}
		close(e.ready)
		b.drafts[k] = e
	}
	for k, m := range members {
		e := &cacheEntry[*Member]{ready: make(chan struct{}), val: m}
		close(e.ready)
		b.members[k] = e
	}
	return nil
}

// load preloads the batch's views once: the first caller reads them, the
// others wait for it. When that fails each NotificationView loads its own
// view, as without the preload.
func (b *Batch) load(ctx context.Context, store Store, first Notification, logger *slog.Logger) {
	b.once.Do(func() {
		if err := b.preload(ctx, store, first); err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "outbox: preload the batch's drafts", "err", err)
		}
	})
}

type cacheEntry[T any] struct {
	ready chan struct{}
	val   T
	err   error
}

func (b *Batch) draft(workspaceID, draftID int64, load func() (*DraftView, error)) (*DraftView, error) {
	return cached(&b.mu, b.drafts, [2]int64{workspaceID, draftID}, load)
}

func (b *Batch) member(workspaceID, memberID int64, load func() (*Member, error)) (*Member, error) {
	return cached(&b.mu, b.members, [2]int64{workspaceID, memberID}, load)
}

func (b *Batch) putMember(workspaceID int64, m *Member) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := [2]int64{workspaceID, m.ID}
	if _, ok := b.members[k]; !ok {
		e := &cacheEntry[*Member]{ready: make(chan struct{}), val: m}
		close(e.ready)
		b.members[k] = e
	}
}

func cached[T any](mu *sync.Mutex, m map[[2]int64]*cacheEntry[T], k [2]int64, load func() (T, error)) (T, error) {
	mu.Lock()
	e, ok := m[k]
	if !ok {
		e = &cacheEntry[T]{ready: make(chan struct{})}
		m[k] = e
	}
	mu.Unlock()
	if ok {
		<-e.ready
		if e.err == nil {
			return e.val, nil
		}
		return load() // the first load failed: try for ourselves
	}
	e.val, e.err = load()
	if e.err != nil {
		mu.Lock()
		delete(m, k)
		mu.Unlock()
	}
	close(e.ready)
	return e.val, e.err
}
