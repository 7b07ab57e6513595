package kernel

import (
	"sync/atomic"

	"isle/internal/sched"
)

// Group scheduling (docs/scheduler.md, "Groups"): every SIP belongs to the
// group of its process tree, the SIPs descended from one SIP that the
// embedder spawned (Linux's autogroup gives a session one such share). A
// group weighs on the machine what one SIP of its root's nice weighs,
// however many of its members are runnable: fifty spinners that one program
// spawns share one program's part of the machine with the program beside
// them. Each member is queued with its part of its group's weight
// (sched.GroupShare), in proportion to its own weight among the group's
// runnable members on every core; the run queues and the balancer see
// those weights and need nothing else.
//
// The group's load, the sum of its runnable members' own weights, is the
// one figure the members' cores share: an atomic that a core adds to when a
// member becomes runnable on it and takes from when it stops being runnable
// (a migration changes nothing). A core recomputes a member's share when it
// queues it, after each of its runs and at each balancing tick for all it
// holds, so a share lags the group's load by a tick at most.

// Group is one process tree's share of the machine.
//
// Ownership: weight is immutable after the root's spawn; load is shared by
// every core that owns a member (atomic, docs/design.md's lock table).
type Group struct {
	weight int64        // what the group weighs: the weight of its root's nice
	load   atomic.Int64 // Σ own weight (nice) of its runnable members, machine-wide
}

// groupFor returns the group a SIP being spawned joins: its parent's, or a
// new one that it roots.
func groupFor(s *SIP) *Group {
	if s.Parent != nil && s.Parent.group != nil {
		return s.Parent.group
	}
	return &Group{weight: sched.NiceToWeight(s.Nice)}
}

// ownWeight is the weight of the SIP's nice, its weight in its group.
func (s *SIP) ownWeight() int64 { return sched.NiceToWeight(s.ent.Nice) }

// share is the SIP's weight in a run queue now: its part of its group's.
func (s *SIP) share() int64 {
	return sched.GroupShare(s.group.weight, s.ownWeight(), s.group.load.Load())
}

// count adds the SIP's weight to its group's load (runnable) or takes it
// away, once each way.
func (s *SIP) count(runnable bool) {
	if s.counted == runnable {
		return
	}
	s.counted = runnable
	w := s.ownWeight()
	if !runnable {
		w = -w
	}
	s.group.load.Add(w)
}

// enqueue makes a SIP this core owns runnable: counted in its group and
// queued with its share.
func (c *Core) enqueue(s *SIP) {
	if s.ent.Queued() {
		return
	}
	s.count(true)
	s.ent.Share = s.share()
	c.rq.Enqueue(&s.ent)
}

// dequeue takes a SIP that stops being runnable (it waits, sleeps, blocks,
// ends or is killed) out of c's queue and of its group's load.
func (c *Core) dequeue(s *SIP) {
	c.rq.Dequeue(&s.ent)
	s.count(false)
}

// reshare gives a queued SIP its share of its group's load now.
func (c *Core) reshare(s *SIP) {
	if sh := s.share(); sh != s.ent.Share {
		c.rq.Reweigh(&s.ent, sh)
	}
}

// reshareAll refreshes the shares of every SIP in c's queue: each
// balancing tick, before the summary that tells the others c's load.
func (c *Core) reshareAll() {
	c.scratch = c.rq.Entities(c.scratch[:0])
	for i, e := range c.scratch {
		c.reshare(sipOf(e))
		c.scratch[i] = nil
	}
}
