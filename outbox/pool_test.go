package outbox

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPool: every task runs, in the order given when one goroutine takes
// them, never more than n at once, also when the queue is full and when
// the goroutines have ended between tasks.
func TestPool(t *testing.T) {
	tests := []struct {
		name         string
		n, queue     int
		tasks        int
		pauseEvery   int // wait past the linger after this many tasks (0: never)
		wantOrdered  bool
		wantOverlaps bool
	}{
		{name: "one goroutine keeps the order", n: 1, queue: 4, tasks: 200, wantOrdered: true},
		{name: "four at most, queue smaller than the tasks", n: 4, queue: 2, tasks: 200, wantOverlaps: true},
		{name: "goroutines end and start again", n: 3, queue: 8, tasks: 30, pauseEvery: 10, wantOverlaps: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(tt.n, tt.queue, 5*time.Millisecond)
			var inFlight, most atomic.Int32
			var mu sync.Mutex
			var order []int
			var wg sync.WaitGroup
			for i := range tt.tasks {
				if tt.pauseEvery > 0 && i > 0 && i%tt.pauseEvery == 0 {
					wg.Wait()
					waitFor(t, func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.running == 0 })
				}
				wg.Add(1)
				p.submit(func() {
					defer wg.Done()
					n := inFlight.Add(1)
					for {
						m := most.Load()
						if n <= m || most.CompareAndSwap(m, n) {
							break
						}
					}
					time.Sleep(100 * time.Microsecond)
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
					inFlight.Add(-1)
				})
			}
			wg.Wait()
			if len(order) != tt.tasks {
				t.Fatalf("%d tasks ran; want %d", len(order), tt.tasks)
			}
			if got := int(most.Load()); got > tt.n {
				t.Errorf("%d tasks ran at once; want at most %d", got, tt.n)
			}
			if tt.wantOverlaps && most.Load() < 2 {
				t.Error("no two tasks ever overlapped")
			}
			if tt.wantOrdered {
				for i, got := range order {
					if got != i {
						t.Fatalf("task %d ran as number %d; want them in order", got, i)
					}
				}
			}
			// Idle, every goroutine ends.
			waitFor(t, func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.running == 0 })
		})
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the pool's goroutines did not end after their linger")
		}
	}
}
