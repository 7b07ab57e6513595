package sandbox

import (
	"sync"

	"github.com/tetratelabs/wazero/experimental"
)

// memPool keeps the linear memories of ended processes for the next ones:
// a spawn then zeroes an old buffer instead of allocating a new one (which
// the Go runtime would also zero, and later have to collect). Profiling the
// spawn of a small C program found the fresh allocation, its zeroing and
// the garbage collection it caused to be the largest part of a spawn.
// Buffers in the pool are charged to no SIP's budget: at most
// poolBuffers × poolMaxBuffer bytes (1 GiB) sit there.
type memPool struct {
	mu   sync.Mutex
	free [][]byte // whole buffers, capacity as allocated
}

// Limits in one place.
const (
	poolBuffers   = 64       // buffers kept
	poolMaxBuffer = 16 << 20 // larger memories go back to the garbage collector
)

// get returns the smallest pooled buffer that holds size bytes, or nil; a
// small program is not handed (and charged for) a large buffer.
func (p *memPool) get(size uint64) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	best := -1
	for i, b := range p.free {
		if uint64(cap(b)) >= size && (best < 0 || cap(b) < cap(p.free[best])) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	b := p.free[best]
	p.free[best] = p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return b[:0]
}

func (p *memPool) put(b []byte) {
	if cap(b) == 0 || cap(b) > poolMaxBuffer {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) < poolBuffers {
		p.free = append(p.free, b[:0])
	}
}

// pooledMemory is one process's linear memory, and the allocator that makes
// it (a module has at most one memory). It charges the bytes it holds, its
// buffer's whole capacity, to the machine's budget: capacity grown ahead of
// the guest is host memory too, and once the Go runtime has zeroed a reused
// span it is committed. When the budget cannot take the usual growth ahead,
// a grow takes exactly what the guest asked for.
//
// Ownership: the fields are touched on the process's coroutine (grows) and
// by whoever ends the process (Free, after the coroutine has ended).
type pooledMemory struct {
	pool    *memPool
	budget  *MemoryBudget // nil: no machine budget
	buf     []byte
	max     uint64 // the memory's maximum, clamped to the per-SIP limit
	charged uint64 // bytes taken from budget: cap(buf), or the credit before the first allocation
}

// Allocate implements experimental.MemoryAllocator.
func (m *pooledMemory) Allocate(_, max uint64) experimental.LinearMemory {
	m.max = max
	return m
}

// precharge takes n bytes from the budget before the memory is made, so
// that the first Reallocate (of the module's minimum size, which wazero
// cannot see refused) finds them already charged.
func (m *pooledMemory) precharge(n uint64) bool {
	if !m.budget.charge(n) {
		return false
	}
	m.charged += n
	return true
}

// grant charges the budget for a buffer of capacity c; charged becomes c.
func (m *pooledMemory) grant(c uint64) bool {
	if c <= m.charged {
		m.budget.release(m.charged - c)
		m.charged = c
		return true
	}
	if !m.budget.charge(c - m.charged) {
		return false
	}
	m.charged = c
	return true
}

// Reallocate implements experimental.LinearMemory: the memory grows to size
// bytes, every byte past the old length zero, as WebAssembly requires. It
// returns nil, and memory.grow returns -1, when size passes the memory's
// maximum or the machine's budget.
func (m *pooledMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if m.buf == nil {
		if b := m.pool.get(size); b != nil {
			if m.grant(uint64(cap(b))) {
				m.buf = b
			} else {
				m.pool.put(b)
			}
		}
	}
	if m.buf != nil && uint64(cap(m.buf)) >= size {
		old := len(m.buf)
		m.buf = m.buf[:size]
		clear(m.buf[old:]) // a pooled buffer holds a previous process's bytes
		return m.buf
	}
	c := min(max(size, 2*uint64(cap(m.buf))), m.max)
	if !m.grant(c) {
		c = size
		if !m.grant(c) {
			return nil
		}
	}
	nb := make([]byte, size, c)
	copy(nb, m.buf)
	m.pool.put(m.buf)
	m.buf = nb
	return m.buf
}

// Free implements experimental.LinearMemory; it may be called more than once.
func (m *pooledMemory) Free() {
	m.pool.put(m.buf)
	m.buf = nil
	m.budget.release(m.charged)
	m.charged = 0
}
