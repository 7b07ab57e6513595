// Package percpu holds per-core data: counters that each core writes alone and
// anyone reads by summing, and sloppy counters that touch one shared value
// only now and then.
//
// Rules of the interface:
//   - A core is an index in [0, cores). Each core's slot is written only by
//     that core (the kernel loop of that core, or one goroutine standing for
//     it); passing another core's index is a kernel bug and is not detected.
//   - Slots are padded to a cache line (64 bytes, the urpc slot size), so a
//     core's increment never invalidates another core's line.
//   - Reads (Sum, Value) may run on any goroutine at any time; they see each
//     slot atomically but not all slots at one instant.
//   - Add allocates nothing; it is safe on the kernel's hot path.
package percpu

import "sync/atomic"

// CacheLine is the size, in bytes, that each per-core slot is padded to.
const CacheLine = 64

// slot is one core's value alone on its cache line.
type slot struct {
	v atomic.Int64
	_ [CacheLine - 8]byte
}

// Counter is a per-core counter: one padded slot per core, each written only
// by its core; its value is the sum of all slots.
//
// Ownership: slots[i] is written by core i only (single writer, so Add is a
// load and a store, no locked read-modify-write); the slice itself is
// immutable after NewCounter.
type Counter struct {
	slots []slot
}

// NewCounter returns a counter for cores cores. It panics if cores < 1.
func NewCounter(cores int) *Counter {
	if cores < 1 {
		panic("percpu: cores must be at least 1")
	}
	return &Counter{slots: make([]slot, cores)}
}

// Cores returns the number of cores the counter was made for.
func (c *Counter) Cores() int { return len(c.slots) }

// Add adds d to core's slot. Only core itself may call it.
func (c *Counter) Add(core int, d int64) {
	s := &c.slots[core].v
	s.Store(s.Load() + d)
}

// Inc adds one to core's slot. Only core itself may call it.
func (c *Counter) Inc(core int) { c.Add(core, 1) }

// Local returns core's own slot.
func (c *Counter) Local(core int) int64 { return c.slots[core].v.Load() }

// Sum returns the sum of every core's slot. It is exact once writers have
// stopped; while they run, it is some value between the sums at the start and
// at the end of the call (for counters that only grow).
func (c *Counter) Sum() int64 {
	var sum int64
	for i := range c.slots {
		sum += c.slots[i].v.Load()
	}
	return sum
}
