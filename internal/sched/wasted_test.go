package sched

import (
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

type obs struct {
	core    CoreID
	at      Time
	idle    bool
	waiting int
}

const ms = Time(Millisecond)

func TestCheckerScripts(t *testing.T) {
	for _, tc := range []struct {
		name string
		obs  []obs
		end  Time
		want []Interval
	}{
		{"idle while nobody waits", []obs{{0, 0, true, 0}, {1, 0, false, 0}}, 100 * ms, nil},
		{"idle while another waits, past the bound",
			[]obs{{0, 0, true, 0}, {1, 0, false, 2}, {1, 15 * ms, false, 0}}, 100 * ms,
			[]Interval{{Idle: 0, Busy: 1, Start: 0, End: 15 * ms}}},
		{"exactly the bound is no violation",
			[]obs{{0, 0, true, 0}, {1, 0, false, 2}, {1, 10 * ms, false, 0}}, 100 * ms, nil},
		{"the idle core steals in time",
			[]obs{{0, 0, true, 0}, {1, 0, false, 2}, {0, 5 * ms, false, 0}, {1, 5 * ms, false, 1}}, 100 * ms, nil},
		{"overlap counts, not the idle run alone",
			[]obs{{0, 0, true, 0}, {1, 0, false, 0}, {1, 95 * ms, false, 1}}, 100 * ms, nil},
		{"the waiting must last the whole interval",
			[]obs{{0, 0, true, 0}, {1, 0, false, 1}, {1, 6 * ms, false, 0}, {1, 7 * ms, false, 1}, {1, 14 * ms, false, 0}}, 30 * ms, nil},
		{"still going at the end",
			[]obs{{0, 0, true, 0}, {1, 3 * ms, false, 1}}, 50 * ms,
			[]Interval{{Idle: 0, Busy: 1, Start: 3 * ms, End: 50 * ms}}},
		{"one violation per idle period, two idle cores two violations",
			[]obs{{0, 0, true, 0}, {2, 0, true, 0}, {1, 0, false, 3}, {3, 20 * ms, false, 3}, {1, 40 * ms, false, 0}, {0, 50 * ms, false, 0}}, 60 * ms,
			[]Interval{{Idle: 0, Busy: 1, Start: 0, End: 40 * ms}, {Idle: 2, Busy: 1, Start: 0, End: 40 * ms}}},
		{"busy core with nothing waiting is not work",
			[]obs{{0, 0, true, 0}, {1, 0, false, 0}, {2, 0, false, 0}}, 1000 * ms, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewChecker(0)
			for _, o := range tc.obs {
				c.Observe(o.core, o.at, o.idle, o.waiting)
			}
			c.Advance(tc.end)
			if diff := cmp.Diff(tc.want, c.Intervals()); diff != "" {
				t.Errorf("intervals (-want +got):\n%s", diff)
			}
			if c.Count() != len(tc.want) {
				t.Errorf("Count = %d, want %d", c.Count(), len(tc.want))
			}
		})
	}
}

// The online checker counts what an offline scan of the whole timeline
// finds: per idle run of a core, whether some other core's waiting run
// overlaps it by more than the bound.
func TestCheckerAgainstOfflineScan(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 5).Draw(t, "cores")
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		type run struct {
			start, end Time
		}
		idleRuns := make([][]run, n)
		waitRuns := make([][]run, n)
		type st struct {
			known, idle, wait bool
			since             Time
		}
		state := make([]st, n)
		c := NewChecker(10 * Millisecond)
		var now Time
		closeRuns := func(i int, at Time) {
			s := state[i]
			if s.known && s.idle {
				idleRuns[i] = append(idleRuns[i], run{s.since, at})
			}
			if s.known && s.wait {
				waitRuns[i] = append(waitRuns[i], run{s.since, at})
			}
		}
		for range steps {
			now += Time(rapid.IntRange(0, 15).Draw(t, "dt")) * ms / 2
			i := rapid.IntRange(0, n-1).Draw(t, "core")
			k := rapid.IntRange(-1, 2).Draw(t, "k") // -1: idle
			idle, wait := k < 0, k > 0
			c.Observe(CoreID(i), now, idle, max(k, 0))
			if s := state[i]; s.known && s.idle == idle && s.wait == wait {
				continue
			}
			closeRuns(i, now)
			state[i] = st{true, idle, wait, now}
		}
		now += Time(rapid.IntRange(0, 30).Draw(t, "tail")) * ms
		c.Advance(now)
		for i := range n {
			closeRuns(i, now)
		}
		want := 0
		for i := range n {
			for _, ir := range idleRuns[i] {
				hit := false
				for j := range n {
					for _, wr := range waitRuns[j] {
						if j != i && min(ir.end, wr.end)-max(ir.start, wr.start) > Time(10*Millisecond) {
							hit = true
						}
					}
				}
				if hit {
					want++
				}
			}
		}
		if c.Count() != want {
			t.Fatalf("Count = %d, offline scan finds %d", c.Count(), want)
		}
	})
}

func TestCheckerObserveAllocatesNothing(t *testing.T) {
	c := NewChecker(0)
	for i := range 8 {
		c.Observe(CoreID(i), 0, false, 1)
	}
	var now Time
	allocs := testing.AllocsPerRun(1000, func() {
		now += 100
		i := CoreID(now/100) % 8
		c.Observe(i, now, false, int(now/100)%3)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Observe", allocs)
	}
}

func TestCheckerObserveSummary(t *testing.T) {
	c := NewChecker(0)
	c.ObserveSummary(LoadSummary{Core: 0, Runnable: 0, Capacity: 1024, At: 0})
	c.ObserveSummary(LoadSummary{Core: 1, Runnable: 1, Weight: 1024, Capacity: 1024, At: 0})
	c.ObserveSummary(LoadSummary{Core: 2, Runnable: 0, Capacity: 0, At: 0}) // not in use
	c.ObserveSummary(LoadSummary{Core: 1, Runnable: 2, Weight: 2048, Capacity: 1024, At: 5 * ms})
	c.Advance(14 * ms)
	if c.Count() != 0 {
		t.Fatalf("violation after 9 ms")
	}
	c.ObserveSummary(LoadSummary{Core: 1, Runnable: 2, Weight: 2048, Capacity: 1024, At: 16 * ms})
	if c.Count() != 1 || len(c.cores) > 2 && c.cores[2].known {
		t.Fatalf("Count %d, cores %+v", c.Count(), c.cores)
	}
}

// TestCheckerLineSized: a kernel's cores each write their own Checker; the
// structures fill whole cache lines, so Go's size classes keep two of them
// off each other's lines.
func TestCheckerLineSized(t *testing.T) {
	if n := unsafe.Sizeof(Checker{}); n%64 != 0 {
		t.Errorf("Checker is %d bytes", n)
	}
	if n := unsafe.Sizeof(coreState{}); n != 64 {
		t.Errorf("coreState is %d bytes", n)
	}
}
