package isle_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// spinners runs n copies of testdata/spin.c for ms milliseconds each, all
// spawned on core 0 with the given nice values, and returns each one's CPU
// time and the machine's counters.
func spinners(t *testing.T, cfg isle.Config, nices []int, ms int) ([]float64, []isle.CoreStats) {
	t.Helper()
	ctx := context.Background()
	outs := make([]*bytes.Buffer, len(nices))
	m, err := isle.Boot(ctx, cfg.WithStdio(nil, &bytes.Buffer{}, &bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, testdataC(t, "spin"))
	if err != nil {
		t.Fatal(err)
	}
	// Each SIP writes to the shared console: tell them apart by pid order.
	_ = outs
	var procs []*isle.Process
	for _, nice := range nices {
		p, err := m.SpawnWith(prog, []string{"spin", strconv.Itoa(ms)}, isle.SpawnOptions{Core: isle.OnCore(0), Nice: nice})
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		if st := p.Wait(); st.Status() != 0 {
			t.Fatalf("spinner: %+v", st)
		}
	}
	m.Stop(ctx)
	cpu := make([]float64, len(procs))
	for i, p := range procs {
		cpu[i] = float64(p.CPUTime().Microseconds())
	}
	return cpu, m.Stats()
}

// TestBalancingSharesCores: SIPs spawned on one core spread over every core
// by messages, with no wasted core and CPU shares that follow their weights.
func TestBalancingSharesCores(t *testing.T) {
	cases := []struct {
		name     string
		cores    int
		capacity map[int]int64
		nices    []int
	}{
		{"4 equal on 2 cores", 2, nil, []int{0, 0, 0, 0}},
		{"3 equal on 2 cores", 2, nil, []int{0, 0, 0}},
		{"weights 3:1 on 1 core", 1, nil, []int{-5, 1}},
		{"3 on a full and a half core", 2, map[int]int64{1: 512}, []int{0, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config().WithCores(c.cores).WithOversubscribe(true)
			capacity := 0.0
			for i := 0; i < c.cores; i++ {
				capacity += 1
			}
			for core, cp := range c.capacity {
				cfg = cfg.WithCoreCapacity(core, cp)
				capacity -= 1 - float64(cp)/1024
			}
			// CPU time is charged in wall time on a shared 2-vCPU host, where
			// other processes can hold a core's thread off its CPU for tens of
			// milliseconds: a run counts when it meets the bounds, and the
			// test takes the best of three runs (each one logged).
			var problems []string
			for attempt := 1; attempt <= 3; attempt++ {
				problems = shareRun(t, cfg, c.nices, c.cores)
				if len(problems) == 0 {
					return
				}
				t.Logf("run %d: %s", attempt, strings.Join(problems, "; "))
			}
			t.Error(strings.Join(problems, "; "))
		})
	}
}

// shareRun runs the spinners once and returns what broke the bounds.
func shareRun(t *testing.T, cfg isle.Config, nices []int, cores int) []string {
	cpu, stats := spinners(t, cfg, nices, 1500)
	total := 0.0
	for _, v := range cpu {
		total += v
	}
	weights := make([]float64, len(nices))
	wsum := 0.0
	for i, n := range nices {
		weights[i] = 1024 / math.Pow(1.25, float64(n))
		wsum += weights[i]
	}
	var report, problems []string
	worst := 0.0
	for i, v := range cpu {
		share, fair := v/total, weights[i]/wsum
		report = append(report, fmt.Sprintf("%.3f(fair %.3f)", share, fair))
		worst = math.Max(worst, math.Abs(share-fair)/fair)
	}
	var wasted, migrations uint64
	for _, s := range stats {
		wasted += s.WastedIntervals
		migrations += s.MigratedIn
		for _, iv := range s.Wasted {
			problems = append(problems, fmt.Sprintf("core %d idle while core %d had SIPs waiting from %v to %v",
				s.Core, iv.Busy, time.Duration(iv.Start), time.Duration(iv.End)))
		}
	}
	t.Logf("shares %s, worst %.1f%% off, %d migrations, %d wasted-core intervals",
		strings.Join(report, " "), 100*worst, migrations, wasted)
	if worst > 0.05 {
		problems = append(problems, fmt.Sprintf("a share is %.1f%% off its weight's", 100*worst))
	}
	if cores > 1 && migrations == 0 {
		problems = append(problems, "nothing migrated off the core everything was spawned on")
	}
	return problems
}

// TestWakeupsAndBursts: SIPs that wake up every millisecond on one core
// (Lozi et al.'s overload-on-wake-up) and a burst of short-lived SIPs, beside
// long-running ones, leave no core idle while work waits elsewhere.
func TestWakeupsAndBursts(t *testing.T) {
	ctx := context.Background()
	var problems []string
	for attempt := 1; attempt <= 3; attempt++ {
		problems = nil
		m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).WithStdio(nil, &bytes.Buffer{}, &bytes.Buffer{}))
		if err != nil {
			t.Fatal(err)
		}
		napper, err := m.Load(ctx, testdataC(t, "napper"))
		if err != nil {
			t.Fatal(err)
		}
		spin, err := m.Load(ctx, testdataC(t, "spin"))
		if err != nil {
			t.Fatal(err)
		}
		hello, err := m.Load(ctx, filepath.Join(testprog.Root(t), "examples", "hello-c", "hello-c.wasm"))
		if err != nil {
			t.Fatal(err)
		}
		var procs []*isle.Process
		for i := 0; i < 4; i++ {
			p, _ := m.SpawnWith(napper, []string{"napper", "1000"}, isle.SpawnOptions{Core: isle.OnCore(0)})
			procs = append(procs, p)
		}
		for i := 0; i < 2; i++ {
			p, _ := m.SpawnWith(spin, []string{"spin", "1000"}, isle.SpawnOptions{Core: isle.OnCore(0)})
			procs = append(procs, p)
		}
		for i := 0; i < 50; i++ {
			p, _ := m.SpawnWith(hello, []string{"hello", "--exit", "1"}, isle.SpawnOptions{Core: isle.OnCore(0)})
			procs = append(procs, p)
		}
		for i, p := range procs {
			want := 0
			if i >= 6 {
				want = 1
			}
			if st := p.Wait(); st.Status() != want {
				t.Fatalf("SIP %d: %+v", i, st)
			}
		}
		m.Stop(ctx)
		var migrations uint64
		for _, s := range m.Stats() {
			migrations += s.MigratedIn
			for _, iv := range s.Wasted {
				problems = append(problems, fmt.Sprintf("core %d idle while core %d had SIPs waiting from %v to %v",
					s.Core, iv.Busy, time.Duration(iv.Start), time.Duration(iv.End)))
			}
		}
		t.Logf("run %d: %d migrations, CPU ms of nappers %v and spinners %v", attempt, migrations,
			[]int64{procs[0].CPUTime().Milliseconds(), procs[1].CPUTime().Milliseconds(), procs[2].CPUTime().Milliseconds(), procs[3].CPUTime().Milliseconds()},
			[]int64{procs[4].CPUTime().Milliseconds(), procs[5].CPUTime().Milliseconds()})
		if migrations == 0 {
			problems = append(problems, "nothing migrated off core 0")
		}
		if len(problems) == 0 {
			return
		}
		t.Logf("run %d: %s", attempt, strings.Join(problems, "; "))
	}
	t.Error(strings.Join(problems, "; "))
}

// TestGroupsShareTheMachine: a process tree weighs one SIP, however many
// children it spawns (docs/scheduler.md, "Groups"). On 2 cores, once a tree
// of 12 spinners (testdata/spintree.c) runs, a spinner that the embedder
// spawns spins beside it for 500 ms of wall time: it keeps about a core,
// and the tree has the other. With every SIP weighed alone it had about
// 2/13 of a core.
func TestGroupsShareTheMachine(t *testing.T) {
	ctx := context.Background()
	bin := t.TempDir()
	spinWasm := testdataC(t, "spin")
	b, err := os.ReadFile(spinWasm)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bin, "spin.wasm"), b, 0o644)
	out := newLineWriter("spawned")
	cfg := config().WithCores(2).WithOversubscribe(true).WithDir(isle.Dir{Host: bin, Guest: "/bin"}).
		WithStdio(nil, out, io.Discard)
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	treeProg, err := m.Load(ctx, guestC(t, "testdata", "spintree.c"))
	if err != nil {
		t.Fatal(err)
	}
	spin, err := m.Load(ctx, spinWasm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.SpawnOn(treeProg, []string{"spintree", "/bin/spin.wasm", "12", "60000"}, 0); err != nil {
		t.Fatal(err)
	}
	<-out.seen
	lone, err := m.SpawnOn(spin, []string{"spin", "500"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if st := lone.Wait(); st.Status() != 0 {
		t.Fatalf("the lone spinner: %+v", st)
	}
	share := float64(lone.CPUTime().Microseconds()) / 500e3
	t.Logf("the lone spinner had %.2f of a core beside the tree", share)
	if share < 0.6 {
		t.Errorf("the lone spinner had %.2f of a core beside the tree of 12, want at least 0.6 (about 1 with groups)", share)
	}
}

// TestWakeupPreemption: a SIP that makes many short file-system calls
// beside a spinner on one core gets each reply at once (docs/scheduler.md,
// "Wake-up preemption"): the spinner is preempted when the reply comes,
// not at the end of its 3 ms slice, and the caller, which runs briefly
// between calls, has a short request and so the earlier deadline. Each
// call then takes about what it takes alone, measured first on the same
// machine. Measured on a loaded 2-CPU host: alone 190-440 µs a call,
// beside the spinner 190-760 µs; without the preemption 5-8 ms, with it
// but without the short requests 130-1,100 µs.
func TestWakeupPreemption(t *testing.T) {
	ctx := context.Background()
	out := newLines()
	cfg := config().WithCores(1).WithDir(isle.Dir{Host: t.TempDir(), Guest: "/d"}).WithStdio(nil, out, io.Discard)
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	spin, err := m.Load(ctx, testdataC(t, "forever"))
	if err != nil {
		t.Fatal(err)
	}
	calls, err := m.Load(ctx, testdataC(t, "fscalls"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	perCall := func() float64 {
		t.Helper()
		p, err := m.Spawn(calls, []string{"fscalls", strconv.Itoa(n)})
		if err != nil {
			t.Fatal(err)
		}
		if st := p.Wait(); st.Status() != 0 {
			t.Fatalf("fscalls: %+v", st)
		}
		var us int64 = -1
		for _, l := range strings.Split(out.String(), "\n") {
			fmt.Sscanf(l, "fscalls %d us", &us)
		}
		if us < 0 {
			t.Fatalf("output %q", out.String())
		}
		return float64(us) / n
	}
	alone := perCall()
	if _, err := m.Spawn(spin, []string{"forever"}); err != nil {
		t.Fatal(err)
	}
	beside := perCall()
	t.Logf("a file-system call: %.0f µs alone, %.0f µs beside a spinner", alone, beside)
	if beside > alone+1000 {
		t.Errorf("a file-system call took %.0f µs beside a spinner, %.0f µs alone: want at most 1 ms more (the spinner's slice is 3 ms)", beside, alone)
	}
}
