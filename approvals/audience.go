package approvals

import (
	"errors"
	"slices"
)

// Audience is who reads what Signoff shows: the agency's staff, or its
// clients. Every view, message and page is built for one of them.
type Audience string

const (
	// AudienceStaff (owners, admins, editors) see the whole draft: every
	// revision, decision and comment.
	AudienceStaff Audience = "staff"
	// AudienceClient sees a draft only once one of its revisions reached the
	// client tier (or they wrote it), and of it only the revisions that
	// reached them, the client tier's decisions and the comments not marked
	// internal.
	AudienceClient Audience = "client"
)

// Audience returns the audience of a member of role r.
func (r Role) Audience() Audience {
	if r == RoleClient {
		return AudienceClient
	}
	return AudienceStaff
}

// Reader is who a view is built for.
type Reader struct {
	Audience Audience
	MemberID int64 // 0 for a reader who is no member (the operator, a channel)
}

// StaffReader reads as staff: the operator, the internal channel.
var StaffReader = Reader{Audience: AudienceStaff}

// ClientReader reads as clients do: an account's bound Slack channel, often
// shared with the client's own organisation.
var ClientReader = Reader{Audience: AudienceClient}

// ReaderOf returns the reader m is; nil (the operator) reads as staff.
func ReaderOf(m *Member) Reader {
	if m == nil {
		return StaffReader
	}
	return Reader{Audience: m.Role.Audience(), MemberID: m.ID}
}

func (r Reader) staff() bool { return r.Audience != AudienceClient }

// wrote reports whether the reader is the draft's author.
func (r Reader) wrote(d *Draft) bool { return r.MemberID != 0 && d.AuthorID == r.MemberID }

// SeesDraft reports whether the reader may see the draft at all (given
// view access to its account).
func (r Reader) SeesDraft(d *Draft) bool {
	return r.staff() || r.wrote(d) || len(d.ClientRevisions) > 0
}

// SeesRevision reports whether the reader may see revision n of d.
func (r Reader) SeesRevision(d *Draft, n int) bool {
	return r.staff() || r.wrote(d) || slices.Contains(d.ClientRevisions, n)
}

// SeesTier reports whether the reader may see tier t's requests, decisions
// and approvers.
func (r Reader) SeesTier(t Tier) bool { return r.staff() || t == TierClient }

// SeesDecision reports whether the reader may see decision x on d.
func (r Reader) SeesDecision(d *Draft, x *Decision) bool {
	return r.SeesTier(x.Tier) && r.SeesRevision(d, x.Revision)
}

// SeesComment reports whether the reader may see comment c on d.
func (r Reader) SeesComment(d *Draft, c *Comment) bool {
	return r.staff() || (!c.Internal && r.SeesRevision(d, c.Revision))
}

// canSee is the one visibility rule for acting on a draft: view access to
// its account, and the draft within the member's audience. Every action
// checks it first.
func canSee(m *Member, access Access, d *Draft) bool {
	return access.Can(CapView) && ReaderOf(m).SeesDraft(d)
}

// notFound is the one answer for a draft that does not exist: the same
// words a refusal to show one gives (see hidden), so that a refusal reveals
// nothing.
func notFound(ws *Workspace, id int64) error {
	return Errorf(ENOTFOUND, "no draft %d in workspace %q", id, ws.Slug)
}

// errHidden marks, for the audit log only, a "not found" that refused a
// draft the actor may not see; channels read nothing but the code and the
// message, which are notFound's.
var errHidden = errors.New("draft outside the actor's audience or access")

// hidden refuses a draft the actor may not see.
func hidden(ws *Workspace, id int64) error {
	e := Errorf(ENOTFOUND, "no draft %d in workspace %q", id, ws.Slug)
	e.Err = errHidden
	return e
}

// writers returns who wrote any revision of d: its author and every
// reviser. None of them may decide on it.
func writers(d *Draft, revs []*Revision) map[int64]bool {
	w := map[int64]bool{d.AuthorID: true}
	for _, r := range revs {
		if r.CreatedByID != 0 {
			w[r.CreatedByID] = true
		}
	}
	return w
}
