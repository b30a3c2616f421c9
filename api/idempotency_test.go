package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signoff-app/signoff/api"
	"github.com/signoff-app/signoff/approvals"
)

// doKeyed posts a submission with an Idempotency-Key.
func (f *fixture) doKeyed(token, key, body string) response {
	f.t.Helper()
	req, err := http.NewRequest("POST", f.srv.URL+"/api/v1/drafts", strings.NewReader(body))
	f.OK(err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(api.IdempotencyHeader, key)
	resp, err := f.srv.Client().Do(req)
	f.OK(err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	f.OK(err)
	return response{status: resp.StatusCode, header: resp.Header, body: b.Bytes()}
}

// drafts counts acme's drafts on "ig" as its owner sees them.
func (f *fixture) drafts() int {
	f.t.Helper()
	list, err := f.svc.List(f.ctx, approvals.Actor{Workspace: "acme", Email: "owner@acme.test", Channel: approvals.ChannelCLI}, approvals.ListInput{Account: "ig"})
	f.OK(err)
	return len(list)
}

func TestIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	const body = `{"account": "ig", "text": "Retried"}`
	first := f.doKeyed(f.tokens["ed"], "key-1", body)
	if first.status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	var h approvals.Handoff
	f.OK(json.Unmarshal(first.body, &h))

	t.Run("a retry gets the first answer and makes no draft", func(t *testing.T) {
		f.now = f.now.Add(time.Hour) // a later answer would show other times
		again := f.doKeyed(f.tokens["ed"], "key-1", body)
		if again.status != first.status || !bytes.Equal(again.body, first.body) {
			t.Errorf("retry: %d %s\nwant %d %s", again.status, again.body, first.status, first.body)
		}
		if again.header.Get("Location") != first.header.Get("Location") || again.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry headers %v", again.header)
		}
		if n := f.drafts(); n != 1 {
			t.Errorf("%d drafts, want 1", n)
		}
	})
	t.Run("the same key with another body is 422", func(t *testing.T) {
		r := f.doKeyed(f.tokens["ed"], "key-1", `{"account": "ig", "text": "Something else"}`)
		e := r.errorBody(t)
		if r.status != http.StatusUnprocessableEntity || e.Code != "idempotency_key_reused" || !strings.Contains(e.Message, "different request body") {
			t.Errorf("%d %+v; want 422 idempotency_key_reused", r.status, e)
		}
		if n := f.drafts(); n != 1 {
			t.Errorf("%d drafts, want 1", n)
		}
	})
	t.Run("a key is per token", func(t *testing.T) {
		f.token("acme", "ed2", "ed@acme.test")
		r := f.doKeyed(f.tokens["ed2"], "key-1", body)
		var h2 approvals.Handoff
		f.decode(r, http.StatusCreated, &h2)
		if h2.ID == h.ID || r.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("another token's key answered: draft %d", h2.ID)
		}
	})
	t.Run("a malformed key is 400", func(t *testing.T) {
		r := f.doKeyed(f.tokens["ed"], strings.Repeat("k", 300), body)
		if r.status != http.StatusBadRequest {
			t.Errorf("%d %s; want 400", r.status, r.body)
		}
	})
	t.Run("after 24 hours the key is free", func(t *testing.T) {
		before := f.drafts()
		f.now = f.now.Add(approvals.IdempotencyTTL)
		r := f.doKeyed(f.tokens["ed"], "key-1", `{"account": "ig", "text": "A new day"}`)
		var h3 approvals.Handoff
		f.decode(r, http.StatusCreated, &h3)
		if h3.ID == h.ID || h3.Text != "A new day" {
			t.Errorf("got draft %d %q", h3.ID, h3.Text)
		}
		if n := f.drafts(); n != before+1 {
			t.Errorf("%d drafts, want %d", n, before+1)
		}
	})
}

func TestIdempotencyKeyConcurrent(t *testing.T) {
	f := newFixture(t)
	const n = 8
	const body = `{"account": "ig", "text": "At once"}`
	var wg sync.WaitGroup
	results := make([]response, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/drafts", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+f.tokens["ed"])
			req.Header.Set(api.IdempotencyHeader, "same")
			resp, err := f.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			results[i] = response{status: resp.StatusCode, body: b.Bytes()}
		}()
	}
	close(start)
	wg.Wait()
	for i, r := range results {
		if r.status != http.StatusCreated || !bytes.Equal(r.body, results[0].body) {
			t.Errorf("request %d: %d %s\nwant the answer %s", i, r.status, r.body, results[0].body)
		}
	}
	if got := f.drafts(); got != 1 {
		t.Errorf("%d drafts, want 1", got)
	}
}

// A keyed submission approved at once (no tier required) answers with its
// hand-off, and the retry gets that same answer, cursor included.
func TestIdempotencyKeyApprovedAtOnce(t *testing.T) {
	f := newFixture(t)
	op := approvals.Operator("acme")
	f.Must(f.svc.AddAccount(f.ctx, op, "blog", "Blog"))
	f.OK(f.svc.Grant(f.ctx, op, "blog", approvals.GrantTarget{Email: "ed@acme.test"}, approvals.NewCaps(approvals.CapView, approvals.CapCreate)))
	const body = `{"account": "blog", "text": "No review needed"}`
	first := f.doKeyed(f.tokens["ed"], "k", body)
	var h approvals.Handoff
	f.decode(first, http.StatusCreated, &h)
	if h.State != approvals.StateApproved || h.ApprovedAt == nil || h.Cursor == "" {
		t.Fatalf("first answer: %s", first.body)
	}
	again := f.doKeyed(f.tokens["ed"], "k", body)
	if !bytes.Equal(again.body, first.body) {
		t.Errorf("retry: %s\nwant %s", again.body, first.body)
	}
	var shown approvals.Handoff
	f.decode(f.do("GET", "/api/v1/drafts/"+strconv.FormatInt(h.ID, 10), f.tokens["pub"], ""), http.StatusOK, &shown)
	if shown.Cursor != h.Cursor || !shown.ApprovedAt.Equal(*h.ApprovedAt) {
		t.Errorf("the draft shows cursor %q approved at %v; the answer said %q at %v", shown.Cursor, shown.ApprovedAt, h.Cursor, h.ApprovedAt)
	}
}
