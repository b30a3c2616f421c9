package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signoff-app/signoff/api"
	"github.com/signoff-app/signoff/approvals"
)

// Trust through the API: a client member's token sees what
// that client sees, and nothing of a draft that never reached them.

// trustFixture adds to the fixture a client approver of acme's "ig" (with
// a token), turns client approval on, and gives the owner a token too.
func trustFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	op := approvals.Operator("acme")
	f.Must(f.svc.AddMember(f.ctx, op, "cleo@client.test", "Cleo", approvals.RoleClient))
	f.OK(f.svc.Grant(f.ctx, op, "ig", approvals.GrantTarget{Email: "cleo@client.test"}, approvals.NewCaps(approvals.CapView, approvals.CapComment)))
	f.OK(f.svc.AddApprover(f.ctx, op, "ig", "cleo@client.test", approvals.TierClient))
	on := true
	f.Must(f.svc.SetAccount(f.ctx, op, "ig", approvals.AccountSettings{NeedsClientApproval: &on}))
	f.token("acme", "cleo", "cleo@client.test")
	f.token("acme", "own", "owner@acme.test")
	return f
}

func (f *fixture) as(email string) approvals.Actor {
	return approvals.Actor{Workspace: "acme", Email: email, Channel: approvals.ChannelCLI}
}

func (f *fixture) submitAs(email, text string) int64 {
	f.t.Helper()
	v, err := f.svc.Submit(f.ctx, f.as(email), approvals.DraftInput{Account: "ig", Text: text})
	f.OK(err)
	return v.ID
}

// Finding 3 (and 5 for the API's one action, published): drafts rejected,
// withdrawn or expired in the internal tier, or still there, answer a
// client's token 404 exactly as a draft that does not exist, and nothing
// of them leaks; a draft that reached the client shows only its client
// revision and the client tier's approvals.
func TestTrustAPIClientToken(t *testing.T) {
	f := trustFixture(t)
	op := approvals.Operator("acme")

	// Expired in the internal tier: the policy, an hour after the request
	// and past the review window.
	expire, none := approvals.DeadlineExpire, approvals.DeadlineNone
	f.Must(f.svc.SetAccount(f.ctx, op, "ig", approvals.AccountSettings{DeadlinePolicy: &expire, DecideWithin: ptr(time.Hour)}))
	expired := f.submitAs("ed@acme.test", "EXP secret promo")
	f.now = f.now.Add(5 * time.Hour)
	if n, err := (&approvals.Sweeper{Service: f.svc}).RunOnce(f.ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v; want the expiry", n, err)
	}
	f.Must(f.svc.SetAccount(f.ctx, op, "ig", approvals.AccountSettings{DeadlinePolicy: &none}))

	rejected := f.submitAs("ed@acme.test", "REJ secret launch")
	f.Must(f.svc.Reject(f.ctx, f.as("owner@acme.test"), rejected, "INTERNAL-REJECT numbers are off"))
	withdrawn := f.submitAs("ed@acme.test", "WD secret teaser")
	f.Must(f.svc.Withdraw(f.ctx, f.as("ed@acme.test"), withdrawn))
	pending := f.submitAs("ed@acme.test", "PEND secret draft")

	// Reached the client at revision 2, after an internal reject and an
	// internal note; approved by the client.
	seen := f.submitAs("ed@acme.test", "SEEN-V1 first take")
	f.Must(f.svc.Reject(f.ctx, f.as("owner@acme.test"), seen, "INTERNAL-REJECT too loud"))
	f.Must(f.svc.AddComment(f.ctx, f.as("ed@acme.test"), seen, approvals.CommentInput{Text: "INTERNAL-NOTE toned down", Internal: true}))
	f.Must(f.svc.Revise(f.ctx, f.as("ed@acme.test"), seen, approvals.DraftInput{Text: "SEEN-V2 second take"}))
	f.Must(f.svc.Approve(f.ctx, f.as("owner@acme.test"), seen))
	f.Must(f.svc.Approve(f.ctx, f.as("cleo@client.test"), seen))

	// Reached the client at revision 1, then revised into internal review:
	// the client still sees revision 1.
	moving := f.submitAs("ed@acme.test", "MOVING-V1 shown to the client")
	f.Must(f.svc.Approve(f.ctx, f.as("owner@acme.test"), moving))
	f.Must(f.svc.Revise(f.ctx, f.as("ed@acme.test"), moving, approvals.DraftInput{Text: "MOVING-V2 UNSEEN rewrite"}))

	secrets := []string{"EXP secret", "REJ secret", "WD secret", "PEND secret", "SEEN-V1", "INTERNAL-", "UNSEEN"}
	noSecrets := func(what string, body []byte) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(string(body), s) {
				t.Errorf("%s shows %q:\n%s", what, s, body)
			}
		}
	}
	cleo := f.tokens["cleo"]

	missing := f.do("GET", "/api/v1/drafts/999999", cleo, "")
	for _, tt := range []struct {
		name string
		id   int64
	}{{"expired", expired}, {"rejected", rejected}, {"withdrawn", withdrawn}, {"pending internal", pending}} {
		t.Run(tt.name, func(t *testing.T) {
			for _, req := range []struct{ method, path string }{
				{"GET", fmt.Sprintf("/api/v1/drafts/%d", tt.id)},
				{"POST", fmt.Sprintf("/api/v1/drafts/%d/published", tt.id)},
				{"POST", fmt.Sprintf("/api/v1/drafts/%d/comments", tt.id)},
			} {
				body := ""
				if strings.HasSuffix(req.path, "/comments") {
					body = `{"text": "let me in"}`
				}
				r := f.do(req.method, req.path, cleo, body)
				e := r.errorBody(t)
				if r.status != http.StatusNotFound || e.Code != approvals.ENOTFOUND {
					t.Errorf("%s %s with a client's token: %d %s; want 404 not_found", req.method, req.path, r.status, r.body)
				}
				if want := strings.ReplaceAll(missing.errorBody(t).Message, "999999", fmt.Sprint(tt.id)); e.Message != want {
					t.Errorf("%s %s: message %q, a missing draft's is %q", req.method, req.path, e.Message, want)
				}
				noSecrets(req.method+" "+req.path, r.body)
			}
			// Staff see it.
			if r := f.do("GET", fmt.Sprintf("/api/v1/drafts/%d", tt.id), f.tokens["ed"], ""); r.status != http.StatusOK {
				t.Errorf("editor's token: %d %s", r.status, r.body)
			}
		})
	}

	t.Run("comments", func(t *testing.T) {
		// A client cannot mark a comment internal; staff can, and the
		// client's view of the draft still carries none of it.
		r := f.do("POST", fmt.Sprintf("/api/v1/drafts/%d/comments", seen), cleo, `{"text": "psst", "internal": true}`)
		if r.status != http.StatusBadRequest || !strings.Contains(r.errorBody(t).Message, "only staff") {
			t.Errorf("client's internal comment: %d %s", r.status, r.body)
		}
		r = f.do("POST", fmt.Sprintf("/api/v1/drafts/%d/comments", seen), f.tokens["ed"], `{"text": "INTERNAL-API note", "internal": true}`)
		if r.status/100 != 2 {
			t.Fatalf("staff internal comment: %d %s", r.status, r.body)
		}
		noSecrets("the client's view after an internal comment", f.do("GET", fmt.Sprintf("/api/v1/drafts/%d", seen), cleo, "").body)
		v, err := f.svc.Show(f.ctx, f.as("cleo@client.test"), seen)
		f.OK(err)
		for _, c := range v.Comments {
			if strings.Contains(c.Text, "INTERNAL-") {
				t.Errorf("the client's view holds an internal comment: %+v", c)
			}
		}
	})

	t.Run("reached the client", func(t *testing.T) {
		r := f.do("GET", fmt.Sprintf("/api/v1/drafts/%d", seen), cleo, "")
		var h approvals.Handoff
		f.decode(r, http.StatusOK, &h)
		noSecrets("the approved draft", r.body)
		if h.Text != "SEEN-V2 second take" || h.State != approvals.StateApproved {
			t.Errorf("client's view: %s %q", h.State, h.Text)
		}
		for _, a := range h.Approvals {
			if a.Tier != approvals.TierClient {
				t.Errorf("client's view lists a %s approval: %+v", a.Tier, a)
			}
		}
		if len(h.Approvals) != 1 || h.Approvals[0].Approver.Email != "cleo@client.test" {
			t.Errorf("client's view approvals = %+v, want Cleo's alone", h.Approvals)
		}

		r = f.do("GET", fmt.Sprintf("/api/v1/drafts/%d", moving), cleo, "")
		f.decode(r, http.StatusOK, &h)
		noSecrets("the draft back in internal review", r.body)
		if h.Text != "MOVING-V1 shown to the client" {
			t.Errorf("client's view of a draft revised into internal review: %q, want revision 1's text", h.Text)
		}

		r = f.do("GET", "/api/v1/drafts", cleo, "")
		var page approvals.HandoffPage
		f.decode(r, http.StatusOK, &page)
		noSecrets("the approved list", r.body)
		if len(page.Drafts) != 1 || page.Drafts[0].ID != seen {
			t.Errorf("client's approved list = %+v, want draft %d alone", page.Drafts, seen)
		}
		// The editor's token sees the internal approval.
		f.decode(f.do("GET", fmt.Sprintf("/api/v1/drafts/%d", seen), f.tokens["ed"], ""), http.StatusOK, &h)
		var tiers []approvals.Tier
		for _, a := range h.Approvals {
			tiers = append(tiers, a.Tier)
		}
		if len(tiers) != 2 {
			t.Errorf("editor's view approvals by tier = %v, want both tiers", tiers)
		}
	})
}

// Finding 2 through the API: an admin who approves internally revises the
// editor's draft, then tries to decide on it with their token: refused both
// ways, and the other internal approver's token decides. A member who is
// the only approver of a required tier cannot submit there at all.
func TestTrustAPIWritersNeverDecide(t *testing.T) {
	f := trustFixture(t)
	op := approvals.Operator("acme")
	f.Must(f.svc.AddMember(f.ctx, op, "adam@acme.test", "Adam", approvals.RoleAdmin))
	f.OK(f.svc.Grant(f.ctx, op, "ig", approvals.GrantTarget{Email: "adam@acme.test"}, approvals.NewCaps(approvals.CapView, approvals.CapCreate)))
	f.OK(f.svc.AddApprover(f.ctx, op, "ig", "adam@acme.test", approvals.TierInternal))
	f.token("acme", "adam", "adam@acme.test")

	id := f.submitAs("ed@acme.test", "Ed's words")
	f.Must(f.svc.Revise(f.ctx, f.as("adam@acme.test"), id, approvals.DraftInput{Text: "Adam's own words"}))
	path := fmt.Sprintf("/api/v1/drafts/%d/decisions", id)
	for _, body := range []string{`{"verdict": "approve"}`, `{"verdict": "approve", "revision": 2}`, `{"verdict": "reject", "comment": "not mine"}`} {
		r := f.do("POST", path, f.tokens["adam"], body)
		e := r.errorBody(t)
		if r.status != http.StatusForbidden || e.Code != approvals.EUNAUTHORIZED || !strings.Contains(e.Message, "nobody decides on words they wrote") {
			t.Errorf("the reviser's token posts %s: %d %+v; want 403 nobody decides on words they wrote", body, r.status, e)
		}
	}
	var h approvals.Handoff
	f.decode(f.do("GET", fmt.Sprintf("/api/v1/drafts/%d", id), f.tokens["adam"], ""), http.StatusOK, &h)
	if h.State != approvals.StatePendingInternal || len(h.Approvals) != 0 {
		t.Fatalf("after the reviser's attempts: %s with approvals %+v", h.State, h.Approvals)
	}
	var res api.DecisionResponse
	f.decode(f.do("POST", path, f.tokens["own"], `{"verdict": "approve"}`), http.StatusOK, &res)
	if res.State != approvals.StatePendingClient {
		t.Errorf("the owner's approval: %+v", res)
	}

	// The editor's token cannot decide on its own draft either (not an
	// approver), and a client's token cannot decide on a draft that never
	// reached them: "not found", as a draft that does not exist.
	other := f.submitAs("ed@acme.test", "HIDDEN from the client")
	if r := f.do("POST", fmt.Sprintf("/api/v1/drafts/%d/decisions", other), f.tokens["ed"], `{"verdict": "approve"}`); r.status != http.StatusForbidden {
		t.Errorf("the author's token approves: %d %s", r.status, r.body)
	}
	missing := f.do("POST", "/api/v1/drafts/999999/decisions", f.tokens["cleo"], `{"verdict": "approve"}`).errorBody(t)
	r := f.do("POST", fmt.Sprintf("/api/v1/drafts/%d/decisions", other), f.tokens["cleo"], `{"verdict": "approve"}`)
	if e := r.errorBody(t); r.status != http.StatusNotFound || e.Message != strings.ReplaceAll(missing.Message, "999999", fmt.Sprint(other)) ||
		strings.Contains(string(r.body), "HIDDEN") {
		t.Errorf("a client's token decides on a hidden draft: %d %s; a missing one gets %+v", r.status, r.body, missing)
	}

	// The only internal approver of an account cannot submit there.
	f.Must(f.svc.AddAccount(f.ctx, op, "solo", "Solo"))
	f.OK(f.svc.Grant(f.ctx, op, "solo", approvals.GrantTarget{Email: "adam@acme.test"}, approvals.NewCaps(approvals.CapView, approvals.CapCreate)))
	f.OK(f.svc.AddApprover(f.ctx, op, "solo", "adam@acme.test", approvals.TierInternal))
	on := true
	f.Must(f.svc.SetAccount(f.ctx, op, "solo", approvals.AccountSettings{NeedsInternalApproval: &on}))
	r = f.do("POST", "/api/v1/drafts", f.tokens["adam"], `{"account": "solo", "text": "Adam's solo words"}`)
	if e := r.errorBody(t); r.status != http.StatusBadRequest || !strings.Contains(e.Message, "no internal approver who did not write this draft") {
		t.Errorf("the only internal approver submits: %d %+v", r.status, e)
	}
}

// Finding 1 through the API: a submission whose schedule leaves less than
// the review window says so in the response.
func TestTrustAPISubmitNotes(t *testing.T) {
	f := trustFixture(t)
	auto := approvals.DeadlineAutoApprove
	f.Must(f.svc.SetAccount(f.ctx, approvals.Operator("acme"), "ig", approvals.AccountSettings{DeadlinePolicy: &auto}))
	body := fmt.Sprintf(`{"account": "ig", "text": "Flash sale", "scheduled_at": %q}`, f.now.Add(2*time.Minute).Format(time.RFC3339))
	var h approvals.Handoff
	f.decode(f.do("POST", "/api/v1/drafts", f.tokens["ed"], body), http.StatusCreated, &h)
	var tiers []string
	for _, n := range h.Notes {
		if strings.Contains(n, "auto-approve will not act before") {
			tiers = append(tiers, strings.Fields(n)[1])
		}
	}
	if strings.Join(tiers, ",") != "internal,client" {
		t.Errorf("notes = %q, want one per tier saying the policy waits", h.Notes)
	}
	f.now = f.now.Add(time.Hour)
	if n, err := (&approvals.Sweeper{Service: f.svc}).RunOnce(f.ctx); err != nil || n != 0 {
		t.Errorf("sweep an hour later: %d actions, %v; want none inside the window", n, err)
	}
}

func ptr[T any](v T) *T { return &v }
