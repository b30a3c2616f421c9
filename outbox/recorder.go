package outbox

import (
	"context"
	"time"

	"github.com/signoff-app/signoff/approvals"
)

// record has the outcome of one delivery written and waits until it is
// committed, even when ctx ended meanwhile (shutdown): a delivery left
// unrecorded would be made again once the lease runs out. Deliveries cut
// short by the shutdown itself are left to the lease.
func (d *Dispatcher) record(ctx context.Context, rec *recorder, m *approvals.OutboxMessage, r delivery) error {
	o, ok := d.outcome(ctx, m, r, d.Now().UTC(), ctx.Err() != nil)
	if !ok {
		return nil
	}
	return rec.record(o)
}

// recordGroup has the outcome of a group's one delivery written for each of
// its messages, committed together, and waits for the commit (see record).
func (d *Dispatcher) recordGroup(ctx context.Context, rec *recorder, group []*approvals.OutboxMessage, r delivery) error {
	now, stopping := d.Now().UTC(), ctx.Err() != nil
	var outcomes []approvals.OutboxOutcome
	for _, m := range group {
		if o, ok := d.outcome(ctx, m, r, now, stopping); ok {
			outcomes = append(outcomes, o)
		}
	}
	return rec.record(outcomes...)
}

// recorder writes the outcomes of a dispatcher's claimed batches (one
// recorder serves the batches out at once, so their workers share commits
// too). The outcomes handed to it while a commit is under way are written
// together, in one transaction, as soon as that commit ends; each caller
// waits for the commit of its own outcome. Under load the group grows to
// the number of workers waiting, with no timer: a lone outcome is
// committed at once.
type recorder struct {
	d    *Dispatcher
	ctx  context.Context // the dispatcher's, without its cancellation
	in   chan recordReq
	done chan struct{}
}

// recordReq is one delivery's outcomes waiting for their commit (several
// for a group, committed together); err gets the result.
type recordReq struct {
	os  []approvals.OutboxOutcome
	err chan error
}

// startRecorder starts a recorder for up to n outcomes waiting at once.
func (d *Dispatcher) startRecorder(ctx context.Context, n int) *recorder {
	r := &recorder{d: d, ctx: context.WithoutCancel(ctx), in: make(chan recordReq, n), done: make(chan struct{})}
	go r.run()
	return r
}

// record hands the outcomes of one delivery to the recorder and waits
// until they are committed, in one transaction.
func (r *recorder) record(outcomes ...approvals.OutboxOutcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	errc := make(chan error, 1)
	r.in <- recordReq{os: outcomes, err: errc}
	return <-errc
}

// close stops the recorder once every outcome handed to it is committed.
// Nothing may be recorded after.
func (r *recorder) close() {
	close(r.in)
	<-r.done
}

func (r *recorder) run() {
	defer close(r.done)
	var group []recordReq
	var outcomes []approvals.OutboxOutcome
	for req := range r.in {
		group, outcomes = append(group[:0], req), append(outcomes[:0], req.os...)
	more:
		for {
			select {
			case req, ok := <-r.in:
				if !ok {
					break more
				}
				group, outcomes = append(group, req), append(outcomes, req.os...)
			default:
				break more
			}
		}
		err := r.commit(outcomes)
		for _, req := range group {
			req.err <- err
		}
	}
}

// commit writes outcomes in one transaction, which has committed when it
// returns. The slice is the recorder's to reuse afterwards.
func (r *recorder) commit(outcomes []approvals.OutboxOutcome) error {
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	stale, err := r.d.Store.MarkOutboxBatch(ctx, r.d.Now().UTC(), outcomes)
	if err == nil && len(stale) > 0 {
		r.d.Logger.WarnContext(ctx, "outbox lease ran out before the outcome was recorded (is outbox.lease shorter than a send takes?)",
			"outbox_ids", stale)
	}
	return err
}
