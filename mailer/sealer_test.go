package mailer

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/signoff-app/signoff/approvals"
)

// sealerCodec is a codec over two pairs, the second verifying only.
func sealerCodec(t *testing.T) (*Codec, []KeyPair) {
	t.Helper()
	pairs, err := ParseKeys([]string{GenerateKeyPair(), GenerateKeyPair()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCodec(pairs, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if c.seal == nil {
		t.Fatal("no sealer for valid keys")
	}
	return c, pairs
}

// The sealer's tokens are securecookie's: a plain SecureCookie with the
// JSON serializer decodes every kind of them, and taken apart each is
// exactly what SecureCookie.Encode would have made with the same IV at the
// same second (the date, the value's JSON and newline under AES-CTR, the
// MAC of "name|date|value"). And securecookie's own tokens still decode.
func TestSealerIsSecureCookie(t *testing.T) {
	c, pairs := sealerCodec(t)
	ref := securecookie.New(pairs[0].Hash, pairs[0].Block).SetSerializer(securecookie.JSONEncoder{})
	values := []struct {
		name string
		v    any
		dst  func() any
	}{
		{tokenName, Link{WorkspaceID: 3, DraftID: 42, Revision: 2, Tier: approvals.TierClient, MemberID: 7, Action: approvals.VerdictApprove, IssuedAt: 1_900_000_000}, func() any { return new(Link) }},
		{tokenName, Link{WorkspaceID: 1 << 40, DraftID: 1, Revision: 1 << 20, Tier: approvals.TierInternal, MemberID: 9, Action: approvals.VerdictReject, IssuedAt: 1}, func() any { return new(Link) }},
		{reviewTokenName, ReviewLink{WorkspaceID: 3, MemberID: 7, IssuedAt: 1_900_000_000}, func() any { return new(ReviewLink) }},
		{slackLinkTokenName, SlackLinkToken{WorkspaceID: 3, RequestID: 5, MemberID: 7, IssuedAt: 1_900_000_000}, func() any { return new(SlackLinkToken) }},
		{mediaTokenName, MediaRef{WorkspaceID: 3, DraftID: 42, Revision: 2, Index: 3, IssuedAt: 1_900_000_000}, func() any { return new(MediaRef) }},
		{"odd <name> & \"more\"", map[string]string{"html": "<b>&'\"</b>", "u": "é 🌞 \u2028"}, func() any { return new(map[string]string) }},
	}
	for _, tt := range values {
		before := time.Now().UTC().Unix()
		tok, err := c.encode(tt.name, tt.v)
		after := time.Now().UTC().Unix()
		if err != nil {
			t.Fatal(err)
		}
		dst := tt.dst()
		if err := ref.Decode(tt.name, tok, dst); err != nil {
			t.Fatalf("securecookie cannot decode the sealer's %s token: %v", tt.name, err)
		}
		if got := reflect.ValueOf(dst).Elem().Interface(); !reflect.DeepEqual(got, tt.v) {
			t.Errorf("securecookie decoded %#v, want %#v", got, tt.v)
		}
		if err := securecookie.DecodeMulti(tt.name, tok, tt.dst(), c.strict...); err != nil {
			t.Errorf("the codec's own securecookies cannot decode the sealer's %s token: %v", tt.name, err)
		}

		// Taken apart.
		raw, err := base64.URLEncoding.DecodeString(tok)
		if err != nil {
			t.Fatal(err)
		}
		parts := bytes.SplitN(raw, []byte("|"), 3)
		if len(parts) != 3 {
			t.Fatalf("token holds %d parts", len(parts))
		}
		date, err := strconv.ParseInt(string(parts[0]), 10, 64)
		if err != nil || date < before || date > after {
			t.Errorf("date %q, want the Unix time between %d and %d", parts[0], before, after)
		}
		m := hmac.New(sha256.New, pairs[0].Hash)
		m.Write([]byte(tt.name + "|" + string(parts[0]) + "|" + string(parts[1])))
		if !hmac.Equal(m.Sum(nil), parts[2]) {
			t.Error("MAC is not HMAC-SHA256 of name|date|value")
		}
		sealed, err := base64.URLEncoding.DecodeString(string(parts[1]))
		if err != nil {
			t.Fatal(err)
		}
		block, err := aes.NewCipher(pairs[0].Block)
		if err != nil {
			t.Fatal(err)
		}
		plain := make([]byte, len(sealed)-aes.BlockSize)
		cipher.NewCTR(block, sealed[:aes.BlockSize]).XORKeyStream(plain, sealed[aes.BlockSize:])
		want, err := securecookie.JSONEncoder{}.Serialize(tt.v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plain, want) {
			t.Errorf("plaintext %q, securecookie serializes %q", plain, want)
		}
	}

	// The other way round: what securecookie mints, the codec decodes.
	now := time.Now()
	c.Now = func() time.Time { return now }
	l := Link{WorkspaceID: 3, DraftID: 42, Revision: 2, Tier: approvals.TierClient, MemberID: 7, Action: approvals.VerdictReject, IssuedAt: now.Unix()}
	tok, err := ref.Encode(tokenName, l)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode(tok)
	if err != nil || got != l {
		t.Errorf("Decode of securecookie's token = %+v, %v; want %+v", got, err, l)
	}
	// Two tokens of the same link differ (a fresh IV each).
	a, _ := c.Encode(l)
	b, _ := c.Encode(l)
	if a == b {
		t.Error("two tokens of one link are equal")
	}
}

// Keys that make no sealer leave minting to securecookie, which refuses
// them as before.
func TestSealerFallsBack(t *testing.T) {
	pairs := []KeyPair{{Hash: bytes.Repeat([]byte{1}, 32), Block: []byte("short")}}
	c, err := NewCodec(pairs, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if c.seal != nil {
		t.Fatal("a sealer for a 5-byte AES key")
	}
	_, err = c.Encode(Link{WorkspaceID: 1, DraftID: 1, Revision: 1, Tier: approvals.TierClient, MemberID: 1, Action: approvals.VerdictApprove})
	if err == nil || !strings.Contains(err.Error(), "encode link token") {
		t.Errorf("Encode with a bad block key: %v", err)
	}
}

// BenchmarkSeal mints one link token.
func BenchmarkSeal(b *testing.B) {
	pairs, err := ParseKeys([]string{GenerateKeyPair()})
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewCodec(pairs, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	l := Link{WorkspaceID: 3, DraftID: 42, Revision: 2, Tier: approvals.TierClient, MemberID: 7, Action: approvals.VerdictApprove}
	b.Run("sealer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Encode(l); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("securecookie", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.strict[0].Encode(tokenName, l); err != nil {
				b.Fatal(err)
			}
		}
	})
}
