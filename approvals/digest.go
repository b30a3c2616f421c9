package approvals

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EventDigest is a digest member's daily email: everything waiting on
// them at their digest time (see Service.Digest).
const EventDigest Event = "digest"

// NotifyMode is how approval requests reach a member.
type NotifyMode string

const (
	// NotifyImmediate: requests and reminders go out as they come (by
	// email, grouped by the workspace's window, and by Slack DM).
	NotifyImmediate NotifyMode = "immediate"
	// NotifyDigest: one email a day at the member's digest time lists
	// everything waiting on them; no request, reminder or escalation is
	// sent on its own, by email or Slack DM.
	NotifyDigest NotifyMode = "digest"
)

// MaxGroupWindow caps a workspace's grouping window; DefaultGroupWindow is
// a new workspace's (the column default).
const (
	MaxGroupWindow     = 24 * time.Hour
	DefaultGroupWindow = 5 * time.Minute
)

// NotifySettings is a member's notification choice as an admin gives it:
// Mode, and for a digest the local time ("15:04") and the IANA time zone.
type NotifySettings struct {
	Mode     NotifyMode
	DigestAt string
	TimeZone string
}

// Digest reports whether the member chose a daily digest.
func (m *Member) Digest() bool { return m != nil && m.Notify == NotifyDigest }

// NotifyLabel says how requests reach the member: "immediate" or "digest
// 09:00 Europe/Berlin".
func (m *Member) NotifyLabel() string {
	if !m.Digest() {
		return string(NotifyImmediate)
	}
	return fmt.Sprintf("digest %02d:%02d %s", m.DigestAt/60, m.DigestAt%60, m.TimeZone)
}

// ParseDigestAt parses a local time of day, "HH:MM" on a 24-hour clock,
// into minutes after midnight.
func ParseDigestAt(s string) (int, error) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, herr := strconv.Atoi(hh)
	m, merr := strconv.Atoi(mm)
	if !ok || herr != nil || merr != nil || len(hh) > 2 || len(mm) != 2 || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, Errorf(EINVALID, "invalid digest time %q: give HH:MM on a 24-hour clock, such as 09:00", s)
	}
	return h*60 + m, nil
}

// ParseNotifyMode reads how requests reach a member, as a person types it.
// Errors: EINVALID naming the choices.
func ParseNotifyMode(s string) (NotifyMode, error) {
	switch m := NotifyMode(strings.ToLower(strings.TrimSpace(s))); m {
	case NotifyImmediate, NotifyDigest:
		return m, nil
	}
	return "", Errorf(EINVALID, "unknown notification choice %q (want immediate or digest)", s)
}

// setNotify applies an admin's notification choice to m (saved by the
// caller) and moves m's next digest: the pending one is dropped, and a
// digest member gets one at their next digest time (it lists nothing, and
// is not sent, when nothing waits then).
func (s *Service) setNotify(ctx context.Context, tx Tx, ws *Workspace, m *Member, set NotifySettings) error {
	switch set.Mode {
	case NotifyImmediate:
		if set.DigestAt != "" || set.TimeZone != "" {
			return Errorf(EINVALID, "a digest time and time zone go with --notify digest only")
		}
		m.Notify, m.DigestAt, m.TimeZone = NotifyImmediate, 0, ""
	case NotifyDigest:
		at, err := ParseDigestAt(set.DigestAt)
		if err != nil {
			return err
		}
		zone := strings.TrimSpace(set.TimeZone)
		if zone == "" {
			return Errorf(EINVALID, "a digest needs a time zone, such as Europe/Berlin")
		}
		if _, err := time.LoadLocation(zone); err != nil || zone == "Local" {
			return Errorf(EINVALID, "unknown time zone %q: give an IANA name such as Europe/Berlin or UTC", zone)
		}
		m.Notify, m.DigestAt, m.TimeZone = NotifyDigest, at, zone
	default:
		_, err := ParseNotifyMode(string(set.Mode))
		return err
	}
	if err := tx.DropPendingDigests(ctx, ws.ID, m.ID); err != nil {
		return err
	}
	if m.Digest() {
		return s.enqueue(ctx, tx, []*OutboxMessage{s.digestMessage(ws, m)})
	}
	return nil
}

// DigestTx is the store's part for digests (embedded in Tx).
type DigestTx interface {
	// DropPendingDigests deletes the member's digest messages that are
	// pending and not held by a claim.
	DropPendingDigests(ctx context.Context, workspaceID, memberID int64) error
}

// nextDigest is the member's first digest time after now, in their zone:
// a day on which the clock skips the time (DST) has it an hour later, as
// time.Date normalizes it.
func nextDigest(m *Member, now time.Time) (time.Time, error) {
	loc, err := time.LoadLocation(m.TimeZone)
	if err != nil {
		return time.Time{}, fmt.Errorf("member %d: time zone %q: %w", m.ID, m.TimeZone, err)
	}
	local := now.In(loc)
	for day := 0; ; day++ {
		at := time.Date(local.Year(), local.Month(), local.Day()+day, m.DigestAt/60, m.DigestAt%60, 0, 0, loc)
		if at.After(now) {
			return at.UTC(), nil
		}
	}
}

// digestMessage is m's next digest email. Its key names the time, so that
// everything owed to m until then folds into one message.
func (s *Service) digestMessage(ws *Workspace, m *Member) *OutboxMessage {
	now := s.now()
	at, err := nextDigest(m, now)
	if err != nil { // validated when set; a zone the system lost falls back to UTC
		s.Logger.Warn("digest: time zone", "err", err)
		utc := *m
		utc.TimeZone = "UTC"
		at, _ = nextDigest(&utc, now)
	}
	n := Notification{Event: EventDigest, WorkspaceID: ws.ID, RecipientID: m.ID, Target: m.Email, Channel: ChannelSystem}
	return &OutboxMessage{WorkspaceID: ws.ID, Channel: ChannelEmail, Payload: n, State: OutboxPending,
		IdempotencyKey: fmt.Sprintf("%s/w%d/m%d/%s", EventDigest, ws.ID, m.ID, at.Format(time.RFC3339)),
		NextAttemptAt:  at, CreatedAt: now}
}

// Digest is what a digest email lists: the drafts waiting on the member,
// oldest first, each built for them.
type Digest struct {
	Member  *Member
	Waiting []*DraftView
}

// Digest loads digest notification n: everything waiting on its recipient
// now. While anything waits, the next day's digest is queued in the same
// transaction, so that a digest member hears of a waiting draft every day
// until it is decided (queuing it again, on a retry, is a no-op). Senders
// are trusted parts of the service; no actor check applies.
// Errors: ErrRecipientGone when the member was removed.
func (s *Service) Digest(ctx context.Context, n Notification) (*Digest, error) {
	var out *Digest
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		ws, err := tx.WorkspaceByID(ctx, n.WorkspaceID)
		if err != nil {
			return err
		}
		m, err := tx.MemberByID(ctx, ws.ID, n.RecipientID)
		if ErrorCode(err) == ENOTFOUND {
			return fmt.Errorf("%w: %w", ErrRecipientGone, err)
		} else if err != nil {
			return err
		}
		out = &Digest{Member: m, Waiting: []*DraftView{}}
		if !m.Active() {
			return nil
		}
		if out.Waiting, err = s.waitingOn(ctx, tx, &principal{ws: ws, member: m}); err != nil {
			return err
		}
		if len(out.Waiting) > 0 && m.Digest() {
			return s.enqueue(ctx, tx, []*OutboxMessage{s.digestMessage(ws, m)})
		}
		return nil
	})
	return out, err
}
