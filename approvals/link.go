package approvals

import (
	"context"
	"fmt"
	"time"
)

// resendWindow buckets the idempotency key of "send me a new link"
// requests: repeated clicks within one window enqueue one email, so a link
// page cannot be used to flood an approver's inbox.
const resendWindow = 10 * time.Minute

// PreviewDecision answers, without changing anything, whether the actor may
// decide in now: it returns the draft as Decide would see it, or the error
// Decide would return. Channels whose first contact is a read (an email
// link, opened by mail scanners with GET) show the form or the reason from
// it; only Decide acts. A repeat of the actor's own decision is reported as
// ECONFLICT ReasonDecided with that Decision, since there is nothing left to
// confirm.
// Errors: ENOTFOUND (draft); EUNAUTHORIZED (no access, not an approver of the
// tier, the author); ECONFLICT with Reason ReasonRevised (Revision set),
// ReasonDecided (Decision set when known) or ReasonWithdrawn.
func (s *Service) PreviewDecision(ctx context.Context, a Actor, in DecideInput) (*DraftView, error) {
	var out *DraftView
	err := s.read(ctx, a, "draft.preview", func(ctx context.Context, tx Tx, p *principal) error {
		if err := requireMember(p); err != nil {
			return err
		}
		d, err := tx.DraftByID(ctx, p.ws.ID, in.DraftID)
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTFOUND, "no draft %d in workspace %q", in.DraftID, p.ws.Slug)
		} else if err != nil {
			return err
		}
		if _, err := s.decidable(ctx, tx, p, d, in.Tier, in.Revision); err != nil {
			return err
		}
		out, err = s.draftView(ctx, tx, p, d)
		return err
	})
	return out, err
}

// RequestNewLink enqueues a fresh approval request for the actor, an
// approver of the draft in tier, to their address on file (never to an
// address the request names): it answers the "my link expired" page. The
// request is for the draft's current revision, whatever revision the old
// link was for; clicks within a few minutes of each other send one email. It
// returns the address the email goes to.
// Errors: ENOTFOUND (draft); EUNAUTHORIZED (no access, not an approver of the
// tier, the author); ECONFLICT with Reason ReasonDecided or ReasonWithdrawn
// when there is nothing left to decide.
func (s *Service) RequestNewLink(ctx context.Context, a Actor, draftID int64, tier Tier) (string, error) {
	var sentTo string
	err := s.changeDraft(ctx, a, "link.resend", draftID, func(ctx context.Context, ptx Tx, p *principal, e *AuditEntry) error {
		if err := requireMember(p); err != nil {
			return err
		}
		tx := newCallTx(ptx, p.ws.ID, p.member)
		e.DraftID = draftID
		d, err := s.lockForDecision(ctx, tx, p, draftID)
		if err != nil {
			return err
		}
		e.AccountID, e.Revision = d.AccountID, d.Revision
		tier, err := s.decidable(ctx, tx, p, d, tier, d.Revision)
		if err != nil {
			return err
		}
		n := Notification{Event: EventApprovalRequested, WorkspaceID: d.WorkspaceID, DraftID: d.ID, Revision: d.Revision,
			Tier: tier, ActorID: p.member.ID, Channel: a.Channel}
		m := s.message(ChannelEmail, n, p.member.ID, p.member.Email)
		m.IdempotencyKey += "/resend/" + s.now().Truncate(resendWindow).Format("20060102T1504")
		e.Detail = string(tier) + " tier: new link requested"
		sentTo = p.member.Email
		if err := s.enqueue(ctx, tx, []*OutboxMessage{m}); err != nil {
			return err
		}
		return tx.flush(ctx)
	})
	return sentTo, err
}

// decidable applies Decide's checks, short of the verdict, to the actor on d
// in tier (the draft's pending tier when empty) and revision rev (the current
// one when 0), and returns the tier. A repeat of the actor's own decision is
// ECONFLICT ReasonDecided: there is nothing left to confirm.
func (s *Service) decidable(ctx context.Context, tx Tx, p *principal, d *Draft, tier Tier, rev int) (Tier, error) {
	c, err := s.checkDecision(ctx, tx, p, d, tier, rev)
	if err != nil {
		return "", err
	}
	if x := c.repeat; x != nil {
		return "", &Error{Code: ECONFLICT, Reason: ReasonDecided, Decision: x,
			Message: fmt.Sprintf("you already %s draft %d at %s via %s", pastTense(x.Verdict), d.ID, Stamp(x.CreatedAt), x.Channel)}
	}
	return c.tier, nil
}
