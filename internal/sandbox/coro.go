package sandbox

import (
	"iter"
	"sync"
)

// Coroutines are reused.
//
// A process runs on a coroutine (iter.Pull), and a new coroutine starts on
// a small goroutine stack that wazero's calls grow, by copying it, several
// times: a profile of a small C program's spawns found a fifth of the
// process's time in growing stacks (4 µs of 19). So a coroutine whose
// process ended by itself (an exit or a trap, not a kill: a kill unwinds
// and ends the coroutine) is kept, with the stack it grew, and runs the
// next process that starts. The pool holds at most poolCoros; the
// garbage collector still shrinks an idle coroutine's stack as it does any
// goroutine's.

// poolCoros is the most coroutines kept for reuse.
const poolCoros = 64

// coro is a coroutine that runs processes one after the other.
//
// Ownership: like its current Process's fields (the owning core, or the
// coroutine itself while the owner waits in Resume); in the pool, guarded
// by the pool's lock.
type coro struct {
	next  func() (uint32, bool)
	stop  func()
	job   *Process // the process it runs; nil in the pool
	ended bool     // job has ended; the coroutine waits for the next
}

// body runs each job to its end and then waits, suspended, for the next;
// a stop (a kill, or the pool drained) ends it.
func (c *coro) body(yield func(uint32) bool) {
	for {
		c.job.run(yield)
		c.ended = true
		if !yield(0) {
			return
		}
	}
}

// coroPool keeps the coroutines of processes that ended by themselves.
type coroPool struct {
	mu   sync.Mutex
	free []*coro
}

// get returns a pooled coroutine, or a new one, to run p.
func (cp *coroPool) get(p *Process) *coro {
	cp.mu.Lock()
	var c *coro
	if n := len(cp.free); n > 0 {
		c = cp.free[n-1]
		cp.free = cp.free[:n-1]
	}
	cp.mu.Unlock()
	if c == nil {
		c = &coro{}
		c.next, c.stop = iter.Pull(c.body)
	}
	c.job, c.ended = p, false
	return c
}

// put keeps c, whose job has ended, or ends it.
func (cp *coroPool) put(c *coro) {
	c.job = nil
	cp.mu.Lock()
	if len(cp.free) < poolCoros {
		cp.free = append(cp.free, c)
		c = nil
	}
	cp.mu.Unlock()
	if c != nil {
		c.stop()
	}
}

// drain ends every pooled coroutine (the runtime is closing).
func (cp *coroPool) drain() {
	cp.mu.Lock()
	free := cp.free
	cp.free = nil
	cp.mu.Unlock()
	for _, c := range free {
		c.stop()
	}
}
