package sched

import "math/bits"

// Balancing rules. Cores never share a run queue: each core broadcasts a
// LoadSummary of its own queue every tick, keeps the latest one it has
// received from every other core, and from those decides alone (Decide):
//
//   - load is weighed by capacity: a core's normalized load is
//     Weight·1024/Capacity, the weight each unit of full-core capacity
//     carries. An entity of weight w on core c progresses at
//     w·1024/load(c), so equal normalized loads mean weight-fair shares
//     across cores of any capacity;
//   - an idle core (nothing runnable) sends a steal request to the busiest
//     core, the one of highest normalized load among those that have work
//     it could give: entities waiting (Runnable ≥ 2), or a single entity on
//     a core of lower capacity than the idle one (a misfit);
//   - a core with entities waiting (Runnable ≥ 2) pushes to the least-loaded
//     core when that core's normalized load is below its own;
//   - summaries older than BalanceConfig.MaxAge, the core's own, and those
//     of cores with no capacity (not in use) are ignored; ties go to the
//     lower core id.
//
// Which entity moves is decided by the core that owns it, with fresh
// knowledge of its own queue (Choose): the entity whose move leaves the pair
// (giver, receiver) with the lowest maximum normalized load, provided that
// maximum is below the giver's load now (the move helps), or equal to it
// while the giver keeps work (a neutral move: the entities left behind gain
// and the moved one loses nothing). Neutral moves are what rotates entities
// when the weights cannot be split evenly (three equal entities on two
// cores), so that shares stay fair over time. Ties go to the entity that
// has had the most CPU time for its weight, so that the ones left behind
// catch up; then to tree order.
//
// Decisions are made on approximate, possibly stale summaries; a wrong one
// costs a message and is corrected at the next tick. A steal request carries
// the requester's summary, and the victim answers with an entity or with
// nothing.

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
}

// NormLoad returns the summary's normalized load, Weight·1024/Capacity (0
// for a core not in use).
func (s LoadSummary) NormLoad() int64 {
	if s.Capacity <= 0 {
		return 0
	}
	return s.Weight * FullCapacity / s.Capacity
}

// Summary returns q's load summary as core id of the given capacity at now.
func (q *RunQueue) Summary(core CoreID, capacity int64, now Time) LoadSummary {
	return LoadSummary{Core: core, Runnable: q.n, Weight: q.load, Capacity: capacity, At: now}
}

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
	// MaxAge: summaries older than this are ignored; 0 means no limit.
	MaxAge Duration
}

// Decide returns what the core whose own, fresh summary is self should do,
// given the latest summaries it has seen from the others, at now. It
// allocates nothing.
func Decide(self LoadSummary, others []LoadSummary, now Time, cfg BalanceConfig) Decision {
	if self.Capacity <= 0 {
		return Decision{}
	}
	usable := func(o LoadSummary) bool {
		return o.Core != self.Core && o.Capacity > 0 &&
			(cfg.MaxAge <= 0 || Duration(now-o.At) <= cfg.MaxAge)
	}
	switch {
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
		best, found := LoadSummary{}, false
		for _, o := range others {
			if !usable(o) {
				continue
			}
			if !found || o.NormLoad() < best.NormLoad() ||
				o.NormLoad() == best.NormLoad() && o.Core < best.Core {
				best, found = o, true
			}
		}
		if found && best.NormLoad() < self.NormLoad() {
			return Decision{Action: Push, Target: best.Core}
		}
	}
	return Decision{}
}

// Choose returns the entity of q that the core described by from (q's own,
// fresh summary) should give to the core described by to, or nil if no move
// helps; see the rules above. The caller then Dequeues it and sends it. Call
// it between runs: every queued entity is a candidate. It allocates nothing.
func Choose(q *RunQueue, from, to LoadSummary) *Entity {
	if from.Capacity <= 0 || to.Capacity <= 0 || from.Core == to.Core {
		return nil
	}
	now := from.NormLoad()
	var (
		best      *Entity
		bestAfter int64
	)
	for n := q.root; n != nil; {
		// An iterative in-order walk would need a stack; the tree is
		// shallow, so recurse on the left and loop on the right.
		best, bestAfter = chooseIn(n.left, from, to, now, best, bestAfter)
		best, bestAfter = chooseOne(n, from, to, now, best, bestAfter)
		n = n.right
	}
	return best
}

func chooseIn(t *Entity, from, to LoadSummary, now int64, best *Entity, bestAfter int64) (*Entity, int64) {
	for ; t != nil; t = t.right {
		best, bestAfter = chooseIn(t.left, from, to, now, best, bestAfter)
		best, bestAfter = chooseOne(t, from, to, now, best, bestAfter)
	}
	return best, bestAfter
}

func chooseOne(e *Entity, from, to LoadSummary, now int64, best *Entity, bestAfter int64) (*Entity, int64) {
	w := e.weight
	giver := (from.Weight - w) * FullCapacity / from.Capacity
	taker := (to.Weight + w) * FullCapacity / to.Capacity
	after := max(giver, taker)
	if after > now || after == now && from.Runnable < 2 {
		return best, bestAfter
	}
	if best == nil || after < bestAfter || after == bestAfter && ahead(e, best) {
		return e, after
	}
	return best, bestAfter
}

// ahead reports whether a has had more CPU time for its weight than b.
func ahead(a, b *Entity) bool {
	// runtime·1024/weight compared without division, in 128 bits.
	ah, al := bits.Mul64(uint64(a.runtime), uint64(b.weight))
	bh, bl := bits.Mul64(uint64(b.runtime), uint64(a.weight))
	return ah > bh || ah == bh && al > bl
}
