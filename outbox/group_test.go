package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/signoff-app/signoff/approvals"
	"github.com/signoff-app/signoff/internal/corefix"
	"github.com/signoff-app/signoff/outbox"
)

// groupSender records the groups handed to it; fail, when set, is the
// error of each SendGroup.
type groupSender struct {
	mu      sync.Mutex
	groups  [][]int64 // the outbox IDs of each SendGroup
	singles int
	fail    error
}

func (s *groupSender) Send(context.Context, *approvals.Batch, *approvals.OutboxMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.singles++
	return nil
}

func (s *groupSender) SendGroup(_ context.Context, _ *approvals.Batch, group []*approvals.OutboxMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for _, m := range group {
		ids = append(ids, m.ID)
	}
	s.groups = append(s.groups, ids)
	return s.fail
}

// A group is held until its first message is due, then claimed whole
// (later messages too) and handed over as one send, whose one outcome is
// recorded for each message; a failed group is retried whole.
func TestDispatcherGroups(t *testing.T) {
	f := corefix.Standard(t)
	window := 2 * time.Minute
	f.Must(f.Svc.SetWorkspace(f.Ctx, f.Op(), approvals.WorkspaceSettings{GroupWindow: &window}))
	t0 := f.Now
	for i := range 3 {
		f.Now = t0.Add(time.Duration(i) * 30 * time.Second)
		f.Submit("ed@acme.test", "client", fmt.Sprintf("draft %d", i))
	}
	s := &groupSender{fail: errors.New("421 try later")}
	d := &outbox.Dispatcher{Store: f.DB, Senders: map[approvals.Channel]outbox.Sender{approvals.ChannelEmail: s},
		Now: func() time.Time { return f.Now }, Logger: slog.New(slog.DiscardHandler), Jitter: func() float64 { return 1 }}
	run := func() int {
		t.Helper()
		total := 0
		for {
			n, err := d.RunOnce(f.Ctx)
			f.OK(err)
			if n == 0 {
				return total
			}
			total += n
		}
	}
	f.Now = t0.Add(window - time.Second)
	if n := run(); n != 0 {
		t.Fatalf("claimed %d before the window ended", n)
	}
	f.Now = t0.Add(window)
	if n := run(); n != 9 {
		t.Fatalf("claimed %d at the end of the window, want 9 (3 drafts × 3 clients)", n)
	}
	if len(s.groups) != 3 || s.singles != 0 {
		t.Fatalf("groups %v, singles %d: want 3 groups of 3, no single sends", s.groups, s.singles)
	}
	for _, g := range s.groups {
		if len(g) != 3 {
			t.Errorf("group %v, want 3 messages", g)
		}
	}
	pending, err := f.Svc.Outbox(f.Ctx, approvals.OutboxPending, 100)
	f.OK(err)
	if len(pending) != 9 {
		t.Fatalf("%d pending after a failed group, want all 9 (retried whole)", len(pending))
	}

	s.fail, s.groups = nil, nil
	f.Now = f.Now.Add(time.Hour)
	if n := run(); n != 9 {
		t.Fatalf("claimed %d on the retry, want 9", n)
	}
	if len(s.groups) != 3 {
		t.Errorf("groups on the retry %v, want 3", s.groups)
	}
	sent, err := f.Svc.Outbox(f.Ctx, approvals.OutboxSent, 100)
	f.OK(err)
	if len(sent) != 9 {
		t.Errorf("%d sent, want 9", len(sent))
	}
}

// On a channel whose sender groups nothing, a group's messages go out one
// by one.
func TestDispatcherGroupsWithoutGroupSender(t *testing.T) {
	f := corefix.Standard(t)
	window := time.Minute
	f.Must(f.Svc.SetWorkspace(f.Ctx, f.Op(), approvals.WorkspaceSettings{GroupWindow: &window}))
	f.Submit("ed@acme.test", "client", "one")
	f.Submit("ed@acme.test", "client", "two")
	var mu sync.Mutex
	calls := 0
	d := &outbox.Dispatcher{Store: f.DB, Now: func() time.Time { return f.Now }, Logger: slog.New(slog.DiscardHandler),
		Senders: map[approvals.Channel]outbox.Sender{approvals.ChannelEmail: outbox.SenderFunc(func(context.Context, *approvals.Batch, *approvals.OutboxMessage) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return nil
		})}}
	f.Now = f.Now.Add(window)
	n, err := d.RunOnce(f.Ctx)
	f.OK(err)
	if n != 6 || calls != 6 {
		t.Errorf("claimed %d, %d sends: want 6 and 6", n, calls)
	}
}
