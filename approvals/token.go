package approvals

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"time"
)

// TokenPrefix starts every API token, so that a leaked one is recognisable
// (secret scanners, logs) and a token is never mistaken for something else.
const TokenPrefix = "so_"

// APIToken is a bearer token of the JSON API. It belongs to one workspace
// and either acts for one member (MemberID set: it may submit drafts and
// sees what that member sees) or for no one (a publisher token: it may read
// the workspace's approved drafts and mark them published, nothing else).
// The secret is shown once, at creation; only its SHA-256 is stored.
type APIToken struct {
	ID          int64      `json:"id"`
	WorkspaceID int64      `json:"workspace_id"`
	Name        string     `json:"name"`
	MemberID    int64      `json:"member_id,omitempty"`
	Member      string     `json:"member,omitempty"` // the member's email, filled on read
	Hash        []byte     `json:"-"`
	CreatedAt   time.Time  `json:"created_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// Publisher reports whether the token acts for no member.
func (t *APIToken) Publisher() bool { return t.MemberID == 0 }

// Role names what the token may do: "publisher" or "member".
func (t *APIToken) Role() string {
	if t.Publisher() {
		return "publisher"
	}
	return "member"
}

// TokenTx is the persistence of API tokens; HandoffTx embeds it.
type TokenTx interface {
	// CreateAPIToken inserts t and sets its ID and CreatedAt; ECONFLICT when
	// an unrevoked token of the workspace has the name.
	CreateAPIToken(ctx context.Context, t *APIToken) error
	// APITokenByHash returns the token with the hash, revoked or not
	// (ENOTFOUND if none).
	APITokenByHash(ctx context.Context, hash []byte) (*APIToken, error)
	// APITokenByID returns one token of the workspace (ENOTFOUND if none).
	APITokenByID(ctx context.Context, workspaceID, id int64) (*APIToken, error)
	// RevokeAPIToken revokes the unrevoked token of that name at at
	// (ENOTFOUND if there is none) and returns it.
	RevokeAPIToken(ctx context.Context, workspaceID int64, name string, at time.Time) (*APIToken, error)
	// APITokens lists the workspace's tokens, revoked ones included, oldest first.
	APITokens(ctx context.Context, workspaceID int64) ([]*APIToken, error)
}

var tokenNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// HashToken returns the stored form of a token secret.
func HashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func newTokenSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", &Error{Code: EINTERNAL, Message: "internal error", Err: err}
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// CreateToken creates an API token named name in the actor's workspace,
// acting for the member with memberEmail ("" for a publisher token), and
// returns it with its secret, which is never shown again. Only the operator,
// owners and admins may.
// Errors: EINVALID (name), ENOTFOUND (member), ECONFLICT (name taken),
// EUNAUTHORIZED.
func (s *Service) CreateToken(ctx context.Context, a Actor, name, memberEmail string) (*APIToken, string, error) {
	var out *APIToken
	secret, err := newTokenSecret()
	if err != nil {
		return nil, "", err
	}
	err = s.change(ctx, a, "token.create", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "create API tokens"); err != nil {
			return err
		}
		name = strings.TrimSpace(name)
		if !tokenNameRe.MatchString(name) {
			return Errorf(EINVALID, "invalid token name %q: use 1 to 63 letters, digits, dots, dashes and underscores", name)
		}
		t := &APIToken{WorkspaceID: p.ws.ID, Name: name, Hash: HashToken(secret), CreatedAt: s.now()}
		if memberEmail != "" {
			m, err := s.memberByEmail(ctx, tx, p.ws, memberEmail)
			if err != nil {
				return err
			}
			t.MemberID, t.Member = m.ID, m.Email
		}
		if err := tx.CreateAPIToken(ctx, t); err != nil {
			return err
		}
		e.Detail = "token " + name + " (" + t.Role() + ")"
		if t.Member != "" {
			e.Detail += " for " + t.Member
		}
		out = t
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, secret, nil
}

// RevokeToken revokes the workspace's token named name; requests with it
// are refused from then on. Only the operator, owners and admins may.
// Errors: ENOTFOUND, EUNAUTHORIZED.
func (s *Service) RevokeToken(ctx context.Context, a Actor, name string) (*APIToken, error) {
	var out *APIToken
	err := s.change(ctx, a, "token.revoke", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "revoke API tokens"); err != nil {
			return err
		}
		t, err := tx.RevokeAPIToken(ctx, p.ws.ID, strings.TrimSpace(name), s.now())
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTFOUND, "no active API token %q in workspace %q", name, p.ws.Slug)
		} else if err != nil {
			return err
		}
		e.Detail = "token " + t.Name
		out = t
		return nil
	})
	return out, err
}

// Tokens lists the workspace's API tokens (never their secrets). Only the
// operator, owners and admins may.
// Errors: EUNAUTHORIZED.
func (s *Service) Tokens(ctx context.Context, a Actor) ([]*APIToken, error) {
	var out []*APIToken
	err := s.read(ctx, a, "token.list", func(ctx context.Context, tx Tx, p *principal) error {
		if err := requireAdmin(p, "list API tokens"); err != nil {
			return err
		}
		var err error
		out, err = tx.APITokens(ctx, p.ws.ID)
		return err
	})
	return out, err
}

// Authenticate checks an API token secret and returns the Actor of the
// requests that carry it: on ChannelAPI, in the token's workspace, as its
// member (if any), with meta. Unknown, malformed and revoked tokens are
// refused alike, and the refusal names no workspace.
// Errors: EUNAUTHORIZED.
func (s *Service) Authenticate(ctx context.Context, secret string, meta Meta) (Actor, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return Actor{}, Errorf(EUNAUTHORIZED, "invalid API token")
	}
	var a Actor
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		t, err := tx.APITokenByHash(ctx, HashToken(secret))
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(EUNAUTHORIZED, "invalid API token")
		} else if err != nil {
			return err
		}
		if t.RevokedAt != nil {
			return Errorf(EUNAUTHORIZED, "this API token was revoked")
		}
		a = Actor{WorkspaceID: t.WorkspaceID, MemberID: t.MemberID, Token: t, Channel: ChannelAPI, Meta: meta}
		return nil
	})
	return a, err
}

// tokenCaller resolves an actor that came through Authenticate, checking
// again inside the transaction that its token is still valid.
func (s *Service) tokenCaller(ctx context.Context, tx Tx, a Actor) (*principal, error) {
	ws, err := tx.WorkspaceByID(ctx, a.Token.WorkspaceID)
	if err != nil {
		return nil, err
	}
	p := &principal{ws: ws, actor: a}
	t, err := tx.APITokenByID(ctx, ws.ID, a.Token.ID)
	if ErrorCode(err) == ENOTFOUND {
		return p, Errorf(EUNAUTHORIZED, "invalid API token")
	} else if err != nil {
		return p, err
	}
	if t.RevokedAt != nil {
		return p, Errorf(EUNAUTHORIZED, "this API token was revoked")
	}
	p.token = t
	if t.MemberID != 0 {
		if p.member, err = tx.MemberByID(ctx, ws.ID, t.MemberID); err != nil {
			return p, err
		}
	}
	return p, nil
}
