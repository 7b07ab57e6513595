package percpu

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

func TestSlotIsOneCacheLine(t *testing.T) {
	if got := unsafe.Sizeof(slot{}); got != CacheLine {
		t.Fatalf("slot is %d bytes, want %d", got, CacheLine)
	}
}

func TestCounterSumsCores(t *testing.T) {
	c := NewCounter(4)
	for core := range 4 {
		for range core + 1 {
			c.Inc(core)
		}
	}
	c.Add(2, -1)
	if got, want := c.Sum(), int64(1+2+3+4-1); got != want {
		t.Fatalf("Sum = %d, want %d", got, want)
	}
	if got := c.Local(3); got != 4 {
		t.Fatalf("Local(3) = %d, want 4", got)
	}
}

// The paper's bound: a sloppy counter's shared value is off by at most the
// spare counts the cores hold, each below the threshold.
func TestSloppyBound(t *testing.T) {
	for _, tc := range []struct {
		cores     int
		threshold int64
	}{{1, 1}, {1, 8}, {2, 4}, {4, 16}, {8, 3}} {
		rng := rand.New(rand.NewPCG(uint64(tc.cores), uint64(tc.threshold)))
		s := NewSloppy(tc.cores, tc.threshold)
		var truth int64
		for i := range 20000 {
			core := rng.IntN(tc.cores)
			d := int64(rng.IntN(7)) - 2 // mostly increments, some decrements
			s.Add(core, d)
			truth += d
			if diff := truth - s.Value(); diff > s.MaxError() || diff < -s.MaxError() {
				t.Fatalf("cores=%d threshold=%d step %d: Value %d, truth %d, off by %d > bound %d",
					tc.cores, tc.threshold, i, s.Value(), truth, diff, s.MaxError())
			}
			if got := s.Sum(); got != truth {
				t.Fatalf("Sum = %d, want %d", got, truth)
			}
		}
		for core := range tc.cores {
			s.Flush(core)
		}
		if s.Value() != truth {
			t.Fatalf("after Flush: Value %d, want %d", s.Value(), truth)
		}
	}
}

// The bound is tight: every core can hold threshold-1 spare counts.
func TestSloppyBoundIsReached(t *testing.T) {
	s := NewSloppy(3, 5)
	for core := range 3 {
		s.Add(core, 4)
	}
	if got := s.Sum() - s.Value(); got != s.MaxError() {
		t.Fatalf("error %d, want MaxError %d", got, s.MaxError())
	}
}

// Concurrent cores, one goroutine each (run with -race).
func TestConcurrentCores(t *testing.T) {
	const cores, n = 4, 10000
	s := NewSloppy(cores, 16)
	c := NewCounter(cores)
	var wg sync.WaitGroup
	for core := range cores {
		wg.Go(func() {
			for range n {
				s.Inc(core)
				c.Inc(core)
				if d := int64(cores*n) - s.Value(); d < 0 {
					t.Errorf("Value %d above the true maximum", s.Value())
					return
				}
			}
		})
	}
	wg.Wait()
	if s.Sum() != cores*n || c.Sum() != cores*n {
		t.Fatalf("Sloppy.Sum %d, Counter.Sum %d, want %d", s.Sum(), c.Sum(), cores*n)
	}
	if d := int64(cores*n) - s.Value(); d > s.MaxError() {
		t.Fatalf("Value off by %d > %d", d, s.MaxError())
	}
}

func TestHotPathAllocatesNothing(t *testing.T) {
	s := NewSloppy(2, 8)
	c := NewCounter(2)
	if a := testing.AllocsPerRun(1000, func() { s.Inc(1); c.Inc(1); _ = s.Value(); _ = c.Sum() }); a != 0 {
		t.Fatalf("hot path allocates %v times a run", a)
	}
}

// nextCore hands each RunParallel goroutine its own core index.
func nextCore(n *atomic.Int32, cores int) int { return int(n.Add(1)-1) % cores }

// BenchmarkCounters compares, from GOMAXPROCS goroutines each standing for a
// core, one atomic counter every core increments against a sloppy counter and
// a per-core counter.
func BenchmarkCounters(b *testing.B) {
	cores := runtime.GOMAXPROCS(0)
	b.Run("atomic", func(b *testing.B) {
		var shared atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				shared.Add(1)
			}
		})
	})
	b.Run("sloppy", func(b *testing.B) {
		s := NewSloppy(cores, 64)
		var ids atomic.Int32
		b.RunParallel(func(pb *testing.PB) {
			core := nextCore(&ids, cores)
			for pb.Next() {
				s.Inc(core)
			}
		})
	})
	b.Run("percore", func(b *testing.B) {
		c := NewCounter(cores)
		var ids atomic.Int32
		b.RunParallel(func(pb *testing.PB) {
			core := nextCore(&ids, cores)
			for pb.Next() {
				c.Inc(core)
			}
		})
	})
}
