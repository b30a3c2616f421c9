package mailer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/signoff-app/signoff/approvals"
)

// reviewTokenName is the securecookie "name" of a review link token: a
// draft link's token never decodes as one, nor the other way round.
const reviewTokenName = "signoff-review/v1"

// ReviewLink is what a review link token carries: the approver it was sent
// to, not a draft. The page behind it lists whatever waits on them when it
// is opened. Like a Link it is encrypted and MACed with links.keys, and
// expires after links.ttl.
type ReviewLink struct {
	WorkspaceID int64 `json:"w"`
	MemberID    int64 `json:"m"`
	IssuedAt    int64 `json:"i"` // Unix seconds, checked against links.ttl
}

func (l *ReviewLink) issued() int64    { return l.IssuedAt }
func (l *ReviewLink) stamp(unix int64) { l.IssuedAt = unix }

func (l *ReviewLink) valid() bool {
	return l.WorkspaceID > 0 && l.MemberID > 0 && l.IssuedAt > 0
}

// EncodeReview mints a review token for l, stamping IssuedAt with the
// codec's clock.
func (c *Codec) EncodeReview(l ReviewLink) (string, error) { return c.encode(reviewTokenName, &l) }

// DecodeReview checks a review token as Decode checks a link token.
func (c *Codec) DecodeReview(token string) (ReviewLink, error) {
	return decodeAs[ReviewLink](c, reviewTokenName, token)
}

// ReviewURL returns the URL of the review page of member memberID of
// workspace workspaceID: every draft waiting on them, with their own
// Approve and Reject forms and "Approve all". Emails that list several
// drafts link it.
func (s *Sender) ReviewURL(workspaceID, memberID int64) (string, error) {
	tok, err := s.codec.EncodeReview(ReviewLink{WorkspaceID: workspaceID, MemberID: memberID})
	if err != nil {
		return "", err
	}
	return strings.TrimRight(s.cfg.BaseURL, "/") + "/r/" + tok, nil
}

// FormatItems writes the drafts of an "Approve all" form, each pinned to
// the revision and tier shown: "ID.REVISION.TIER", comma-separated.
func FormatItems(ins []approvals.DecideInput) string {
	parts := make([]string, len(ins))
	for i, in := range ins {
		parts[i] = strconv.FormatInt(in.DraftID, 10) + "." + strconv.Itoa(in.Revision) + "." + string(in.Tier)
	}
	return strings.Join(parts, ",")
}

// ParseItems reads what FormatItems wrote, as approvals of each draft. It
// never panics on any input (see FuzzParseItems).
func ParseItems(s string) ([]approvals.DecideInput, error) {
	if s == "" {
		return nil, fmt.Errorf("no drafts")
	}
	parts := strings.Split(s, ",")
	if len(parts) > approvals.MaxDecideEach {
		return nil, fmt.Errorf("%d drafts: at most %d", len(parts), approvals.MaxDecideEach)
	}
	out := make([]approvals.DecideInput, 0, len(parts))
	for _, p := range parts {
		f := strings.Split(p, ".")
		if len(f) != 3 {
			return nil, fmt.Errorf("item %q: want ID.REVISION.TIER", p)
		}
		id, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("item %q: bad draft ID", p)
		}
		rev, err := strconv.Atoi(f[1])
		if err != nil || rev <= 0 {
			return nil, fmt.Errorf("item %q: bad revision", p)
		}
		tier := approvals.Tier(f[2])
		if tier != approvals.TierInternal && tier != approvals.TierClient {
			return nil, fmt.Errorf("item %q: bad tier", p)
		}
		out = append(out, approvals.DecideInput{DraftID: id, Revision: rev, Tier: tier, Verdict: approvals.VerdictApprove})
	}
	return out, nil
}
