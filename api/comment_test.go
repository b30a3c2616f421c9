package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/signoff-app/signoff/approvals"
)

// TestComment: a member's token comments as the member; staff may mark a
// comment internal, which clients then never read; a publisher's token
// cannot comment.
func TestComment(t *testing.T) {
	f := newFixture(t)
	op := approvals.Operator("acme")
	f.Must(f.svc.AddMember(f.ctx, op, "cleo@acme.test", "Cleo", approvals.RoleClient))
	f.OK(f.svc.Grant(f.ctx, op, "ig", approvals.GrantTarget{Email: "cleo@acme.test"}, approvals.NewCaps(approvals.CapView, approvals.CapComment)))
	f.token("acme", "cleo", "cleo@acme.test")
	id := f.approved("a post")
	path := fmt.Sprintf("/api/v1/drafts/%d/comments", id)

	var c approvals.Comment
	f.decode(f.do("POST", path, f.tokens["ed"], `{"text":"legal checked","internal":true}`), http.StatusCreated, &c)
	if !c.Internal || c.Text != "legal checked" {
		t.Fatalf("comment = %+v", c)
	}
	tests := []struct {
		name, token, body string
		want              int
	}{
		{"publisher", "pub", `{"text":"hi"}`, http.StatusForbidden},
		// Approved by the internal tier alone, the draft never reached
		// clients: for the client's token it does not exist.
		{"client, a draft that never reached clients", "cleo", `{"text":"psst"}`, http.StatusNotFound},
		{"empty", "ed", `{"text":"  "}`, http.StatusBadRequest},
		{"unknown field", "ed", `{"text":"x","secret":1}`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := f.do("POST", path, f.tokens[tt.token], tt.body); r.status != tt.want {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.want, r.body)
			}
		})
	}
}
