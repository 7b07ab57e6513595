package kernel

import (
	"encoding/binary"

	"isle/internal/sched"
	"isle/internal/trace"
)

// Balancing between cores, by messages only (docs/scheduler.md): every
// tick a core sends its load summary to every other core, and acts on
// sched.Decide: an idle core asks the busiest core for work (msgSteal), a
// core with work waiting gives a runnable SIP to a less-loaded core
// (msgMigrate, which carries the SIP and its ownership). The decisions are
// internal/sched's; this file performs them.
//
// The no-wasted-cores checker runs on every core, fed with the core's own
// state exactly and with the others' from their summaries; each core counts
// the violations in which it was the idle one, so the machine's count is the
// sum over its cores.

// Limits in one place.
const (
	balanceTick    = 2_000_000  // ns between two summaries of a busy core
	capacityPeriod = 10_000_000 // ns: a core of capacity c runs c/1024 of each period
	minSlice       = 100_000    // ns: the shortest run a SIP is given
	// wakePreemptAfter: a running SIP is preempted for a message waiting in
	// its core's rings once it has run this long (Preempt): a bound on the
	// switches that a stream of messages costs it.
	wakePreemptAfter = 20_000 // ns
	// expectFor: how long after its last run a core whose SIPs wait for
	// services counts them in its load (balancer.expecting).
	expectFor  = balanceTick
	balanceAll = 16 // cores up to which every core balances with every other (peersOf)
)

// balancer is a core's balancing state. Core-local.
type balancer struct {
	c    *Core
	cfg  sched.BalanceConfig
	seen []sched.LoadSummary // latest summary of each core; Capacity 0 until one comes
	// peers: the cores this one sends its summaries to and balances with
	// (every other core, or a hypercube's neighbours on a large machine)
	peers []int
	// busyOthers: other cores whose latest summary shows SIPs waiting
	busyOthers int
	// idleOthers: other cores whose latest summary shows nothing to run
	idleOthers int
	others     []sched.LoadSummary // scratch: seen without this core
	nextTick   int64
	checker    *sched.Checker
	idleSent   bool  // idle has broadcast at least once
	idleAt     int64 // when idle last broadcast
	// announced: the last summary sent says idle; cleared when the core runs
	announced bool

	observed    bool
	lastIdle    bool
	lastWaiting int

	periodStart int64 // capacity duty cycle
	busy        int64 // ns run in the current period

	lastRun    int64 // when the core's last run of a SIP ended
	expectSent bool  // the last summary sent had an Expecting weight
}

func (b *balancer) init(c *Core) {
	b.c = c
	n := c.m.cfg.Cores
	b.seen = make([]sched.LoadSummary, n)
	b.peers = peersOf(c.id, n)
	b.others = make([]sched.LoadSummary, 0, len(b.peers))
	b.checker = sched.NewChecker(sched.Duration(c.m.cfg.WastedBound))
}

// maybeTick sends the core's summary to every other core and acts on the
// balancing decision, once per tick.
func (b *balancer) maybeTick(now int64) {
	if now < b.nextTick || len(b.seen) == 1 {
		return
	}
	b.nextTick = now + balanceTick
	self := b.broadcast(now)
	b.decide(self, now)
}

// idle is called when the core runs out of work: others learn at once, and
// the core asks for work.
func (b *balancer) idle(now int64) {
	if len(b.seen) == 1 {
		return
	}
	// A core that goes idle and busy again every few microseconds (a SIP
	// ping-ponging with one on another core) says so at most once a tick:
	// a summary and a steal request at every idle moment cost more than the
	// hop they would balance.
	if b.idleSent && now-b.idleAt < balanceTick && !(b.expectSent && b.expecting(now) == 0) {
		return
	}
	b.announceIdle(now)
}

// beforeSleep makes sure the others know this core is idle before it
// sleeps: an idle moment whose announcement idle skipped is announced now,
// or a busy core would keep its waiting SIPs from a core that sleeps.
func (b *balancer) beforeSleep(now int64) {
	if len(b.seen) > 1 && !b.announced && b.c.rq.Len() == 0 {
		b.announceIdle(now)
	}
}

func (b *balancer) announceIdle(now int64) {
	b.idleSent, b.idleAt, b.announced = true, now, true
	self := b.broadcast(now)
	b.decide(self, now)
}

func (b *balancer) broadcast(now int64) sched.LoadSummary {
	c := b.c
	c.reshareAll()
	self := c.rq.Summary(sched.CoreID(c.id), b.capacityNow(now), sched.Time(now))
	self.Waiting = c.svcWaits
	self.Expecting = b.expecting(now)
	b.expectSent = self.Expecting > 0
	var p [summarySize]byte
	encodeSummary(p[:], self)
	for _, j := range b.peers {
		// Summaries do not ring doorbells: a sleeping core has nothing to
		// give, and reads them when it wakes. A full ring drops one.
		if c.coreRing(j).TrySend(msgSummary, p[:], nil) {
			c.stats.MsgsSent++
			c.traceSend(c.coreRing(j), msgSummary)
		}
	}
	return self
}

// capacityNow is the capacity the core offers. A core of reduced capacity
// reports it even while it idles out the rest of its period: its share over a
// period is what placement weighs (reporting none while throttled made it
// give its SIPs away every period).
func (b *balancer) capacityNow(int64) int64 { return b.c.capacity }

func (b *balancer) decide(self sched.LoadSummary, now int64) {
	c := b.c
	b.others = b.others[:0]
	for _, j := range b.peers {
		b.others = append(b.others, b.seen[j])
	}
	d := sched.Decide(self, b.others, sched.Time(now), b.cfg)
	switch d.Action {
	case sched.Steal:
		var p [summarySize]byte
		encodeSummary(p[:], self)
		c.send(c.coreRing(int(d.Target)), msgSteal, p[:], nil)
		c.stats.StealsAsked++
	case sched.Push:
		if e := sched.Choose(c.rq, self, b.seen[d.Target], b.cfg); e != nil {
			c.traceMigrate(sipOf(e), int(d.Target), trace.Push)
			b.migrate(e, int(d.Target))
		}
	}
}

// stealRequest answers an idle core that asks for work.
func (b *balancer) stealRequest(from int, thief sched.LoadSummary) {
	c := b.c
	b.summary(from, thief)
	if c.polling != nil {
		return // the only SIP here is running (blocked, polling): none to give
	}
	now := c.m.Now()
	self := c.rq.Summary(sched.CoreID(c.id), b.capacityNow(now), sched.Time(now))
	if e := sched.Choose(c.rq, self, thief, b.cfg); e != nil {
		c.traceMigrate(sipOf(e), from, trace.Steal)
		b.migrate(e, from)
	}
}

// migrate gives a runnable SIP, and its ownership, to another core. It is
// called between runs, so the SIP is suspended.
func (b *balancer) migrate(e *sched.Entity, to int) {
	c := b.c
	s := sipOf(e)
	c.rq.Migrate(e)
	delete(c.owned, s)
	c.forward[s] = to
	c.forwards.Store(int64(len(c.forward)))
	s.leftTrail(c.id)
	c.live.Add(-1)
	c.m.cores[to].live.Add(1)
	c.stats.MigratedOut++
	s.core = nil // owned by nobody while in flight
	c.send(c.coreRing(to), msgMigrate, nil, s)
}

// peersOf returns the cores that core id of an n-core machine balances
// with. Up to balanceAll cores, every other core: each knows every other's
// load, as the no-wasted-cores checker wants. Beyond, a summary to every
// core each tick would cost n² messages a tick and a ring for every pair of
// cores, so a core balances with its neighbours in a hypercube (the cores
// whose index differs from its own in one bit) and the next core: about
// log₂ n peers, and work spreads across the machine in log₂ n hops.
func peersOf(id, n int) []int {
	var peers []int
	if n <= balanceAll {
		for j := 0; j < n; j++ {
			if j != id {
				peers = append(peers, j)
			}
		}
		return peers
	}
	seen := map[int]bool{id: true}
	add := func(j int) {
		if j >= 0 && j < n && !seen[j] {
			seen[j] = true
			peers = append(peers, j)
		}
	}
	for bit := 1; bit < n; bit <<= 1 {
		add(id ^ bit)
	}
	add((id + 1) % n)
	add((id + n - 1) % n)
	return peers
}

// othersWaiting reports whether, by their latest summaries, other cores
// have runnable SIPs waiting for a core.
func (b *balancer) othersWaiting() bool { return b.busyOthers > 0 }

// othersIdle reports whether, by their latest summaries, some other core
// has nothing to run and nothing it waits for (and so, asleep or soon,
// leaves its host CPU free).
func (b *balancer) othersIdle() bool { return b.idleOthers > 0 }

// idleSummary reports whether s is the summary of a core with nothing to
// run and no SIP waiting for a service (a core with such a SIP may poll for
// its reply).
func idleSummary(s sched.LoadSummary) bool {
	return s.Capacity > 0 && s.Runnable == 0 && s.Waiting == 0
}

// summary records another core's summary.
func (b *balancer) summary(from int, s sched.LoadSummary) {
	if from < 0 || from >= len(b.seen) {
		return
	}
	if b.seen[from].Runnable > 1 {
		b.busyOthers--
	}
	if s.Runnable > 1 {
		b.busyOthers++
	}
	if idleSummary(b.seen[from]) {
		b.idleOthers--
	}
	if idleSummary(s) {
		b.idleOthers++
	}
	b.seen[from] = s
	// Only this core's own idleness is known exactly, so other cores are
	// observed as busy: the checker then counts the violations in which
	// this core was the idle one.
	b.checker.Observe(s.Core, s.At, false, max(s.Runnable-1, 0))
}

// observe records this core's own state when it changes.
func (b *balancer) observe(now int64, idle bool, waiting int) {
	if b.observed && idle == b.lastIdle && waiting == b.lastWaiting {
		return
	}
	b.observed, b.lastIdle, b.lastWaiting = true, idle, waiting
	b.checker.Observe(sched.CoreID(b.c.id), sched.Time(now), idle, waiting)
}

// ran charges run time to the capacity duty cycle; end is when the run
// ended.
func (b *balancer) ran(ns, end int64) {
	b.busy += ns
	b.announced = false
	b.lastRun = end
}

// expecting is the weight the core expects back (sched.LoadSummary's
// Expecting): its SIPs waiting for a service's reply, if nothing else is
// runnable here and the core ran a SIP less than expectFor ago. Until then
// the core steals nothing and others push nothing to it: the reply to a
// short call comes sooner, and the host CPU that the core leaves meanwhile
// is the one the service's worker needs to make it (with both cores of a
// 2-CPU host running spinners, the worker waited for a CPU at each of the
// honest SIP's calls). A wait past expectFor is a long one: the core then
// says it is idle (wakeAt wakes it to say so) and takes work as before.
func (b *balancer) expecting(now int64) int64 {
	c := b.c
	if c.svcWaits == 0 || c.rq.Len() > 0 || now-b.lastRun >= expectFor {
		return 0
	}
	return c.svcWeight
}

// throttled reports whether a core of reduced capacity has used its share
// of the current period.
func (b *balancer) throttled(now int64) bool {
	if b.c.capacity >= sched.FullCapacity {
		return false
	}
	budget := b.c.capacity * capacityPeriod / sched.FullCapacity
	if now >= b.periodStart+capacityPeriod {
		// A token bucket: each period that passes pays off one budget of the
		// time run, so a run longer than the budget is paid for by idling
		// in the periods after it.
		periods := (now - b.periodStart) / capacityPeriod
		b.periodStart += periods * capacityPeriod
		b.busy = max(0, b.busy-periods*budget)
	}
	return b.busy >= budget
}

// wakeAt returns when a throttled core may run again, or when a core that
// told the others it expects its SIPs back must tell them it does not.
func (b *balancer) wakeAt() (int64, bool) {
	if b.expectSent && b.c.rq.Len() == 0 {
		return b.lastRun + expectFor, true
	}
	if b.c.capacity >= sched.FullCapacity || b.c.rq.Len() == 0 {
		return 0, false
	}
	return b.periodStart + capacityPeriod, true
}

// finish closes the checker at the end of the machine.
func (b *balancer) finish(now int64) {
	b.checker.Advance(sched.Time(now))
	b.c.stats.WastedIntervals = uint64(b.checker.Count())
	for _, iv := range b.checker.Intervals() {
		b.c.stats.Wasted = append(b.c.stats.Wasted, WastedInterval{Busy: int(iv.Busy), Start: int64(iv.Start), End: int64(iv.End)})
	}
}

const summarySize = 52

// A summary in one slot: the core, its counts (runnable, waiting) in 32
// bits each (a core is below MaxCores, its SIPs below 2³¹), the rest in 64.
func encodeSummary(p []byte, s sched.LoadSummary) {
	binary.LittleEndian.PutUint32(p[0:], uint32(s.Core))
	binary.LittleEndian.PutUint32(p[4:], uint32(s.Runnable))
	binary.LittleEndian.PutUint64(p[8:], uint64(s.Weight))
	binary.LittleEndian.PutUint64(p[16:], uint64(s.Capacity))
	binary.LittleEndian.PutUint64(p[24:], uint64(s.At))
	binary.LittleEndian.PutUint64(p[32:], uint64(s.MinProgress))
	binary.LittleEndian.PutUint32(p[40:], uint32(s.Waiting))
	binary.LittleEndian.PutUint64(p[44:], uint64(s.Expecting))
}

func decodeSummary(p []byte) sched.LoadSummary {
	if len(p) < summarySize {
		panic("kernel: short load summary")
	}
	return sched.LoadSummary{
		Core:        sched.CoreID(binary.LittleEndian.Uint32(p[0:])),
		Runnable:    int(binary.LittleEndian.Uint32(p[4:])),
		Weight:      int64(binary.LittleEndian.Uint64(p[8:])),
		Capacity:    int64(binary.LittleEndian.Uint64(p[16:])),
		At:          sched.Time(binary.LittleEndian.Uint64(p[24:])),
		MinProgress: int64(binary.LittleEndian.Uint64(p[32:])),
		Waiting:     int(binary.LittleEndian.Uint32(p[40:])),
		Expecting:   int64(binary.LittleEndian.Uint64(p[44:])),
	}
}
