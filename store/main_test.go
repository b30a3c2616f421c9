package store_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/pgtest"
	"github.com/signoff-app/signoff/store"
)

var env *pgtest.Env

func TestMain(m *testing.M) { pgtest.Main(m, &env) }

// inTx runs fn in one transaction of db and returns its error.
func inTx(db *store.DB, fn func(ctx context.Context, tx approvals.Tx) error) error {
	return db.InTx(context.Background(), fn)
}

// mustTx runs fn in one transaction and fails t on any error.
func mustTx(t testing.TB, db *store.DB, fn func(ctx context.Context, tx approvals.Tx) error) {
	t.Helper()
	if err := inTx(db, fn); err != nil {
		t.Fatalf("transaction: %v", err)
	}
}

// wantErr fails t unless err is an *approvals.Error with code and a
// message containing every one of parts.
func wantErr(t testing.TB, err error, code string, parts ...string) {
	t.Helper()
	if got := approvals.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	msg := approvals.ErrorMessage(err)
	if code == approvals.EINTERNAL {
		// A backstop's words are for the log, not for users.
		msg = err.Error()
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error message %q does not contain %q", msg, p)
		}
	}
}

var slugSeq atomic.Int64

// uniqueSlug derives a workspace slug from the test's name, unique within
// the package database.
func uniqueSlug(t testing.TB) string {
	s := strings.ToLower(t.Name())
	s = regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(s, "-")
	if len(s) > 40 {
		s = s[len(s)-40:]
	}
	return strings.Trim(fmt.Sprintf("%s-%d", strings.Trim(s, "-"), slugSeq.Add(1)), "-")
}

// world is a workspace with one member of each role and one account.
type world struct {
	ws                           *approvals.Workspace
	owner, admin, editor, client *approvals.Member
	account                      *approvals.Account
}

func newWorld(t testing.TB, db *store.DB) *world {
	t.Helper()
	w := &world{}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error {
		w.ws = &approvals.Workspace{Slug: uniqueSlug(t), Name: "Agency " + t.Name()}
		if err := tx.CreateWorkspace(ctx, w.ws); err != nil {
			return err
		}
		for _, p := range []struct {
			m    **approvals.Member
			role approvals.Role
		}{{&w.owner, approvals.RoleOwner}, {&w.admin, approvals.RoleAdmin}, {&w.editor, approvals.RoleEditor}, {&w.client, approvals.RoleClient}} {
			m := &approvals.Member{WorkspaceID: w.ws.ID, Email: string(p.role) + "@example.com", Name: strings.ToUpper(string(p.role[:1])) + string(p.role[1:]), Role: p.role}
			if err := tx.CreateMember(ctx, m); err != nil {
				return err
			}
			*p.m = m
		}
		w.account = &approvals.Account{WorkspaceID: w.ws.ID, Handle: "acme-ig", Name: "Acme Instagram"}
		return tx.CreateAccount(ctx, w.account)
	})
	return w
}

// member adds a member with role to w's workspace.
func (w *world) member(t testing.TB, db *store.DB, email string, role approvals.Role) *approvals.Member {
	t.Helper()
	m := &approvals.Member{WorkspaceID: w.ws.ID, Email: email, Name: email, Role: role}
	mustTx(t, db, func(ctx context.Context, tx approvals.Tx) error { return tx.CreateMember(ctx, m) })
	return m
}
