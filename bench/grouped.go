package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/slackfake"
)

// Grouped requests: with a grouping window, the requests to one approver
// queued within it go out as one email when the window of the first ends.
const (
	groupedWindow  = 2 * time.Second
	groupedRounds  = 3
	groupedDrafts  = 5
	targetLateness = 1000 // ms past the end of the window
)

// groupedResult is the lateness of grouped emails: how long after the
// first request was queued plus the window the last email of a group
// reached the sink.
type groupedResult struct {
	Lateness samples
	Emails   int // grouped emails that arrived
	Want     int // emails expected: one per approver per round
	Err      error
}

// measureGrouped sets the workspace's window to groupedWindow, submits
// groupedDrafts drafts at once to one account per round by slash command
// and measures each round's lateness; it sets the window back to 0.
func (e *env) measureGrouped(ctx context.Context, w *world) *groupedResult {
	res := &groupedResult{}
	svc := e.main.Service
	op := approvals.Actor{WorkspaceID: w.WorkspaceID, Channel: approvals.ChannelCLI}
	set := func(d time.Duration) error {
		_, err := svc.SetWorkspace(ctx, op, approvals.WorkspaceSettings{GroupWindow: &d})
		return err
	}
	if res.Err = set(groupedWindow); res.Err != nil {
		return res
	}
	defer func() {
		if err := set(0); err != nil && res.Err == nil {
			res.Err = err
		}
	}()
	for round := range groupedRounds {
		acc := w.Accounts[round%len(w.Accounts)]
		ed := w.Editors[round%len(w.Editors)]
		before, _, _ := e.smtp.stats()
		start := time.Now()
		var markers []string
		for i := range groupedDrafts {
			mk := w.marker()
			markers = append(markers, mk)
			text := fmt.Sprintf("submit %s Grouped draft %s: autumn range.", acc.Handle, mk)
			body := slackfake.Command(slackTeam, ed.SlackUser, "CSTAFF", text, fmt.Sprintf("1337.%d.%d.grouped", round, i))
			if err := e.postSlack(ctx, "/slack/commands", body); err != nil {
				res.Err = err
				return res
			}
		}
		// A slash command may be acknowledged before its submission is
		// queued: wait for the round's requests to be in the outbox.
		want := len(acc.Approvers)
		res.Want += want
		deadline := time.Now().Add(groupedWindow + 30*time.Second)
		var first *time.Time
		for {
			var n int
			if err := e.main.DB.Pool().QueryRow(ctx, `
				SELECT count(*), min(created_at) FROM outbox
				WHERE group_key IS NOT NULL AND workspace_id = $1 AND created_at >= $2`,
				w.WorkspaceID, start).Scan(&n, &first); err != nil {
				res.Err = fmt.Errorf("grouped: first queued: %w", err)
				return res
			}
			if n >= groupedDrafts*want {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				res.Err = fmt.Errorf("grouped: round %d: %d of %d requests queued", round, n, groupedDrafts*want)
				return res
			}
			time.Sleep(5 * time.Millisecond)
		}
		var last time.Time
		for {
			arrived, all := time.Time{}, true
			for _, mk := range markers {
				t, ok := e.smtp.arrival(mk)
				if !ok {
					all = false
					break
				}
				arrived = maxTime(arrived, t)
			}
			n, _, _ := e.smtp.stats()
			if all && n-before >= want {
				last = arrived
				res.Emails += n - before
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				res.Err = fmt.Errorf("grouped: round %d: %d of %d emails after %s", round, n-before, want, time.Since(start).Round(time.Second))
				return res
			}
			time.Sleep(10 * time.Millisecond)
		}
		res.Lateness.add(last.Sub(first.Add(groupedWindow)))
	}
	return res
}
