package sandbox

import (
	"sync/atomic"
)

// MemoryBudget is a machine's budget of linear memory: the sum of what every
// SIP's memory holds may not pass Limit. A memory.grow that would pass it
// fails in the SIP that asked (memory.grow returns -1, as under wasmtime's
// ResourceLimiter: malloc returns NULL, Go's runtime reports out of memory),
// and the others go on.
//
// Ownership: one MemoryBudget per machine, shared by every core: it is the
// one counter isle's cores share outside the urpc rings, and it may be,
// because it is a budget, not state (as Linux's memcg charges pages from
// every CPU to one counter). A sloppy per-core counter could not refuse a
// grow exactly at the limit. It is touched only when a memory is created,
// grows or is freed, never on a hot path; one atomic add each time.
type MemoryBudget struct {
	limit uint64 // immutable
	_     [56]byte
	used  atomic.Uint64 // bytes charged to the SIPs' memories now
	_     [56]byte
}

// NewMemoryBudget returns a budget of limit bytes.
func NewMemoryBudget(limit uint64) *MemoryBudget { return &MemoryBudget{limit: limit} }

// Limit returns the budget's size in bytes.
func (b *MemoryBudget) Limit() uint64 { return b.limit }

// Used returns the bytes charged now.
func (b *MemoryBudget) Used() uint64 { return b.used.Load() }

// charge takes n bytes from the budget, or reports false, taking nothing,
// when they would pass its limit. A nil budget grants everything.
func (b *MemoryBudget) charge(n uint64) bool {
	if b == nil || n == 0 {
		return true
	}
	for {
		u := b.used.Load()
		if n > b.limit || u > b.limit-n {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// release gives n charged bytes back.
func (b *MemoryBudget) release(n uint64) {
	if b == nil || n == 0 {
		return
	}
	b.used.Add(^(n - 1))
}
