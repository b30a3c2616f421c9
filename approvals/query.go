package approvals

import (
	"context"
	"strings"
	"time"
)

// visibleDraft returns a draft the member may see (see canSee); any other
// is "not found", whether it exists or not.
func (s *Service) visibleDraft(ctx context.Context, tx Tx, p *principal, id int64) (*Draft, *Account, Access, error) {
	d, err := tx.DraftByID(ctx, p.ws.ID, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, Access{}, notFound(p.ws, id)
	} else if err != nil {
		return nil, nil, Access{}, err
	}
	acc, err := tx.AccountByID(ctx, p.ws.ID, d.AccountID)
	if err != nil {
		return nil, nil, Access{}, err
	}
	if p.member == nil {
		return d, acc, Access{Account: *acc, Caps: RoleOwner.Ceiling()}, nil
	}
	access, err := s.access(ctx, tx, p.member, acc)
	if err != nil {
		return nil, nil, Access{}, err
	}
	if !canSee(p.member, access, d) {
		return nil, nil, Access{}, hidden(p.ws, id)
	}
	return d, acc, access, nil
}

// Show returns a draft the actor may see (any, for the operator).
// Errors: ENOTFOUND, EUNAUTHORIZED.
func (s *Service) Show(ctx context.Context, a Actor, draftID int64) (*DraftView, error) {
	var out *DraftView
	err := s.read(ctx, a, "draft.show", func(ctx context.Context, tx Tx, p *principal) error {
		d, _, _, err := s.visibleDraft(ctx, tx, p, draftID)
		if err != nil {
			return err
		}
		out, err = s.draftView(ctx, tx, p, d)
		return err
	})
	return out, err
}

// ListInput filters a draft list.
type ListInput struct {
	Account string // handle; "" for all visible accounts
	State   State  // "" for every state
	Limit   int    // 0 for the default (200)
}

// DraftSummary is one line of a draft list.
type DraftSummary struct {
	ID        int64     `json:"id"`
	Account   string    `json:"account"`
	Author    string    `json:"author"`
	State     State     `json:"state"`
	Revision  int       `json:"revision"`
	Text      string    `json:"text"`
	UpdatedAt time.Time `json:"updated_at"`
}

// List returns the drafts the actor may see, newest first.
// Errors: ENOTFOUND (account), EUNAUTHORIZED, EINVALID.
func (s *Service) List(ctx context.Context, a Actor, in ListInput) ([]DraftSummary, error) {
	var out []DraftSummary
	err := s.read(ctx, a, "draft.list", func(ctx context.Context, tx Tx, p *principal) error {
		if err := requireMember(p); err != nil {
			return err
		}
		access, err := s.memberAccess(ctx, tx, p.member)
		if err != nil {
			return err
		}
		f := DraftFilter{WorkspaceID: p.ws.ID, Limit: in.Limit}
		if f.Limit <= 0 || f.Limit > 1000 {
			f.Limit = 200
		}
		handles := map[int64]string{}
		for _, x := range access {
			handles[x.Account.ID] = x.Account.Handle
			if in.Account == "" || strings.EqualFold(in.Account, x.Account.Handle) {
				f.AccountIDs = append(f.AccountIDs, x.Account.ID)
			}
		}
		if in.Account != "" && len(f.AccountIDs) == 0 {
			if _, err := s.accountByHandle(ctx, tx, p.ws, in.Account); err != nil {
				return err
			}
			return Errorf(EUNAUTHORIZED, "%s has no access to account %q", p.member.Email, in.Account)
		}
		if in.State != "" {
			if _, err := ParseState(string(in.State)); err != nil {
				return err
			}
			f.States = []State{in.State}
		}
		if !ReaderOf(p.member).staff() {
			f.ClientReader = p.member.ID
		}
		ds, err := tx.Drafts(ctx, f)
		if err != nil {
			return err
		}
		// The authors in one statement, not one per author.
		var authorIDs []int64
		seen := map[int64]bool{}
		for _, d := range ds {
			if !seen[d.AuthorID] {
				seen[d.AuthorID] = true
				authorIDs = append(authorIDs, d.AuthorID)
			}
		}
		authors, err := tx.MembersByID(ctx, p.ws.ID, authorIDs)
		if err != nil {
			return err
		}
		out = []DraftSummary{}
		for _, d := range ds {
			m, ok := authors[d.AuthorID]
			if !ok {
				return Errorf(EINTERNAL, "author #%d of draft %d not found", d.AuthorID, d.ID)
			}
			rev := d.Revision // the revision whose text the store gave: a client's latest
			if f.ClientReader != 0 && d.AuthorID != f.ClientReader && len(d.ClientRevisions) > 0 {
				rev = d.ClientRevisions[len(d.ClientRevisions)-1]
			}
			out = append(out, DraftSummary{ID: d.ID, Account: handles[d.AccountID], Author: m.Label(), State: d.State, Revision: rev, Text: d.Text, UpdatedAt: d.UpdatedAt})
		}
		return nil
	})
	return out, err
}

// History is everything that happened to a draft.
type History struct {
	Draft     *DraftView    `json:"draft"`
	Revisions []*Revision   `json:"revisions"`
	Decisions []*Decision   `json:"decisions"`
	Comments  []*Comment    `json:"comments"`
	Audit     []*AuditEntry `json:"audit"`
}

// DraftHistory returns a draft's full history.
// Errors: ENOTFOUND, EUNAUTHORIZED.
func (s *Service) DraftHistory(ctx context.Context, a Actor, draftID int64) (*History, error) {
	var out *History
	err := s.read(ctx, a, "draft.history", func(ctx context.Context, tx Tx, p *principal) error {
		d, _, _, err := s.visibleDraft(ctx, tx, p, draftID)
		if err != nil {
			return err
		}
		view, err := s.draftView(ctx, tx, p, d)
		if err != nil {
			return err
		}
		audit, err := tx.DraftAudit(ctx, p.ws.ID, d.ID)
		if err != nil {
			return err
		}
		if !view.Reader.staff() {
			// The audit trail records staff's work too; a client reads only
			// their own entries.
			mine := []*AuditEntry{}
			for _, x := range audit {
				if x.ActorID == p.member.ID {
					mine = append(mine, x)
				}
			}
			audit = mine
		}
		out = &History{Draft: view, Revisions: view.Revisions(), Decisions: view.Decisions, Comments: view.Comments, Audit: audit}
		return nil
	})
	return out, err
}
