package kernel

import "isle/internal/sched"

// Yields served on the yielder's coroutine. A yield through the loop costs
// a coroutine switch out, a turn of the loop (a drain of every ring, the
// clock, timers, balancer, a Pick) and a switch into whatever it picks,
// often the yielder again. When the loop would have nothing to do but
// pick, Yield does the pick itself, on the SIP's coroutine: it charges the
// yielder for its run so far and requeues it, as the loop would, and asks
// EEVDF which SIP runs next. If that is the yielder, the yield returns at
// once, with no switch. If it is another SIP, that SIP runs on the
// yielder's coroutine (a direct switch, handoff.go) until it suspends, and
// the yielder picks again. A pair of SIPs that yield to each other then
// costs one coroutine switch per yield instead of two, and a turn of the
// loop less.
//
// The loop is not bypassed for longer than it would be by a SIP that
// computes: a yield goes through the loop when a message waits in one of
// the core's rings, a timer, ticker or balancing tick is due, sends wait
// for room, the machine stops, the yielder's slice is spent, or it is to
// move (MoveTo); and at least once every base slice. The SIPs it runs are
// bounded by the yielder's slice, as a
// direct switch's receiver is, and the rules of the direct switch hold
// (one level, not from a poll, not on a core of reduced capacity, a kill
// of the yielder meanwhile ends it as soon as the run returns).

// yieldHere serves a yield of s, which c's loop is running, on s's
// coroutine. It reports false when the loop must serve it.
func (c *Core) yieldHere(s *SIP) bool {
	if c.running != s || c.under != nil || c.polling != nil || s.moveTo != 0 ||
		c.stopped || len(c.pending) > 0 || c.capacity < sched.FullCapacity {
		return false
	}
	// A yielder's request grows at each yield (sched's Yield moves its
	// deadline on), and so its slice: the loop sees it at least once a
	// base slice.
	s.sliceEnd = min(s.sliceEnd, s.sliceStart+int64(c.m.cfg.Slice))
	now := c.m.Now()
	if now >= s.sliceEnd || c.loopDue(now) {
		return false
	}
	// What the end of s's run and the loop's turn would do: charge it (the
	// end of the run will not charge this part again: it counts as time
	// not s's, as polled time does), give it its share, requeue it.
	ran := now - s.sliceStart - c.polled
	c.charge(s, ran, now)
	c.polled += ran
	c.reshare(s)
	c.rq.Yield(&s.ent)
	for {
		e := c.rq.Pick()
		if e == &s.ent {
			return true
		}
		r := sipOf(e)
		if r.proc == nil || now >= s.sliceEnd || c.stopped || len(c.pending) > 0 || c.loopDue(now) {
			// The loop picks again (it finds what this one found).
			s.proc.Suspend(suspendRequeued)
			return true
		}
		now = c.directSwitch(s, r, now)
		if s.killPending {
			// Killed while r ran: suspend, and the loop ends s.
			s.proc.Suspend(suspendBlock)
			return true
		}
	}
}

// loopDue reports whether the loop has work at machine time now besides
// picking a SIP: a message in a ring (or a ring new since the last turn),
// a timer, an armed ticker, a balancing tick. A ticker that is not armed
// has nothing in flight (Every): like a core asleep, a yielder does not
// turn the loop for it, and the loop runs it at its next turn (the name
// table's 1 ms ticker, on every core, sent a lone yielder through the loop
// once a millisecond).
func (c *Core) loopDue(now int64) bool {
	if len(c.timers) > 0 && c.timers[0].wakeAt <= now {
		return true
	}
	for _, t := range c.tickers {
		if t.armed && t.next <= now {
			return true
		}
	}
	if !c.bal.single() && c.bal.sm.Due(sched.Time(now)) {
		return true
	}
	return c.inbox.Changed() || c.messageWaiting()
}
