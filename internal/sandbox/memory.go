package sandbox

import (
	"encoding/binary"
	"os"
	"sync"
	"unsafe"

	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// A SIP's linear memory is a region of address space reserved once, at its
// maximum size (the module's declared maximum, or the per-SIP limit), with
// mmap(PROT_NONE, MAP_NORESERVE); a memory.grow makes the new pages readable
// and writable (mprotect) and lengthens the slice wazero sees, and never
// copies the memory to a larger buffer. (Growing a Go slice did: a guest that
// grew to 4 GiB made isle's RSS reach 8.3 GB, the old buffer, the new one,
// and garbage the collector had not yet returned.) Linux commits a page only
// when the guest first touches it, and counts only the writable part against
// its commit limit (vm.overcommit_memory=2 included), so what a SIP has grown
// to bounds what it holds of the host, and that is what the machine's budget
// counts (MemoryBudget).
//
// The regions of ended processes are kept for the next ones (profiling the
// spawn of a small C program found allocating, zeroing and collecting its
// memory to be the largest part of a spawn). An ended process's region is
// zeroed as it is freed: its first warmBytes with a plain clear, so that
// those pages stay committed for the next process, and the rest with
// madvise(MADV_DONTNEED), which gives the pages back to the host and makes
// them read as zero, and is made inaccessible again. The pool thus holds at
// most poolRegions × warmBytes (1 GiB) committed bytes, charged to no SIP,
// as the pool of Go buffers before it did. (With 1 MiB kept, a Go hello
// spawned from the embedding API cost 15% more CPU, 4.1–4.8 ms against
// 3.6–3.9 ms, faulting its pages in again; with 16 MiB, the same as before.)
//
// A region is unmapped (or made inaccessible) only when no guest can run in
// it. A service worker may still hold a view of it then in one case: the
// machine stopped while the SIP waited for a zero-copy file read or write
// (internal/wasi's zeroCopyView; a kill otherwise waits for the reply). Such
// views go only to read(2) and write(2), which report EFAULT for memory
// that is gone; no Go code touches their bytes.

// Limits in one place.
const (
	poolRegions = 64       // regions kept for reuse
	warmBytes   = 16 << 20 // bytes of a freed region kept committed (zeroed by clear)
	pageBytes   = 64 << 10
)

// region is reserved address space: mem is all of it, its first rw bytes
// readable and writable, the rest inaccessible. When img is set, its first
// img.size bytes (within rw) map that image privately (image.go).
type region struct {
	mem []byte
	rw  uint64
	img *memImage
}

// memPool keeps the reserved regions of ended processes.
//
// Ownership: free is guarded by mu; pagemap is set before the runtime is
// used and immutable (nil where /proc/self/pagemap cannot be read).
type memPool struct {
	mu      sync.Mutex
	free    []region // every byte zero, but an image's part, which holds the image
	pagemap *os.File
}

// get returns a pooled region of at least n bytes with img mapped in it
// (nil: none), preferring one that has it mapped already, else the
// smallest, else a new one; false if the address space cannot be reserved
// or the image mapped.
func (p *memPool) get(n uint64, img *memImage) (region, bool) {
	p.mu.Lock()
	best := -1
	better := func(r, than region) bool {
		if (r.img == img) != (than.img == img) {
			return r.img == img
		}
		return len(r.mem) < len(than.mem)
	}
	for i, r := range p.free {
		if uint64(len(r.mem)) >= n && (best < 0 || better(r, p.free[best])) {
			best = i
		}
	}
	var r region
	if best >= 0 {
		r = p.free[best]
		p.free[best] = p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
		p.mu.Unlock()
	} else {
		p.mu.Unlock()
		mem, err := unix.Mmap(-1, 0, int(n), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
		if err != nil {
			return region{}, false
		}
		r = region{mem: mem}
	}
	if r.img == img {
		return r, true
	}
	if r.img != nil {
		if r.img.unmapFrom(r.mem) != nil {
			unix.Munmap(r.mem)
			return region{}, false
		}
		r.img = nil
	}
	if img != nil {
		if img.size > uint64(len(r.mem)) || img.mapInto(r.mem) != nil {
			unix.Munmap(r.mem)
			return region{}, false
		}
		r.img, r.rw = img, max(r.rw, img.size)
	}
	return r, true
}

// put zeroes the first used bytes of r (restores its image's part) and
// keeps it, or unmaps it.
func (p *memPool) put(r region, used uint64) {
	keep := min(used, warmBytes)
	if r.img != nil {
		r.img.restore(r.mem, p.pagemap)
		if keep > r.img.size {
			p.clearTouched(r.mem[r.img.size:keep])
		}
		keep = max(keep, r.img.size)
	} else {
		p.clearTouched(r.mem[:keep])
	}
	if r.rw > keep {
		tail := r.mem[keep:r.rw]
		if unix.Madvise(tail, unix.MADV_DONTNEED) != nil || unix.Mprotect(tail, unix.PROT_NONE) != nil {
			unix.Munmap(r.mem) // cannot happen on Linux; do not keep it
			return
		}
		r.rw = keep
	}
	p.mu.Lock()
	if len(p.free) < poolRegions {
		p.free = append(p.free, r)
		r.mem = nil
	}
	p.mu.Unlock()
	if r.mem != nil {
		unix.Munmap(r.mem)
	}
}

// clearTouched zeroes b, a page-aligned part of a region: the pages the
// guest touched (resident) with a plain clear, which keeps them committed
// for the next process, the others with madvise(MADV_DONTNEED), which does
// not fault them in. A guest that grows its memory without touching all of
// it (a Go program's heap) left pages that a clear alone would fault in and
// zero only to keep them zero: 300 faults at the end of a Go hello.
// Non-resident pages may also be swapped out, not untouched: DONTNEED
// discards those too.
//
// With /proc/self/pagemap, which tells a page never touched (or given back)
// from one swapped out, the pages that are neither are left alone: they
// read as zero already, and the madvise calls for them (a system call for
// each run of them: 2-3 of a small C program's 5 µs of freeing) are saved.
func (p *memPool) clearTouched(b []byte) {
	if len(b) == 0 {
		return
	}
	if p.pagemap != nil && p.clearPresent(b) {
		return
	}
	ps := os.Getpagesize()
	vec := make([]byte, (len(b)+ps-1)/ps)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		clear(b)
		return
	}
	for i := 0; i < len(vec); {
		j, resident := i, vec[i]&1
		for j < len(vec) && vec[j]&1 == resident {
			j++
		}
		part := b[i*ps : min(j*ps, len(b))]
		if resident == 1 || unix.Madvise(part, unix.MADV_DONTNEED) != nil {
			clear(part)
		}
		i = j
	}
}

// clearPresent zeroes the pages of b that pagemap says are present or
// swapped out; false if pagemap could not be read.
func (p *memPool) clearPresent(b []byte) bool {
	ps := uint64(os.Getpagesize())
	pages := (uint64(len(b)) + ps - 1) / ps
	vec := make([]byte, pages*pagemapEntry)
	off := int64(uintptr(unsafe.Pointer(&b[0])) / uintptr(ps) * pagemapEntry)
	if n, err := p.pagemap.ReadAt(vec, off); err != nil || n != len(vec) {
		return false
	}
	for i := uint64(0); i < pages; {
		j, touched := i, pageTouched(vec, i)
		for j < pages && pageTouched(vec, j) == touched {
			j++
		}
		if touched {
			clear(b[i*ps : min(j*ps, uint64(len(b)))])
		}
		i = j
	}
	return true
}

// pageTouched reports whether page i of a pagemap read holds data: present
// or swapped out.
func pageTouched(vec []byte, i uint64) bool {
	e := binary.LittleEndian.Uint64(vec[i*pagemapEntry:])
	return e&(pmPresent|pmSwapped) != 0
}

// drain unmaps every pooled region (the runtime is closing).
func (p *memPool) drain() {
	p.mu.Lock()
	free := p.free
	p.free = nil
	p.mu.Unlock()
	for _, r := range free {
		unix.Munmap(r.mem)
	}
	if p.pagemap != nil {
		p.pagemap.Close()
	}
}

// linearMemory is one process's linear memory, and the allocator that makes
// it (a module has at most one memory). It charges what the guest has grown
// to to the machine's budget.
//
// Ownership: touched on the process's coroutine (reserve, grows) and by
// whoever ends the process (Free, once the guest can no longer run).
type linearMemory struct {
	pool     *memPool
	budget   *MemoryBudget // nil: no machine budget
	img      *memImage     // the module's initial memory; nil: wazero copies its data segments
	region   region        // reserved address space; none before reserve
	reserved bool
	size     uint64 // bytes the guest has grown to
	max      uint64 // the memory's maximum as wazero gives it
	charged  uint64 // bytes taken from budget
}

// reserve prepares the memory before instantiation, where a refusal can
// still be reported (wazero cannot see its first allocation refused): it
// charges min bytes to the budget and reserves max bytes of address space.
// It reports false, holding nothing, if either fails, and whether it was
// the budget that did.
func (m *linearMemory) reserve(min, max uint64) (ok, budget bool) {
	if !m.budget.charge(min) {
		return false, true
	}
	m.charged = min
	if max == 0 {
		return true, false
	}
	if m.region, m.reserved = m.pool.get(max, m.img); !m.reserved {
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
	r := &m.region
	if size > m.max || size > uint64(len(r.mem)) {
		return nil
	}
	charged := m.charged
	if size > charged {
		if !m.budget.charge(size - charged) {
			return nil
		}
		m.charged = size
	}
	if size > r.rw {
		if unix.Mprotect(r.mem[r.rw:size], unix.PROT_READ|unix.PROT_WRITE) != nil {
			m.budget.release(m.charged - charged) // the host's commit limit refused
			m.charged = charged
			return nil
		}
		r.rw = size
	}
	m.size = max(m.size, size)
	return r.mem[:size:size]
}

// Free implements experimental.LinearMemory; it may be called more than once.
func (m *linearMemory) Free() {
	if m.reserved {
		m.pool.put(m.region, m.size)
		m.region, m.reserved, m.size = region{}, false, 0
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
