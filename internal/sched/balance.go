package sched

import (
	"math"
	"math/bits"
)

// Balancing rules. Cores never share a run queue: each core broadcasts a
// LoadSummary of its own queue every tick, keeps the latest one it has
// received from every other core, and from those decides alone:
//
//   - load is weighed by capacity: a core's normalized load is
//     Weight·1024/Capacity, the weight each unit of full-core capacity
//     carries. An entity of weight w on core c progresses at
//     w·1024/load(c), so equal normalized loads mean weight-fair shares
//     across cores of any capacity.
//   - Decide: an idle core (nothing runnable) sends a steal request to the
//     busiest core, the one of highest normalized load among those that
//     have work it could take: entities waiting (Runnable ≥ 2), or a single
//     entity on a core of lower capacity than the idle one (a misfit). A
//     core with entities waiting pushes to the least-loaded core when that
//     core's normalized load is below its own (ties: the core whose entities
//     are most ahead, then the lower id). A core with a single entity pushes
//     only to a core of higher capacity and lower load (the fastest such),
//     and only if Choose finds the move worth it.
//   - Place: a waking or new entity goes to the core where its weight makes
//     the lowest normalized load (ties: the core it last ran on, then the
//     waker's, then the lower id): an idle core if one is known. This is
//     the cure for the paper's "overload on wake-up".
//   - summaries older than BalanceConfig.MaxAge (except those of idle
//     cores, which do not age: an idle core sleeps without ticking), the
//     core's own, and those of cores with no capacity (not in use) are
//     ignored.
//   - a summary's Expecting weight (entities waiting a moment for a short
//     call) counts in its core's load everywhere above, and a core with
//     nothing runnable but something expected does not steal.
//
// Which entity moves is decided by the core that owns it, with fresh
// knowledge of its own queue (Choose), in this order of preference:
//
//  1. an improving move, after which the receiver's load stays below the
//     giver's: the mover progresses faster and so do those left behind.
//     Among these, the move that leaves the pair with the lowest maximum
//     load, then the entity most ahead (most CPU time per unit of weight):
//     a migration costs the mover its time in flight, and the one most
//     ahead can best afford it; those most behind stay and gain.
//  2. a rotating move, when weights cannot be split evenly (three equal
//     entities on two cores, a nice-0 entity on a half-capacity core): the
//     receiver becomes as loaded as the giver or more, so the entities left
//     behind gain and the receiver's entities and the mover pay. It is made
//     only when those who pay have had more: the receiver's most-behind
//     entity (its summary's MinProgress) is ahead of the giver's most-behind
//     remaining one by more than BalanceConfig.RotateAhead; the mover is the
//     giver's most-ahead entity, and the giver keeps at least one, unless
//     the receiver is faster: a lone entity on a slow core that is behind
//     the receiver's entities goes to the faster core, and the core it
//     leaves idle steals back a lighter one. Such moves make entities take
//     turns on the crowded and the slow cores, so that shares are
//     weight-fair over time rather than at every instant.
//
// Progress is CPU time per unit of weight (Entity.Runtime·1024/weight) over
// the entity's life; it is comparable between entities that have been
// runnable over the same span (long-running ones), and favours newcomers
// until they catch up.
//
// Decisions are made on approximate, possibly stale summaries; a wrong one
// costs a message and is corrected at the next tick. A steal request carries
// the requester's summary, and the victim answers with an entity or with
// nothing (and its own fresh summary). A core that pushes or places an
// entity adds it to its own copy of the receiver's summary until that
// core's next summary arrives, so that many decisions made on one stale
// view do not all pick the same receiver. That state over time is
// Balancer's (balancer.go), which both the kernel and the simulator drive.

// Balancing defaults, BalanceConfig's zero values (docs/scheduler.md).
const (
	// DefaultRotateAhead: two default slices of a nice-0 entity's CPU time.
	DefaultRotateAhead = 2 * DefaultSlice
	// DefaultBalanceTick: a core sends its summary, and a busy one
	// considers a push, every 2 ms.
	DefaultBalanceTick = 2 * Millisecond
	// DefaultMaxAge: a summary older than ten ticks is ignored; a steal
	// request unanswered for that long is given up.
	DefaultMaxAge = 10 * DefaultBalanceTick
)

// CoreID names a core.
type CoreID int

// LoadSummary is what a core tells the others about its run queue. It is a
// value, copied into messages.
type LoadSummary struct {
	Core     CoreID
	Runnable int   // queued entities, the running one included
	Weight   int64 // sum of their weights (RunQueue.Load)
	Capacity int64 // 1024 = a full core; ≤ 0: the core is not in use
	At       Time  // when the summary was made
	// MinProgress is the least progress (CPU time·1024/weight, ns) among
	// the queued entities, 0 if none.
	MinProgress int64
	// Waiting is how many of the core's SIPs wait for a service's reply:
	// a core with none runnable but some waiting is not idle in the sense
	// that it leaves its host CPU to others. The kernel fills it in; the
	// balancing policy does not read it.
	Waiting int
	// Expecting is the weight of entities that left the core's queue a
	// moment ago to wait for a short call and are expected back (the
	// kernel: SIPs waiting for a service's reply, for less than a tick).
	// It counts in the core's load (NormLoad, Place, Choose), and a core
	// whose load is all expected does not steal: its entities are coming
	// back, and the host CPU it leaves meanwhile serves their calls. Linux
	// keeps a blocked task's load in its CPU's load average the same way
	// (PELT), so that a task sleeping briefly is not crowded out.
	Expecting int64
}

// load is the weight the core carries: its queue's and what it expects.
func (s LoadSummary) load() int64 { return s.Weight + s.Expecting }

// NormLoad returns the summary's normalized load, Weight·1024/Capacity (0
// for a core not in use).
func (s LoadSummary) NormLoad() int64 {
	if s.Capacity <= 0 {
		return 0
	}
	return s.load() * FullCapacity / s.Capacity
}

// Summary returns q's load summary as core id of the given capacity at now.
// It walks the queue (for MinProgress): call it once a tick, not per switch.
func (q *RunQueue) Summary(core CoreID, capacity int64, now Time) LoadSummary {
	s := LoadSummary{Core: core, Runnable: q.n, Weight: q.load, Capacity: capacity, At: now}
	if q.root != nil {
		s.MinProgress = minProgress(q.root, nil)
	}
	return s
}

// minProgress returns the least progress in t, skipping skip; MaxInt64 if
// there is none.
func minProgress(t, skip *Entity) int64 {
	m := int64(math.MaxInt64)
	for ; t != nil; t = t.right {
		m = min(m, minProgress(t.left, skip))
		if t != skip {
			m = min(m, t.progress())
		}
	}
	return m
}

// progress returns e's CPU time per unit of weight, ns·1024/weight.
func (e *Entity) progress() int64 { return int64(e.runtime) * NiceZeroWeight / e.weight }

// Action is what Decide tells a core to do.
type Action uint8

const (
	None  Action = iota
	Steal        // ask Target for work
	Push         // give Target an entity (chosen by Choose)
)

func (a Action) String() string {
	switch a {
	case Steal:
		return "steal"
	case Push:
		return "push"
	}
	return "none"
}

// Decision is Decide's answer.
type Decision struct {
	Action Action
	Target CoreID
}

// BalanceConfig is fixed balancing configuration.
type BalanceConfig struct {
	// Tick: how often a core sends its summary (Balancer). 0 means
	// DefaultBalanceTick.
	Tick Duration
	// PushEvery: how often a busy core considers a push (Balancer). 0
	// means every Tick.
	PushEvery Duration
	// MaxAge: summaries older than this are ignored, and a steal request
	// unanswered for this long is given up. 0 means DefaultMaxAge;
	// negative means no limit.
	MaxAge Duration
	// RotateAhead: a rotating move needs the receiver's entities ahead of
	// the giver's by more than this much progress (ns·1024/weight): it
	// trades churn (each migration costs the mover its time in flight)
	// for fairness. 0 means DefaultRotateAhead; negative means rotate as
	// soon as they are ahead at all.
	RotateAhead Duration
}

func (cfg BalanceConfig) tick() Duration {
	if cfg.Tick <= 0 {
		return DefaultBalanceTick
	}
	return cfg.Tick
}

func (cfg BalanceConfig) pushEvery() Duration {
	if cfg.PushEvery <= 0 {
		return cfg.tick()
	}
	return cfg.PushEvery
}

// fresh reports whether summary s is recent enough to act on at now. The
// summary of a core with nothing runnable does not age: an idle core
// sleeps without ticking (a kernel core does), and its state changes only
// when work comes to it, after which it ticks again.
func (cfg BalanceConfig) fresh(s LoadSummary, now Time) bool {
	switch {
	case cfg.MaxAge < 0 || s.Runnable == 0:
		return true
	case cfg.MaxAge == 0:
		return Duration(now-s.At) <= DefaultMaxAge
	}
	return Duration(now-s.At) <= cfg.MaxAge
}

func (cfg BalanceConfig) rotateAhead() Duration {
	switch {
	case cfg.RotateAhead == 0:
		return DefaultRotateAhead
	case cfg.RotateAhead < 0:
		return 0
	}
	return cfg.RotateAhead
}

// Decide returns what the core whose own, fresh summary is self should do,
// given the latest summaries it has seen from the others, at now. It
// allocates nothing.
func Decide(self LoadSummary, others []LoadSummary, now Time, cfg BalanceConfig) Decision {
	if self.Capacity <= 0 {
		return Decision{}
	}
	usable := func(o LoadSummary) bool {
		return o.Core != self.Core && o.Capacity > 0 && cfg.fresh(o, now)
	}
	switch {
	case self.Runnable == 0 && self.Expecting > 0:
		// Its entities are coming back: nothing to steal for.
	case self.Runnable == 0:
		best, found := LoadSummary{}, false
		for _, o := range others {
			if !usable(o) {
				continue
			}
			if o.Runnable < 2 && !(o.Runnable == 1 && o.Capacity < self.Capacity) {
				continue
			}
			if !found || o.NormLoad() > best.NormLoad() ||
				o.NormLoad() == best.NormLoad() && o.Core < best.Core {
				best, found = o, true
			}
		}
		if found {
			return Decision{Action: Steal, Target: best.Core}
		}
	case self.Runnable >= 2:
		// The least-loaded core, unless some less-loaded core's entities
		// are ahead of ours: then the one most ahead (a rotation).
		least, ahead, found, rotate := LoadSummary{}, LoadSummary{}, false, false
		ra := int64(cfg.rotateAhead())
		for _, o := range others {
			if !usable(o) || o.NormLoad() >= self.NormLoad() {
				continue
			}
			if !found || o.NormLoad() < least.NormLoad() ||
				o.NormLoad() == least.NormLoad() && o.Core < least.Core {
				least, found = o, true
			}
			if o.MinProgress-self.MinProgress > ra && (!rotate || o.MinProgress > ahead.MinProgress ||
				o.MinProgress == ahead.MinProgress && o.Core < ahead.Core) {
				ahead, rotate = o, true
			}
		}
		switch {
		case rotate:
			return Decision{Action: Push, Target: ahead.Core}
		case found:
			return Decision{Action: Push, Target: least.Core}
		}
	case self.Runnable == 1:
		// A lone entity on a slower core may go to a faster one.
		best, found := LoadSummary{}, false
		for _, o := range others {
			if !usable(o) || o.Capacity <= self.Capacity || o.NormLoad() >= self.NormLoad() {
				continue
			}
			if !found || o.Capacity > best.Capacity ||
				o.Capacity == best.Capacity && (o.MinProgress > best.MinProgress ||
					o.MinProgress == best.MinProgress && o.Core < best.Core) {
				best, found = o, true
			}
		}
		if found {
			return Decision{Action: Push, Target: best.Core}
		}
	}
	return Decision{}
}

// Choose returns the entity of q that the core described by from (q's own,
// fresh summary) should give to the core described by to, or nil if no move
// is worth it; see the rules above. The caller then Dequeues it and sends
// it. Call it between runs: every queued entity is a candidate. It walks the
// queue and allocates nothing.
func Choose(q *RunQueue, from, to LoadSummary, cfg BalanceConfig) *Entity {
	if q == nil || from.Capacity <= 0 || to.Capacity <= 0 || from.Core == to.Core || q.root == nil {
		return nil
	}
	c := chooser{from: from, to: to, now: from.NormLoad()}
	c.walk(q.root)
	if c.improve != nil {
		return c.improve
	}
	// A rotating move: the most-ahead entity, if the receiver's entities
	// are ahead of those it leaves behind, or of itself if it is alone and
	// the receiver is faster.
	if c.ahead == nil || to.NormLoad() >= c.now {
		return nil
	}
	behind := minProgress(q.root, c.ahead)
	if from.Runnable < 2 || behind == math.MaxInt64 {
		if to.Capacity <= from.Capacity {
			return nil
		}
		behind = c.ahead.progress()
	}
	if to.MinProgress-behind > int64(cfg.rotateAhead()) {
		return c.ahead
	}
	return nil
}

type chooser struct {
	from, to     LoadSummary
	now          int64
	improve      *Entity // best improving move so far
	improveAfter int64
	ahead        *Entity // most-ahead entity
}

func (c *chooser) walk(t *Entity) {
	for ; t != nil; t = t.right {
		c.walk(t.left)
		c.consider(t)
	}
}

func (c *chooser) consider(e *Entity) {
	if c.ahead == nil || ahead(e, c.ahead) {
		c.ahead = e
	}
	w := e.weight
	giver := (c.from.load() - w) * FullCapacity / c.from.Capacity
	taker := (c.to.load() + w) * FullCapacity / c.to.Capacity
	if taker >= c.now {
		return
	}
	after := max(giver, taker)
	if c.improve == nil || after < c.improveAfter || after == c.improveAfter && ahead(e, c.improve) {
		c.improve, c.improveAfter = e, after
	}
}

// Place returns the core a waking or new entity of weight w should be
// queued on, from the summaries the deciding core (the waker, whose own
// fresh summary is self) knows: the one where it makes the lowest
// normalized load; ties go to prev (where it last ran), then to self, then
// to the lower id. Stale summaries and cores not in use are ignored, as in
// Decide. It allocates nothing.
func Place(w int64, prev CoreID, self LoadSummary, others []LoadSummary, now Time, cfg BalanceConfig) CoreID {
	rank := func(c CoreID) int {
		switch c {
		case prev:
			return 0
		case self.Core:
			return 1
		}
		return 2
	}
	best, bestLoad, found := CoreID(0), int64(0), false
	try := func(s LoadSummary) {
		if s.Capacity <= 0 {
			return
		}
		l := (s.load() + w) * FullCapacity / s.Capacity
		if !found || l < bestLoad || l == bestLoad && (rank(s.Core) < rank(best) ||
			rank(s.Core) == rank(best) && s.Core < best) {
			best, bestLoad, found = s.Core, l, true
		}
	}
	try(self)
	for _, o := range others {
		if o.Core != self.Core && cfg.fresh(o, now) {
			try(o)
		}
	}
	if !found {
		return prev
	}
	return best
}

// ahead reports whether a has had more CPU time for its weight than b.
func ahead(a, b *Entity) bool {
	// runtime·1024/weight compared without division, in 128 bits.
	ah, al := bits.Mul64(uint64(a.runtime), uint64(b.weight))
	bh, bl := bits.Mul64(uint64(b.runtime), uint64(a.weight))
	return ah > bh || ah == bh && al > bl
}
