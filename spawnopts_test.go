package isle_test

import (
	"context"
	"io"
	"runtime"
	"testing"
	"time"

	"isle"
)

// TestSpawnOptionsZeroPlaces: SpawnOptions' zero value (with only Nice set,
// as a user writes it) lets the machine place the SIP, as Spawn does; the
// process table says so with AnyCore. OnCore(n) names core n. Before, the
// zero Core was core 0.
func TestSpawnOptionsZeroPlaces(t *testing.T) {
	ctx := context.Background()
	m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).WithTables(isle.TablesConfig{}).WithStdio(nil, io.Discard, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, testdataC(t, "spin"))
	if err != nil {
		t.Fatal(err)
	}
	placed, err := m.SpawnWith(prog, []string{"spin", "5000"}, isle.SpawnOptions{Nice: 5})
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := m.SpawnWith(prog, []string{"spin", "5000"}, isle.SpawnOptions{Core: isle.OnCore(1), Nice: 5})
	if err != nil {
		t.Fatal(err)
	}
	procs, err := m.Processes()
	if err != nil {
		t.Fatal(err)
	}
	placed.Kill()
	pinned.Kill()
	want := map[int64]int{placed.PID(): isle.AnyCore, pinned.PID(): 1}
	for _, p := range procs {
		if w, ok := want[p.PID]; ok {
			if p.Core != w || p.State != isle.ProcRunning {
				t.Errorf("pid %d: core %d, %v; want core %d, running", p.PID, p.Core, p.State, w)
			}
			delete(want, p.PID)
		}
	}
	if len(want) > 0 {
		t.Errorf("not in the process table: %v", want)
	}
	if got := isle.OnCore(-1); got != (isle.Placement{}) || got.Core() != isle.AnyCore {
		t.Errorf("OnCore(-1) = %+v, want the zero placement", got)
	}
}

// TestCPUTimeWhileRunning: Process.CPUTime answers for a running process
// (before, it waited for the exit) and grows as it runs; once Wait returns
// it is final.
func TestCPUTimeWhileRunning(t *testing.T) {
	ctx := context.Background()
	m, err := isle.Boot(ctx, config().WithCores(1).WithStdio(nil, io.Discard, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, testdataC(t, "spin"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, []string{"spin", "60000"})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Duration)
	go func() {
		for {
			if d := p.CPUTime(); d > 0 {
				got <- d
				return
			}
			runtime.Gosched()
		}
	}()
	var seen time.Duration
	select {
	case seen = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("CPUTime of a spinning process stayed 0, or did not return, for 20 s")
	}
	p.Kill()
	p.Wait()
	if final := p.CPUTime(); final < seen {
		t.Errorf("final CPU time %v below the %v seen while it ran", final, seen)
	}
}

// TestProcessesRightAfterBoot: the process table answers as soon as Boot
// has returned. Before, a call that came before the first core's Init had
// run got "tables: machine not booted" (3 runs in 30 of
// TestSpawnOptionsZeroPlaces on a loaded host).
func TestProcessesRightAfterBoot(t *testing.T) {
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).WithTables(isle.TablesConfig{}).WithStdio(nil, io.Discard, io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Processes()
		m.Stop(ctx)
		if err != nil {
			t.Fatalf("boot %d: %v", i, err)
		}
	}
}
