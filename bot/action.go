package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/bot/slackstate"
)

// Slack gets its answer to a decision click within its three seconds: the
// handler verifies the request and, when the database answers within
// DecideBudget, decides the click in one transaction that also records the
// delivery (decideNow). Otherwise (and for "Approve all" and the comment
// modals), it claims the delivery and queues the click in Postgres
// (slack_actions) in one statement; the worker then decides through the
// core. Either way the clicker is told the outcome ephemerally. The
// message itself is updated by the outbox (decision_recorded), as for
// every channel. A worker that dies after the acknowledgement leaves the
// click queued: its lease runs out and a worker (this replica or another)
// acts on it; a decision made twice by one approver is a no-op in the
// core, so nothing acts twice.

// queuedAction is a decision click as it waits in the queue: everything
// the worker needs to decide and to answer.
type queuedAction struct {
	Meta     approvals.Meta    `json:"meta"` // the request's, for the audit log
	TeamID   string            `json:"team"`
	UserID   string            `json:"user"`
	Channel  string            `json:"channel,omitempty"` // where to answer; "" for the user's DM
	Home     bool              `json:"home,omitempty"`    // clicked in App Home: publish it again after
	DraftID  int64             `json:"draft"`
	Revision int               `json:"revision"`
	Tier     approvals.Tier    `json:"tier"`
	Verdict  approvals.Verdict `json:"verdict"`
	Comment  string            `json:"comment,omitempty"`
	// Items are the drafts of an "Approve all" (approveall.go), each as
	// the modal listed it; DraftID is then 0.
	Items   []decisionRef `json:"items,omitempty"`
	Account string        `json:"account,omitempty"` // the account they wait on, for the report
}

// Defaults of the action worker.
const (
	defaultActionLease    = 30 * time.Second
	defaultActionInterval = time.Second
	defaultDecideBudget   = 1500 * time.Millisecond
	// defaultActionWorkers loops each lease up to actionBatch clicks at a
	// time, so that a slow click (or its ephemeral answer) holds up only its
	// own loop's batch. With the store's pool of 16 connections the
	// acknowledgements, which need one for their one INSERT, still find one
	// free.
	defaultActionWorkers = 4
	actionBatch          = 4
	// maxActionAttempts bounds the leases of a click that keeps failing
	// for a transient cause; then the clicker is told to try again.
	maxActionAttempts = 8
)

// enqueue claims the delivery key and queues the click in one statement,
// then wakes the worker. False means the delivery was seen before.
func (b *Bot) enqueue(ctx context.Context, key string, q queuedAction) (bool, error) {
	payload, err := json.Marshal(q)
	if err != nil {
		return false, fmt.Errorf("encode slack action: %w", err)
	}
	ok, err := b.store.EnqueueSlackAction(ctx, key, payload)
	if err != nil || !ok {
		return false, err
	}
	select {
	case b.actionWake <- struct{}{}:
	default:
	}
	return true, nil
}

// RunActions acts on queued clicks until ctx ends, in ActionWorkers loops:
// at once when this process queued one, else every ActionInterval (clicks
// queued by another replica, leases run out, retries come due).
func (b *Bot) RunActions(ctx context.Context) error {
	var wg sync.WaitGroup
	for range max(1, b.ActionWorkers) {
		wg.Go(func() { b.runActionLoop(ctx) })
	}
	wg.Wait()
	return nil
}

func (b *Bot) runActionLoop(ctx context.Context) {
	for {
		n, err := b.RunActionsOnce(ctx)
		if err != nil && ctx.Err() == nil {
			b.logger.WarnContext(ctx, "slack actions", "err", err)
		}
		if n > 0 && err == nil {
			// More may be due: wake another loop too.
			select {
			case b.actionWake <- struct{}{}:
			default:
			}
			continue
		}
		t := time.NewTimer(b.ActionInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-b.actionWake:
			t.Stop()
		case <-t.C:
		}
	}
}

// RunActionsOnce leases one batch of due clicks (up to actionBatch) and
// acts on them concurrently, returning how many it leased.
func (b *Bot) RunActionsOnce(ctx context.Context) (int, error) {
	rows, err := b.store.ClaimSlackActions(ctx, time.Now().UTC(), actionBatch, b.ActionLease)
	if err != nil {
		return 0, fmt.Errorf("claim slack actions: %w", err)
	}
	// A batch leased is finished even when ctx ends (shutdown): the clicks
	// were acknowledged. It gets half the lease at most, so that no other
	// worker takes a click this one is still acting on.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(b.FollowUpTimeout, b.ActionLease/2))
	defer cancel()
	var wg sync.WaitGroup
	done := make([]bool, len(rows))
	for i, row := range rows {
		wg.Go(func() { done[i] = b.act(actx, row) })
	}
	wg.Wait()
	var ids []int64
	for i, row := range rows {
		if done[i] {
			ids = append(ids, row.ID)
		}
	}
	// Removed together, in one statement: should that fail, the leases run
	// out and acting again is a no-op in the core.
	if len(ids) > 0 {
		if err := b.store.DeleteSlackActions(actx, ids); err != nil {
			return len(rows), fmt.Errorf("delete slack actions: %w", err)
		}
	}
	return len(rows), nil
}

// act decides one queued click through the core and answers the clicker
// with the outcome. It reports whether the click is done with (to remove
// from the queue); a transient failure leaves it queued for a later
// attempt.
func (b *Bot) act(ctx context.Context, row *slackstate.Action) bool {
	var q queuedAction
	if err := json.Unmarshal(row.Payload, &q); err != nil {
		b.logger.ErrorContext(ctx, "slack action undecodable; dropped", "id", row.ID, "key", row.Key, "err", err)
		return true
	}
	req := Request{Meta: q.Meta}
	a, _, err := b.identify(ctx, req, q.TeamID, q.UserID)
	var res *approvals.DecisionResult
	var all []approvals.DecideOutcome
	switch {
	case err != nil:
	case len(q.Items) > 0:
		if all, err = b.decideAll(ctx, a, q); err == nil {
			for _, o := range all {
				if transient(o.Err) {
					// Retried as a whole: what was decided is a no-op then.
					err = o.Err
					break
				}
			}
		}
	default:
		res, err = b.svc.Decide(ctx, a, approvals.DecideInput{DraftID: q.DraftID, Revision: q.Revision, Tier: q.Tier,
			Verdict: q.Verdict, Comment: q.Comment})
	}
	if err != nil && transient(err) && row.Attempts < maxActionAttempts && ctx.Err() == nil {
		next := time.Now().Add(min(time.Duration(1<<row.Attempts)*time.Second, time.Minute))
		if rerr := b.store.RetrySlackAction(ctx, row.ID, next, err.Error()); rerr != nil {
			b.logger.WarnContext(ctx, "slack action retry", "id", row.ID, "err", rerr) // the lease runs out instead
		}
		b.logger.WarnContext(ctx, "slack action failed; will retry", "id", row.ID, "attempt", row.Attempts, "err", err)
		return false
	}
	if ctx.Err() != nil && err != nil {
		return false // out of time: the lease runs out and a worker acts again
	}
	b.answerClick(ctx, q, row.CreatedAt, res, all, err)
	return true
}

// decideNow decides an Approve click within the request, when the
// database answers within DecideBudget: one transaction, which records the
// delivery with the decision, instead of three (queue, decide, remove); a
// refused click's delivery is recorded on its own, so that it is answered
// once. It reports false when the click must be queued instead: a transient
// failure, or no answer in time. Nothing was recorded then, unless the
// commit landed as time ran out, in which case queueing finds the delivery
// recorded and the clicker is answered from what the core says of the
// draft (answerDecided).
func (b *Bot) decideNow(ctx context.Context, key string, q queuedAction) bool {
	if b.DecideBudget <= 0 {
		return false
	}
	dctx, cancel := context.WithTimeout(ctx, b.DecideBudget)
	defer cancel()
	req := Request{Meta: q.Meta}
	a := actor(req, q.TeamID, q.UserID)
	var err error
	if !b.linked.recent(q.TeamID, q.UserID, time.Now()) {
		// Learn whether to link them first (identify links a user of the
		// workspace's team on their first click).
		var m *approvals.Member
		if a, m, err = b.identify(dctx, req, q.TeamID, q.UserID); err == nil && m != nil {
			b.linked.add(q.TeamID, q.UserID, time.Now())
		}
	}
	var res *approvals.DecisionResult
	if err == nil {
		res, err = b.svc.Decide(dctx, a, approvals.DecideInput{DraftID: q.DraftID, Revision: q.Revision, Tier: q.Tier,
			Verdict: q.Verdict, Comment: q.Comment, Delivery: key})
	}
	switch {
	case approvals.ErrorReason(err) == approvals.ReasonDelivered:
		return true // a retry of a click acted on and answered before
	case err != nil && (transient(err) || dctx.Err() != nil):
		return false
	case err != nil:
		// Refused: nothing committed the delivery's key, so record it
		// now, that a retry of this click is not answered again.
		if first, cerr := b.store.ClaimSlackDelivery(ctx, key); cerr != nil {
			b.logger.WarnContext(ctx, "slack delivery of a refused click", "err", cerr)
		} else if !first {
			return true
		}
	}
	b.later(ctx, "answer", func(ctx context.Context) error {
		b.answerClick(ctx, q, time.Time{}, res, nil, err)
		return nil
	})
	return true
}

// answerDecided answers a click whose decision committed as decideNow's
// budget ran out, unanswered: the core's preview of the decision, a read
// that writes no audit entry, says it is made ("you already approved draft
// 12 at …"). Should it not be made after all, it is made now.
func (b *Bot) answerDecided(ctx context.Context, q queuedAction) {
	b.later(ctx, "answer", func(ctx context.Context) error {
		a, _, err := b.identify(ctx, Request{Meta: q.Meta}, q.TeamID, q.UserID)
		in := approvals.DecideInput{DraftID: q.DraftID, Revision: q.Revision, Tier: q.Tier, Verdict: q.Verdict, Comment: q.Comment}
		var res *approvals.DecisionResult
		if err == nil {
			if _, err = b.svc.PreviewDecision(ctx, a, in); err == nil {
				res, err = b.svc.Decide(ctx, a, in)
			}
		}
		b.answerClick(ctx, q, time.Time{}, res, nil, err)
		return nil
	})
}

// linkedUsers remembers, for a minute, the Slack users found linked to a
// member, so that a click of theirs goes straight to the core: the core
// resolves the user again in the decision's own transaction, so a link
// removed meanwhile still refuses the click. Bounded: when full, it
// forgets everyone.
type linkedUsers struct {
	mu sync.Mutex
	at map[string]time.Time
}

const (
	linkedFor = time.Minute
	linkedMax = 10_000
)

func (l *linkedUsers) recent(team, user string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.at[team+"/"+user]
	return ok && now.Sub(at) < linkedFor
}

func (l *linkedUsers) add(team, user string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.at == nil || len(l.at) >= linkedMax {
		l.at = map[string]time.Time{}
	}
	l.at[team+"/"+user] = now
}

// answerClick tells the clicker what came of their click (a decision, an
// "Approve all" queued at queuedAt, or the refusal err), and publishes
// their App Home again when they clicked there.
func (b *Bot) answerClick(ctx context.Context, q queuedAction, queuedAt time.Time, res *approvals.DecisionResult, all []approvals.DecideOutcome, err error) {
	text := ""
	switch {
	case all != nil:
		b.wake()
		text = b.allReport(ctx, q.Account, queuedAt, all)
	case err != nil:
		text = b.userMessage(ctx, err)
	default:
		b.wake() // the decision enqueued outbox messages
		text = upperFirst(res.Message) + "."
	}
	if serr := b.say(ctx, q.Channel, q.UserID, text); serr != nil {
		b.logger.WarnContext(ctx, "slack action answer", "draft", q.DraftID, "err", serr)
	}
	if (err == nil || all != nil) && q.Home {
		if herr := b.publishHome(ctx, Request{Meta: q.Meta}, q.TeamID, q.UserID); herr != nil {
			b.logger.WarnContext(ctx, "slack follow-up failed", "what", "app home", "err", herr)
		}
	}
}
