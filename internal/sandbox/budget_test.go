package sandbox

import "testing"

// TestMemoryBudgetRefusesGrowPastIt: two memories under one budget; each
// grow charges the buffer's capacity, a grow that does not fit is refused
// (nil: memory.grow returns -1) without charging, a smaller one still fits,
// and Free gives everything back.
func TestMemoryBudgetRefusesGrowPastIt(t *testing.T) {
	const page = 64 << 10
	b := NewMemoryBudget(10 * page)
	pool := &memPool{}
	a := &pooledMemory{pool: pool, budget: b}
	c := &pooledMemory{pool: pool, budget: b}
	a.Allocate(0, 100*page)
	c.Allocate(0, 100*page)
	if !a.precharge(2*page) || a.Reallocate(2*page) == nil {
		t.Fatal("initial memory refused")
	}
	if got := b.Used(); got != 2*page {
		t.Fatalf("used %d after the first memory, want %d", got, 2*page)
	}
	// Growing to 6 pages would take 6 (2×2 < 6): 6 charged in all.
	if buf := a.Reallocate(6 * page); len(buf) != 6*page {
		t.Fatalf("grow to 6 pages: len %d", len(buf))
	}
	if got := b.Used(); got != uint64(cap(a.buf)) || got > 10*page {
		t.Fatalf("used %d, want cap %d", got, cap(a.buf))
	}
	used := b.Used()
	if c.Reallocate(5*page) != nil {
		t.Fatalf("a second memory of 5 pages fitted beside %d bytes in a 10-page budget", used)
	}
	if b.Used() != used {
		t.Fatalf("a refused grow charged the budget: %d, was %d", b.Used(), used)
	}
	if buf := c.Reallocate(10*page - used); buf == nil {
		t.Fatal("what is left of the budget was refused")
	}
	if b.Used() != 10*page {
		t.Fatalf("used %d, want the whole budget", b.Used())
	}
	// A grow that would need doubling ahead falls back to the exact size.
	a.Free()
	c.Free()
	c.Free()
	if b.Used() != 0 {
		t.Fatalf("used %d after Free", b.Used())
	}
}

// TestMemoryGrowsExactlyWhenTheBudgetIsTight: the capacity grown ahead of
// the guest is dropped when only the exact size fits.
func TestMemoryGrowsExactlyWhenTheBudgetIsTight(t *testing.T) {
	const page = 64 << 10
	b := NewMemoryBudget(7 * page)
	m := &pooledMemory{pool: &memPool{}, budget: b}
	m.Allocate(0, 100*page)
	if !m.precharge(4*page) || m.Reallocate(4*page) == nil {
		t.Fatal("initial memory refused")
	}
	if buf := m.Reallocate(5 * page); buf == nil || cap(buf) != 5*page {
		t.Fatalf("grow to 5 pages under a 7-page budget: %d bytes, cap %d; want the exact 5 pages", len(buf), cap(buf))
	}
	if m.Reallocate(8*page) != nil {
		t.Fatal("a grow past the budget succeeded")
	}
	if m.Reallocate(101*page) != nil {
		t.Fatal("a grow past the memory's maximum succeeded")
	}
	m.Free()
	if b.Used() != 0 {
		t.Fatalf("used %d after Free", b.Used())
	}
}

// TestPoolHandsOutTheSmallestBuffer: a small memory is not handed (and
// charged for) the largest buffer in the pool.
func TestPoolHandsOutTheSmallestBuffer(t *testing.T) {
	p := &memPool{}
	p.put(make([]byte, 0, 8<<20))
	p.put(make([]byte, 0, 1<<20))
	p.put(make([]byte, 0, 4<<20))
	if b := p.get(512 << 10); cap(b) != 1<<20 {
		t.Fatalf("got a buffer of %d bytes for 512 KiB, want the 1 MiB one", cap(b))
	}
	if b := p.get(5 << 20); cap(b) != 8<<20 {
		t.Fatalf("got a buffer of %d bytes for 5 MiB, want the 8 MiB one", cap(b))
	}
}

func TestMemoryMin(t *testing.T) {
	// magic, version, memory section: 1 memory, flags 1, min 3, max 9.
	wasm := []byte("\x00asm\x01\x00\x00\x00\x05\x04\x01\x01\x03\x09")
	if got := memoryMin(wasm); got != 3 {
		t.Fatalf("memoryMin = %d, want 3", got)
	}
	if got := memoryMin([]byte("\x00asm\x01\x00\x00\x00")); got != 0 {
		t.Fatalf("memoryMin of a module without memory = %d", got)
	}
}
