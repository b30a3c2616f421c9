package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/corefix"
)

// settled is what a decision writes about its draft, read from the
// database: the draft's row and how many rows of each kind it has.
type settled struct {
	State                                string
	UpdatedAt                            time.Time
	Decisions, Audited, Outbox, Handoffs int
	ClockTier                            string
	ClockEnteredAt                       *time.Time
	RefusedAudits                        int
}

func readSettled(t *testing.T, w *corefix.World, draftID int64) settled {
	t.Helper()
	var s settled
	var tier *string
	w.OK(w.DB.Pool().QueryRow(w.Ctx, `
		SELECT d.state, d.updated_at,
			(SELECT count(*) FROM decisions x WHERE x.draft_id = d.id),
			(SELECT count(*) FROM audit_log a WHERE a.draft_id = d.id AND a.outcome = 'ok'),
			(SELECT count(*) FROM outbox o WHERE o.workspace_id = d.workspace_id),
			(SELECT count(*) FROM handoffs h WHERE h.draft_id = d.id),
			(SELECT c.tier FROM draft_clocks c WHERE c.draft_id = d.id),
			(SELECT c.entered_at FROM draft_clocks c WHERE c.draft_id = d.id),
			(SELECT count(*) FROM audit_log a WHERE a.draft_id = d.id AND a.outcome = 'refused')
		FROM drafts d WHERE d.id = $1`, draftID).Scan(&s.State, &s.UpdatedAt, &s.Decisions, &s.Audited, &s.Outbox,
		&s.Handoffs, &tier, &s.ClockEnteredAt, &s.RefusedAudits))
	if tier != nil {
		s.ClockTier = *tier
	}
	s.UpdatedAt = s.UpdatedAt.UTC()
	if s.ClockEnteredAt != nil {
		at := s.ClockEnteredAt.UTC()
		s.ClockEnteredAt = &at
	}
	return s
}

// TestHeldSettleFails: a decision's draft update, hand-off and tier clock
// are held to its commit (callTx, HeldTx); one that fails there (a check
// constraint the test adds) fails the call, and nothing of it stays: no
// decision, no audit entry of it, no outbox row, the draft, its clock and
// hand-off as they were; no refusal is audited either, since the commit,
// not the call's own code, failed. With the constraint gone the same
// decision goes through, and answers the draft as stored.
func TestHeldSettleFails(t *testing.T) {
	w := corefix.Standard(t)
	// Nanoseconds, which the database does not keep: the answer must not
	// either.
	w.Now = w.Now.Add(123456789 * time.Nanosecond)
	cases := []struct {
		name       string
		account    string // "both": internal then client; "client": client only
		approver   string
		verdict    approvals.Verdict
		table      string
		check      string // what the table's new rows must satisfy
		after      approvals.State
		wantClock  approvals.Tier // the clock's tier after the decision that succeeds
		wantHanded int
	}{
		{"draft update to the next tier", "both", "admin@acme.test", approvals.VerdictApprove,
			"drafts", "state <> 'pending_client'", approvals.StatePendingClient, approvals.TierClient, 0},
		{"tier clock of the next tier", "both", "admin@acme.test", approvals.VerdictApprove,
			"draft_clocks", "tier <> 'client'", approvals.StatePendingClient, approvals.TierClient, 0},
		{"draft update to approved", "client", "c1@client.test", approvals.VerdictApprove,
			"drafts", "state <> 'approved'", approvals.StateApproved, approvals.TierClient, 1},
		{"hand-off", "client", "c1@client.test", approvals.VerdictApprove,
			"handoffs", "revision < 0", approvals.StateApproved, approvals.TierClient, 1},
		{"draft update to rejected", "client", "c1@client.test", approvals.VerdictReject,
			"drafts", "state <> 'rejected'", approvals.StateRejected, approvals.TierClient, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := w.Submit("ed@acme.test", c.account, c.name)
			w.Now = w.Now.Add(time.Minute)
			before := readSettled(t, w, v.ID)
			in := approvals.DecideInput{DraftID: v.ID, Verdict: c.verdict}
			if c.verdict == approvals.VerdictReject {
				in.Comment = "not like this"
			}

			w.OK(exec(w, `ALTER TABLE `+c.table+` ADD CONSTRAINT held_test CHECK (`+c.check+`) NOT VALID`))
			_, err := w.Svc.Decide(w.Ctx, w.As(c.approver), in)
			w.OK(exec(w, `ALTER TABLE `+c.table+` DROP CONSTRAINT held_test`))
			wantErr(t, err, approvals.EINVALID, "held_test")
			got := readSettled(t, w, v.ID)
			if d := cmp.Diff(before, got); d != "" {
				t.Fatalf("a failed held write left rows (-before +after):\n%s", d)
			}

			r, err := w.Svc.Decide(w.Ctx, w.As(c.approver), in)
			w.OK(err)
			got = readSettled(t, w, v.ID)
			if got.State != string(c.after) || got.Decisions != before.Decisions+1 || got.Audited != before.Audited+1 ||
				got.Outbox <= before.Outbox || got.Handoffs != c.wantHanded || got.ClockTier != string(c.wantClock) {
				t.Fatalf("after the decision: %+v (before %+v)", got, before)
			}
			if c.after == approvals.StatePendingClient && (got.ClockEnteredAt == nil || !got.ClockEnteredAt.Equal(w.Now.Truncate(time.Microsecond))) {
				t.Errorf("clock entered at %v, want %v", got.ClockEnteredAt, w.Now)
			}
			// The answer holds the draft as UpdateDraft would have read it back.
			var stored *approvals.Draft
			mustTx(t, w.DB, func(ctx context.Context, tx approvals.Tx) error {
				stored, err = tx.DraftByID(ctx, v.WorkspaceID, v.ID)
				return err
			})
			if d := cmp.Diff(*stored, r.Draft.Draft); d != "" {
				t.Errorf("answered draft differs from the stored row (-stored +answered):\n%s", d)
			}
		})
	}
}

func exec(w *corefix.World, sql string) error {
	_, err := w.DB.Pool().Exec(w.Ctx, sql)
	return err
}

// TestHeldHandoffConflict: a decision's hand-off is a plain insert, since
// the draft it approves had none. Should the draft have one anyway (a
// bug: here a row the test slips in), the commit fails with ECONFLICT and
// nothing of the decision stays; the hand-off is not silently kept.
func TestHeldHandoffConflict(t *testing.T) {
	w := corefix.Standard(t)
	v := w.Submit("ed@acme.test", "client", "handed off twice")
	w.Now = w.Now.Add(time.Minute)
	w.OK(exec(w, fmt.Sprintf(`INSERT INTO handoffs (workspace_id, draft_id, account_id, revision)
		SELECT workspace_id, id, account_id, revision FROM drafts WHERE id = %d`, v.ID)))
	before := readSettled(t, w, v.ID)
	in := approvals.DecideInput{DraftID: v.ID, Verdict: approvals.VerdictApprove}
	_, err := w.Svc.Decide(w.Ctx, w.As("c1@client.test"), in)
	wantErr(t, err, approvals.ECONFLICT)
	if d := cmp.Diff(before, readSettled(t, w, v.ID)); d != "" {
		t.Fatalf("the failed decision left rows (-before +after):\n%s", d)
	}

	w.OK(exec(w, fmt.Sprintf(`DELETE FROM handoffs WHERE draft_id = %d`, v.ID)))
	_, err = w.Svc.Decide(w.Ctx, w.As("c1@client.test"), in)
	w.OK(err)
	if got := readSettled(t, w, v.ID); got.State != string(approvals.StateApproved) || got.Handoffs != 1 || got.Decisions != before.Decisions+1 {
		t.Fatalf("after the decision: %+v (before %+v)", got, before)
	}
}
