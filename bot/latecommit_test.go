package bot_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/bot"
	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/internal/slackfake"
	"github.com/signoff-app/signoff/store"
)

// lateCommit is the store, but for the first transaction after arming that
// records a decision: once committed, it returns only as its context ends,
// with the context's error, as a commit does whose answer came back after
// the caller's deadline.
type lateCommit struct {
	*store.DB
	armed atomic.Bool
}

func (s *lateCommit) InTx(ctx context.Context, fn func(ctx context.Context, tx approvals.Tx) error) error {
	if !s.armed.Load() {
		return s.DB.InTx(ctx, fn)
	}
	before := s.decisions()
	if err := s.DB.InTx(ctx, fn); err != nil || s.decisions() == before || !s.armed.CompareAndSwap(true, false) {
		return err
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("commit: %w", ctx.Err())
	case <-time.After(10 * time.Second):
		return errors.New("lateCommit: the transaction had no deadline")
	}
}

func (s *lateCommit) decisions() int {
	var n int
	if err := s.Pool().QueryRow(context.Background(), `SELECT count(*) FROM decisions`).Scan(&n); err != nil {
		return -1
	}
	return n
}

// TestClickCommittedAsBudgetRanOut: an Approve whose decision commits as
// DecideBudget runs out is not queued again (its delivery is recorded with
// the decision), and its clicker is still told that it counted, once. A
// retry of that click from Slack is not answered a second time.
func TestClickCommittedAsBudgetRanOut(t *testing.T) {
	h := newHarness(t)
	late := &lateCommit{DB: h.db}
	svc := corefix.Service(late, nil)
	b, err := bot.New(bot.Config{BotToken: "xoxb-test", SigningSecret: secret, APIURL: h.slack.URL()}, svc, h.db, svc.Logger)
	h.must(err)
	id := h.submitNew(uEditor, "Decided as time runs out")
	h.request(id)
	h.slack.Take()
	b.DecideBudget = 200 * time.Millisecond
	h.bot, h.http = b, b.Handler()
	late.armed.Store(true)

	body := slackfake.Payload(click(uClient, "signoff_approve", fmt.Sprintf("%d/1/client", id), chanAcme, "1700000000.000001"))
	if w := h.ack("/slack/interactions", "application/x-www-form-urlencoded", body, nil); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("click: %d %q, want an empty 200", w.Code, w.Body.String())
	}
	if late.armed.Load() {
		t.Fatal("no decision committed late: the test tried nothing")
	}
	if n := h.queued(); n != 0 {
		t.Errorf("clicks queued = %d, want 0 (decided in the request)", n)
	}
	h.work()
	if v := h.draft(id); v.State != approvals.StateApproved || len(v.Decisions) != 1 {
		t.Errorf("state %s with %d decisions, want approved with 1", v.State, len(v.Decisions))
	}
	eph := slackfake.Only(h.slack.Take(), "chat.postEphemeral")
	if len(eph) != 1 || !strings.Contains(eph[0].Str("text"), "already approved") || eph[0].Str("user") != uClient {
		t.Fatalf("answers = %+v, want one telling the clicker their approval counted", eph)
	}

	// Slack's retry of the same click (it got its 200 late, say).
	hd := slackfake.Sign(secret, time.Now(), body)
	hd.Set("X-Slack-Retry-Num", "1")
	h.ack("/slack/interactions", "application/x-www-form-urlencoded", body, hd)
	h.work()
	if eph := slackfake.Only(h.slack.Take(), "chat.postEphemeral"); len(eph) != 0 {
		t.Errorf("the retry was answered again: %+v", eph)
	}
	if v := h.draft(id); len(v.Decisions) != 1 {
		t.Errorf("%d decisions after the retry, want 1", len(v.Decisions))
	}
}
