package mailer

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/signoff-app/signoff/approvals"
)

// tokenName is the securecookie "name" of a link token. It is part of what
// the MAC covers, so a value minted for another purpose with the same keys
// never decodes as a link.
const tokenName = "signoff-link/v1"

// Link is what a link token carries: who may do what on which revision.
// Everything is bound: editing any field breaks the MAC, and the payload is
// encrypted, so the token reveals nothing to whoever sees the URL.
type Link struct {
	WorkspaceID int64             `json:"w"`
	DraftID     int64             `json:"d"`
	Revision    int               `json:"r"`
	Tier        approvals.Tier    `json:"t"`
	MemberID    int64             `json:"m"` // the approver the email was sent to
	Action      approvals.Verdict `json:"a"` // the button the email offered
	IssuedAt    int64             `json:"i"` // Unix seconds, checked against links.ttl
}

// Token errors. Decode returns an error wrapping exactly one of them.
var (
	// ErrTokenInvalid: malformed, forged, tampered, or signed with a key
	// that is no longer configured.
	ErrTokenInvalid = errors.New("link token is not valid")
	// ErrTokenExpired: genuine but older than links.ttl. Decode still
	// returns its Link, so the page can offer a fresh one.
	ErrTokenExpired = errors.New("link token expired")
)

// Codec mints and checks link tokens and the CSRF tokens of their forms.
type Codec struct {
	// strict enforce links.ttl with securecookie's MaxAge; lenient skip the
	// age check and are used only after strict failed, to tell a genuine
	// expired token (410, with a resend button) from a forged one (400).
	strict  []securecookie.Codec
	lenient []securecookie.Codec
	csrf    [][]byte // one key per pair, derived from its hash key
	ttl     time.Duration
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// NewCodec returns a codec over the key pairs (the first signs; all
// verify) with links valid for ttl.
func NewCodec(pairs []KeyPair, ttl time.Duration) (*Codec, error) {
	if len(pairs) == 0 {
		return nil, &ConfigError{Key: "links.keys", Message: "no key pair"}
	}
	if ttl < time.Second {
		return nil, &ConfigError{Key: "links.ttl", Message: "must be positive"}
	}
	var keys [][]byte
	for _, p := range pairs {
		keys = append(keys, p.Hash, p.Block)
	}
	c := &Codec{ttl: ttl, Now: time.Now}
	c.strict = securecookie.CodecsFromPairs(keys...)
	c.lenient = securecookie.CodecsFromPairs(keys...)
	maxAge := int(ttl / time.Second)
	for i := range c.strict {
		// JSON keeps tokens short (gob would spell out the type); the
		// default 4096-byte limit is far above a link's size.
		s := c.strict[i].(*securecookie.SecureCookie)
		s.MaxAge(maxAge).SetSerializer(securecookie.JSONEncoder{})
		l := c.lenient[i].(*securecookie.SecureCookie)
		l.MaxAge(0).SetSerializer(securecookie.JSONEncoder{})
	}
	for _, p := range pairs {
		m := hmac.New(sha256.New, p.Hash)
		m.Write([]byte("signoff link csrf key v1"))
		c.csrf = append(c.csrf, m.Sum(nil))
	}
	return c, nil
}

// TTL returns how long links stay valid.
func (c *Codec) TTL() time.Duration { return c.ttl }

// Encode mints a token for l, stamping IssuedAt with the codec's clock.
func (c *Codec) Encode(l Link) (string, error) { return c.encode(tokenName, &l) }

// Decode checks a token and returns its Link. A genuine but expired token
// gives its Link and an error wrapping ErrTokenExpired; anything else that
// fails gives an error wrapping ErrTokenInvalid.
func (c *Codec) Decode(token string) (Link, error) { return decodeAs[Link](c, tokenName, token) }

// sealed is a token payload: it knows whether it is complete and when it
// was issued. The token kinds (Link, ReviewLink, MediaRef) differ in their
// payload and name only; encode and decode are the one place that mints
// and checks them.
type sealed interface {
	valid() bool
	issued() int64
	stamp(unix int64)
}

// encode mints a token of the given name for v, stamping it with the
// codec's clock.
func (c *Codec) encode(name string, v sealed) (string, error) {
	v.stamp(c.Now().Unix())
	tok, err := c.strict[0].Encode(name, v)
	if err != nil {
		return "", fmt.Errorf("encode %s token: %w", name, err)
	}
	return tok, nil
}

// decodeAs checks a token of the given name as Decode describes: its
// payload for a genuine token (with ErrTokenExpired when it expired), the
// zero value for any other.
func decodeAs[T any, P interface {
	*T
	sealed
}](c *Codec, name, token string) (T, error) {
	var v T
	if err := c.decode(name, token, P(&v)); err != nil {
		if errors.Is(err, ErrTokenExpired) {
			return v, err
		}
		var zero T
		return zero, err
	}
	return v, nil
}

// decode checks a token of the given name into v, as Decode describes: v
// is filled for a genuine token, expired or not.
func (c *Codec) decode(name, token string, v sealed) error {
	if token == "" || len(token) > 4096 {
		return ErrTokenInvalid
	}
	if err := securecookie.DecodeMulti(name, token, v, c.strict...); err != nil {
		if lerr := securecookie.DecodeMulti(name, token, v, c.lenient...); lerr != nil || !v.valid() {
			return fmt.Errorf("%w: %w", ErrTokenInvalid, err)
		}
		// The MAC held, only the age check failed.
		return ErrTokenExpired
	}
	if !v.valid() {
		return fmt.Errorf("%w: incomplete payload", ErrTokenInvalid)
	}
	// securecookie's age check uses the wall clock; this one uses Now, so
	// expiry is testable and holds even if the two disagree.
	if c.Now().After(time.Unix(v.issued(), 0).Add(c.ttl)) {
		return ErrTokenExpired
	}
	return nil
}

// Expires returns when a token issued now stops working.
func (c *Codec) Expires() time.Time { return c.Now().Add(c.ttl) }

func (l *Link) issued() int64    { return l.IssuedAt }
func (l *Link) stamp(unix int64) { l.IssuedAt = unix }

func (l *Link) valid() bool {
	if l.WorkspaceID <= 0 || l.DraftID <= 0 || l.Revision <= 0 || l.MemberID <= 0 || l.IssuedAt <= 0 {
		return false
	}
	if t, err := approvals.ParseTier(string(l.Tier)); err != nil || t != l.Tier {
		return false
	}
	return l.Action == approvals.VerdictApprove || l.Action == approvals.VerdictReject
}

// CSRF purposes: the decision form and the "send me a new link" form.
const (
	purposeDecide = "decide"
	purposeResend = "resend"
)

// CSRF returns the token the form of a link page must post back. It is an
// HMAC of the link token, so it needs no cookie or server state: only a
// page Signoff rendered for that link carries it, and a POST straight to the
// link URL (a scanner, a forged form elsewhere) lacks it.
func (c *Codec) CSRF(token, purpose string) string {
	return base64.RawURLEncoding.EncodeToString(csrfMAC(c.csrf[0], token, purpose))
}

// CheckCSRF reports whether got is the CSRF token of token for purpose
// under any configured key.
func (c *Codec) CheckCSRF(token, purpose, got string) bool {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(got)
	if err != nil || len(raw) != sha256.Size {
		return false
	}
	for _, k := range c.csrf {
		if hmac.Equal(raw, csrfMAC(k, token, purpose)) {
			return true
		}
	}
	return false
}

func csrfMAC(key []byte, token, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(token))
	return m.Sum(nil)
}

// TokenRef returns a short, irreversible reference to a token for logs and
// the audit log; the token itself is a credential and is never logged.
func TokenRef(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:4])
}

// RedactPath hides the token of a link page's, a review page's or a signed
// picture's path for logs: "/l/TOKEN/…" becomes "/l/[REF]/…", and likewise
// "/r/TOKEN" and "/m/TOKEN", with REF the token's TokenRef, the reference
// the link handler logs too. Other paths are returned as they are.
func RedactPath(path string) string {
	var kind, rest string
	for _, k := range []string{"/l/", "/r/", "/m/"} {
		if r, ok := strings.CutPrefix(path, k); ok {
			kind, rest = k, r
			break
		}
	}
	if kind == "" {
		return path
	}
	token, tail, more := strings.Cut(rest, "/")
	out := kind + "[" + TokenRef(token) + "]"
	if more {
		out += "/" + tail
	}
	return out
}

// GenerateKeyPair returns a fresh links.keys pair: a 32-byte hash key and a
// 32-byte (AES-256) block key, hex-encoded as "HASH:BLOCK".
func GenerateKeyPair() string {
	hash := make([]byte, 32)
	block := make([]byte, 32)
	// crypto/rand.Read never fails on supported platforms (Go 1.24+).
	_, _ = rand.Read(hash)
	_, _ = rand.Read(block)
	return hex.EncodeToString(hash) + ":" + hex.EncodeToString(block)
}
