package approvals

import "context"

// CommentInput is a comment to add. Internal keeps it from clients; only
// staff may mark a comment internal.
type CommentInput struct {
	Text     string
	Internal bool
}

// AddComment adds a comment (not a decision) to a draft.
// Errors: ENOTFOUND, EUNAUTHORIZED (no "comment"), EINVALID.
func (s *Service) AddComment(ctx context.Context, a Actor, draftID int64, in CommentInput) (*Comment, error) {
	text := in.Text
	var out *Comment
	err := s.changeDraft(ctx, a, "draft.comment", draftID, func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireMember(p); err != nil {
			return err
		}
		e.DraftID = draftID
		d, acc, access, err := s.visibleDraft(ctx, tx, p, draftID)
		if err != nil {
			return err
		}
		e.AccountID, e.Revision = d.AccountID, d.Revision
		if !access.Can(CapComment) {
			return Errorf(EUNAUTHORIZED, "%s may not comment on account %q", p.member.Email, acc.Handle)
		}
		if err := validateComment(text, false); err != nil {
			return err
		}
		if in.Internal && !ReaderOf(p.member).staff() {
			return Errorf(EINVALID, "only staff can mark a comment internal")
		}
		c := &Comment{DraftID: d.ID, Revision: d.Revision, AuthorID: p.member.ID, Author: p.member.Label(), Text: text,
			Channel: a.Channel, Internal: in.Internal, CreatedAt: s.now()}
		out = c
		return tx.CreateComment(ctx, c)
	})
	return out, err
}
