package outbox

import (
	"sync"
	"time"
)

// pool runs tasks on at most n goroutines, in the order they are given.
// Its goroutines stay for linger after their last task: a busy
// dispatcher's sends then run on goroutines whose stacks have already
// grown to what rendering and SMTP take, where a new goroutine per send
// grew its stack again each time (about 7% of the dispatcher's CPU).
type pool struct {
	n      int
	linger time.Duration
	tasks  chan func()

	mu      sync.Mutex
	running int
}

func newPool(n, queue int, linger time.Duration) *pool {
	return &pool{n: max(1, n), linger: linger, tasks: make(chan func(), max(1, queue))}
}

// submit queues task, starting a goroutine if fewer than n run. It blocks
// while the queue is full: the goroutines drain it, and tasks never submit.
func (p *pool) submit(task func()) {
	p.tasks <- task
	p.mu.Lock()
	start := p.running < p.n
	if start {
		p.running++
	}
	p.mu.Unlock()
	if start {
		go p.work()
	}
}

func (p *pool) work() {
	idle := time.NewTimer(p.linger)
	defer idle.Stop()
	for {
		select {
		case task := <-p.tasks:
			task()
			continue
		default:
		}
		idle.Reset(p.linger)
		select {
		case task := <-p.tasks:
			task()
		case <-idle.C:
			if p.leave() {
				return
			}
		}
	}
}

// leave ends a goroutine unless a task came meanwhile. A submit queues its
// task before it counts the goroutines, under the same lock: either it
// sees this one gone and starts another, or this one sees its task.
func (p *pool) leave() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.tasks) > 0 {
		return false
	}
	p.running--
	return true
}
