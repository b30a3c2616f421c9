package mailer_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/mailer"
)

// FuzzParseItems: no input panics the parser; an accepted list has only
// complete approvals and reads back as written.
func FuzzParseItems(f *testing.F) {
	for _, seed := range []string{"1.1.client", "12.3.internal,13.1.client", "", ",", "1.1", "1.1.client,", "-1.1.client", "1.0.client",
		"9223372036854775808.1.client", "1.1.CLIENT", "1..client", strings.Repeat("1.1.client,", 600)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ins, err := mailer.ParseItems(s)
		if err != nil {
			return
		}
		if len(ins) == 0 || len(ins) > approvals.MaxDecideEach {
			t.Fatalf("accepted %d items", len(ins))
		}
		for _, in := range ins {
			if in.DraftID <= 0 || in.Revision <= 0 || (in.Tier != approvals.TierClient && in.Tier != approvals.TierInternal) || in.Verdict != approvals.VerdictApprove {
				t.Fatalf("accepted an incomplete item %+v", in)
			}
		}
		again, err := mailer.ParseItems(mailer.FormatItems(ins))
		if err != nil {
			t.Fatalf("a formatted list does not parse: %v", err)
		}
		if diff := cmp.Diff(ins, again); diff != "" {
			t.Fatalf("round trip (-first +again):\n%s", diff)
		}
	})
}

// FuzzParseReviewForm: no body panics the parser; an accepted form has a
// known verdict and tier (or none) and positive draft and revision (or none).
func FuzzParseReviewForm(f *testing.F) {
	const ct = "application/x-www-form-urlencoded"
	for _, body := range []string{"csrf=a&draft=1&revision=2&tier=client&verdict=approve", "draft=-1", "revision=0", "tier=staff",
		"draft=1&draft=2", "items=1.1.client&seal=x&csrf=y", "comment=%ff", "%zz", "draft=99999999999999999999"} {
		f.Add(ct, body)
	}
	f.Add("text/plain", "draft=1")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		form, err := mailer.ParseReviewForm(contentType, strings.NewReader(body))
		if err != nil {
			return
		}
		if form.DraftID < 0 || form.Revision < 0 {
			t.Fatalf("accepted draft %d revision %d", form.DraftID, form.Revision)
		}
		switch form.Tier {
		case "", approvals.TierClient, approvals.TierInternal:
		default:
			t.Fatalf("accepted tier %q", form.Tier)
		}
		switch form.Verdict {
		case "", approvals.VerdictApprove, approvals.VerdictReject:
		default:
			t.Fatalf("accepted verdict %q", form.Verdict)
		}
	})
}

// FuzzDecodeReviewToken: no input panics the decoder, whatever it accepts
// names a workspace and a member, and a draft link never decodes as one.
func FuzzDecodeReviewToken(f *testing.F) {
	key := strings.Repeat("11", 32) + ":" + strings.Repeat("22", 32)
	c, err := mailer.NewCodec(mustPairs(f, key), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	good, err := c.EncodeReview(mailer.ReviewLink{WorkspaceID: 1, MemberID: 2})
	if err != nil {
		f.Fatal(err)
	}
	link, err := c.Encode(sampleLink())
	if err != nil {
		f.Fatal(err)
	}
	if _, err := c.DecodeReview(link); !errors.Is(err, mailer.ErrTokenInvalid) {
		f.Fatalf("a draft link's token decoded as a review token: %v", err)
	}
	if _, err := c.Decode(good); !errors.Is(err, mailer.ErrTokenInvalid) {
		f.Fatalf("a review token decoded as a draft link's: %v", err)
	}
	for _, seed := range []string{good, link, good[:len(good)/2], "", "a|b|c"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		l, err := c.DecodeReview(tok)
		switch {
		case err == nil || errors.Is(err, mailer.ErrTokenExpired):
			if l.MemberID <= 0 || l.WorkspaceID <= 0 {
				t.Fatalf("accepted an incomplete review link %+v", l)
			}
		case !errors.Is(err, mailer.ErrTokenInvalid):
			t.Fatalf("error %v is neither invalid nor expired", err)
		}
	})
}
