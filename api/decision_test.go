package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/signoff-app/signoff/api"
	"github.com/signoff-app/signoff/approvals"
)

func TestDecide(t *testing.T) {
	f := newFixture(t)
	f.token("acme", "owner", "owner@acme.test")
	ed := approvals.Actor{Workspace: "acme", Email: "ed@acme.test", Channel: approvals.ChannelCLI}
	v, err := f.svc.Submit(f.ctx, ed, approvals.DraftInput{Account: "ig", Text: "first words"})
	f.OK(err)
	f.Must(f.svc.Revise(f.ctx, ed, v.ID, approvals.DraftInput{Text: "second words"}))
	path := fmt.Sprintf("/api/v1/drafts/%d/decisions", v.ID)

	tests := []struct {
		name, token, body string
		want              int
		says              string
	}{
		{"no verdict", "owner", `{}`, http.StatusBadRequest, "verdict"},
		{"negative revision", "owner", `{"verdict": "approve", "revision": -1}`, http.StatusBadRequest, "a revision number"},
		{"publisher token", "pub", `{"verdict": "approve"}`, http.StatusForbidden, "acts for no member"},
		{"not an approver", "ed", `{"verdict": "approve"}`, http.StatusForbidden, ""},
		{"revision no longer current", "owner", `{"verdict": "approve", "revision": 1}`, http.StatusConflict,
			fmt.Sprintf("draft %d was revised; revision 2 is current", v.ID)},
		{"reject without comment", "owner", `{"verdict": "reject", "revision": 2}`, http.StatusBadRequest, "needs a comment"},
		{"the current revision", "owner", `{"verdict": "approve", "revision": 2}`, http.StatusOK,
			fmt.Sprintf("approved draft %d (revision 2)", v.ID)},
		{"again, unpinned", "owner", `{"verdict": "approve"}`, http.StatusOK, "you already approved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do("POST", path, f.tokens[tt.token], tt.body)
			if r.status != tt.want || !strings.Contains(string(r.body), tt.says) {
				t.Errorf("status %d, body %s; want %d saying %q", r.status, r.body, tt.want, tt.says)
			}
		})
	}
	var got api.DecisionResponse
	f.decode(f.do("POST", path, f.tokens["owner"], `{"verdict": "approve", "revision": 2}`), http.StatusOK, &got)
	if !got.Noop || got.State != approvals.StateApproved || got.Decision == nil || got.Decision.Revision != 2 || got.Decision.Channel != approvals.ChannelAPI {
		t.Errorf("repeat answered %+v; want a no-op on an approved draft, the decision on revision 2 via api", got)
	}
}
