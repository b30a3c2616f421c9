package approvals

import (
	"context"
	"sync"
	"sync/atomic"
)

// MaxDecideEach bounds the drafts one DecideEach call decides: a review
// page or an App Home lists at most this many, and a form posting more
// was not made by Signoff.
const MaxDecideEach = 500

// decideEachWorkers is how many of a DecideEach call's decisions run at
// once: enough to overlap their round trips, few enough to leave the
// connection pool to everyone else.
const decideEachWorkers = 4

// Waiting returns the drafts waiting on the actor's decision across the
// accounts they approve, each built for them (as Inbox.Waiting), oldest
// first. It reads in a fixed number of statements whatever the number of
// drafts, so a review page of hundreds costs what a page of one does.
// Errors: ENOTFOUND, EUNAUTHORIZED (ReasonDeactivated for a deactivated
// member).
func (s *Service) Waiting(ctx context.Context, a Actor) ([]*DraftView, error) {
	var out []*DraftView
	err := s.read(ctx, a, "draft.waiting", func(ctx context.Context, tx Tx, p *principal) error {
		if err := requireMember(p); err != nil {
			return err
		}
		var err error
		out, err = s.waitingOn(ctx, tx, p)
		return err
	})
	return out, err
}

// DecideOutcome is what deciding one draft of a DecideEach call came to:
// Result when it was decided (or had been, by the actor, with the same
// verdict: Result.Noop), else Err.
type DecideOutcome struct {
	Input  DecideInput
	Result *DecisionResult
	Err    error
}

// Decided reports whether this call recorded the decision.
func (o DecideOutcome) Decided() bool { return o.Err == nil && o.Result != nil && !o.Result.Noop }

// Skipped reports whether the draft was left alone because it changed
// since it was shown: revised, withdrawn, expired or decided (by the actor
// or anyone else). Any other error is a refusal or a failure.
func (o DecideOutcome) Skipped() bool {
	return (o.Err == nil && o.Result != nil && o.Result.Noop) || ErrorCode(o.Err) == ECONFLICT
}

// DecideEach decides each input on its own through Decide and reports
// every outcome, in the order of the inputs: one draft revised, withdrawn, decided or refused
// since it was shown is left alone and does not stop the others. Every
// input must pin the revision and tier that were shown, so that nothing is
// decided that the approver did not see. A draft named twice is decided
// once.
// Errors (of the whole call, before anything is decided): EINVALID (no
// inputs, too many, an input without revision or tier, or a verdict other
// than approve or reject).
func (s *Service) DecideEach(ctx context.Context, a Actor, ins []DecideInput) ([]DecideOutcome, error) {
	if len(ins) == 0 {
		return nil, Errorf(EINVALID, "no drafts to decide")
	}
	if len(ins) > MaxDecideEach {
		return nil, Errorf(EINVALID, "%d drafts at once: at most %d", len(ins), MaxDecideEach)
	}
	seen := map[int64]bool{}
	var list []DecideInput
	for _, in := range ins {
		if in.DraftID <= 0 || in.Revision <= 0 {
			return nil, Errorf(EINVALID, "each draft needs the revision that was shown")
		}
		t, err := ParseTier(string(in.Tier))
		if err != nil {
			return nil, err
		}
		in.Tier = t
		if in.Verdict != VerdictApprove && in.Verdict != VerdictReject {
			return nil, Errorf(EINVALID, "unknown verdict %q", in.Verdict)
		}
		if !seen[in.DraftID] {
			seen[in.DraftID] = true
			list = append(list, in)
		}
	}
	// The drafts are independent (each Decide locks only its own), so a
	// few go at once: a hundred approvals take a fraction of a hundred
	// round-trip sequences.
	out := make([]DecideOutcome, len(list))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(decideEachWorkers, len(list)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(list) {
					return
				}
				res, err := s.Decide(ctx, a, list[i])
				out[i] = DecideOutcome{Input: list[i], Result: res, Err: err}
			}
		})
	}
	wg.Wait()
	return out, nil
}
