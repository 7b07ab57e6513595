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
type memPool struct {
	mu   sync.Mutex
	free [][]byte // whole buffers, capacity as allocated
}

// Limits in one place.
const (
	poolBuffers   = 64       // buffers kept
	poolMaxBuffer = 16 << 20 // larger memories go back to the garbage collector
)

// Allocate implements experimental.MemoryAllocator.
func (p *memPool) Allocate(_, max uint64) experimental.LinearMemory {
	return &pooledMemory{pool: p, max: max}
}

func (p *memPool) get(size uint64) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.free) - 1; i >= 0; i-- {
		if b := p.free[i]; uint64(cap(b)) >= size {
			p.free[i] = p.free[len(p.free)-1]
			p.free = p.free[:len(p.free)-1]
			return b[:0]
		}
	}
	return nil
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

// pooledMemory is one process's linear memory.
type pooledMemory struct {
	pool *memPool
	buf  []byte
	max  uint64
}

// Reallocate implements experimental.LinearMemory: the memory grows to size
// bytes, every byte past the old length zero, as WebAssembly requires.
func (m *pooledMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if m.buf == nil {
		m.buf = m.pool.get(size)
	}
	if uint64(cap(m.buf)) >= size {
		old := len(m.buf)
		m.buf = m.buf[:size]
		clear(m.buf[old:]) // a pooled buffer holds a previous process's bytes
		return m.buf
	}
	nb := make([]byte, size, min(max(size, 2*uint64(cap(m.buf))), m.max))
	copy(nb, m.buf)
	m.pool.put(m.buf)
	m.buf = nb
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *pooledMemory) Free() {
	m.pool.put(m.buf)
	m.buf = nil
}
