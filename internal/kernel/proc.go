package kernel

import (
	"container/heap"
	"errors"
	"math/bits"
)

// Process control from inside the machine: a SIP spawning, killing and
// waiting for others. These run on a core's goroutine (a host function of a
// SIP that core runs, or a Deliverable).

// SpawnHere starts a new SIP on core c, which owns it from now on; balancing
// may move it later. The caller fills in Name, Args, Env, Nice and the
// personalities' state first, as for Machine.Spawn.
func (c *Core) SpawnHere(s *SIP) error {
	m := c.m
	if m.stopped.Load() {
		return errors.New("machine is stopping")
	}
	s.pid = m.nextPID.Add(1)
	s.ent.ID = uint64(s.pid)
	s.ent.Nice = s.Nice
	s.group = groupFor(s)
	s.machine = m
	s.done = make(chan struct{})
	s.core = c
	s.home = c.id
	c.live.Add(1)
	c.owned[s] = struct{}{}
	c.stats.SIPs++
	c.traceSpawn(s)
	c.traceWake(s)
	c.enqueue(s)
	return nil
}

// NewPID takes a process id from the machine's sequence for a process that
// is not a SIP of this machine (a child spawned on another node of a
// cluster): no SIP here ever gets the same id, so a parent's handles for
// its local and remote children never collide.
func (c *Core) NewPID() int64 { return c.m.nextPID.Add(1) }

// Kill ends a SIP that core c owns, whatever it is doing: runnable,
// sleeping, blocked, or waiting for a service (then it ends when the reply
// comes back, since the request is lent to the service until then). It
// reports false if c does not own s (it has moved on, or ended). A SIP
// cannot kill itself this way: it exits.
func (c *Core) Kill(s *SIP) bool {
	if _, mine := c.owned[s]; !mine || s.proc.Done() {
		return false
	}
	if s.waiting || s == c.polling || s == c.under {
		// Lent to a service, or running: polling the rings in its Block
		// (poll.go), or under the direct switch to another SIP
		// (handoff.go), on the coroutine that Kill would have to end. It
		// ends when the reply comes, or as soon as the poll or the other
		// SIP's run returns. A service
		// is asked to cut its wait short, so that the reply comes at once
		// (service.go, "Cancel").
		if s.waiting && !s.killPending {
			c.send(c.toSvc[s.svc], msgCancel, nil, s.cur)
		}
		s.killPending = true
		return true
	}
	if s.ent.Queued() {
		c.dequeue(s)
	}
	for i, t := range c.timers {
		if t == s {
			heap.Remove(&c.timers, i)
			break
		}
	}
	if s.unseen {
		// Killed between its reply and its next run: it never sees the
		// reply (service.go, "Abandon").
		s.unseen = false
		c.send(c.toSvc[s.svc], msgAbandon, nil, s.cur)
	}
	s.blocked = false
	s.proc.Kill()
	c.exit(s)
	return true
}

// Owns reports whether core c owns s now. Called on c's goroutine.
func (c *Core) Owns(s *SIP) bool {
	_, mine := c.owned[s]
	return mine
}

// KillSIP carries a kill to whichever core owns s, following it if it
// moves; sent to any core (best: s.Home()), it reaches s wherever it is, and
// a kill of a SIP that has ended does nothing.
type KillSIP struct{ S *SIP }

// Target implements SIPDeliverable.
func (k KillSIP) Target() *SIP { return k.S }

// Deliver implements Deliverable.
func (k KillSIP) Deliver(c *Core) { c.Kill(k.S) }

// Post sends a request to a service on behalf of no SIP, from core c's
// goroutine, and forgets it: the service sends no reply. The
// exit hook uses it to release what a SIP that trapped or was killed still
// held in a service.
func (c *Core) Post(svc ServiceID, req *Request) {
	req.sip = nil
	c.send(c.toSvc[svc], msgRequest, nil, req)
}

// lazyBatch is how many lazy posts a core lets wait, unrung, before it
// rings the services' doorbells (PostLazy).
const lazyBatch = 32

// PostLazy is Post of a request that nobody waits for and that need not be
// served soon (a close, an adoption): the message goes into the service's
// ring at once, in order with every other, but the service's doorbell is
// rung only when lazyBatch of them wait, when the SIP that posted stops
// running (it suspends, blocks, polls, or its slice ends), or when the core
// ends. A service asleep is then woken once for a batch rather than once a
// post: a SIP that opens, reads and closes small files posts two a file,
// and each wake-up cost the service a futex wait and a membarrier, and the
// host's CPUs a thread switch (docs/kernel.md, "Lazy posts"). A request
// that is waited for (Call) comes after them on the same ring and rings
// the doorbell itself, so the service has served them before it.
func (c *Core) PostLazy(svc ServiceID, req *Request) {
	req.sip = nil
	r := c.toSvc[svc]
	if svc >= 64 || len(c.pending) > 0 || !r.TrySend(msgRequest, nil, req) {
		c.send(r, msgRequest, nil, req)
		return
	}
	c.stats.MsgsSent++
	c.traceSend(r, msgRequest)
	c.lazySvcs |= 1 << svc
	if c.lazyN++; c.lazyN >= lazyBatch {
		c.ringLazy()
	}
}

// ringLazy rings the doorbell of every service that has lazy posts of this
// core not yet rung for.
func (c *Core) ringLazy() {
	for m := c.lazySvcs; m != 0; m &= m - 1 {
		c.toSvc[bits.TrailingZeros64(m)].Notify()
	}
	c.lazySvcs, c.lazyN = 0, 0
}
