package sched

import (
	"fmt"
	"os"
	"sort"
	"testing"
	"time"
)

// Workloads in the spirit of the four bugs of "The Linux Scheduler: a
// Decade of Wasted Cores" (Lozi et al., EuroSys 2016), run on the simulator
// of sim_test.go. Each asserts zero no-wasted-cores violations (bound 10 ms)
// and per-entity CPU shares within 5% of their weight-fair share.

func hogs(n, nice int, core CoreID) []spawnSpec {
	var out []spawnSpec
	for range n {
		out = append(out, spawnSpec{nice: nice, core: core})
	}
	return out
}

func concat(xs ...[]spawnSpec) []spawnSpec {
	var out []spawnSpec
	for _, x := range xs {
		out = append(out, x...)
	}
	return out
}

func caps(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = FullCapacity
	}
	return out
}

// checkWasted fails the test on any no-wasted-cores violation.
func checkWasted(t *testing.T, s *sim) {
	t.Helper()
	if n := s.checker.Count(); n != 0 {
		t.Errorf("%d wasted-core violations, first %+v", n, s.checker.Intervals()[0])
	}
}

// checkFair compares the work each of the given entities received in the
// window with its water-filled weight-fair share of the capacity of the
// cores in use (averaged over the phases between cores coming online); the
// entities must be the only ones runnable during the window.
func checkFair(t *testing.T, s *sim, ents []*simEntity, caps []int64) {
	t.Helper()
	ws := fairWeights(ents)
	win := float64(s.cfg.window[1] - s.cfg.window[0])
	fair := make([]float64, len(ws))
	cuts := []Time{s.cfg.window[0], s.cfg.window[1]}
	for _, at := range s.cfg.online {
		if at > s.cfg.window[0] && at < s.cfg.window[1] {
			cuts = append(cuts, at)
		}
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i] < cuts[j] })
	for k := 0; k+1 < len(cuts); k++ {
		var on []int64
		for i, c := range caps {
			if s.cfg.online == nil || s.cfg.online[i] <= cuts[k] {
				on = append(on, c)
			}
		}
		for i, f := range fairShares(ws, on) {
			fair[i] += f * float64(cuts[k+1]-cuts[k]) / win
		}
	}
	worst := 0.0
	for i, e := range ents {
		got := float64(e.work-e.winStart) / win * FullCapacity
		dev := got/fair[i] - 1
		if abs(dev) > abs(worst) {
			worst = dev
		}
		if abs(dev) > 0.05 {
			t.Errorf("entity %d nice %d: share %.1f of 1024, fair %.1f (%+.1f%%), migrated %d times", e.ID, e.spec.nice, got, fair[i], dev*100, e.migr)
		}
	}
	if testing.Verbose() && os.Getenv("SCHED_SHARES") != "" {
		for i, e := range ents {
			t.Logf("  entity %d nice %d: %.1f fair %.1f migrated %d", e.ID, e.spec.nice, float64(e.work-e.winStart)/win*FullCapacity, fair[i], e.migr)
		}
	}
	t.Logf("%d entities, worst share deviation %+.2f%%; %d steals, %d pushes, %d messages", len(ents), worst*100, s.steals, s.pushes, s.msgs)
}

// fairWeights returns the weights by which the entities' fair shares are
// reckoned: their nice's, or, for members of a group (all runnable
// throughout), their part of the group's nice-0 weight. They are scaled up
// so that a large group's small parts are not rounded away.
func fairWeights(ents []*simEntity) []int64 {
	const scale = 1 << 16
	load := map[string]int64{}
	for _, e := range ents {
		load[e.spec.group] += NiceToWeight(e.spec.nice)
	}
	var ws []int64
	for _, e := range ents {
		w := NiceToWeight(e.spec.nice) * scale
		if g := e.spec.group; g != "" {
			w = NiceZeroWeight * scale * NiceToWeight(e.spec.nice) / load[g]
		}
		ws = append(ws, w)
	}
	return ws
}

// checkRelative compares the given entities with each other: each one's
// work per unit of weight within 5% of their mean, for workloads where
// other entities come and go.
func checkRelative(t *testing.T, s *sim, ents []*simEntity) {
	t.Helper()
	var mean float64
	per := make([]float64, len(ents))
	for i, e := range ents {
		per[i] = float64(e.work-e.winStart) / float64(NiceToWeight(e.spec.nice))
		mean += per[i] / float64(len(ents))
	}
	worst := 0.0
	for i, e := range ents {
		dev := per[i]/mean - 1
		if abs(dev) > abs(worst) {
			worst = dev
		}
		if abs(dev) > 0.05 {
			t.Errorf("entity %d nice %d: work per weight %+.1f%% from the mean, migrated %d times", e.ID, e.spec.nice, dev*100, e.migr)
		}
	}
	t.Logf("%d entities, worst deviation from the mean work per weight %+.2f%%; %d steals, %d pushes, %d messages", len(ents), worst*100, s.steals, s.pushes, s.msgs)
}

func abs(x float64) float64 { return max(x, -x) }

func (s *sim) tagged(tag string) []*simEntity {
	var out []*simEntity
	for _, e := range s.ents {
		if e.spec.tag == tag {
			out = append(out, e)
		}
	}
	return out
}

// Equal entities that do not divide evenly among the cores: fairness needs
// them to take turns (neutral moves).
func TestSimRotation(t *testing.T) {
	for _, tc := range []struct{ cores, ents int }{{2, 3}, {4, 5}, {4, 6}, {3, 8}, {4, 4}, {2, 1}} {
		t.Run(fmt.Sprintf("%d on %d", tc.ents, tc.cores), func(t *testing.T) {
			cfg := simConfig{caps: caps(tc.cores), duration: 3 * Second, window: [2]Time{Time(Second / 2), Time(3 * Second)},
				spawn: hogs(tc.ents, 0, 0)}
			s := newSim(cfg)
			s.run()
			checkWasted(t, s)
			checkFair(t, s, s.ents, cfg.caps)
		})
	}
}

// Group imbalance: entities of very different weights, all spawned on one
// core.
func TestSimGroupImbalance(t *testing.T) {
	cfg := simConfig{caps: caps(4), duration: 4 * Second, window: [2]Time{Time(Second), Time(4 * Second)},
		spawn: concat(hogs(1, -10, 0), hogs(2, -5, 0), hogs(8, 0, 0), hogs(8, 10, 0))}
	s := newSim(cfg)
	s.run()
	checkWasted(t, s)
	checkFair(t, s, s.ents, cfg.caps)
}

// The negative control: without balancing, the simulator and the checker
// see the wasted cores and the unfair shares.
func TestSimWithoutBalancingWastesCores(t *testing.T) {
	cfg := simConfig{caps: caps(4), duration: Second, noPlace: true, noBalance: true,
		spawn: concat(hogs(1, -10, 0), hogs(8, 0, 0))}
	s := newSim(cfg)
	s.run()
	if s.checker.Count() != 3 {
		t.Errorf("%d violations, want 3 (one per idle core)", s.checker.Count())
	}
	for _, iv := range s.checker.Intervals() {
		if iv.Busy != 0 || iv.Start > Time(Millisecond) || iv.End != Time(Second) {
			t.Errorf("interval %+v, want core 0 with work waiting over the whole run", iv)
		}
	}
	var ws []int64
	for _, e := range s.ents {
		ws = append(ws, e.Weight())
	}
	fair := fairShares(ws, cfg.caps)
	got := float64(s.ents[0].work) / float64(cfg.duration) * FullCapacity
	if got > 0.6*fair[0] {
		t.Errorf("heavy entity got %.0f of fair %.0f without balancing", got, fair[0])
	}
}

// Group scheduling (group.go): one program's 50 spinners, spawned on core 0,
// beside one entity of another program on core 1 (isle's hostile attack
// "orphans"). The group weighs one nice-0 entity on the whole machine, so
// the lone entity keeps a core and the group has the other, with no core
// wasted; without groups it would get 1/26 of a core.
func TestSimGroups(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lone      CoreID // where the lone entity is spawned
		groupSize int
	}{{"apart", 1, 50}, {"together", 0, 50}, {"small", 1, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			spawn := []spawnSpec{{core: tc.lone, tag: "lone"}}
			for i := range tc.groupSize {
				spawn = append(spawn, spawnSpec{core: 0, at: Time(i) * Time(Millisecond), group: "T", tag: "group"})
			}
			cfg := simConfig{caps: caps(2), duration: 3 * Second, window: [2]Time{Time(Second / 2), Time(3 * Second)}, spawn: spawn}
			s := newSim(cfg)
			s.run()
			checkWasted(t, s)
			checkFair(t, s, s.ents, cfg.caps)
		})
	}
	// A group alone still spreads over every core: its weight is split,
	// not capped at one core.
	t.Run("alone", func(t *testing.T) {
		var spawn []spawnSpec
		for range 6 {
			spawn = append(spawn, spawnSpec{core: 0, group: "T"})
		}
		cfg := simConfig{caps: caps(3), duration: 2 * Second, window: [2]Time{Time(Second / 2), Time(2 * Second)}, spawn: spawn}
		s := newSim(cfg)
		s.run()
		checkWasted(t, s)
		checkFair(t, s, s.ents, cfg.caps)
	})
	// The sleeper beside the group: it runs bursts of 2 ms with 1 ms
	// sleeps, during which its core takes a spinner; when it wakes the
	// spinner weighs 1/50 of it. It keeps at least 90% of what it does on
	// a core of its own (2/3 of the core).
	//
	// With Expecting (the kernel's rule for SIPs waiting for a service), its
	// core takes no spinner during its short sleeps: it has its core to
	// itself, and in the kernel the host CPU it leaves serves its calls.
	for _, expect := range []Duration{0, 2 * Millisecond} {
		t.Run(fmt.Sprintf("sleeper/expect=%v", time.Duration(expect)), func(t *testing.T) {
			spawn := []spawnSpec{{core: 1, run: 2 * Millisecond, sleep: Millisecond, tag: "lone"}}
			for range 50 {
				spawn = append(spawn, spawnSpec{core: 0, group: "T"})
			}
			cfg := simConfig{caps: caps(2), duration: 3 * Second, window: [2]Time{Time(Second / 2), Time(3 * Second)}, spawn: spawn, expect: expect}
			s := newSim(cfg)
			s.run()
			checkWasted(t, s)
			lone := s.tagged("lone")[0]
			got := float64(lone.work-lone.winStart) / float64(cfg.window[1]-cfg.window[0])
			want := 0.9 * 2.0 / 3
			if expect > 0 {
				want = 0.99 * 2.0 / 3
				if s.steals+s.pushes > 10 {
					t.Errorf("%d steals and %d pushes: the sleeper's core took spinners while it slept", s.steals, s.pushes)
				}
			}
			if got < want {
				t.Errorf("the sleeper had %.3f of a core beside the group, want at least %.3f", got, want)
			}
			t.Logf("the sleeper had %.3f of a core (2/3 alone); %d steals, %d pushes", got, s.steals, s.pushes)
		})
	}
	// A long sleep is not expected back: the sleeper's core takes work
	// and no core is wasted.
	t.Run("long sleeper", func(t *testing.T) {
		spawn := []spawnSpec{{core: 1, run: 2 * Millisecond, sleep: 30 * Millisecond, tag: "lone"}}
		for range 50 {
			spawn = append(spawn, spawnSpec{core: 0, group: "T"})
		}
		cfg := simConfig{caps: caps(2), duration: 2 * Second, spawn: spawn, expect: 2 * Millisecond}
		s := newSim(cfg)
		s.run()
		checkWasted(t, s)
		if s.steals == 0 {
			t.Error("the sleeper's core never took work while it slept")
		}
	})
}

// Overload on wake-up: sleepers woken on one busy core, while other cores
// have room.
func TestSimOverloadOnWakeup(t *testing.T) {
	for _, noPlace := range []bool{false, true} {
		t.Run(fmt.Sprintf("noPlace=%v", noPlace), func(t *testing.T) { overloadOnWakeup(t, noPlace) })
	}
}

func overloadOnWakeup(t *testing.T, noPlace bool) {
	var spawn []spawnSpec
	for i := range 2 {
		spawn = append(spawn, spawnSpec{nice: 0, core: CoreID(i), tag: "hog"})
	}
	for range 8 {
		spawn = append(spawn, spawnSpec{nice: 0, core: 0, run: 1 * Millisecond, sleep: 4 * Millisecond, wakeTo: true, tag: "sleeper"})
	}
	cfg := simConfig{caps: caps(4), duration: 3 * Second, window: [2]Time{Time(Second / 2), Time(3 * Second)}, spawn: spawn, noPlace: noPlace}
	s := newSim(cfg)
	s.run()
	checkWasted(t, s)
	checkRelative(t, s, s.tagged("hog"))
	checkRelative(t, s, s.tagged("sleeper"))
}

// Missing scheduling domains and heterogeneity: cores of different
// capacity, two of them brought into use later.
func TestSimHeterogeneousLateCores(t *testing.T) {
	cfg := simConfig{
		caps:     []int64{1024, 1024, 512, 512},
		online:   []Time{0, 0, Time(500 * Millisecond), Time(800 * Millisecond)},
		duration: 4 * Second, // shares over the whole run, the late cores included
		spawn:    concat(hogs(6, 0, 0), hogs(6, 3, 1), hogs(1, -3, 0)),
	}
	s := newSim(cfg)
	s.run()
	checkWasted(t, s)
	checkFair(t, s, s.ents, cfg.caps)
}

// Bursts of short-lived entities spawned on one core among long-running
// ones.
func TestSimShortLivedBursts(t *testing.T) {
	spawn := concat(hogs(3, 0, 1), hogs(3, 0, 2))
	for i := range spawn {
		spawn[i].tag = "hog"
	}
	cfg := simConfig{caps: caps(4), duration: 3 * Second, window: [2]Time{Time(Second / 2), Time(3 * Second)}, spawn: spawn, seed: 7}
	cfg.spawner = func(s *sim, now Time) Time {
		core := CoreID(s.rng.IntN(len(s.cores)))
		for range 12 {
			s.spawnAt(spawnSpec{nice: s.rng.IntN(10) - 5, at: now, core: core, total: Duration(200+s.rng.IntN(1800)) * Microsecond})
		}
		return now + Time(10*Millisecond)
	}
	s := newSim(cfg)
	s.run()
	checkWasted(t, s)
	checkRelative(t, s, s.tagged("hog"))
}

// The same workloads under slower and faster messages and balancing.
func TestSimRobustToDelays(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds")
	}
	for _, delay := range []Duration{5 * Microsecond, 500 * Microsecond, 2 * Millisecond} {
		for _, bal := range []Duration{Millisecond, 10 * Millisecond} {
			t.Run(fmt.Sprint(delay, "/", bal), func(t *testing.T) {
				for _, cfg := range []simConfig{{
					caps:     []int64{1024, 1024, 512, 512},
					online:   []Time{0, 0, Time(500 * Millisecond), Time(800 * Millisecond)},
					duration: 4 * Second,
					spawn:    concat(hogs(6, 0, 0), hogs(6, 3, 1), hogs(1, -3, 0)),
				}, {
					caps: caps(4), duration: 4 * Second, window: [2]Time{Time(Second), Time(4 * Second)},
					spawn: concat(hogs(1, -10, 0), hogs(2, -5, 0), hogs(8, 0, 0), hogs(8, 10, 0)),
				}, {
					caps: caps(4), duration: 3 * Second, window: [2]Time{Time(Second / 2), Time(3 * Second)},
					spawn: hogs(7, 0, 0),
				}} {
					cfg.delay, cfg.balance = delay, bal
					s := newSim(cfg)
					s.run()
					checkWasted(t, s)
					checkFair(t, s, s.ents, cfg.caps)
				}
			})
		}
	}
}
