package sandbox

import (
	"sync"

	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// A SIP's linear memory is a region of address space reserved once, at its
// maximum size (the module's declared maximum, or the per-SIP limit), with
// mmap(MAP_NORESERVE): Linux commits a page only when the guest first
// touches it. A memory.grow then only lengthens the slice wazero sees; it
// never copies the memory to a larger buffer. (Growing a Go slice did: a
// guest that grew to 4 GiB made isle's RSS reach 8.3 GB, the old buffer, the
// new one, and garbage the collector had not yet returned.) So what a SIP
// has grown to bounds what it holds of the host, and that is what the
// machine's budget counts (MemoryBudget).
//
// The regions of ended processes are kept for the next ones (profiling the
// spawn of a small C program found allocating, zeroing and collecting its
// memory to be the largest part of a spawn). An ended process's region is
// zeroed as it is freed: its first warmBytes with a plain clear, so that
// those pages stay committed for the next process, and the rest with
// madvise(MADV_DONTNEED), which gives the pages back to the host and makes
// them read as zero. The pool thus holds at most poolRegions × warmBytes
// committed bytes, charged to no SIP.

// Limits in one place.
const (
	poolRegions = 64      // regions kept for reuse
	warmBytes   = 1 << 20 // bytes of a freed region kept committed (zeroed by clear)
	pageBytes   = 64 << 10
)

// memPool keeps the reserved regions of ended processes.
type memPool struct {
	mu   sync.Mutex
	free [][]byte // whole regions (len = reserved size), every byte zero
}

// get returns the smallest pooled region of at least n bytes, or a new one;
// nil if the address space cannot be reserved.
func (p *memPool) get(n uint64) []byte {
	p.mu.Lock()
	best := -1
	for i, r := range p.free {
		if uint64(len(r)) >= n && (best < 0 || len(r) < len(p.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		r := p.free[best]
		p.free[best] = p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
		p.mu.Unlock()
		return r
	}
	p.mu.Unlock()
	r, err := unix.Mmap(-1, 0, int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
	if err != nil {
		return nil
	}
	return r
}

// put zeroes the first used bytes of region r and keeps it, or unmaps it.
func (p *memPool) put(r []byte, used uint64) {
	warm := min(used, warmBytes)
	clear(r[:warm])
	if used > warm {
		end := min((used+4095)&^4095, uint64(len(r)))
		if unix.Madvise(r[warm:end], unix.MADV_DONTNEED) != nil {
			clear(r[warm:used]) // cannot happen on Linux; stay correct anyway
		}
	}
	p.mu.Lock()
	if len(p.free) < poolRegions {
		p.free = append(p.free, r)
		r = nil
	}
	p.mu.Unlock()
	if r != nil {
		unix.Munmap(r)
	}
}

// drain unmaps every pooled region (the runtime is closing).
func (p *memPool) drain() {
	p.mu.Lock()
	free := p.free
	p.free = nil
	p.mu.Unlock()
	for _, r := range free {
		unix.Munmap(r)
	}
}

// linearMemory is one process's linear memory, and the allocator that makes
// it (a module has at most one memory). It charges what the guest has grown
// to to the machine's budget.
//
// Ownership: touched on the process's coroutine (reserve, grows) and by
// whoever ends the process (Free, once the guest can no longer run).
type linearMemory struct {
	pool    *memPool
	budget  *MemoryBudget // nil: no machine budget
	region  []byte        // reserved address space; nil before reserve
	size    uint64        // bytes the guest has grown to
	max     uint64        // the memory's maximum as wazero gives it
	charged uint64        // bytes taken from budget
}

// reserve prepares the memory before instantiation, where a refusal can
// still be reported (wazero cannot see its first allocation refused): it
// charges min bytes to the budget and reserves max bytes of address space.
// It reports false, holding nothing, if either fails.
func (m *linearMemory) reserve(min, max uint64) (ok, budget bool) {
	if !m.budget.charge(min) {
		return false, true
	}
	m.charged = min
	if max == 0 {
		return true, false
	}
	m.region = m.pool.get(max)
	if m.region == nil {
		m.Free()
		return false, false
	}
	return true, false
}

// Allocate implements experimental.MemoryAllocator.
func (m *linearMemory) Allocate(_, max uint64) experimental.LinearMemory {
	m.max = max
	return m
}

// Reallocate implements experimental.LinearMemory: the memory grows to size
// bytes (every byte past the old length is zero: the region is). It returns
// nil, and memory.grow returns -1, when size passes the memory's maximum,
// its reservation or the machine's budget.
func (m *linearMemory) Reallocate(size uint64) []byte {
	if size > m.max || size > uint64(len(m.region)) {
		return nil
	}
	if size > m.charged {
		if !m.budget.charge(size - m.charged) {
			return nil
		}
		m.charged = size
	}
	m.size = max(m.size, size)
	return m.region[:size:size]
}

// Free implements experimental.LinearMemory; it may be called more than once.
func (m *linearMemory) Free() {
	if m.region != nil {
		m.pool.put(m.region, m.size)
		m.region, m.size = nil, 0
	}
	m.budget.release(m.charged)
	m.charged = 0
}

// memoryLimits returns the limits of the memory a module defines: whether
// it has one, its minimum and, if it declares one, its maximum, in pages.
// A malformed memory section reads as none (wazero then refuses the
// module). A module has at most one memory: wazero has no multi-memory.
func memoryLimits(wasm []byte) (has bool, min uint32, max uint32, hasMax bool) {
	r := &reader{b: wasm, off: 8}
	for r.off < len(wasm) {
		id, err := r.byte()
		if err != nil {
			return
		}
		size, err := r.u32()
		if err != nil || uint64(r.off)+uint64(size) > uint64(len(wasm)) {
			return
		}
		sec := &reader{b: wasm[r.off : r.off+int(size)]}
		r.off += int(size)
		if id != 5 {
			continue
		}
		if n, err := sec.u32(); err != nil || n == 0 {
			return
		}
		flags, err := sec.byte()
		if err != nil {
			return
		}
		if min, err = sec.u32(); err != nil {
			return
		}
		if flags&1 != 0 {
			if max, err = sec.u32(); err != nil {
				return false, 0, 0, false
			}
			hasMax = true
		}
		return true, min, max, hasMax
	}
	return
}
