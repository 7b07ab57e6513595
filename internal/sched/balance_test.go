package sched

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

func sum(core CoreID, runnable int, weight, capacity int64, at Time) LoadSummary {
	return LoadSummary{Core: core, Runnable: runnable, Weight: weight, Capacity: capacity, At: at}
}

func withProgress(s LoadSummary, p int64) LoadSummary {
	s.MinProgress = p
	return s
}

func TestDecide(t *testing.T) {
	cfg := BalanceConfig{MaxAge: 50 * Millisecond}
	now := Time(100 * Millisecond)
	for _, tc := range []struct {
		name   string
		self   LoadSummary
		others []LoadSummary
		want   Decision
	}{
		{"idle, nobody has waiting work", sum(0, 0, 0, 1024, now),
			[]LoadSummary{sum(1, 1, 1024, 1024, now), sum(2, 0, 0, 1024, now)}, Decision{}},
		{"idle steals from the busiest", sum(0, 0, 0, 1024, now),
			[]LoadSummary{sum(1, 2, 2048, 1024, now), sum(2, 3, 3072, 1024, now), sum(3, 5, 2048, 1024, now)},
			Decision{Steal, 2}},
		{"busiest is weighed by capacity", sum(0, 0, 0, 1024, now),
			[]LoadSummary{sum(1, 3, 3072, 1024, now), sum(2, 2, 2048, 512, now)},
			Decision{Steal, 2}},
		{"a lone entity on a slower core is worth stealing", sum(0, 0, 0, 1024, now),
			[]LoadSummary{sum(1, 1, 1024, 512, now)}, Decision{Steal, 1}},
		{"but not on an equal core", sum(0, 0, 0, 512, now),
			[]LoadSummary{sum(1, 1, 1024, 512, now)}, Decision{}},
		{"stale summaries are ignored", sum(0, 0, 0, 1024, now),
			[]LoadSummary{sum(1, 4, 4096, 1024, now-60*ms), sum(2, 2, 2048, 1024, now-10*ms)},
			Decision{Steal, 2}},
		{"cores not in use are ignored", sum(0, 3, 3072, 1024, now),
			[]LoadSummary{sum(1, 0, 0, 0, now), sum(2, 2, 2048, 1024, now)},
			Decision{Push, 2}},
		{"own summary among the others is ignored", sum(0, 0, 0, 1024, now),
			[]LoadSummary{sum(0, 4, 4096, 1024, now-ms)}, Decision{}},
		{"overloaded pushes to the least loaded", sum(0, 4, 4096, 1024, now),
			[]LoadSummary{sum(1, 2, 2048, 1024, now), sum(2, 1, 1024, 1024, now), sum(3, 1, 1024, 512, now)},
			Decision{Push, 2}},
		{"no push when nobody is less loaded", sum(0, 2, 2048, 1024, now),
			[]LoadSummary{sum(1, 2, 2048, 1024, now)}, Decision{}},
		{"a single entity is never pushed", sum(0, 1, 88761, 1024, now),
			[]LoadSummary{sum(1, 0, 0, 1024, now)}, Decision{}},
		{"ties go to the lower core", sum(0, 0, 0, 1024, now),
			[]LoadSummary{sum(3, 2, 2048, 1024, now), sum(1, 2, 2048, 1024, now)}, Decision{Steal, 1}},
		{"a rotation goes to the core whose entities are ahead", sum(0, 3, 3072, 1024, now),
			[]LoadSummary{sum(1, 1, 1024, 1024, now), withProgress(sum(2, 2, 2048, 1024, now), int64(Second))},
			Decision{Push, 2}},
		{"a lone entity goes to a faster, less-loaded core", sum(0, 1, 1024, 512, now),
			[]LoadSummary{sum(1, 1, 1024, 1024, now), sum(2, 1, 1536, 1024, now), sum(3, 0, 0, 512, now)},
			Decision{Push, 1}},
		{"a core not in use decides nothing", sum(0, 0, 0, 0, now),
			[]LoadSummary{sum(1, 3, 3072, 1024, now)}, Decision{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(tc.self, tc.others, now, cfg); got != tc.want {
				t.Errorf("Decide = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPlace(t *testing.T) {
	now := Time(100 * Millisecond)
	cfg := BalanceConfig{MaxAge: 50 * Millisecond}
	for _, tc := range []struct {
		name   string
		w      int64
		prev   CoreID
		self   LoadSummary
		others []LoadSummary
		want   CoreID
	}{
		{"an idle core rather than the busy waker", 1024, 0, sum(0, 3, 3072, 1024, now),
			[]LoadSummary{sum(1, 1, 1024, 1024, now), sum(2, 0, 0, 1024, now)}, 2},
		{"the previous core on a tie", 1024, 1, sum(0, 1, 1024, 1024, now),
			[]LoadSummary{sum(1, 1, 1024, 1024, now), sum(2, 1, 1024, 1024, now)}, 1},
		{"the waker's core on a tie without prev", 1024, 5, sum(2, 1, 1024, 1024, now),
			[]LoadSummary{sum(1, 1, 1024, 1024, now), sum(0, 1, 1024, 1024, now)}, 2},
		{"capacity counts", 1024, 0, sum(0, 2, 2048, 1024, now),
			[]LoadSummary{sum(1, 1, 1024, 256, now), sum(2, 1, 1024, 1024, now)}, 2},
		{"stale summaries are ignored", 1024, 0, sum(0, 2, 2048, 1024, now),
			[]LoadSummary{sum(1, 1, 15, 1024, now-time60)}, 0},
		{"an idle core's summary does not age: it sleeps without ticking", 1024, 0, sum(0, 2, 2048, 1024, now),
			[]LoadSummary{sum(1, 0, 0, 1024, now-time60)}, 1},
		{"a core not in use gets nothing", 1024, 0, sum(0, 2, 2048, 1024, now),
			[]LoadSummary{sum(1, 0, 0, 0, now)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Place(tc.w, tc.prev, tc.self, tc.others, now, cfg); got != tc.want {
				t.Errorf("Place = %d, want %d", got, tc.want)
			}
		})
	}
}

const time60 = 60 * ms

func TestChoose(t *testing.T) {
	build := func(nices ...int) (*RunQueue, []*Entity) {
		q := NewRunQueue(Config{})
		var es []*Entity
		for i, n := range nices {
			e := &Entity{ID: uint64(i), Nice: n}
			q.Enqueue(e)
			es = append(es, e)
		}
		return q, es
	}
	t.Run("steal by an idle core takes a waiting entity", func(t *testing.T) {
		q, _ := build(0, 0, 0)
		if e := Choose(q, q.Summary(0, 1024, 0), sum(1, 0, 0, 1024, 0), BalanceConfig{}); e == nil {
			t.Fatal("nothing given to an idle core")
		}
	})
	t.Run("a lone entity stays on an equal core", func(t *testing.T) {
		q, _ := build(0)
		if e := Choose(q, q.Summary(0, 1024, 0), sum(1, 0, 0, 1024, 0), BalanceConfig{}); e != nil {
			t.Fatalf("gave away %d", e.ID)
		}
	})
	t.Run("a lone entity moves to a faster idle core", func(t *testing.T) {
		q, es := build(0)
		if e := Choose(q, q.Summary(0, 512, 0), sum(1, 0, 0, 1024, 0), BalanceConfig{}); e != es[0] {
			t.Fatalf("gave %v", e)
		}
	})
	t.Run("the weight that best evens the pair moves", func(t *testing.T) {
		// 9548 + 4×1024 here, 4×1024 there: a nice-0 entity moves, not
		// the heavy one.
		q, es := build(-10, 0, 0, 0, 0)
		e := Choose(q, q.Summary(0, 1024, 0), sum(1, 4, 4096, 1024, 0), BalanceConfig{})
		if e == nil || e == es[0] {
			t.Fatalf("gave %v", e)
		}
	})
	t.Run("no move that makes the pair worse", func(t *testing.T) {
		q, _ := build(-10, 0)
		if e := Choose(q, q.Summary(0, 1024, 0), sum(1, 2, 10572, 1024, 0), BalanceConfig{}); e != nil {
			t.Fatalf("gave %d", e.ID)
		}
	})
	t.Run("rotation moves the most-ahead entity when the receiver's are ahead", func(t *testing.T) {
		q, es := build(0, 0)
		q.Charge(es[0], 2*Millisecond)
		q.Charge(es[1], 5*Millisecond)
		to := sum(1, 1, 1024, 1024, 0)
		to.MinProgress = int64(6 * Millisecond)
		if e := Choose(q, q.Summary(0, 1024, 0), to, BalanceConfig{RotateAhead: -1}); e != es[1] {
			t.Fatalf("gave %v, want the one ahead", e)
		}
		if e := Choose(q, q.Summary(0, 1024, 0), to, BalanceConfig{RotateAhead: 5 * Millisecond}); e != nil {
			t.Fatalf("gave %d though the receiver is not ahead by RotateAhead", e.ID)
		}
		to.MinProgress = int64(1 * Millisecond)
		if e := Choose(q, q.Summary(0, 1024, 0), to, BalanceConfig{RotateAhead: -1}); e != nil {
			t.Fatalf("gave %d to a core whose entities are behind", e.ID)
		}
	})
	t.Run("an improving move takes the most-ahead entity", func(t *testing.T) {
		q, es := build(0, 0, 0)
		q.Charge(es[0], 2*Millisecond)
		q.Charge(es[2], 5*Millisecond)
		if e := Choose(q, q.Summary(0, 1024, 0), sum(1, 0, 0, 1024, 0), BalanceConfig{}); e != es[2] {
			t.Fatalf("gave %v, want the one ahead", e)
		}
	})
	t.Run("nothing to a core not in use", func(t *testing.T) {
		q, _ := build(0, 0, 0)
		if e := Choose(q, q.Summary(0, 1024, 0), sum(1, 0, 0, 0, 0), BalanceConfig{}); e != nil {
			t.Fatalf("gave %d", e.ID)
		}
	})
}

func TestBalanceAllocatesNothing(t *testing.T) {
	q := NewRunQueue(Config{})
	for i := range 32 {
		q.Enqueue(&Entity{ID: uint64(i), Nice: i%40 - 20})
	}
	others := []LoadSummary{sum(1, 0, 0, 1024, 0), sum(2, 5, 5000, 512, 0)}
	allocs := testing.AllocsPerRun(1000, func() {
		self := q.Summary(0, 1024, 0)
		d := Decide(self, others, 0, BalanceConfig{})
		_ = Choose(q, self, others[0], BalanceConfig{})
		_ = Place(1024, 2, self, others, 0, BalanceConfig{})
		_ = d
	})
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}

// Properties of the balancing functions over random summaries and queues.
func TestBalanceProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		now := Time(100 * Millisecond)
		cfg := BalanceConfig{MaxAge: 20 * Millisecond, RotateAhead: Duration(rapid.IntRange(-1, 10).Draw(t, "ra")) * Millisecond}
		genSum := func(core CoreID, label string) LoadSummary {
			n := rapid.IntRange(0, 6).Draw(t, label+"n")
			s := LoadSummary{Core: core, Runnable: n,
				Capacity:    rapid.SampledFrom([]int64{0, 256, 512, 1024, 1024}).Draw(t, label+"cap"),
				At:          now - Time(rapid.IntRange(0, 30).Draw(t, label+"age"))*ms,
				MinProgress: int64(rapid.IntRange(0, 50).Draw(t, label+"p")) * int64(Millisecond)}
			for range n {
				s.Weight += NiceToWeight(rapid.IntRange(MinNice, MaxNice).Draw(t, label+"w"))
			}
			return s
		}
		// Our own queue, and its fresh summary.
		q := NewRunQueue(Config{})
		for i := range rapid.IntRange(0, 6).Draw(t, "own") {
			e := &Entity{ID: uint64(i), Nice: rapid.IntRange(MinNice, MaxNice).Draw(t, "nice")}
			q.Enqueue(e)
			q.Charge(e, Duration(rapid.IntRange(0, 20).Draw(t, "ran"))*Millisecond)
		}
		self := q.Summary(0, rapid.SampledFrom([]int64{256, 512, 1024}).Draw(t, "selfcap"), now)
		var others []LoadSummary
		for i := range rapid.IntRange(0, 5).Draw(t, "cores") {
			others = append(others, genSum(CoreID(i+1), fmt.Sprint(i)))
		}
		usable := func(c CoreID) (LoadSummary, bool) {
			for _, o := range others {
				// An idle core's summary does not age.
				if o.Core == c && o.Capacity > 0 && (o.Runnable == 0 || Duration(now-o.At) <= cfg.MaxAge) {
					return o, true
				}
			}
			return LoadSummary{}, false
		}
		d := Decide(self, others, now, cfg)
		switch d.Action {
		case Steal:
			o, ok := usable(d.Target)
			if self.Runnable != 0 || !ok || o.Runnable == 0 || o.Runnable == 1 && o.Capacity >= self.Capacity {
				t.Fatalf("steal %+v from %+v by %+v", d, o, self)
			}
		case Push:
			o, ok := usable(d.Target)
			if self.Runnable == 0 || !ok || o.NormLoad() >= self.NormLoad() {
				t.Fatalf("push %+v to %+v by %+v", d, o, self)
			}
			if e := Choose(q, self, o, cfg); e != nil {
				if e.rq != q {
					t.Fatalf("chose entity %d not in the queue", e.ID)
				}
				taker := (o.Weight + e.Weight()) * FullCapacity / o.Capacity
				if taker >= self.NormLoad() && self.Runnable < 2 && o.Capacity <= self.Capacity {
					t.Fatalf("a lone entity left for a core no faster: %+v → %+v", self, o)
				}
			}
		}
		w := NiceToWeight(rapid.IntRange(MinNice, MaxNice).Draw(t, "placew"))
		p := Place(w, 0, self, others, now, cfg)
		after := func(s LoadSummary) int64 { return (s.Weight + w) * FullCapacity / s.Capacity }
		best := after(self)
		for _, o := range others {
			if _, ok := usable(o.Core); ok {
				best = min(best, after(o))
			}
		}
		if p == self.Core {
			if after(self) != best {
				t.Fatalf("placed on self at %d, best %d", after(self), best)
			}
		} else if o, ok := usable(p); !ok || after(o) != best {
			t.Fatalf("placed on %d (%+v), best %d", p, o, best)
		}
	})
}

// A core whose entities wait a moment for a short call (Expecting) keeps
// their weight: it does not steal, others do not push to it or place on it
// as if it were idle, and once they are no longer expected it steals.
func TestExpecting(t *testing.T) {
	busy := LoadSummary{Core: 0, Runnable: 50, Weight: 1024, Capacity: FullCapacity}
	waiting := LoadSummary{Core: 1, Runnable: 0, Weight: 0, Expecting: 1024, Capacity: FullCapacity}
	if d := Decide(waiting, []LoadSummary{busy}, 0, BalanceConfig{}); d.Action != None {
		t.Errorf("a core expecting its entity back: %+v, want none", d)
	}
	if d := Decide(busy, []LoadSummary{waiting}, 0, BalanceConfig{}); d.Action != None {
		t.Errorf("a busy core beside one expecting its entity: %+v, want none", d)
	}
	if c := Place(NiceZeroWeight, 0, busy, []LoadSummary{waiting, {Core: 2, Weight: 0, Capacity: FullCapacity}}, 0, BalanceConfig{}); c != 2 {
		t.Errorf("placed on core %d, want the idle core 2, not the expecting one", c)
	}
	waiting.Expecting = 0
	if d := Decide(waiting, []LoadSummary{busy}, 0, BalanceConfig{}); d != (Decision{Action: Steal, Target: 0}) {
		t.Errorf("a core no longer expecting: %+v, want a steal from core 0", d)
	}
}
