package mailer_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/mailer"
)

func mustPairs(t testing.TB, raw ...string) []mailer.KeyPair {
	t.Helper()
	pairs, err := mailer.ParseKeys(raw)
	if err != nil {
		t.Fatal(err)
	}
	return pairs
}

func mustCodec(t testing.TB, ttl time.Duration, raw ...string) *mailer.Codec {
	t.Helper()
	c, err := mailer.NewCodec(mustPairs(t, raw...), ttl)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sampleLink() mailer.Link {
	return mailer.Link{WorkspaceID: 3, DraftID: 42, Revision: 2, Tier: approvals.TierClient, MemberID: 7, Action: approvals.VerdictApprove}
}

func TestCodecRoundTrip(t *testing.T) {
	c := mustCodec(t, time.Hour, mailer.GenerateKeyPair())
	now := time.Unix(1_900_000_000, 0)
	c.Now = func() time.Time { return now }
	tok, err := c.Encode(sampleLink())
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode(tok)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := sampleLink()
	want.IssuedAt = now.Unix()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}
	if strings.Contains(tok, "42") && strings.Contains(tok, "approve") {
		t.Errorf("token %q looks unencrypted", tok)
	}
}

func TestCodecRefuses(t *testing.T) {
	current, previous, retired := mailer.GenerateKeyPair(), mailer.GenerateKeyPair(), mailer.GenerateKeyPair()
	verifier := mustCodec(t, 7*24*time.Hour, current, previous)
	mint := func(t *testing.T, key string, l mailer.Link, at time.Time) string {
		c := mustCodec(t, 7*24*time.Hour, key)
		c.Now = func() time.Time { return at }
		tok, err := c.Encode(l)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	good := mint(t, current, sampleLink(), now)

	// Approver A's genuine token with its encrypted member ID flipped to
	// B's: AES-CTR is malleable, so this yields B's ID in the plaintext,
	// and only the MAC stands in the way.
	forgedB := func(t *testing.T) string { return editMember(t, good, sampleLink(), now, 8) }
	tampered := []byte(good)
	tampered[len(tampered)/2] ^= 0x01

	tests := []struct {
		name    string
		token   func(t *testing.T) string
		wantErr error // nil: decodes
	}{
		{"current key", func(*testing.T) string { return good }, nil},
		{"previous key still verifies", func(t *testing.T) string { return mint(t, previous, sampleLink(), now) }, nil},
		{"retired key fails", func(t *testing.T) string { return mint(t, retired, sampleLink(), now) }, mailer.ErrTokenInvalid},
		{"one flipped byte", func(*testing.T) string { return string(tampered) }, mailer.ErrTokenInvalid},
		{"truncated", func(*testing.T) string { return good[:len(good)-4] }, mailer.ErrTokenInvalid},
		{"approver A edited to B", forgedB, mailer.ErrTokenInvalid},
		{"empty", func(*testing.T) string { return "" }, mailer.ErrTokenInvalid},
		{"garbage", func(*testing.T) string { return "not-a-token" }, mailer.ErrTokenInvalid},
		{"expired by the codec clock", func(t *testing.T) string { return mint(t, current, sampleLink(), now.Add(-8*24*time.Hour)) }, mailer.ErrTokenExpired},
		{"expired, previous key", func(t *testing.T) string { return mint(t, previous, sampleLink(), now.Add(-8*24*time.Hour)) }, mailer.ErrTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := verifier.Decode(tt.token(t))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Decode error = %v, want %v", err, tt.wantErr)
			}
			if errors.Is(err, mailer.ErrTokenExpired) && errors.Is(err, mailer.ErrTokenInvalid) {
				t.Fatalf("expired and invalid must be distinguishable, got %v", err)
			}
			if tt.wantErr == nil || errors.Is(err, mailer.ErrTokenExpired) {
				// Genuine tokens, expired ones included, return their link so
				// the expired page can offer a new one.
				if diff := cmp.Diff(sampleLink().MemberID, l.MemberID); diff != "" {
					t.Errorf("member (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// securecookie's own MaxAge (wall clock) also yields "expired", not
// "invalid": a token minted by a codec whose securecookie timestamp is old.
func TestCodecMaxAgeIsExpired(t *testing.T) {
	key := mailer.GenerateKeyPair()
	pairs := mustPairs(t, key)
	// securecookie takes its timestamp from the wall clock, so the only way
	// to age one is a 1s ttl and a short wait.
	c, err := mailer.NewCodec(pairs, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Encode(sampleLink())
	if err != nil {
		t.Fatal(err)
	}
	// Keep the codec clock at issue time so only securecookie's check fires.
	issued := time.Now()
	c.Now = func() time.Time { return issued }
	time.Sleep(2100 * time.Millisecond)
	if _, err := c.Decode(tok); !errors.Is(err, mailer.ErrTokenExpired) {
		t.Fatalf("Decode after MaxAge = %v, want ErrTokenExpired", err)
	}
}

// editMember rewrites the approver ID inside an encrypted token by flipping
// ciphertext bits at the position of the ID's digit.
func editMember(t *testing.T, token string, l mailer.Link, issued time.Time, to int64) string {
	t.Helper()
	raw, err := base64.URLEncoding.DecodeString(token)
	if err != nil {
		t.Fatal(err)
	}
	parts := bytes.SplitN(raw, []byte("|"), 3) // date|value|mac
	value, err := base64.URLEncoding.DecodeString(string(parts[1]))
	if err != nil {
		t.Fatal(err)
	}
	l.IssuedAt = issued.Unix()
	plain, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	from := fmt.Sprintf(`"m":%d,`, l.MemberID)
	idx := bytes.Index(plain, []byte(from))
	if idx < 0 || len(fmt.Sprint(to)) != len(fmt.Sprint(l.MemberID)) {
		t.Fatalf("cannot locate member in %s", plain)
	}
	const ivLen = 16 // AES block size: securecookie prepends the IV
	digits, newDigits := fmt.Sprint(l.MemberID), fmt.Sprint(to)
	for i := range digits {
		value[ivLen+idx+4+i] ^= digits[i] ^ newDigits[i]
	}
	parts[1] = []byte(base64.URLEncoding.EncodeToString(value))
	return base64.URLEncoding.EncodeToString(bytes.Join(parts, []byte("|")))
}

func TestCSRF(t *testing.T) {
	current, previous := mailer.GenerateKeyPair(), mailer.GenerateKeyPair()
	c := mustCodec(t, time.Hour, current, previous)
	old := mustCodec(t, time.Hour, previous)
	other := mustCodec(t, time.Hour, mailer.GenerateKeyPair())
	tok, tok2 := "token-one", "token-two"
	tests := []struct {
		name string
		csrf string
		want bool
	}{
		{"own", c.CSRF(tok, "decide"), true},
		{"minted under the previous key", old.CSRF(tok, "decide"), true},
		{"other link", c.CSRF(tok2, "decide"), false},
		{"other purpose", c.CSRF(tok, "resend"), false},
		{"other keys", other.CSRF(tok, "decide"), false},
		{"empty", "", false},
		{"garbage", "!!!", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.CheckCSRF(tok, "decide", tt.csrf); got != tt.want {
				t.Errorf("CheckCSRF = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	h32, b32, b16 := strings.Repeat("ab", 32), strings.Repeat("cd", 32), strings.Repeat("ef", 16)
	tests := []struct {
		name    string
		raw     []string
		want    int
		wantErr string
	}{
		{"one pair", []string{h32 + ":" + b32}, 1, ""},
		{"two pairs in one env string", []string{h32 + ":" + b32 + "," + h32 + ":" + b16}, 2, ""},
		{"generated", []string{mailer.GenerateKeyPair()}, 1, ""},
		{"none", nil, 0, "required"},
		{"no colon", []string{h32}, 0, "HASHHEX:BLOCKHEX"},
		{"not hex", []string{"zz:" + b32}, 0, "hexadecimal"},
		{"short hash key", []string{strings.Repeat("ab", 31) + ":" + b32}, 0, "at least 32"},
		{"bad block size", []string{h32 + ":" + strings.Repeat("ab", 20)}, 0, "16, 24 or 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mailer.ParseKeys(tt.raw)
			if tt.wantErr != "" {
				var ce *mailer.ConfigError
				if !errors.As(err, &ce) || ce.Key != "links.keys" || !strings.Contains(ce.Message, tt.wantErr) {
					t.Fatalf("ParseKeys error = %v, want links.keys error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, len(got)); diff != "" {
				t.Errorf("pairs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	valid := func() mailer.Config {
		c := mailer.DefaultConfig()
		c.SMTP.Host = "smtp.example.com"
		c.Mail.From = "Signoff <signoff@agency.example>"
		c.Links.Keys = []string{mailer.GenerateKeyPair()}
		c.BaseURL = "https://signoff.agency.example"
		return c
	}
	tests := []struct {
		name    string
		edit    func(c *mailer.Config)
		wantKey string // "" for valid
	}{
		{"valid", func(*mailer.Config) {}, ""},
		{"no host", func(c *mailer.Config) { c.SMTP.Host = "" }, "smtp.host"},
		{"bad port", func(c *mailer.Config) { c.SMTP.Port = 0 }, "smtp.port"},
		{"bad tls", func(c *mailer.Config) { c.SMTP.TLS = "ssl" }, "smtp.tls"},
		{"no timeout", func(c *mailer.Config) { c.SMTP.Timeout = 0 }, "smtp.timeout"},
		{"user without password", func(c *mailer.Config) { c.SMTP.Username = "u" }, "smtp.password"},
		{"no from", func(c *mailer.Config) { c.Mail.From = "" }, "mail.from"},
		{"bad reply-to", func(c *mailer.Config) { c.Mail.ReplyTo = "nope" }, "mail.reply_to"},
		{"partial dkim", func(c *mailer.Config) { c.Mail.DKIM.Domain = "agency.example" }, "mail.dkim.selector"},
		{"tiny ttl", func(c *mailer.Config) { c.Links.TTL = time.Second }, "links.ttl"},
		{"no keys", func(c *mailer.Config) { c.Links.Keys = nil }, "links.keys"},
		{"no base url", func(c *mailer.Config) { c.BaseURL = "" }, "http.base_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.edit(&c)
			err := c.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantKey+":") {
				t.Fatalf("Validate = %v, want an error naming %s", err, tt.wantKey)
			}
		})
	}
}

func TestRedactPath(t *testing.T) {
	tok := "MTc5NTYyNjY4MnxMcHo1OXJmeEdNWE9hOFgwVXo1ZC1ocz"
	tests := []struct{ in, want string }{
		{"/l/" + tok, "/l/[" + mailer.TokenRef(tok) + "]"},
		{"/l/" + tok + "/resend", "/l/[" + mailer.TokenRef(tok) + "]/resend"},
		{"/l/" + tok + "/media/0", "/l/[" + mailer.TokenRef(tok) + "]/media/0"},
		{"/m/" + tok, "/m/[" + mailer.TokenRef(tok) + "]"},
		{"/api/v1/drafts/12", "/api/v1/drafts/12"},
		{"/healthz", "/healthz"},
	}
	for _, tt := range tests {
		got := mailer.RedactPath(tt.in)
		if got != tt.want {
			t.Errorf("RedactPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, tok) {
			t.Errorf("RedactPath(%q) keeps the token", tt.in)
		}
	}
}

// TestTokenKinds: the three kinds of token (a draft's link, a review link,
// a signed picture URL) are minted and checked alike: each decodes to what
// was minted, stamped with the codec's clock; an expired one gives its
// payload and ErrTokenExpired; and no kind decodes as another.
func TestTokenKinds(t *testing.T) {
	c := mustCodec(t, time.Hour, mailer.GenerateKeyPair())
	now := time.Unix(1_900_000_000, 0)
	c.Now = func() time.Time { return now }
	type kind struct {
		name   string
		encode func() (string, error)
		decode func(string) (any, error)
		want   any
	}
	kinds := []kind{
		{"link", func() (string, error) { return c.Encode(sampleLink()) },
			func(tok string) (any, error) { return c.Decode(tok) },
			func() mailer.Link { l := sampleLink(); l.IssuedAt = now.Unix(); return l }()},
		{"review", func() (string, error) { return c.EncodeReview(mailer.ReviewLink{WorkspaceID: 3, MemberID: 7}) },
			func(tok string) (any, error) { return c.DecodeReview(tok) },
			mailer.ReviewLink{WorkspaceID: 3, MemberID: 7, IssuedAt: now.Unix()}},
		{"media", func() (string, error) {
			return c.EncodeMedia(mailer.MediaRef{WorkspaceID: 3, DraftID: 42, Revision: 2, Index: 1})
		},
			func(tok string) (any, error) { return c.DecodeMedia(tok) },
			mailer.MediaRef{WorkspaceID: 3, DraftID: 42, Revision: 2, Index: 1, IssuedAt: now.Unix()}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			c.Now = func() time.Time { return now }
			tok, err := k.encode()
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.decode(tok)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if diff := cmp.Diff(k.want, got); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
			for _, other := range kinds {
				if other.name == k.name {
					continue
				}
				if v, err := other.decode(tok); !errors.Is(err, mailer.ErrTokenInvalid) || !reflect.ValueOf(v).IsZero() {
					t.Errorf("a %s token decoded as a %s: %+v, %v", k.name, other.name, v, err)
				}
			}
			c.Now = func() time.Time { return now.Add(time.Hour + time.Second) }
			got, err = k.decode(tok)
			if !errors.Is(err, mailer.ErrTokenExpired) || errors.Is(err, mailer.ErrTokenInvalid) {
				t.Fatalf("expired: error %v, want ErrTokenExpired alone", err)
			}
			if diff := cmp.Diff(k.want, got); diff != "" {
				t.Errorf("expired token's payload (-want +got):\n%s", diff)
			}
		})
	}
}
