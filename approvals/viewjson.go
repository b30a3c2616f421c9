package approvals

import (
	"encoding/json"
	"time"
)

// MarshalJSON writes the view as its reader may read it. The embedded Draft
// keeps the draft's true revision, tier and time, which the core needs to
// judge requests; a client reading JSON (the API, the CLI with --as) must
// not learn from them that a revision they may not see exists.
func (v DraftView) MarshalJSON() ([]byte, error) {
	type plain DraftView // plain has no MarshalJSON, so this does not recurse
	p := plain(v)
	if v.Reader.staff() {
		return json.Marshal(p)
	}
	p.Revision = v.Current.Number
	if !v.Reader.SeesTier(p.CurrentTier) {
		p.CurrentTier = ""
	}
	if !v.Shows() {
		// The tiers' standing is the hidden revision's.
		p.UpdatedAt, p.Tiers = v.lastSeen(), nil
	}
	return json.Marshal(p)
}

// lastSeen is when anything the reader may see last happened: their latest
// revision, decision or comment.
func (v *DraftView) lastSeen() time.Time {
	t := v.Current.CreatedAt
	for _, x := range v.Decisions {
		if x.CreatedAt.After(t) {
			t = x.CreatedAt
		}
	}
	for _, c := range v.Comments {
		if c.CreatedAt.After(t) {
			t = c.CreatedAt
		}
	}
	return t
}
