package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/signoff-app/signoff/api"
	"github.com/signoff-app/signoff/approvals"
)

// TestNetworkAndApprovalComment: a submission the account's network would
// refuse is a 400 naming the rule and creates nothing; an approval's
// comment travels through the decisions endpoint into the draft object.
func TestNetworkAndApprovalComment(t *testing.T) {
	f := newFixture(t)
	f.token("acme", "owner", "owner@acme.test")
	x := approvals.NetworkX
	f.Must(f.svc.SetAccount(f.ctx, approvals.Operator("acme"), "ig", approvals.AccountSettings{Network: &x}))

	body := fmt.Sprintf(`{"account": "ig", "text": %q}`, strings.Repeat("字", 141))
	r := f.do("POST", "/api/v1/drafts", f.tokens["ed"], body)
	if e := r.errorBody(t); r.status != http.StatusBadRequest || e.Code != approvals.EINVALID ||
		!strings.Contains(e.Message, "X posts take at most 280 characters") || !strings.Contains(e.Message, "this one has 282") {
		t.Fatalf("status %d %+v; want 400 naming X's limit and the excess", r.status, e)
	}
	if ds, err := f.svc.List(f.ctx, approvals.Actor{Workspace: "acme", Email: "owner@acme.test", Channel: approvals.ChannelCLI}, approvals.ListInput{}); err != nil || len(ds) != 0 {
		t.Fatalf("a refused submission left drafts %+v (%v)", ds, err)
	}

	var h approvals.Handoff
	f.decode(f.do("POST", "/api/v1/drafts", f.tokens["ed"], `{"account": "ig", "text": "Short and sweet"}`), http.StatusCreated, &h)
	path := fmt.Sprintf("/api/v1/drafts/%d/decisions", h.ID)
	r = f.do("POST", path, f.tokens["owner"], fmt.Sprintf(`{"verdict": "approve", "comment": %q}`, strings.Repeat("x", approvals.MaxCommentLen+1)))
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "comment is 4001 characters") {
		t.Fatalf("too long a comment: %d %s", r.status, r.body)
	}
	var res api.DecisionResponse
	f.decode(f.do("POST", path, f.tokens["owner"], `{"verdict": "approve", "comment": "Approved — fix the typo in the last line"}`), http.StatusOK, &res)
	if res.Decision == nil || res.Decision.Comment != "Approved — fix the typo in the last line" || res.State != approvals.StateApproved {
		t.Fatalf("decision answered %+v", res)
	}
	f.decode(f.do("GET", fmt.Sprintf("/api/v1/drafts/%d", h.ID), f.tokens["pub"], ""), http.StatusOK, &h)
	if h.Network != approvals.NetworkX || len(h.Approvals) != 1 || h.Approvals[0].Comment != "Approved — fix the typo in the last line" {
		t.Errorf("draft object: network %q, approvals %+v", h.Network, h.Approvals)
	}
}
