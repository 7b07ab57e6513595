package kernel

import (
	"isle/internal/sched"
	"isle/internal/urpc"
)

// Polling while blocked: Barrelfish's dispatchers poll their URPC channels
// from user space, and a message reaches a waiting thread without the CPU
// driver's help. A SIP that blocks while it is alone on its core gets the
// same: instead of switching back to the kernel loop, which would do nothing
// but poll the core's rings, Block polls them on the SIP's own coroutine,
// handling every message as the loop would, and returns as soon as the SIP
// is woken. That saves a coroutine switch out and one back in, and the
// loop's turn between them, on the path of every cross-core reply.
//
// The poll stands in for the loop only while the loop would have nothing
// else to do; it gives up, and the SIP blocks as usual, as soon as that is
// no longer so: another SIP is runnable, a timer, ticker or balancing tick
// is due, a send waits for room, the machine stops, the SIP is killed, or
// the poll window has passed (the loop then goes on polling and sleeps).
// It is not tried when another core has SIPs waiting (this core, idle,
// should announce it and take one), nor on a core of reduced capacity
// (whose idling is its duty cycle). The time spent polling is the core's
// idle time, not the SIP's: run takes it off the SIP's charge.

const (
	// pollClockEvery is how many turns of the poll share one clock read.
	pollClockEvery = 8
	// pollReadEndAfter is the turns after which a poll's end is read
	// again rather than taken from its last read (a few µs of polling).
	pollReadEndAfter = 64
)

// pollBlocked is Block's fast path for s, which c is running. It reports
// whether s was woken.
func (c *Core) pollBlocked(s *SIP) bool {
	if c.polling != nil || c.under != nil || c.rq.Len() != 1 || c.stopped || len(c.pending) > 0 ||
		c.capacity < sched.FullCapacity || c.bal.othersWaiting() {
		return false
	}
	start := c.m.Now()
	deadline := start + c.win.window
	if len(c.timers) > 0 {
		deadline = min(deadline, c.timers[0].wakeAt)
	}
	for _, t := range c.tickers {
		deadline = min(deadline, t.next)
	}
	if len(c.m.cores) > 1 {
		deadline = min(deadline, int64(c.bal.sm.NextTick()))
	}
	if c.lazyN > 0 {
		c.ringLazy() // s waits now: its posts should not
	}
	c.polling = s
	s.blocked = true
	c.tracePoll(s, start)
	c.bal.observe(start, true, 0)
	now := start
	n := 1
	for ; s.blocked && !s.killPending && !c.stopped && c.rq.Len() == 1 && now < deadline; n++ {
		if !c.drain() {
			// A spin-wait hint: with it the cross-core SIP ping-pong's
			// median was 918-928 ns, without it 969-983 (four runs each,
			// alternating). In the loop's own idle poll it made no
			// difference to a core-to-core message.
			urpc.Pause()
		}
		if len(c.pending) > 0 && !c.flushPending() {
			break
		}
		// A clock read costs as much as a turn of polling here: read it
		// every few turns. The poll's length, and the idle time it
		// stands for, are then known to within those few turns.
		if n%pollClockEvery == 0 {
			now = c.m.Now()
			c.traceClock(now)
		}
	}
	// The end of a long poll is read, not taken from the last turn's
	// read: the host may have descheduled the core's thread since (the
	// poll spins, so a loaded host preempts it), and the wake found on
	// resuming would then charge the whole gap to the SIP as CPU time. A
	// short poll keeps the last read: it is the cross-core reply's path,
	// where the read cost 45 ns a round trip (cross-core ping-pong median
	// 590-603 ns without it, 644-649 with it, alternating runs), and a
	// deschedule inside a poll of a few turns is rare.
	if n > pollReadEndAfter {
		now = c.m.Now()
		c.traceClock(now)
	}
	woken := !s.blocked
	s.blocked = false
	c.traceSwitchIn(s, now)
	c.polling = nil
	c.polled += now - start
	s.sliceEnd += now - start
	c.bal.observe(now, false, c.rq.Len()-1)
	return woken && !s.killPending
}
