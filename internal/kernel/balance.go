package kernel

import (
	"encoding/binary"

	"isle/internal/sched"
	"isle/internal/trace"
)

// Balancing between cores, by messages only (docs/scheduler.md). The
// policy and its state over time are sched.Balancer's, the one the
// simulator in internal/sched drives too; this file feeds it (the core's
// fresh summary at each tick and idle moment, the summaries and steal
// messages that arrive) and performs what it asks: summaries to the peers
// (msgSummary), a steal request (msgSteal), a refusal (msgStealNack), a SIP
// handed over with its ownership (msgMigrate).
//
// The no-wasted-cores checker runs on every core, fed with the core's own
// state exactly and with the others' from their summaries; each core counts
// the violations in which it was the idle one, so the machine's count is the
// sum over its cores.

// Limits in one place.
const (
	balanceTick    = 2_000_000  // ns between two summaries of a busy core (sched.DefaultBalanceTick)
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

// balancer is a core's balancing shell. Core-local.
type balancer struct {
	c  *Core
	sm *sched.Balancer // the policy and its state
	// busyOthers: other cores whose latest summary shows SIPs waiting
	busyOthers int
	// idleOthers: other cores whose latest summary shows nothing to run
	idleOthers int
	// svcOthers: other cores whose latest summary shows SIPs waiting for
	// a service's reply
	svcOthers int
	// peerBusy, peerIdle, peerSvc: by core, what its latest summary showed
	// (counted in busyOthers, idleOthers, svcOthers)
	peerBusy, peerIdle, peerSvc []bool
	checker                     *sched.Checker

	observed    bool
	lastIdle    bool
	lastWaiting int

	periodStart int64 // capacity duty cycle
	busy        int64 // ns run in the current period

	lastRun int64 // when the core's last run of a SIP ended
}

func (b *balancer) init(c *Core) {
	b.c = c
	n := c.m.cfg.Cores
	var peers []sched.CoreID
	for _, j := range peersOf(c.id, n) {
		peers = append(peers, sched.CoreID(j))
	}
	b.sm = sched.NewBalancer(sched.CoreID(c.id), n, peers, sched.BalanceConfig{Tick: balanceTick})
	b.checker = sched.NewChecker(sched.Duration(c.m.cfg.WastedBound))
	b.peerBusy, b.peerIdle, b.peerSvc = make([]bool, n), make([]bool, n), make([]bool, n)
}

// single reports a one-core machine, which has nobody to balance with.
func (b *balancer) single() bool { return b.c.m.cfg.Cores == 1 }

// maybeTick feeds the balancer a tick when one is due, or when a summary
// came while the core was idle.
func (b *balancer) maybeTick(now int64) {
	if b.single() || !b.sm.Due(sched.Time(now)) {
		return
	}
	b.sm.Tick(sched.Time(now), b.c.rq, b.self(now, true))
	b.perform(now)
}

// idle is called when the core runs out of work.
func (b *balancer) idle(now int64) {
	if b.single() {
		return
	}
	b.sm.Idle(sched.Time(now), b.c.rq, b.self(now, true))
	b.perform(now)
}

// beforeSleep makes sure the others know this core is idle before it
// sleeps.
func (b *balancer) beforeSleep(now int64) {
	if b.single() || b.c.rq.Len() > 0 {
		return
	}
	b.sm.Sleeping(sched.Time(now), b.c.rq, b.self(now, true))
	b.perform(now)
}

// self is the core's own summary now. full: with the shares refreshed and
// MinProgress, which walks the queue (a tick, an idle moment); else only
// the counts and weights that placement needs (a wake-up).
func (b *balancer) self(now int64, full bool) sched.LoadSummary {
	c := b.c
	var s sched.LoadSummary
	if full {
		c.reshareAll()
		s = c.rq.Summary(sched.CoreID(c.id), c.capacity, sched.Time(now))
	} else {
		s = sched.LoadSummary{Core: sched.CoreID(c.id), Runnable: c.rq.Len(), Weight: c.rq.Load(),
			Capacity: c.capacity, At: sched.Time(now)}
	}
	s.Waiting = c.svcWaits
	s.Expecting = b.expecting(now)
	return s
}

// perform does what the balancer asks, then advances it.
func (b *balancer) perform(now int64) {
	c := b.c
	rd := b.sm.Ready()
	var p [summarySize]byte
	if rd.Broadcast {
		encodeSummary(p[:], rd.Summary)
		for _, j := range b.sm.Peers() {
			// Summaries do not ring doorbells: a sleeping core has nothing
			// to give, and reads them when it wakes. A full ring drops one.
			r := c.coreRing(int(j))
			if r.TrySend(msgSummary, p[:], nil) {
				c.stats.MsgsSent++
				c.traceSend(r, msgSummary)
			}
		}
	}
	for _, m := range rd.Steals {
		c.traceBalance(trace.AskSteal, m.To, nil, &m.Summary)
		encodeSummary(p[:], m.Summary)
		c.send(c.coreRing(int(m.To)), msgSteal, p[:], nil)
		c.stats.StealsAsked++
	}
	for _, m := range rd.Refusals {
		c.traceBalance(trace.Refuse, m.To, nil, &m.Summary)
		encodeSummary(p[:], m.Summary)
		c.send(c.coreRing(int(m.To)), msgStealNack, p[:], nil)
	}
	for _, mg := range rd.Migrations {
		why, dec := trace.Push, trace.GivePush
		if mg.Why == sched.Steal {
			why, dec = trace.Steal, trace.GiveSteal
		}
		c.traceBalance(dec, mg.To, mg.Entity, nil)
		c.traceMigrate(sipOf(mg.Entity), int(mg.To), why)
		b.migrate(mg.Entity, int(mg.To))
	}
	b.sm.Advance()
}

// stealRequest answers an idle core that asks for work.
func (b *balancer) stealRequest(from int, thief sched.LoadSummary) {
	c := b.c
	b.summary(from, thief)
	now := c.m.Now()
	q := c.rq
	if c.polling != nil {
		q = nil // the only SIP here is running (blocked, polling): none to give
	}
	b.sm.StealRequest(q, b.self(now, true), thief)
	b.perform(now)
}

// stealRefused records a victim's refusal, with its fresh summary.
func (b *balancer) stealRefused(from int, s sched.LoadSummary) {
	if from < 0 || from >= len(b.peerBusy) || int(s.Core) != from {
		return
	}
	b.observeOther(from, s)
	b.sm.Refused(s)
}

// arrived records a SIP migrated in from another core.
func (b *balancer) arrived(from int) { b.sm.Arrived(sched.CoreID(from)) }

// place returns the core a SIP woken on this core should run on.
func (b *balancer) place(s *SIP) int {
	c := b.c
	if b.single() {
		return c.id
	}
	now := c.m.Now()
	return int(b.sm.Place(sched.Time(now), s.share(), sched.CoreID(c.id), b.self(now, false)))
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

// othersAwaitService reports whether, by their latest summaries, other
// cores have SIPs waiting for a service's reply.
func (b *balancer) othersAwaitService() bool { return b.svcOthers > 0 }

// idleSummary reports whether s is the summary of a core with nothing to
// run and no SIP waiting for a service (a core with such a SIP may poll for
// its reply).
func idleSummary(s sched.LoadSummary) bool {
	return s.Capacity > 0 && s.Runnable == 0 && s.Waiting == 0
}

// summary records another core's summary.
func (b *balancer) summary(from int, s sched.LoadSummary) {
	if from < 0 || from >= len(b.peerBusy) || int(s.Core) != from {
		return
	}
	b.observeOther(from, s)
	b.sm.Summary(s)
}

// observeOther keeps the counts of busy and idle others and feeds the
// checker from another core's summary.
func (b *balancer) observeOther(from int, s sched.LoadSummary) {
	if b.peerBusy[from] {
		b.busyOthers--
	}
	if b.peerIdle[from] {
		b.idleOthers--
	}
	if b.peerSvc[from] {
		b.svcOthers--
	}
	b.peerBusy[from], b.peerIdle[from], b.peerSvc[from] = s.Runnable > 1, idleSummary(s), s.Waiting > 0
	if b.peerBusy[from] {
		b.busyOthers++
	}
	if b.peerIdle[from] {
		b.idleOthers++
	}
	if b.peerSvc[from] {
		b.svcOthers++
	}
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
	b.sm.Ran()
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
	if sent, ok := b.sm.Sent(); ok && sent.Expecting > 0 && b.c.rq.Len() == 0 {
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
