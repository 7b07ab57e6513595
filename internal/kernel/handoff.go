package kernel

import (
	"time"

	"isle/internal/sched"
)

// The direct switch (L4's direct process switch). A SIP that sends a
// message to a SIP on its own core which is blocked waiting for one hands
// the core straight to the receiver: the sender's host call runs the
// receiver itself, on the sender's coroutine, until the receiver suspends,
// and then goes on. There is no turn of the kernel loop between them (no
// drain of the rings, no clock, timer or balancer work, no Pick), and a
// ping-pong's reply is already queued when the sender comes to receive it,
// so its receive returns without a switch. A round trip on one core is two
// coroutine switches (sender → receiver → sender) instead of four and two
// turns of the loop.
//
// What the loop would have done, the direct switch does too: the receiver's
// run is a Core.run like any other, so it is charged to the receiver's
// vruntime and CPU time, counted as a switch, traced, and whatever it
// suspends for (a block, a service call, a sleep, a yield, its slice, its
// end) is acted on as the loop acts on it. The sender is not charged for
// it: the receiver's time is taken off the sender's run as polled time is
// (poll.go).
//
// Fairness: the sender's slice keeps running on the wall clock while the
// receiver runs, and the receiver's run ends when the sender's slice does
// (or its own, if sooner), so a pair that ping-pongs holds the core for at
// most one slice of the sender's between two turns of the loop; the loop
// then picks by EEVDF as always, and a third SIP that is owed time runs.
// A switch is not made when the sender's slice is spent (it is about to be
// preempted), when the sender holds output (SIP.Ext, a Holder: it sends it, and the
// loop runs the receiver), from a SIP that runs inside another's direct switch (one
// level only), while the core's loop is not what resumed the sender (it
// polls in its Block), on a core of reduced capacity (whose idle time is
// its duty cycle), while sends wait for room, or when the machine stops.
// TestDirectSwitchKeepsThirdSIP is the check.

// noteWake records that s, which c has just made runnable, was woken by a
// call of the SIP that c's loop is running: a candidate for HandOff.
func (c *Core) noteWake(s *SIP) {
	if c.running != nil && c.under == nil && s != c.running {
		c.woken = s
	}
}

// HandOff hands s's core straight to the SIP that s's last call woke on it
// (a send to a SIP blocked in a receive), if it is still runnable and the
// direct switch's conditions hold, and returns when that SIP suspends; else
// it returns at once. The channel layer calls it at the end of a send, on
// s's coroutine, once the send is complete.
func (s *SIP) HandOff() {
	c := s.core
	r := c.woken
	if r == nil {
		return
	}
	c.woken = nil
	if s.Ext != nil && s.Ext.Holding() {
		// What s holds (console output) goes first: sending it suspends
		// s, the loop runs r meanwhile, and r's output comes after s's.
		s.sendHeld()
		return
	}
	now := c.m.Now()
	if !c.canHandOff(s, r, now) {
		return
	}
	c.directSwitch(s, r, now)
	if s.killPending {
		// Killed while r ran (Kill could not end the coroutine it was
		// called from under): suspend, and the loop ends s (run).
		s.proc.Suspend(suspendBlock)
	}
}

// canHandOff reports whether c may switch from s, which it is running, to
// r now.
func (c *Core) canHandOff(s, r *SIP, now int64) bool {
	return c.running == s && c.under == nil && c.polling == nil && r.core == c &&
		r.ent.Queued() && !r.blocked && !r.waiting && r.proc != nil &&
		now < s.sliceEnd && !c.stopped && len(c.pending) == 0 &&
		c.capacity >= sched.FullCapacity
}

// directSwitch runs r, on s's coroutine, until it suspends, and returns
// the machine time r's run ended.
func (c *Core) directSwitch(s, r *SIP, now int64) int64 {
	c.stats.DirectSwitches++
	c.traceSwitchOut(s, suspendYield, false)
	polled := c.polled
	c.polled = 0
	c.under = s
	slice := min(time.Duration(c.rq.SliceLeft(&r.ent)), time.Duration(s.sliceEnd-now))
	end := c.runFrom(r, slice, now)
	c.under = nil
	c.running = s
	c.woken = nil
	// s's run is not charged for r's.
	c.polled = polled + end - now
	c.traceSwitchIn(s, end)
	return end
}
