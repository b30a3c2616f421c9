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

// FuzzDecodeToken: no input panics the decoder, and whatever it accepts is a
// complete link; a forged token is never taken for an expired one.
func FuzzDecodeToken(f *testing.F) {
	key := strings.Repeat("11", 32) + ":" + strings.Repeat("22", 32)
	c, err := mailer.NewCodec(mustPairs(f, key), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	good, err := c.Encode(sampleLink())
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{good, good[:len(good)/2], good + "A", "", "a|b|c", "MTIzfGFiY3xkZWY=", strings.Repeat("A", 5000), "%00", "../../etc/passwd"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		l, err := c.Decode(tok)
		switch {
		case err == nil || errors.Is(err, mailer.ErrTokenExpired):
			if l.DraftID <= 0 || l.MemberID <= 0 || l.WorkspaceID <= 0 || l.Revision <= 0 {
				t.Fatalf("accepted an incomplete link %+v", l)
			}
			if l.Action != approvals.VerdictApprove && l.Action != approvals.VerdictReject {
				t.Fatalf("accepted action %q", l.Action)
			}
		case !errors.Is(err, mailer.ErrTokenInvalid):
			t.Fatalf("error %v is neither invalid nor expired", err)
		}
	})
}

// FuzzParseDecisionForm: no body panics the parser; an accepted form has a
// known verdict (or none), a valid UTF-8 comment without CR LF pairs.
func FuzzParseDecisionForm(f *testing.F) {
	seeds := []struct{ ct, body string }{
		{"application/x-www-form-urlencoded", "csrf=abc&verdict=approve"},
		{"application/x-www-form-urlencoded", "csrf=abc&verdict=reject&comment=Please+fix+the+typo%0D%0Aand+the+date"},
		{"application/x-www-form-urlencoded; charset=utf-8", "csrf=abc&verdict=reject&comment=%F0%9F%91%8D+%3Cscript%3E"},
		{"application/x-www-form-urlencoded", "verdict=approve&verdict=reject"},
		{"application/x-www-form-urlencoded", "comment=%ff%fe"},
		{"application/x-www-form-urlencoded", "%zz"},
		{"multipart/form-data; boundary=x", "--x--"},
		{"", ""},
		{"application/x-www-form-urlencoded", strings.Repeat("a", 70_000)},
	}
	for _, s := range seeds {
		f.Add(s.ct, s.body)
	}
	f.Fuzz(func(t *testing.T, ct, body string) {
		form, err := mailer.ParseDecisionForm(ct, strings.NewReader(body))
		if err != nil {
			return
		}
		switch form.Verdict {
		case "", approvals.VerdictApprove, approvals.VerdictReject:
		default:
			t.Fatalf("accepted verdict %q", form.Verdict)
		}
		if strings.Contains(form.Comment, "\r\n") {
			t.Fatalf("comment kept a CR LF: %q", form.Comment)
		}
		if len(body) > mailer.MaxFormBytes {
			t.Fatalf("accepted a %d-byte body", len(body))
		}
	})
}

func TestParseDecisionForm(t *testing.T) {
	const ct = "application/x-www-form-urlencoded"
	tests := []struct {
		name    string
		ct      string
		body    string
		want    mailer.DecisionForm
		wantErr bool
	}{
		{"approve", ct, "csrf=x&verdict=approve", mailer.DecisionForm{CSRF: "x", Verdict: approvals.VerdictApprove}, false},
		{"reject keeps unicode and markup, CRLF becomes LF", ct, "csrf=x&verdict=reject&comment=%C3%A9t%C3%A9+%F0%9F%8C%9E%0D%0A%3Cb%3Eno%3C%2Fb%3E",
			mailer.DecisionForm{CSRF: "x", Verdict: approvals.VerdictReject, Comment: "été 🌞\n<b>no</b>"}, false},
		{"resend has no verdict", ct, "csrf=x", mailer.DecisionForm{CSRF: "x"}, false},
		{"unknown verdict", ct, "csrf=x&verdict=maybe", mailer.DecisionForm{}, true},
		{"duplicate field", ct, "csrf=x&verdict=approve&verdict=reject", mailer.DecisionForm{}, true},
		{"wrong content type", "text/plain", "csrf=x", mailer.DecisionForm{}, true},
		{"invalid utf-8", ct, "csrf=x&verdict=reject&comment=%ff", mailer.DecisionForm{}, true},
		{"too large", ct, "comment=" + strings.Repeat("a", mailer.MaxFormBytes), mailer.DecisionForm{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mailer.ParseDecisionForm(tt.ct, strings.NewReader(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("form (-want +got):\n%s", diff)
			}
		})
	}
}

// The one table from core errors to statuses.
func TestStatusOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"decided", &approvals.Error{Code: approvals.ECONFLICT, Reason: approvals.ReasonDecided}, 200},
		{"revised", &approvals.Error{Code: approvals.ECONFLICT, Reason: approvals.ReasonRevised}, 200},
		{"withdrawn", &approvals.Error{Code: approvals.ECONFLICT, Reason: approvals.ReasonWithdrawn}, 410},
		{"other conflict", approvals.Errorf(approvals.ECONFLICT, "waiting for internal approval"), 409},
		{"revoked", approvals.Errorf(approvals.EUNAUTHORIZED, "not an approver"), 403},
		{"not found", approvals.Errorf(approvals.ENOTFOUND, "no draft"), 404},
		{"invalid", approvals.Errorf(approvals.EINVALID, "comment"), 422},
		{"database down", approvals.Errorf(approvals.EUNAVAILABLE, "down"), 503},
		{"bug", errors.New("boom"), 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, mailer.StatusOf(tt.err)); diff != "" {
				t.Errorf("StatusOf (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzDecodeMedia: no input panics the decoder of signed picture URLs,
// whatever it accepts names a picture that can exist, and a link token is
// never taken for one.
func FuzzDecodeMedia(f *testing.F) {
	key := strings.Repeat("11", 32) + ":" + strings.Repeat("22", 32)
	c, err := mailer.NewCodec(mustPairs(f, key), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	good, err := c.EncodeMedia(mailer.MediaRef{WorkspaceID: 1, DraftID: 2, Revision: 3, Index: 4})
	if err != nil {
		f.Fatal(err)
	}
	link, err := c.Encode(sampleLink())
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{good, link, good[:len(good)/2], good + "A", "", "a|b|c", strings.Repeat("A", 5000)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		r, err := c.DecodeMedia(tok)
		if err != nil {
			if !errors.Is(err, mailer.ErrTokenInvalid) && !errors.Is(err, mailer.ErrTokenExpired) {
				t.Fatalf("error %v wraps neither token error", err)
			}
			return
		}
		if tok == link {
			t.Fatal("a link token decoded as a picture URL")
		}
		if r.WorkspaceID <= 0 || r.DraftID <= 0 || r.Revision <= 0 || r.Index < 0 || r.Index >= approvals.MaxMedia {
			t.Fatalf("accepted %+v", r)
		}
	})
}
