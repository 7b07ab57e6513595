package sandbox

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

const page = pageBytes

func newMem(b *MemoryBudget, pool *memPool, min, max uint64) (*linearMemory, bool) {
	m := &linearMemory{pool: pool, budget: b}
	ok, _ := m.reserve(min, max)
	m.Allocate(min, max)
	return m, ok
}

// TestMemoryBudgetRefusesGrowPastIt: two memories under one budget; each
// grow charges what the guest has grown to, a grow that does not fit is
// refused (nil: memory.grow returns -1) without charging, a smaller one
// still fits, and Free gives everything back.
func TestMemoryBudgetRefusesGrowPastIt(t *testing.T) {
	b := NewMemoryBudget(10 * page)
	pool := &memPool{}
	defer pool.drain()
	a, ok := newMem(b, pool, 2*page, 100*page)
	if !ok || a.Reallocate(2*page) == nil {
		t.Fatal("initial memory refused")
	}
	c, ok := newMem(b, pool, 0, 100*page)
	if !ok {
		t.Fatal("an empty memory refused")
	}
	if got := b.Used(); got != 2*page {
		t.Fatalf("used %d after the first memory, want %d", got, 2*page)
	}
	buf := a.Reallocate(6 * page)
	if len(buf) != 6*page {
		t.Fatalf("grow to 6 pages: len %d", len(buf))
	}
	buf[len(buf)-1] = 1 // the memory is really there
	if got := b.Used(); got != 6*page {
		t.Fatalf("used %d, want %d", got, 6*page)
	}
	if c.Reallocate(5*page) != nil {
		t.Fatal("a second memory of 5 pages fitted beside 6 in a 10-page budget")
	}
	if b.Used() != 6*page {
		t.Fatalf("a refused grow charged the budget: %d", b.Used())
	}
	if c.Reallocate(4*page) == nil {
		t.Fatal("what is left of the budget was refused")
	}
	if _, ok := newMem(b, pool, page, 100*page); ok {
		t.Fatal("a memory whose minimum does not fit was made")
	}
	if b.Used() != 10*page {
		t.Fatalf("used %d, want the whole budget", b.Used())
	}
	a.Free()
	c.Free()
	c.Free()
	if b.Used() != 0 {
		t.Fatalf("used %d after Free", b.Used())
	}
}

// TestMemoryLimitIsTheReservation: a grow past the memory's maximum fails.
func TestMemoryLimitIsTheReservation(t *testing.T) {
	pool := &memPool{}
	defer pool.drain()
	m, ok := newMem(nil, pool, page, 4*page)
	if !ok || m.Reallocate(4*page) == nil {
		t.Fatal("grow to the maximum refused")
	}
	if m.Reallocate(5*page) != nil {
		t.Fatal("a grow past the maximum succeeded")
	}
	m.Free()
}

// TestFreedMemoryIsZeroForTheNext: a region handed on from an ended process
// reads as zero, past the warm prefix too, and the smallest fitting region
// is chosen.
func TestFreedMemoryIsZeroForTheNext(t *testing.T) { eachPool(t, testFreedMemoryIsZeroForTheNext) }

func testFreedMemoryIsZeroForTheNext(t *testing.T, pool *memPool) {
	const used = warmBytes + 40*page // past the part zeroed by clear
	big, _ := newMem(nil, pool, 0, used+64*page)
	small, _ := newMem(nil, pool, 0, used)
	for _, m := range []*linearMemory{big, small} {
		buf := m.Reallocate(used)
		for i := range buf {
			buf[i] = 0xa5
		}
	}
	bigBase, smallBase := &big.region.mem[0], &small.region.mem[0]
	big.Free()
	small.Free()
	next, _ := newMem(nil, pool, 0, used)
	if &next.region.mem[0] != smallBase || &next.region.mem[0] == bigBase {
		t.Fatal("the pool did not hand out the smallest region that fits")
	}
	buf := next.Reallocate(used)
	if len(buf) != used {
		t.Fatalf("the reused memory grew to %d bytes, want %d", len(buf), used)
	}
	for i, v := range buf {
		if v != 0 {
			t.Fatalf("byte %d of a reused memory is %#x, want 0", i, v)
		}
	}
	next.Free()
}

func TestMemoryLimits(t *testing.T) {
	// magic, version, memory section: 1 memory, flags 1, min 3, max 9.
	wasm := []byte("\x00asm\x01\x00\x00\x00\x05\x04\x01\x01\x03\x09")
	if has, min, max, hasMax := memoryLimits(wasm); !has || min != 3 || max != 9 || !hasMax {
		t.Fatalf("memoryLimits = %v %d %d %v, want true 3 9 true", has, min, max, hasMax)
	}
	if has, _, _, _ := memoryLimits([]byte("\x00asm\x01\x00\x00\x00")); has {
		t.Fatal("memoryLimits of a module without memory reports one")
	}
}

// TestFreeFaultsNoUntouchedPage: freeing a memory whose guest grew it but
// touched only some pages zeroes those and leaves the others unfaulted (a
// plain clear had faulted in every page of the warm prefix), and the next
// process still reads zero everywhere.
func TestFreeFaultsNoUntouchedPage(t *testing.T) { eachPool(t, testFreeFaultsNoUntouchedPage) }

func testFreeFaultsNoUntouchedPage(t *testing.T, pool *memPool) {
	const used = 64 * page
	m, _ := newMem(nil, pool, 0, used)
	buf := m.Reallocate(used)
	ps := os.Getpagesize()
	for i := 0; i < used; i += 8 * ps {
		buf[i] = 0xa5 // every eighth host page
	}
	base := m.region.mem
	m.Free()
	vec := make([]byte, used/ps)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&base[0])), uintptr(used), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	resident := 0
	for _, v := range vec {
		resident += int(v & 1)
	}
	if want := len(vec) / 8; resident > want {
		t.Fatalf("%d pages resident after Free, want at most the %d the guest touched", resident, want)
	}
	next, _ := newMem(nil, pool, 0, used)
	if &next.region.mem[0] != &base[0] {
		t.Fatal("the pool did not hand the region on")
	}
	for i, v := range next.Reallocate(used) {
		if v != 0 {
			t.Fatalf("byte %d of a reused memory is %#x, want 0", i, v)
		}
	}
	next.Free()
}

// eachPool runs a test of the memory pool with a pool that reads
// /proc/self/pagemap and with one that does not (mincore instead).
func eachPool(t *testing.T, test func(*testing.T, *memPool)) {
	t.Run("mincore", func(t *testing.T) {
		pool := &memPool{}
		defer pool.drain()
		test(t, pool)
	})
	t.Run("pagemap", func(t *testing.T) {
		f, err := os.Open("/proc/self/pagemap")
		if err != nil {
			t.Skip("no /proc/self/pagemap")
		}
		pool := &memPool{pagemap: f}
		defer pool.drain()
		test(t, pool)
	})
}
