package kernel

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"isle/internal/sandbox"
	"isle/internal/testprog"
)

// yieldHost is module env for the yield tests: yields (n yields in one
// call), tick (the preemption hook, as a rewritten loop header calls it: a
// loop calling it computes), nap (a sleep of 1 ms, its lateness recorded),
// killUnder (kills the SIP whose coroutine runs the caller, once it runs
// under one, else yields) and done (true once end is closed).
type yieldHost struct {
	n      int
	end    chan struct{}
	late   []time.Duration
	killed atomic.Bool
}

func (h *yieldHost) module() sandbox.HostModule {
	return sandbox.HostModule{Name: "env", Funcs: []sandbox.HostFunc{
		{Name: "yields", Fn: func(c *sandbox.Call, _ []uint64) {
			for range h.n {
				SIPOf(c).Yield()
			}
		}},
		{Name: "tick", Fn: func(c *sandbox.Call, _ []uint64) { Preempt(c) }},
		{Name: "nap", Fn: func(c *sandbox.Call, _ []uint64) {
			s := SIPOf(c)
			at := s.Machine().Now() + 1e6
			s.SleepUntil(at)
			h.late = append(h.late, time.Duration(s.Machine().Now()-at))
		}},
		{Name: "killUnder", Fn: func(c *sandbox.Call, _ []uint64) {
			s := SIPOf(c)
			if u := s.core.under; u != nil && !h.killed.Load() {
				s.core.Kill(u)
				h.killed.Store(true)
				return
			}
			s.Yield()
		}},
		{Name: "done", Fn: func(c *sandbox.Call, a []uint64) {
			select {
			case <-h.end:
				c.Exit(0)
			default:
			}
		}},
	}}
}

// yieldModules loads, for h: once (one call of yields), forever (loop:
// call yields; br), compute (loop: tick; done), naps (10 naps) and killer
// (loop: killUnder; br until it has killed, then exit through done).
func (h *yieldHost) load(t *testing.T) map[string]*sandbox.Module {
	t.Helper()
	ctx := context.Background()
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{}, []sandbox.HostModule{h.module()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	imports := [][2]string{{"env", "yields"}, {"env", "tick"}, {"env", "nap"}, {"env", "killUnder"}, {"env", "done"}}
	mods := map[string]*sandbox.Module{}
	for name, body := range map[string][]byte{
		"once":    {0x10, 0x00},
		"forever": {0x03, 0x40, 0x10, 0x00, 0x10, 0x04, 0x0C, 0x00, 0x0B},
		"compute": {0x03, 0x40, 0x10, 0x01, 0x10, 0x04, 0x0C, 0x00, 0x0B},
		"naps":    {0x10, 0x02, 0x10, 0x02, 0x10, 0x02, 0x10, 0x02, 0x10, 0x02, 0x10, 0x02, 0x10, 0x02, 0x10, 0x02, 0x10, 0x02, 0x10, 0x02},
		"killer":  {0x03, 0x40, 0x10, 0x03, 0x10, 0x04, 0x0C, 0x00, 0x0B},
	} {
		mod, err := rt.Load(ctx, testprog.Module(imports, body))
		if err != nil {
			t.Fatal(err)
		}
		mods[name] = mod
	}
	return mods
}

func spawnWait(t *testing.T, m *Machine, mods ...*sandbox.Module) []*SIP {
	t.Helper()
	var sips []*SIP
	for _, mod := range mods {
		s := NewSIP(mod)
		if err := m.Spawn(s, 0); err != nil {
			t.Fatal(err)
		}
		sips = append(sips, s)
	}
	return sips
}

func waitAll(t *testing.T, sips []*SIP) {
	t.Helper()
	for _, s := range sips {
		select {
		case <-s.Done():
		case <-time.After(20 * time.Second):
			t.Fatalf("SIP %d did not end", s.PID())
		}
	}
}

// TestYieldAloneKeepsTheCore: a SIP alone on its core that yields is picked
// again at once, on its own coroutine: 2,000 yields make no switch (they
// made 2,000 through the loop).
func TestYieldAloneKeepsTheCore(t *testing.T) {
	h := &yieldHost{n: 2000, end: make(chan struct{})}
	mods := h.load(t)
	m := bootCores(t, 1)
	sips := spawnWait(t, m, mods["once"])
	waitAll(t, sips)
	m.Stop()
	st := m.Stats()[0]
	t.Logf("switches %d for %d yields", st.Switches, h.n)
	if st.Switches > 20 {
		t.Errorf("%d switches for %d yields of a SIP alone, want only a few", st.Switches, h.n)
	}
}

// TestYieldAloneBesideTicker: a ticker with nothing in flight (its callback
// answers false) does not send a lone yielder through the loop, however
// often it is due; an armed one does, and runs.
func TestYieldAloneBesideTicker(t *testing.T) {
	for _, armed := range []bool{false, true} {
		t.Run(fmt.Sprintf("armed=%v", armed), func(t *testing.T) {
			h := &yieldHost{n: 2000, end: make(chan struct{})}
			mods := h.load(t)
			var ticks atomic.Int64
			cfg := Config{Cores: 1, Init: []func(*Core){func(c *Core) {
				c.Every(time.Nanosecond, func(int64) bool { ticks.Add(1); return armed })
			}}}
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Boot(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(m.Stop)
			ticksBefore := ticks.Load()
			sips := spawnWait(t, m, mods["once"])
			waitAll(t, sips)
			m.Stop()
			st := m.Stats()[0]
			ran := ticks.Load() - ticksBefore
			t.Logf("switches %d for %d yields, %d ticks", st.Switches, h.n, ran)
			if !armed && st.Switches > 20 {
				t.Errorf("%d switches for %d yields beside an idle ticker, want only a few", st.Switches, h.n)
			}
			if armed && (st.Switches < uint64(h.n)/2 || ran < int64(h.n)/2) {
				t.Errorf("%d switches and %d ticks for %d yields beside an armed ticker due at each: want a turn of the loop for most", st.Switches, ran, h.n)
			}
		})
	}
}

// TestYieldPairSwitchesDirectly: two SIPs that yield to each other on one
// core run each other on their own coroutines: every switch but the few
// that start them is a direct one (none were before).
func TestYieldPairSwitchesDirectly(t *testing.T) {
	h := &yieldHost{n: 5000, end: make(chan struct{})}
	mods := h.load(t)
	m := bootCores(t, 1)
	sips := spawnWait(t, m, mods["once"], mods["once"])
	waitAll(t, sips)
	m.Stop()
	st := m.Stats()[0]
	t.Logf("switches %d, direct %d, for 2×%d yields", st.Switches, st.DirectSwitches, h.n)
	if st.DirectSwitches == 0 || st.Switches-st.DirectSwitches > 30 {
		t.Errorf("switches %d, direct %d: want every switch but a few direct", st.Switches, st.DirectSwitches)
	}
	for _, s := range sips {
		if s.Result().Status() != 0 {
			t.Errorf("SIP %d: %+v", s.PID(), s.Result())
		}
	}
}

// TestYieldsKeepThirdSIP: two SIPs that yield forever on one core leave a
// third, which computes, its share of the core: EEVDF picks at every
// yield, and the loop picks at the end of each yielder's slice.
func TestYieldsKeepThirdSIP(t *testing.T) {
	h := &yieldHost{n: 1, end: make(chan struct{})}
	mods := h.load(t)
	m := bootCores(t, 1)
	sips := spawnWait(t, m, mods["forever"], mods["forever"], mods["compute"])
	time.Sleep(300 * time.Millisecond) // the length of the contest, not a synchronisation
	close(h.end)
	waitAll(t, sips)
	var pair int64
	for _, s := range sips[:2] {
		pair += s.CPUTimeSeen()
	}
	third := sips[2].CPUTimeSeen()
	share := float64(third) / float64(pair+third)
	t.Logf("yielders %v, computing SIP %v: %.2f of the core", time.Duration(pair), time.Duration(third), share)
	if share < 0.2 {
		t.Errorf("the computing SIP had %.0f%% of the core beside two yielders, want ≥ 20%%", 100*share)
	}
}

// TestYieldLetsTimersFire: a SIP that yields without end beside a sleeper
// does not hold the sleeper's timer back: a yield finds the timer due and
// goes through the loop, which fires it. With a slice of 50 ms, a timer
// seen only at the slice's end would be late by up to 50 ms.
func TestYieldLetsTimersFire(t *testing.T) {
	h := &yieldHost{n: 1, end: make(chan struct{})}
	mods := h.load(t)
	m, err := New(Config{Cores: 1, Slice: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	sips := spawnWait(t, m, mods["forever"], mods["naps"])
	waitAll(t, sips[1:])
	close(h.end)
	waitAll(t, sips[:1])
	late := append([]time.Duration(nil), h.late...)
	sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
	t.Logf("naps late by %v", late)
	if len(late) != 10 || late[len(late)/2] > 10*time.Millisecond {
		t.Errorf("naps late by %v (median), want well under the 50 ms slice", late[len(late)/2])
	}
}

// TestKillUnderDirectYield: a SIP that runs on a yielder's coroutine and
// kills that yielder ends it as soon as its own run returns (the yielder's
// coroutine cannot end under it); both end, the yielder with 137.
func TestKillUnderDirectYield(t *testing.T) {
	h := &yieldHost{n: 1, end: make(chan struct{})}
	mods := h.load(t)
	m := bootCores(t, 1)
	sips := spawnWait(t, m, mods["forever"], mods["killer"])
	deadline := time.Now().Add(10 * time.Second)
	for !h.killed.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polling a flag the SIP sets, with a deadline
	}
	close(h.end)
	waitAll(t, sips)
	if !h.killed.Load() {
		t.Fatal("the killer never ran under the yielder")
	}
	if st := sips[0].Result().Status(); st != 137 {
		t.Errorf("the yielder ended with %d, want 137", st)
	}
	if st := sips[1].Result().Status(); st != 0 {
		t.Errorf("the killer ended with %d, want 0", st)
	}
}
