package isle_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// TestKillLoop runs testdata/hostile/killloop.c: a parent that spawns a
// spinning child, kills it and waits for it, 1,000 times on two cores,
// where the balancer moves parent and child between the spawn and the kill.
// Every kill must reach the child wherever it is (a lost one leaves the
// parent waiting forever: the test's deadline ends the machine).
func TestKillLoop(t *testing.T) {
	bin := t.TempDir()
	spin, err := os.ReadFile(testdataC(t, "forever"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bin, "spin.wasm"), spin, 0o644)
	parent := guestC(t, "testdata", "hostile", "killloop.c")
	rounds := "1000"
	if testing.Short() {
		rounds = "200"
	}
	cfg := config().WithCores(2).WithOversubscribe(true).WithDir(isle.Dir{Host: bin, Guest: "/bin"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb strings.Builder
	cfg = cfg.WithStdio(nil, &out, &errb)
	st, stats, err := isle.Run(ctx, cfg, parent, []string{"/bin/spin.wasm", rounds})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range stats {
		t.Logf("core %d: %d migrated out, %d forwarded", c.Core, c.MigratedOut, c.Forwarded)
	}
	if st.Status() != 0 || out.String() != "killloop: "+rounds+" rounds\n" {
		t.Fatalf("status %d (a kill was lost if the deadline ended it)\n%s%s", st.Status(), out.String(), errb.String())
	}
}

// TestNothingLeftAfterShortPrograms runs 300 short programs on two cores,
// six at a time so that the balancer moves them, and checks that once they
// have all ended the cores keep no record of them: no live SIP and no
// forwarding entry (which kept every migrated SIP reachable, with its
// tables, until the machine stopped).
func TestNothingLeftAfterShortPrograms(t *testing.T) {
	ctx := context.Background()
	m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).WithStdio(nil, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, testdataC(t, "spin"))
	if err != nil {
		t.Fatal(err)
	}
	const programs, together = 300, 6
	var running []*isle.Process
	for i := 0; i < programs; i++ {
		p, err := m.Spawn(prog, []string{"spin", "3"})
		if err != nil {
			t.Fatal(err)
		}
		running = append(running, p)
		if len(running) == together {
			for _, p := range running {
				if st := p.Wait(); st.Status() != 0 {
					t.Fatalf("status %d", st.Status())
				}
			}
			running = running[:0]
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		live, fwd := m.Census()
		if live == 0 && fwd == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d programs ended: the cores still hold %d live SIPs and %d forwarding entries", programs, live, fwd)
		}
		time.Sleep(time.Millisecond) // waiting for the exits' forget messages to arrive
	}
	m.Stop(ctx)
	var migrations uint64
	for _, c := range m.Stats() {
		migrations += c.MigratedOut
	}
	if migrations == 0 {
		t.Fatal("no program migrated: the test shows nothing")
	}
	t.Logf("%d migrations", migrations)
}

// TestEndedProcessesHoldNoInstance: a process handle kept after its program
// ended (by the embedder here; by a ring's last reference inside the
// machine) holds its record, not its instance. Before, 150 ended Go
// programs held on to about 120 MB.
func TestEndedProcessesHoldNoInstance(t *testing.T) {
	hello := testprog.Go(t, "./examples/hello")
	ctx := context.Background()
	m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).WithStdio(nil, io.Discard, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, hello)
	if err != nil {
		t.Fatal(err)
	}
	run := func(n int) []*isle.Process {
		var ps []*isle.Process
		for i := 0; i < n; i++ {
			p, err := m.Spawn(prog, []string{"hello"})
			if err != nil {
				t.Fatal(err)
			}
			if st := p.Wait(); st.Status() != 0 {
				t.Fatalf("status %d", st.Status())
			}
			ps = append(ps, p)
		}
		return ps
	}
	heap := func() int64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapInuse)
	}
	run(20) // warm up the memory pool and the rings
	before := heap()
	const n = 150
	kept := run(n)
	grew := heap() - before
	runtime.KeepAlive(kept)
	t.Logf("%d ended programs kept: the heap grew %.1f MB", n, float64(grew)/1e6)
	if grew > 20e6 {
		t.Errorf("%d ended programs hold %.1f MB", n, float64(grew)/1e6)
	}
}
