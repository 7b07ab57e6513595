package sched

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"pgregory.net/rapid"
)

func TestNiceToWeight(t *testing.T) {
	for _, tc := range []struct {
		nice int
		want int64
	}{{0, 1024}, {-20, 88761}, {19, 15}, {1, 820}, {-1, 1277}, {-30, 88761}, {30, 15}} {
		if got := NiceToWeight(tc.nice); got != tc.want {
			t.Errorf("NiceToWeight(%d) = %d, want %d", tc.nice, got, tc.want)
		}
	}
	// About ×1.25 a step.
	for n := MinNice; n < MaxNice; n++ {
		r := float64(NiceToWeight(n)) / float64(NiceToWeight(n+1))
		if r < 1.19 || r > 1.31 {
			t.Errorf("weight ratio nice %d/%d = %.3f", n, n+1, r)
		}
	}
}

// runOne drives one core for total ns: Pick, run for SliceLeft (bounded by
// next, the time of the next external event, if it returns one), Charge.
// It calls after(e, now) at the end of each run.
func runOne(q *RunQueue, total Duration, next func(now Time) Time, after func(e *Entity, start, now Time)) {
	runOneLimit(q, total, next, nil, after)
}

// runOneLimit is runOne where limit, if not nil, bounds each run of e.
func runOneLimit(q *RunQueue, total Duration, next func(now Time) Time, limit func(e *Entity) Duration, after func(e *Entity, start, now Time)) {
	var now Time
	for now < Time(total) {
		e := q.Pick()
		if e == nil {
			now = next(now)
			if now <= 0 {
				return
			}
			after(nil, now, now)
			continue
		}
		run := q.SliceLeft(e)
		if limit != nil {
			run = min(run, limit(e))
		}
		if run <= 0 {
			panic("SliceLeft 0")
		}
		end := now + Time(run)
		if n := next(now); n > now && n < end {
			end = n
		}
		end = min(end, Time(total))
		q.Charge(e, Duration(end-now))
		start := now
		now = end
		after(e, start, now)
	}
}

func noEvents(Time) Time { return 0 }

// Over a simulated run, CPU shares match weight ratios within 2%.
func TestSharesFollowWeights(t *testing.T) {
	for _, nices := range [][]int{
		{0, 0},
		{0, 5},
		{-5, 0, 5, 10},
		{-20, 0, 19},
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{-10, -10, 0, 0, 0, 19, 19, 19},
	} {
		t.Run(fmt.Sprint(nices), func(t *testing.T) {
			q := NewRunQueue(Config{})
			es := make([]*Entity, len(nices))
			var W int64
			for i, n := range nices {
				es[i] = &Entity{ID: uint64(i), Nice: n}
				q.Enqueue(es[i])
				W += es[i].Weight()
			}
			const total = 20 * Second
			runOne(q, total, noEvents, func(*Entity, Time, Time) {})
			for _, e := range es {
				want := float64(total) * float64(e.Weight()) / float64(W)
				got := float64(e.Runtime())
				// 2% of the entity's share, or one slice for the
				// tiny shares where a slice is more than 2%.
				if d := got - want; d > 0.02*want+float64(DefaultSlice) || -d > 0.02*want+float64(DefaultSlice) {
					t.Errorf("entity nice %d: got %.4f s, want %.4f s", e.Nice, got/1e9, want/1e9)
				}
				t.Logf("nice %3d weight %5d: share %.5f want %.5f", e.Nice, e.Weight(), got/float64(total), want/float64(total))
			}
		})
	}
}

// A woken entity runs within one slice of its own virtual time: it is
// picked before V passes its virtual deadline, which in real time is at most
// slice·W/w after the wake-up (W the total weight, w its own). This holds
// when the kernel re-picks at the wake-up and the entity did not use more
// than its share before it slept (lag ≥ 0 at wake-up); one that overran pays
// its debt first, as EEVDF means it to. In real time that is not one slice:
// among n equal CPU hogs the wait grows as about n/2 slices (EEVDF's
// latency is set by the request size); see TestShortRequestRunsWithinOneSlice
// for what gives one slice.
func TestWokenRunsWithinOneSlice(t *testing.T) {
	for _, hogs := range [][]int{{0}, {0, 0, 0, 0}, {-20}, {-20, -10, 0, 19}, {19, 19, 19}, {5, 5, 5, 5, 5, 5, 5, 5, 5, 5}} {
		for _, sleeperNice := range []int{0, 19, -20} {
			t.Run(fmt.Sprint(hogs, sleeperNice), func(t *testing.T) {
				q := NewRunQueue(Config{})
				for i, n := range hogs {
					q.Enqueue(&Entity{ID: uint64(i), Nice: n})
				}
				s := &Entity{ID: 100, Nice: sleeperNice}
				const burst, sleep = 100 * Microsecond, 10 * Millisecond
				var (
					wakeAt       Time = 1 // next wake-up
					woke         Time = -1
					ranBurst     Duration
					worst        Duration
					deadline     int64
					W            = q.Load() + NiceToWeight(sleeperNice)
					wakes, owing int
				)
				next := func(now Time) Time {
					if !s.Queued() {
						return wakeAt
					}
					return 0
				}
				limit := func(e *Entity) Duration {
					if e == s {
						return burst - ranBurst
					}
					return 1 << 62
				}
				runOneLimit(q, 5*Second, next, limit, func(e *Entity, start, now Time) {
					if e == s {
						if woke >= 0 {
							worst = max(worst, Duration(start-woke))
							woke = -1
							// Charged already: V at the pick was ≤ V now.
							if v := q.V(); v > deadline+int64(now-start) {
								t.Fatalf("picked at V %d past its deadline %d", v, deadline)
							}
						}
						ranBurst += Duration(now - start)
						if ranBurst >= burst {
							q.Dequeue(s)
							ranBurst = 0
							wakeAt = now + Time(sleep)
						}
					}
					if !s.Queued() && now >= wakeAt {
						q.Enqueue(s)
						if q.Lag(s) >= 0 {
							woke = now
							deadline = s.Deadline()
							wakes++
						} else {
							owing++
						}
					}
				})
				if wakes+owing < 1 {
					t.Fatalf("only %d wake-ups", wakes+owing)
				}
				bound := Duration(int64(DefaultSlice) * W / s.Weight())
				if worst > bound {
					t.Errorf("worst wake-up latency %v > %v", worst, bound)
				}
				t.Logf("%d wake-ups with lag ≥ 0, worst latency %.3f ms; %d with lag < 0", wakes, float64(worst)/1e6, owing)
			})
		}
	}
}

// A new or woken entity that asks for short requests (Entity.Slice, as
// Linux's sched_attr.sched_runtime) runs within one default slice of its
// arrival among any number of CPU hogs no heavier than itself, arriving at
// random times after sleeping at least 5 ms: its early virtual deadline puts
// it first once it is eligible, it has slept off the debt of its last run,
// and at worst one hog finishes its request.
func TestShortRequestRunsWithinOneSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 4, 8, 16, 32} {
		for _, nice := range []int{0, -5} {
			var worst Duration
			for trial := range 200 {
				q := NewRunQueue(Config{})
				for i := range n {
					q.Enqueue(&Entity{ID: uint64(i), Nice: []int{0, 5, 19}[i%3]})
				}
				s := &Entity{ID: 1000, Nice: nice, Slice: 300 * Microsecond}
				var now Time
				arrive := Time(rng.Int64N(int64(100*Millisecond))) + Time(trial)
				wakes := 0
				for now < Time(Second) && wakes < 5 {
					if !s.Queued() && now >= arrive {
						q.Enqueue(s)
						arrive = now
					}
					e := q.Pick()
					if e == s {
						worst = max(worst, Duration(now-arrive))
						// Run its short request, then sleep a while.
						q.Charge(s, q.SliceLeft(s))
						q.Dequeue(s)
						now += Time(300 * Microsecond)
						arrive = now + Time(5*Millisecond) + Time(rng.Int64N(int64(20*Millisecond)))
						wakes++
						continue
					}
					run := q.SliceLeft(e)
					if !s.Queued() && now+Time(run) > arrive {
						run = max(Duration(arrive-now), 1)
					}
					q.Charge(e, run)
					now += Time(run)
				}
			}
			if worst > DefaultSlice {
				t.Errorf("%d hogs, nice %d: worst latency %v > %v", n, nice, worst, DefaultSlice)
			}
			t.Logf("%2d hogs, nice %d, 300 µs requests: worst latency %.3f ms", n, nice, float64(worst)/1e6)
		}
	}
}

// Nothing starves: every runnable entity runs again within
// (2 slices)·W/w + one slice, its fair wait for twice its request.
func TestNoStarvation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nices := rapid.SliceOfN(rapid.IntRange(MinNice, MaxNice), 1, 12).Draw(t, "nices")
		q := NewRunQueue(Config{})
		last := map[*Entity]Time{}
		var W int64
		for i, n := range nices {
			e := &Entity{ID: uint64(i), Nice: n}
			q.Enqueue(e)
			last[e] = 0
			W += e.Weight()
		}
		runOne(q, 2*Second, noEvents, func(e *Entity, start, now Time) {
			for x, l := range last {
				bound := Time(2*int64(DefaultSlice)*W/x.Weight() + int64(DefaultSlice))
				if x != e && now-l > bound {
					t.Fatalf("entity nice %d waited %.3f ms > bound %.3f ms", x.Nice, float64(now-l)/1e6, float64(bound)/1e6)
				}
			}
			last[e] = now
		})
	})
}

// ops: random operation sequences for the property and differential tests.
type rqModel struct {
	q    *RunQueue
	r    *refQueue
	es   []*Entity
	rs   []*refEntity
	live []bool // queued
}

func newModel(n int, nice func(i int) int, slice func(i int) Duration) *rqModel {
	m := &rqModel{q: NewRunQueue(Config{}), r: &refQueue{slice: DefaultSlice}}
	for i := range n {
		m.es = append(m.es, &Entity{ID: uint64(i), Nice: nice(i), Slice: slice(i)})
		m.rs = append(m.rs, &refEntity{id: uint64(i), nice: nice(i), slice: slice(i)})
		m.live = append(m.live, false)
	}
	return m
}

// checkInvariants checks the properties that hold after every operation.
func checkInvariants(t *rapid.T, q *RunQueue) {
	var n int
	var load int64
	var wlag int64
	var eligible int
	q.each(func(e *Entity) {
		n++
		load += e.weight
		wlag += (q.V() - e.vruntime) * e.weight
		if q.Eligible(e) {
			eligible++
		}
		if e.deadline <= e.vruntime-e.vslice() {
			t.Fatalf("entity %d: deadline %d far behind vruntime %d", e.ID, e.deadline, e.vruntime)
		}
	})
	if n != q.Len() || load != q.Load() {
		t.Fatalf("Len/Load %d/%d, tree has %d/%d", q.Len(), q.Load(), n, load)
	}
	// Σ w·lag = Σ w·(V − v) is 0 up to V's rounding: in (−load, 0].
	if wlag > 0 || wlag <= -load && load > 0 {
		t.Fatalf("Σ w·lag = %d, load %d", wlag, load)
	}
	p := q.Pick()
	if (p == nil) != (n == 0) {
		t.Fatalf("Pick = %v with %d queued", p, n)
	}
	if p == nil {
		return
	}
	if !q.Eligible(p) {
		t.Fatalf("picked entity %d is not eligible (lag %d)", p.ID, q.Lag(p))
	}
	q.each(func(e *Entity) {
		if q.Eligible(e) && earlier(e, p) {
			t.Fatalf("entity %d (deadline %d) is eligible and earlier than picked %d (deadline %d)", e.ID, e.deadline, p.ID, p.deadline)
		}
	})
}

func rqProperty(t *rapid.T) {
	n := rapid.IntRange(1, 24).Draw(t, "n")
	nices := rapid.SliceOfN(rapid.IntRange(MinNice, MaxNice), n, n).Draw(t, "nices")
	slices := rapid.SliceOfN(rapid.SampledFrom([]Duration{0, 0, 100 * Microsecond, 10 * Millisecond}), n, n).Draw(t, "slices")
	m := newModel(n, func(i int) int { return nices[i] }, func(i int) Duration { return slices[i] })
	steps := rapid.IntRange(1, 300).Draw(t, "steps")
	for range steps {
		i := rapid.IntRange(0, n-1).Draw(t, "i")
		e, r := m.es[i], m.rs[i]
		switch op := rapid.IntRange(0, 4).Draw(t, "op"); {
		case op == 4:
			nice := rapid.IntRange(MinNice, MaxNice).Draw(t, "renice")
			m.q.Renice(e, nice)
			m.r.renice(r, nice)
		case op == 0 && !m.live[i]:
			m.q.Enqueue(e)
			m.r.enqueue(r)
			m.live[i] = true
		case op == 1 && m.live[i]:
			m.q.Dequeue(e)
			m.r.dequeue(r)
			m.live[i] = false
			if lim := e.scale(2 * e.slice); e.vlag > lim || e.vlag < -lim {
				t.Fatalf("saved lag %d beyond ±%d", e.vlag, lim)
			}
		default:
			// Run the picked entity, as the kernel does.
			p := m.q.Pick()
			rp := m.r.pick()
			if p == nil {
				if rp != nil {
					t.Fatalf("Pick nil, reference picks %d", rp.id)
				}
				continue
			}
			if rp == nil || p.ID != rp.id {
				t.Fatalf("Pick = %d, reference picks %v", p.ID, rp)
			}
			ran := rapid.SampledFrom([]Duration{0, 1, 999, 50 * Microsecond, m.q.SliceLeft(p), 4 * Millisecond}).Draw(t, "ran")
			m.q.Charge(p, ran)
			m.r.charge(rp, ran)
		}
		checkInvariants(t, m.q)
		if m.q.V() != m.r.V() {
			t.Fatalf("V = %d, reference %d", m.q.V(), m.r.V())
		}
		for j, e := range m.es {
			r := m.rs[j]
			if m.live[j] && (m.q.Lag(e) != m.r.V()-r.v || e.deadline-e.vruntime != r.d-r.v) {
				t.Fatalf("entity %d: lag %d deadline-v %d, reference %d %d", j, m.q.Lag(e), e.deadline-e.vruntime, m.r.V()-r.v, r.d-r.v)
			}
			if !m.live[j] && e.vlag != r.vlag {
				t.Fatalf("entity %d: saved lag %d, reference %d", j, e.vlag, r.vlag)
			}
		}
	}
}

// The tree agrees with the O(n) reference on every pick, V, lag and
// deadline, and the invariants hold, over random operation sequences.
func TestRunQueueAgainstReference(t *testing.T) { rapid.Check(t, rqProperty) }

func FuzzRunQueue(f *testing.F) { f.Fuzz(rapid.MakeFuzz(rqProperty)) }

// A re-enqueued entity gets back the lag it left with (up to rounding),
// except that a debt shrinks as V moves on while it sleeps, and is kept
// whole when it moves to another queue.
func TestLagAcrossSleep(t *testing.T) {
	near := func(t *testing.T, what string, got, want int64) {
		t.Helper()
		if got > want+1 || got < want-1 {
			t.Fatalf("%s: lag %d, want %d", what, got, want)
		}
	}
	q := NewRunQueue(Config{})
	a, b, c := &Entity{ID: 1}, &Entity{ID: 2, Nice: 5}, &Entity{ID: 3, Nice: -3}
	for _, e := range []*Entity{a, b, c} {
		q.Enqueue(e)
	}
	q.Charge(a, 4*Millisecond)
	q.Charge(c, 2*Millisecond)
	owed := q.Lag(b)
	if owed <= 0 {
		t.Fatalf("b's lag %d, want positive", owed)
	}
	q.Dequeue(b)
	q.Charge(a, 5*Millisecond)
	q.Charge(c, 5*Millisecond)
	q.Enqueue(b)
	near(t, "owed service kept", q.Lag(b), owed)

	q.Charge(b, 6*Millisecond)
	debt := q.Lag(b)
	if debt >= 0 {
		t.Fatalf("b's lag %d, want negative", debt)
	}
	q.Dequeue(b)
	v0 := q.V()
	q.Charge(a, 100*Microsecond)
	paid := q.V() - v0
	q.Enqueue(b)
	near(t, "debt partly paid", q.Lag(b), debt+paid)

	q.Charge(b, 6*Millisecond)
	q.Dequeue(b)
	q.Charge(a, 60*Millisecond)
	q.Enqueue(b)
	near(t, "debt paid", q.Lag(b), 0)

	q.Charge(b, 6*Millisecond)
	debt = q.Lag(b)
	q.Dequeue(b)
	q.Charge(a, 60*Millisecond)
	q2 := NewRunQueue(Config{})
	q2.Enqueue(&Entity{ID: 4})
	q2.Enqueue(b)
	near(t, "debt kept across a migration", q2.Lag(b), debt)
}

// Renicing a queued entity keeps its real-time lag and V, and its share
// follows the new weight from then on.
func TestRenice(t *testing.T) {
	q := NewRunQueue(Config{})
	a, b := &Entity{ID: 1}, &Entity{ID: 2}
	q.Enqueue(a)
	q.Enqueue(b)
	q.Charge(a, 2*Millisecond)
	v, lag := q.V(), q.Lag(b)
	q.Renice(b, -5)
	if q.V() < v-1 || q.V() > v+1 {
		t.Errorf("V moved from %d to %d", v, q.V())
	}
	if got, want := q.Lag(b)*b.Weight(), lag*1024; got < want-b.Weight() || got > want+b.Weight() {
		t.Errorf("weighted lag %d, want %d", got, want)
	}
	a0, b0 := a.Runtime(), b.Runtime()
	runOne(q, 10*Second, noEvents, func(*Entity, Time, Time) {})
	ra, rb := float64(a.Runtime()-a0), float64(b.Runtime()-b0)
	if share, want := rb/(ra+rb), 3121.0/(3121+1024); share < want*0.98 || share > want*1.02 {
		t.Errorf("share after renice %.4f, want %.4f", share, want)
	}
}

func TestHotPathAllocatesNothing(t *testing.T) {
	q := NewRunQueue(Config{})
	es := make([]*Entity, 64)
	for i := range es {
		es[i] = &Entity{ID: uint64(i), Nice: i%40 - 20}
		q.Enqueue(es[i])
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		e := q.Pick()
		q.Charge(e, q.SliceLeft(e))
		x := es[i%len(es)]
		q.Dequeue(x)
		q.Enqueue(x)
		i++
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per switch", allocs)
	}
}

func BenchmarkPickCharge(b *testing.B) {
	q := NewRunQueue(Config{})
	for i := range 64 {
		q.Enqueue(&Entity{ID: uint64(i), Nice: i%40 - 20})
	}
	b.ReportAllocs()
	for b.Loop() {
		e := q.Pick()
		q.Charge(e, 100*Microsecond)
	}
}

func BenchmarkPickCharge8(b *testing.B) {
	q := NewRunQueue(Config{})
	for i := range 8 {
		q.Enqueue(&Entity{ID: uint64(i), Nice: i%40 - 20})
	}
	b.ReportAllocs()
	for b.Loop() {
		e := q.Pick()
		q.Charge(e, 100*Microsecond)
	}
}

// BenchmarkWakeRunBlock is one round of a same-core ping-pong's queue
// work: the server wakes, is charged for a short run and blocks; the
// client, which stays queued, is charged for its own.
func BenchmarkWakeRunBlock(b *testing.B) {
	q := NewRunQueue(Config{Slice: 3 * Millisecond})
	cl, sv := &Entity{ID: 1}, &Entity{ID: 2}
	q.Enqueue(cl)
	b.ReportAllocs()
	for b.Loop() {
		q.Enqueue(sv)
		q.Charge(sv, 200)
		q.Dequeue(sv)
		q.Charge(cl, 200)
	}
}

func TestGroupShare(t *testing.T) {
	for _, tc := range []struct{ group, w, load, want int64 }{
		{1024, 1024, 1024, 1024},       // a group of one: its member's weight
		{1024, 1024, 50 * 1024, 20},    // one of fifty
		{1024, 3121, 3121 + 1024, 771}, // nice -5 beside a nice-0 sibling
		{1024, 1024, 0, 1024},          // a stale load below w is taken as w
		{15, 15, 100 * 15, MinShare},   // never below MinShare
		{1024, 0, 1024, MinShare},
	} {
		if got := GroupShare(tc.group, tc.w, tc.load); got != tc.want {
			t.Errorf("GroupShare(%d, %d, %d) = %d, want %d", tc.group, tc.w, tc.load, got, tc.want)
		}
	}
}

func TestRequestFor(t *testing.T) {
	for _, tc := range []struct{ burst, want Duration }{
		{0, MinRequest},
		{50 * Microsecond, MinRequest},
		{400 * Microsecond, 800 * Microsecond},
		{Millisecond, 2 * Millisecond},
		{10 * Millisecond, DefaultSlice},
	} {
		if got := RequestFor(tc.burst, DefaultSlice); got != tc.want {
			t.Errorf("RequestFor(%v) = %v, want %v", tc.burst, got, tc.want)
		}
	}
}

// Migrate keeps a debt and drops a credit.
func TestMigrateKeepsDebtNotCredit(t *testing.T) {
	q := NewRunQueue(Config{})
	a, b := &Entity{ID: 1}, &Entity{ID: 2}
	q.Enqueue(a)
	q.Enqueue(b)
	q.Charge(a, 2*Millisecond) // a ahead (a debt), b behind (a credit)
	q.Migrate(a)
	q.Migrate(b)
	if a.vlag >= 0 || b.vlag != 0 {
		t.Errorf("after Migrate: a's lag %d (want a debt), b's %d (want 0)", a.vlag, b.vlag)
	}
	r := NewRunQueue(Config{})
	r.Enqueue(b)
	r.Enqueue(a)
	if r.Lag(a) >= 0 || r.Lag(b) < 0 {
		t.Errorf("on the new queue: a's lag %d, b's %d", r.Lag(a), r.Lag(b))
	}
}
