package kernel

import (
	"context"
	"errors"
	"slices"
)

// A snapshot is how a running machine is seen from outside (`isle top`,
// `/metrics`): the controller sends each core a request on its controller
// ring, and the core, between two SIPs, copies its counters and lists its
// SIPs into the request on its own goroutine, then closes done. Nothing a
// core owns is read by another goroutine; a core that runs a SIP answers
// when that SIP's slice ends (at most a slice, DefaultSlice).

// SIPState is a SIP's state as a snapshot sees it, in the letters of ps.
type SIPState byte

// SIP states.
const (
	StateRunnable SIPState = 'R' // in its core's run queue
	StateSleeping SIPState = 'S' // waiting for a timer, or blocked (a channel, a wake-up)
	StateService  SIPState = 'D' // its request is with a service, as Linux's D (waiting for I/O)
)

// SIPSnapshot is one live SIP in a snapshot.
type SIPSnapshot struct {
	PID     int64
	Name    string
	Core    int
	State   SIPState
	Nice    int
	CPUTime int64  // ns run so far
	Msgs    uint64 // channel messages sent and received (SIP.CountMessage)
}

// CoreSnapshot is one core's counters and SIPs at a moment.
type CoreSnapshot struct {
	At       int64 // machine time of the snapshot (ns since boot)
	RunQueue int   // runnable SIPs, the one that just ran included
	Stats    CoreStats
	SIPs     []SIPSnapshot // sorted by pid
}

// snapshotReq is a snapshot's request to one core: ownership of out moves to
// the core with the message and back to the controller with done's close.
type snapshotReq struct {
	out  CoreSnapshot
	done chan struct{}
}

// Deliver runs on the core: it fills out and closes done.
func (r *snapshotReq) Deliver(c *Core) {
	r.out = c.snapshot()
	close(r.done)
}

// snapshot copies the core's counters and describes the SIPs it owns.
func (c *Core) snapshot() CoreSnapshot {
	st := c.stats
	// The checker's count of the intervals closed so far: Stats has it
	// only from Stop on (balancer.finish).
	st.WastedIntervals = uint64(c.bal.checker.Count())
	st.CPUs = slices.Clone(st.CPUs)
	st.Wasted = slices.Clone(st.Wasted)
	out := CoreSnapshot{At: c.m.Now(), RunQueue: c.rq.Len(), Stats: st}
	for s := range c.owned {
		state := StateSleeping
		switch {
		case s.waiting:
			state = StateService
		case s.ent.Queued():
			state = StateRunnable
		}
		out.SIPs = append(out.SIPs, SIPSnapshot{PID: s.pid, Name: s.Name, Core: c.id, State: state,
			Nice: s.Nice, CPUTime: s.cpuTime, Msgs: s.msgs})
	}
	slices.SortFunc(out.SIPs, func(a, b SIPSnapshot) int { return int(a.PID - b.PID) })
	return out
}

// ErrNotRunning is Snapshot's error for a machine not booted or stopped.
var ErrNotRunning = errors.New("the machine is not running")

// Snapshot asks every core for its counters and SIPs and returns them, in
// core order, once all have answered, or ctx's error (the cores' answers
// then are not read: a late one writes only into its own request).
func (m *Machine) Snapshot(ctx context.Context) ([]CoreSnapshot, error) {
	reqs := make([]*snapshotReq, len(m.cores))
	for i := range reqs {
		reqs[i] = &snapshotReq{done: make(chan struct{})}
		if !m.Deliver(i, reqs[i]) {
			return nil, ErrNotRunning
		}
	}
	out := make([]CoreSnapshot, len(reqs))
	for i, r := range reqs {
		select {
		case <-r.done:
			out[i] = r.out
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// CountMessage counts one channel message sent or received by the SIP, for
// snapshots. Called on the SIP's coroutine (its core owns the count).
func (s *SIP) CountMessage() { s.msgs++ }
