package percpu

import "sync/atomic"

// Sloppy is a sloppy counter (Boyd-Wickizer et al., "An Analysis of Linux
// Scalability to Many Cores", OSDI 2010, section 4.3): one shared value plus
// spare counts kept by each core. A core adds to its own spare count and
// moves it into the shared value only when its magnitude reaches the
// threshold, so most increments touch only the core's own cache line.
//
// Bound: after every Add, each core's spare count is strictly between
// -threshold and +threshold, so Value differs from the true count (the sum of
// every Add) by at most Cores()×(Threshold()-1) once the adds have returned.
// Sum adds the spare counts back and is exact once writers have stopped.
//
// Ownership: shared is written by every core (atomic add, only past the
// threshold); spare[i] is written by core i only; threshold and the slice
// are immutable after NewSloppy.
type Sloppy struct {
	shared    atomic.Int64
	_         [CacheLine - 8]byte // keep the shared line apart from spare[0]
	threshold int64
	spare     []slot
}

// NewSloppy returns a sloppy counter for cores cores that publishes a core's
// spare count once its magnitude reaches threshold. Threshold 1 makes every
// Add go to the shared value (an ordinary atomic counter). It panics if cores
// < 1 or threshold < 1.
func NewSloppy(cores int, threshold int64) *Sloppy {
	if cores < 1 {
		panic("percpu: cores must be at least 1")
	}
	if threshold < 1 {
		panic("percpu: threshold must be at least 1")
	}
	return &Sloppy{threshold: threshold, spare: make([]slot, cores)}
}

// Cores returns the number of cores the counter was made for.
func (s *Sloppy) Cores() int { return len(s.spare) }

// Threshold returns the spare count at which a core publishes.
func (s *Sloppy) Threshold() int64 { return s.threshold }

// MaxError returns the most Value can differ from the true count:
// Cores()×(Threshold()-1).
func (s *Sloppy) MaxError() int64 { return int64(len(s.spare)) * (s.threshold - 1) }

// Add adds d on core. Only core itself may call it.
func (s *Sloppy) Add(core int, d int64) {
	sp := &s.spare[core].v
	v := sp.Load() + d
	if v >= s.threshold || v <= -s.threshold {
		s.shared.Add(v)
		v = 0
	}
	sp.Store(v)
}

// Inc adds one on core. Only core itself may call it.
func (s *Sloppy) Inc(core int) { s.Add(core, 1) }

// Flush moves core's spare count into the shared value, making Value exact
// for that core. Only core itself may call it (e.g. when it goes idle).
func (s *Sloppy) Flush(core int) {
	sp := &s.spare[core].v
	if v := sp.Load(); v != 0 {
		s.shared.Add(v)
		sp.Store(0)
	}
}

// Value returns the shared value alone: one atomic load, within MaxError of
// the true count.
func (s *Sloppy) Value() int64 { return s.shared.Load() }

// Sum returns the shared value plus every spare count: exact once writers
// have stopped, and costlier than Value (it reads every core's line).
func (s *Sloppy) Sum() int64 {
	sum := s.shared.Load()
	for i := range s.spare {
		sum += s.spare[i].v.Load()
	}
	return sum
}
