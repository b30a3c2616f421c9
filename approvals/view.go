package approvals

import (
	"context"
	"fmt"
	"time"
)

// DraftView is a draft with what every channel shows of it, built for one
// reader (see For): for a client, Current is the latest revision that
// reached them, which may be older than Draft.Revision.
type DraftView struct {
	Draft
	Account Account  `json:"account"`
	Author  Member   `json:"author"`
	Current Revision `json:"current"`
	// Media is what was learned of Current's media URLs, one per URL in
	// order; nil until the store loads it.
	Media       []Media      `json:"media,omitempty"`
	CurrentTier Tier         `json:"current_tier,omitempty"`
	Tiers       []TierStatus `json:"tiers"`
	// Changes is the word diff of the current revision's text against the
	// previous one; nil for the first revision.
	Changes   []DiffOp    `json:"changes,omitempty"`
	Decisions []*Decision `json:"decisions"` // every revision's, oldest first
	Comments  []*Comment  `json:"comments"`
	// Notes are what the call that returned the view wants its caller to
	// know (a schedule that leaves less than the review window).
	Notes []string `json:"notes,omitempty"`
	// Reader is who the view was built for; it holds only what they may see.
	Reader    Reader `json:"-"`
	revisions []*Revision
}

// TierStatus is where one tier of the current revision stands.
type TierStatus struct {
	Tier      Tier             `json:"tier"`
	Required  bool             `json:"required"`
	Rule      Rule             `json:"rule"`
	Status    string           `json:"status"` // not_required, waiting, pending, approved, rejected
	Approvers []ApproverStatus `json:"approvers"`
}

// ApproverStatus is one approver's standing in a tier of the current revision.
type ApproverStatus struct {
	MemberID int64      `json:"member_id"`
	Name     string     `json:"name"`
	Email    string     `json:"email"`
	Verdict  Verdict    `json:"verdict,omitempty"`
	Comment  string     `json:"comment,omitempty"`
	At       *time.Time `json:"at,omitempty"`
	Channel  Channel    `json:"channel,omitempty"`
}

// LastDecision returns the current revision's latest decision in tier t.
func (v *DraftView) LastDecision(t Tier) *Decision {
	var last *Decision
	for _, x := range v.Decisions {
		if x.Revision == v.Revision && x.Tier == t {
			last = x
		}
	}
	return last
}

// draftView builds d's view for the principal's reader.
func (s *Service) draftView(ctx context.Context, tx Tx, p *principal, d *Draft) (*DraftView, error) {
	v, err := loadDraftView(ctx, tx, p.ws, d)
	if err != nil {
		return nil, err
	}
	return v.For(ReaderOf(p.member)), nil
}

// loadDraftView reads d's view through tx: the rows it reads are those a
// preloadedTx or a callTx can answer from memory.
func loadDraftView(ctx context.Context, tx Tx, ws *Workspace, d *Draft) (*DraftView, error) {
	acc, err := tx.AccountByID(ctx, ws.ID, d.AccountID)
	if err != nil {
		return nil, err
	}
	author, err := tx.MemberByID(ctx, ws.ID, d.AuthorID)
	if err != nil {
		return nil, err
	}
	revs, err := tx.Revisions(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	decisions, err := tx.Decisions(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	comments, err := tx.Comments(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	v := &DraftView{Draft: *d, Account: *acc, Author: *author, Decisions: decisions, Comments: comments, revisions: revs}
	var prev *Revision
	for _, r := range revs {
		if r.Number == d.Revision {
			v.Current = *r
		}
		if r.Number == d.Revision-1 {
			prev = r
		}
	}
	if prev != nil {
		v.Changes = WordDiff(prev.Text, v.Current.Text)
	}
	v.Media = v.Current.Media
	v.CurrentTier, _ = d.State.Tier()
	for _, t := range Tiers {
		ts := TierStatus{Tier: t, Required: v.Current.Needs(t), Rule: v.Current.Rule(t), Status: "not_required", Approvers: []ApproverStatus{}}
		if ts.Required {
			ms, err := tx.Approvers(ctx, ws.ID, acc.ID, t)
			if err != nil {
				return nil, err
			}
			byID := map[int64]int{}
			for _, m := range ms {
				byID[m.ID] = len(ts.Approvers)
				ts.Approvers = append(ts.Approvers, ApproverStatus{MemberID: m.ID, Name: m.Name, Email: m.Email})
			}
			for _, x := range decisions {
				if x.Revision != d.Revision || x.Tier != t {
					continue
				}
				i, ok := byID[x.ApproverID]
				if !ok { // decided, then lost the flag: still part of the record
					i = len(ts.Approvers)
					byID[x.ApproverID] = i
					ts.Approvers = append(ts.Approvers, ApproverStatus{MemberID: x.ApproverID, Name: x.Approver})
				}
				at := x.CreatedAt
				ts.Approvers[i].Verdict, ts.Approvers[i].Comment, ts.Approvers[i].At, ts.Approvers[i].Channel = x.Verdict, x.Comment, &at, x.Channel
			}
			ts.Status = tierStatus(d, v.Current, t, decisions)
		}
		v.Tiers = append(v.Tiers, ts)
	}
	return v, nil
}

func tierStatus(d *Draft, rev Revision, t Tier, decisions []*Decision) string {
	if cur, ok := d.State.Tier(); ok {
		if cur == t {
			return "pending"
		}
		if t == TierClient && cur == TierInternal {
			return "waiting"
		}
		return "approved"
	}
	for _, x := range decisions {
		if x.Revision == d.Revision && x.Tier == t && x.Verdict == VerdictReject {
			return "rejected"
		}
	}
	switch d.State {
	case StateApproved:
		return "approved"
	case StateRejected:
		// A later tier never started if an earlier one rejected.
		if t == TierClient && rev.NeedsInternal {
			for _, x := range decisions {
				if x.Revision == d.Revision && x.Tier == TierInternal && x.Verdict == VerdictReject {
					return "waiting"
				}
			}
		}
		return "rejected"
	}
	return string(d.State)
}

// For returns the view as reader may see it: for staff the view itself; for
// a client a copy with only the revisions, decisions, comments and tiers
// their audience may see, the latest revision they saw as Current and the
// diff between the revisions they saw.
func (v *DraftView) For(reader Reader) *DraftView {
	if reader.staff() {
		if v.Reader == reader {
			return v
		}
		c := *v
		c.Reader = reader
		return &c
	}
	c := *v
	c.Reader = reader
	// Of the account, a client reads what names it, the network it posts
	// to (their post is shown as it will appear there) and their own tier;
	// the internal tier's settings, reminders and deadline policy are staff's.
	a := v.Account
	c.Account = Account{ID: a.ID, WorkspaceID: a.WorkspaceID, Handle: a.Handle, Name: a.Name, Network: a.Network,
		NeedsClientApproval: a.NeedsClientApproval, ClientRule: a.ClientRule, SlackChannel: a.SlackChannel, CreatedAt: a.CreatedAt}
	// Of the author, a client reads who they are, not their settings.
	au := v.Author
	c.Author = Member{ID: au.ID, WorkspaceID: au.WorkspaceID, Email: au.Email, Name: au.Name, Role: au.Role, CreatedAt: au.CreatedAt}
	d := &v.Draft
	c.revisions = nil
	for _, r := range v.revisions {
		if reader.SeesRevision(d, r.Number) {
			c.revisions = append(c.revisions, r)
		}
	}
	c.Changes = nil
	if n := len(c.revisions); n > 0 {
		c.Current = *c.revisions[n-1]
		if n > 1 {
			c.Changes = WordDiff(c.revisions[n-2].Text, c.Current.Text)
		}
	} else {
		c.Current = Revision{DraftID: v.ID}
	}
	c.Media = c.Current.Media
	c.Decisions = []*Decision{}
	for _, x := range v.Decisions {
		if reader.SeesDecision(d, x) {
			c.Decisions = append(c.Decisions, x)
		}
	}
	c.Comments = []*Comment{}
	for _, x := range v.Comments {
		if reader.SeesComment(d, x) {
			c.Comments = append(c.Comments, x)
		}
	}
	c.Tiers = nil
	for _, t := range v.Tiers {
		if reader.SeesTier(t.Tier) {
			c.Tiers = append(c.Tiers, t)
		}
	}
	return &c
}

// Revisions returns the revisions the view's reader may see, oldest first.
func (v *DraftView) Revisions() []*Revision { return v.revisions }

// Shows reports whether the reader sees the draft's current revision (a
// client does not while a new revision is in internal review).
func (v *DraftView) Shows() bool { return v.Current.Number == v.Revision }

// Awaits reports whether the request for (rev, tier) still takes
// decisions: rev is current and the draft waits on tier.
func (v *DraftView) Awaits(rev int, tier Tier) bool {
	return v.Revision == rev && v.State.Pending() && v.CurrentTier == tier
}

// AwaitsMember reports whether the draft waits on member id's decision in
// the tier it is pending on: they are an approver there and have not
// decided on the current revision.
func (v *DraftView) AwaitsMember(id int64) bool {
	for _, ts := range v.Tiers {
		if ts.Tier != v.CurrentTier || ts.Status != "pending" {
			continue
		}
		for _, a := range ts.Approvers {
			if a.MemberID == id && a.Verdict == "" {
				return true
			}
		}
	}
	return false
}

// RequestOutcome is where an approval request for one (revision, tier)
// stands, for a message that showed it (a Slack post updated in place).
type RequestOutcome string

const (
	RequestOpen       RequestOutcome = "open"       // still takes decisions
	RequestWithdrawn  RequestOutcome = "withdrawn"  // the draft was withdrawn
	RequestExpired    RequestOutcome = "expired"    // the deadline policy expired it
	RequestSuperseded RequestOutcome = "superseded" // a newer revision replaced it
	RequestApproved   RequestOutcome = "approved"   // the draft is approved
	RequestPassed     RequestOutcome = "passed"     // the tier approved; the next tier decides
	RequestReturned   RequestOutcome = "returned"   // rejected: back to its author
	RequestClosed     RequestOutcome = "closed"     // the tier decided; nothing more to say
)

// RequestStatus is what Request found.
type RequestStatus struct {
	Outcome RequestOutcome
	// Decisions are the reader-visible decisions on (revision, tier).
	Decisions []*Decision
	// SupersededBy is the revision that replaced the request when the
	// reader may see it, else 0.
	SupersededBy int
	shown        bool // the reader sees the request's revision as current
}

// Open reports whether the request still takes decisions.
func (r RequestStatus) Open() bool { return r.Outcome == RequestOpen }

// ShowsContent reports whether a message of the request still shows the
// draft's text: not once it was withdrawn or superseded, nor when the
// reader may not see its revision.
func (r RequestStatus) ShowsContent() bool {
	return r.Outcome != RequestWithdrawn && r.Outcome != RequestSuperseded && r.shown
}

// Request says where the request for (rev, tier) stands now.
func (v *DraftView) Request(rev int, tier Tier) RequestStatus {
	switch {
	case v.State == StateWithdrawn:
		return RequestStatus{Outcome: RequestWithdrawn}
	case v.State == StateExpired && v.Revision == rev:
		return RequestStatus{Outcome: RequestExpired, shown: v.Shows()}
	case v.Revision != rev:
		st := RequestStatus{Outcome: RequestSuperseded}
		if v.Reader.SeesRevision(&v.Draft, v.Revision) {
			st.SupersededBy = v.Revision
		}
		return st
	}
	st := RequestStatus{Outcome: RequestClosed, shown: v.Shows()}
	for _, x := range v.Decisions {
		if x.Revision == rev && x.Tier == tier {
			st.Decisions = append(st.Decisions, x)
		}
	}
	switch {
	case v.Awaits(rev, tier):
		st.Outcome = RequestOpen
	case v.State == StateApproved:
		st.Outcome = RequestApproved
	case v.State.Pending() && v.CurrentTier != tier && tier == TierInternal:
		st.Outcome = RequestPassed
	case v.State == StateRejected:
		st.Outcome = RequestReturned
	}
	return st
}

// Cause returns the decision that caused notification n, when the view's
// reader may see it: the latest decision at n's revision (and tier, when n
// names one) by n's actor (any, when it names none) with the verdict its
// event reports (any verdict for a recorded decision).
func (v *DraftView) Cause(n Notification) *Decision {
	var verdict Verdict
	switch n.Event {
	case EventRejected:
		verdict = VerdictReject
	case EventApproved, EventAutoApproved:
		verdict = VerdictApprove
	}
	var last *Decision
	for _, x := range v.Decisions {
		if x.Revision == n.Revision && (verdict == "" || x.Verdict == verdict) &&
			(n.ActorID == 0 || x.ApproverID == n.ActorID) && (n.Tier == "" || n.Event == EventRejected || x.Tier == n.Tier) {
			last = x
		}
	}
	return last
}

// NoticeComment returns the comment notification n carries, if the view's
// reader may read it: a remark of a tier the reader does not see is not
// theirs to read.
func (v *DraftView) NoticeComment(n Notification) string {
	if n.Tier != "" && !v.Reader.SeesTier(n.Tier) {
		return ""
	}
	return n.Comment
}

// StatusLine words the draft's state for the view's reader.
func (v *DraftView) StatusLine() string {
	if !v.Reader.staff() && v.State == StatePendingInternal {
		return "being prepared by the agency"
	}
	return v.State.Describe()
}

// StatusAfter words the state for the approver who just made decision x:
// while x's tier still waits on others, it says so.
func (v *DraftView) StatusAfter(x *Decision) string {
	if t, ok := v.State.Tier(); ok && x != nil && t == x.Tier && v.Revision == x.Revision {
		return fmt.Sprintf("waiting for the other %s approvers", t)
	}
	return v.StatusLine()
}

// Remark is one thing said about a draft: a decision's comment or a plain
// comment, as its reader may see it.
type Remark struct {
	Who      string    `json:"who"`
	Verdict  Verdict   `json:"verdict,omitempty"` // set for a decision's comment
	Revision int       `json:"revision"`
	Text     string    `json:"text"`
	Internal bool      `json:"internal,omitempty"`
	At       time.Time `json:"at"`
}

// Remarks lists what was said of the draft that the reader may see, oldest
// first: decisions' comments and plain comments.
func (v *DraftView) Remarks() []Remark {
	var out []Remark
	for _, x := range v.Decisions {
		if x.Comment != "" {
			out = append(out, Remark{Who: x.Approver, Verdict: x.Verdict, Revision: x.Revision, Text: x.Comment,
				Internal: x.Tier == TierInternal, At: x.CreatedAt})
		}
	}
	for _, c := range v.Comments {
		who := c.Author
		if who == "" {
			who = "Signoff"
		}
		out = append(out, Remark{Who: who, Revision: c.Revision, Text: c.Text, Internal: c.Internal, At: c.CreatedAt})
	}
	// Decisions and comments are each oldest first; merge by time.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].At.Before(out[j-1].At); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// ApprovalRemarks returns the approvals of revision rev that carry a
// comment the view's reader may see, oldest first: what an approver said
// with their approval, which the author is told with the outcome.
func (v *DraftView) ApprovalRemarks(rev int) []*Decision {
	var out []*Decision
	for _, x := range v.Decisions {
		if x.Revision == rev && x.Verdict == VerdictApprove && x.Comment != "" && v.Reader.SeesDecision(&v.Draft, x) {
			out = append(out, x)
		}
	}
	return out
}
