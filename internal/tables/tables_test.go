package tables

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"isle/internal/kernel"
	"isle/internal/replica"
)

// boot starts a machine of cores cores whose tables are all of kind.
func boot(t *testing.T, cores int, kind Kind) *Tables {
	t.Helper()
	tb, err := New(cores, Config{Procs: kind, Names: kind})
	if err != nil {
		t.Fatal(err)
	}
	m, err := kernel.New(kernel.Config{Cores: cores, Init: []func(*kernel.Core){tb.Init}})
	if err != nil {
		t.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(cores + 1)
	if err := m.Boot(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Stop()
		tb.Stop()
		runtime.GOMAXPROCS(prev)
	})
	return tb
}

// on runs fn on core's goroutine and returns its result.
func on[T any](t *testing.T, tb *Tables, core int, fn func(c *kernel.Core) T) T {
	t.Helper()
	ch := make(chan T, 1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := tb.Do(core, func(c *kernel.Core) { ch <- fn(c) })
		if err == ErrNotBooted && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // polling for the first core's Init: nothing to wait on
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("core %d did not run the function", core)
	}
	panic("unreachable")
}

// put writes key=pid on core and waits for the final outcome.
func put(t *testing.T, tb *Tables, core int, key string, pid int64) replica.Outcome {
	t.Helper()
	done := make(chan replica.Outcome, 1)
	o := on(t, tb, core, func(c *kernel.Core) replica.Outcome {
		return tb.Procs().Put(c, key, Proc{PID: pid, Core: c.ID()}, func(o replica.Outcome) { done <- o })
	})
	if o != replica.Pending {
		return o
	}
	select {
	case o = <-done:
		return o
	case <-time.After(10 * time.Second):
		t.Fatalf("write of %s on core %d never decided", key, core)
	}
	return o
}

// snapshot returns core's view of the process table as key → pid.
func snapshot(t *testing.T, tb *Tables, core int) map[string]int64 {
	return on(t, tb, core, func(c *kernel.Core) map[string]int64 {
		s := map[string]int64{}
		for k, p := range tb.Procs().All(c) {
			s[k] = p.PID
		}
		return s
	})
}

// eventually waits until every core's view equals want.
func eventually(t *testing.T, tb *Tables, cores int, want map[string]int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for core := range cores {
		for {
			got := snapshot(t, tb, core)
			if equal(got, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("core %d sees %d keys %v, want %d keys", core, len(got), got, len(want))
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig("procs=shared,names=replicated")
	if err != nil || cfg[Procs] != Shared || cfg[Names] != Replicated {
		t.Fatalf("ParseConfig = %v, %v", cfg, err)
	}
	if got := cfg.String(); got != "names=replicated,procs=shared" {
		t.Errorf("String = %q", got)
	}
	for _, bad := range []string{"procs", "procs=both", "quotas=shared", "procs=shared,"} {
		if _, err := ParseConfig(bad); err == nil {
			t.Errorf("ParseConfig(%q) succeeded", bad)
		}
	}
}

// Writes from every core, all at once, each to its own keys: every one commits
// and becomes visible on every core.
func TestWritesFromEveryCoreCommit(t *testing.T) {
	const cores, perCore = 3, 20
	for _, kind := range []Kind{Replicated, Shared} {
		t.Run(kind.String(), func(t *testing.T) {
			tb := boot(t, cores, kind)
			outcomes := make(chan replica.Outcome, cores*perCore)
			want := map[string]int64{}
			for core := range cores {
				for j := range perCore {
					want[fmt.Sprintf("c%d/%d", core, j)] = int64(core*1000 + j)
				}
				on(t, tb, core, func(c *kernel.Core) bool {
					for j := range perCore {
						key := fmt.Sprintf("c%d/%d", core, j)
						o := tb.Procs().Put(c, key, Proc{PID: int64(core*1000 + j)}, func(o replica.Outcome) { outcomes <- o })
						if o != replica.Pending {
							outcomes <- o
						}
					}
					return true
				})
			}
			for range cores * perCore {
				select {
				case o := <-outcomes:
					if o != replica.Committed {
						t.Fatalf("a write ended %v", o)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("writes never decided")
				}
			}
			eventually(t, tb, cores, want)
			c := tb.Procs().Counts()
			if c.Committed != cores*perCore || c.Aborted != 0 {
				t.Errorf("counts %+v", c)
			}
			if kind == Replicated && c.Messages < uint64(cores*perCore*4*(cores-1)) {
				t.Errorf("%d messages for %d writes on %d cores, want at least 4×(cores−1) a write", c.Messages, c.Committed, cores)
			}
		})
	}
}

// Every core writes the same key at the same time: conflicting rounds abort
// and are retried until each write commits; the replicas agree at the end.
func TestConflictingWritesRetry(t *testing.T) {
	const cores, rounds = 3, 15
	for _, kind := range []Kind{Replicated, Shared} {
		t.Run(kind.String(), func(t *testing.T) {
			tb := boot(t, cores, kind)
			outcomes := make(chan replica.Outcome, cores*rounds)
			for core := range cores {
				on(t, tb, core, func(c *kernel.Core) bool {
					n := 0
					var next func(o replica.Outcome)
					next = func(o replica.Outcome) {
						if o != replica.Pending {
							outcomes <- o
						}
						if n == rounds {
							return
						}
						n++
						if o := tb.Procs().Put(c, "hot", Proc{PID: int64(core*1000 + n)}, next); o != replica.Pending {
							next(o)
						}
					}
					next(replica.Pending)
					return true
				})
			}
			for range cores * rounds {
				select {
				case o := <-outcomes:
					if o != replica.Committed {
						t.Fatalf("a write ended %v", o)
					}
				case <-time.After(20 * time.Second):
					t.Fatal("writes never decided")
				}
			}
			last := snapshot(t, tb, 0)
			if len(last) != 1 {
				t.Fatalf("core 0 sees %v", last)
			}
			eventually(t, tb, cores, last)
			c := tb.Procs().Counts()
			t.Logf("%v: %+v", kind, c)
			if c.Committed != cores*rounds || c.Aborted != 0 {
				t.Errorf("counts %+v", c)
			}
		})
	}
}

// The same random script of writes, one at a time from random cores, on a
// replicated and on a shared table, and on a plain map: every core of both
// machines ends with the map's contents.
func TestDifferential(t *testing.T) {
	const cores, ops = 3, 120
	rng := rand.New(rand.NewPCG(6, 6))
	type op struct {
		core int
		del  bool
		key  string
		pid  int64
	}
	script := make([]op, ops)
	want := map[string]int64{}
	for i := range script {
		o := op{core: rng.IntN(cores), del: rng.IntN(4) == 0, key: fmt.Sprintf("k%d", rng.IntN(8)), pid: int64(i + 1)}
		script[i] = o
		if o.del {
			delete(want, o.key)
		} else {
			want[o.key] = o.pid
		}
	}
	for _, kind := range []Kind{Replicated, Shared} {
		t.Run(kind.String(), func(t *testing.T) {
			tb := boot(t, cores, kind)
			for _, o := range script {
				var got replica.Outcome
				if o.del {
					done := make(chan replica.Outcome, 1)
					got = on(t, tb, o.core, func(c *kernel.Core) replica.Outcome {
						return tb.Procs().Delete(c, o.key, func(o replica.Outcome) { done <- o })
					})
					if got == replica.Pending {
						got = <-done
					}
				} else {
					got = put(t, tb, o.core, o.key, o.pid)
				}
				if got != replica.Committed {
					t.Fatalf("%+v ended %v", o, got)
				}
			}
			eventually(t, tb, cores, want)
		})
	}
}

// Two writes of one key from one core, back to back: the second conflicts with
// the first's lock, aborts at once and is retried after it; both commit.
func TestLocalConflictRetries(t *testing.T) {
	tb := boot(t, 2, Replicated)
	outcomes := make(chan replica.Outcome, 2)
	on(t, tb, 0, func(c *kernel.Core) bool {
		for pid := int64(1); pid <= 2; pid++ {
			if o := tb.Procs().Put(c, "x", Proc{PID: pid}, func(o replica.Outcome) { outcomes <- o }); o != replica.Pending {
				t.Errorf("write %d ended at once: %v", pid, o)
			}
		}
		return true
	})
	for range 2 {
		if o := <-outcomes; o != replica.Committed {
			t.Fatalf("a write ended %v", o)
		}
	}
	if c := tb.Procs().Counts(); c.Retries == 0 || c.Committed != 2 {
		t.Errorf("counts %+v, want a retry and two commits", c)
	}
	eventually(t, tb, 2, map[string]int64{"x": 2})
}

// Processes lists the table on a core while the machine runs and after it
// stops.
func TestProcesses(t *testing.T) {
	tb := boot(t, 2, Replicated)
	for pid := int64(1); pid <= 3; pid++ {
		if o := put(t, tb, int(pid)%2, PIDKey(pid), pid); o != replica.Committed {
			t.Fatalf("put %d: %v", pid, o)
		}
	}
	eventually(t, tb, 2, map[string]int64{PIDKey(1): 1, PIDKey(2): 2, PIDKey(3): 3})
	ps, err := tb.Processes(1, time.Second)
	if err != nil || len(ps) != 3 || ps[0].PID != 1 || ps[2].PID != 3 {
		t.Fatalf("Processes = %v, %v", ps, err)
	}
}

// merge joins spawn and exit rows in either order.
func TestMerge(t *testing.T) {
	rows := map[string]Proc{
		PIDKey(1):  {PID: 1, Name: "a", Core: 0, State: Running},
		ExitKey(1): {PID: 1, Name: "a", Core: 1, State: Exited, Status: 3},
		ExitKey(2): {PID: 2, Name: "b", Core: 0, State: Exited, Status: 134},
		PIDKey(3):  {PID: 3, Name: "c", Core: AnyCore, State: Running},
	}
	got := merge(func(yield func(string, Proc) bool) {
		for k, v := range rows {
			if !yield(k, v) {
				return
			}
		}
	})
	want := []Proc{
		{PID: 1, Name: "a", Core: 1, State: Exited, Status: 3},
		{PID: 2, Name: "b", Core: 0, State: Exited, Status: 134},
		{PID: 3, Name: "c", Core: AnyCore, State: Running},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("merge = %v, want %v", got, want)
	}
}

// Reads are a kernel hot path: they allocate nothing, on either kind.
func TestReadsAllocateNothing(t *testing.T) {
	for _, kind := range []Kind{Replicated, Shared} {
		t.Run(kind.String(), func(t *testing.T) {
			tb := boot(t, 2, kind)
			put(t, tb, 0, "x", 1)
			allocs := on(t, tb, 0, func(c *kernel.Core) float64 {
				return testing.AllocsPerRun(1000, func() {
					if _, ok := tb.Procs().Get(c, "x"); !ok {
						panic("x is gone")
					}
				})
			})
			if allocs != 0 {
				t.Errorf("Get allocates %v times", allocs)
			}
		})
	}
}

// A hammer: every core writes and deletes random keys of a small set at once,
// each write chained from the previous one's decision. The order of
// conflicting writes is the protocol's to choose, so there is no reference
// map; what must hold is that every write ends Committed and that, once the
// machine is quiet, every core's replica is the same.
func TestHammerReplicasAgree(t *testing.T) {
	const cores, perCore = 3, 40
	tb := boot(t, cores, Replicated)
	outcomes := make(chan replica.Outcome, cores*perCore)
	for core := range cores {
		on(t, tb, core, func(c *kernel.Core) bool {
			rng := rand.New(rand.NewPCG(uint64(core), 9))
			n := 0
			var next func(o replica.Outcome)
			next = func(o replica.Outcome) {
				for {
					if o != replica.Pending {
						outcomes <- o
					}
					if n == perCore {
						return
					}
					n++
					key := fmt.Sprintf("k%d", rng.IntN(4))
					if rng.IntN(3) == 0 {
						o = tb.Procs().Delete(c, key, next)
					} else {
						o = tb.Procs().Put(c, key, Proc{PID: int64(core*1000 + n)}, next)
					}
					if o == replica.Pending {
						return
					}
				}
			}
			next(replica.Pending)
			return true
		})
	}
	for range cores * perCore {
		select {
		case o := <-outcomes:
			if o != replica.Committed {
				t.Fatalf("a write ended %v", o)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("writes never decided")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		first := snapshot(t, tb, 0)
		same := true
		for core := 1; core < cores; core++ {
			if !equal(first, snapshot(t, tb, core)) {
				same = false
			}
		}
		if same {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replicas still differ")
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("%+v", tb.Procs().Counts())
}
