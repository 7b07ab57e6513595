package urpc

import (
	"encoding/binary"
	"sync"
	"testing"
	"unsafe"
)

func TestSlotIsOneAlignedCacheLine(t *testing.T) {
	if got := unsafe.Sizeof(slot{}); got != LineSize {
		t.Fatalf("slot is %d bytes, want %d", got, LineSize)
	}
	for _, n := range []int{2, 4, 64, 1024} {
		r := NewRing(n, NewDoorbell())
		for i := 0; i < r.Size(); i++ {
			if a := uintptr(unsafe.Pointer(r.slot(uint64(i)))); a%LineSize != 0 {
				t.Fatalf("ring of %d: slot %d at %#x is not 64-byte aligned", n, i, a)
			}
		}
	}
}

func TestRingFIFOWrapAndFull(t *testing.T) {
	r := NewRing(4, NewDoorbell())
	var m Msg
	next := 0
	sent := 0
	for round := 0; round < 10; round++ {
		for r.TrySend(uint8(sent), []byte{byte(sent), byte(sent >> 8)}, sent) {
			sent++
		}
		if sent-next != 4 {
			t.Fatalf("round %d: ring took %d messages before full, want 4", round, sent-next)
		}
		for r.Recv(&m) {
			if m.Type != uint8(next) || m.Len != 2 || m.Data[0] != byte(next) || m.Ref.(int) != next {
				t.Fatalf("got type %d len %d data %d ref %v, want %d", m.Type, m.Len, m.Data[0], m.Ref, next)
			}
			next++
		}
		r.Release()
	}
	if !r.Empty() {
		t.Fatal("ring not empty after draining")
	}
}

func TestRingRejectsBadSize(t *testing.T) {
	for _, n := range []int{0, 1, 3, 100} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewRing(%d) did not panic", n)
				}
			}()
			NewRing(n, NewDoorbell())
		}()
	}
}

// TestRingConcurrent moves messages between two goroutines, the consumer
// sleeping on its doorbell whenever the ring is empty, and checks that none is
// lost, duplicated, corrupted or reordered.
func TestRingConcurrent(t *testing.T) {
	t.Run("membarrier", func(t *testing.T) { ringConcurrent(t, NewDoorbell()) })
	t.Run("fence", func(t *testing.T) { ringConcurrent(t, newDoorbell(false)) })
}

func ringConcurrent(t *testing.T, bell *Doorbell) {
	n := uint64(200_000)
	if testing.Short() {
		n = 20_000
	}
	r := NewRing(64, bell)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var buf [PayloadSize]byte
		for i := uint64(0); i < n; i++ {
			binary.LittleEndian.PutUint64(buf[:], i)
			binary.LittleEndian.PutUint64(buf[48:], ^i)
			for !r.TrySend(uint8(i), buf[:], nil) {
				r.Notify()
			}
			if i%7 == 0 {
				r.Notify()
			}
		}
		r.Notify()
	}()
	var m Msg
	for want := uint64(0); want < n; {
		if !r.Recv(&m) {
			r.Release()
			bell.Arm()
			if !r.Empty() {
				bell.Disarm()
				continue
			}
			bell.Wait(nil)
			continue
		}
		got := binary.LittleEndian.Uint64(m.Data[:])
		if got != want || binary.LittleEndian.Uint64(m.Data[48:]) != ^want || m.Type != uint8(want) || m.Len != PayloadSize {
			t.Fatalf("message %d: got seq %d type %d len %d", want, got, m.Type, m.Len)
		}
		want++
	}
	wg.Wait()
	t.Logf("%d messages, %d wake-ups", n, bell.Wakes())
}

func TestRingSendRecvDoNotAllocate(t *testing.T) {
	r := NewRing(8, NewDoorbell())
	var m Msg
	p := []byte("hello")
	allocs := testing.AllocsPerRun(1000, func() {
		r.Send(1, p, nil)
		r.Recv(&m)
		r.Release()
	})
	if allocs != 0 {
		t.Fatalf("send+recv allocated %v times", allocs)
	}
	var v View
	allocs = testing.AllocsPerRun(1000, func() {
		r.SendPair(1, p[:2], p[2:], nil)
		r.RecvView(&v)
		r.Release()
	})
	if allocs != 0 {
		t.Fatalf("SendPair+RecvView allocated %v times", allocs)
	}
}

// TestRingRepeatedReference: a reference sent again right after itself
// travels in the header only (sameFlag); every message still arrives with
// its own reference, through nil ones, other ones, values that cannot be
// compared, full payloads and laps of the ring.
func TestRingRepeatedReference(t *testing.T) {
	r := NewRing(4, NewDoorbell())
	a, b := new(int), new(int)
	s1 := []int{1} // boxed anew at each conversion: never the same word
	refs := []any{a, a, a, nil, a, b, b, a, nil, nil, b, s1, s1, a, a, a, a, a, a, nil, b}
	var m Msg
	full := make([]byte, PayloadSize)
	same := 0
	for i, ref := range refs {
		p := []byte{byte(i)}
		if i%3 == 0 {
			full[0] = byte(i)
			p = full
		}
		if !r.TrySend(1, p, ref) {
			t.Fatalf("message %d: ring full", i)
		}
		if r.slot(r.head-1).hdr.Load()&sameFlag != 0 {
			same++
		}
		if !r.Recv(&m) {
			t.Fatalf("message %d not received", i)
		}
		r.Release()
		if m.Data[0] != byte(i) {
			t.Fatalf("message %d: got payload %d", i, m.Data[0])
		}
		switch want := ref.(type) {
		case []int:
			if got, ok := m.Ref.([]int); !ok || &got[0] != &want[0] {
				t.Fatalf("message %d: got ref %v, want the slice %p", i, m.Ref, want)
			}
		default:
			if m.Ref != ref {
				t.Fatalf("message %d: got ref %v, want %v", i, m.Ref, ref)
			}
		}
	}
	// a a a . a b b a . . b s s a a a a a a . b: the repeats after a first
	// sending are 2 (a a) + 1 (a after nil) + 1 (b) + 5 (a×5) = 9.
	if same != 9 {
		t.Errorf("%d messages sent their reference as a repeat, want 9", same)
	}
}

// TestRecvViewInPlace: RecvView reads a message where it lies, in its
// slot, written there by TrySendPair from its two parts; the slot stays the
// consumer's until Release, and RecvView's own release at half the ring
// frees only the slots before the one it returns.
func TestRecvViewInPlace(t *testing.T) {
	r := NewRing(4, NewDoorbell())
	if !r.TrySendPair(7, []byte("head:"), []byte("body"), nil) {
		t.Fatal("send to an empty ring failed")
	}
	var v View
	if !r.RecvView(&v) {
		t.Fatal("nothing received")
	}
	if v.Data != &r.slot(0).data {
		t.Fatal("the view is not the slot")
	}
	if v.Type != 7 || string(v.Payload()) != "head:body" {
		t.Fatalf("received type %d %q", v.Type, v.Payload())
	}
	for i := range 3 {
		if !r.TrySend(1, []byte{byte(i)}, nil) {
			t.Fatalf("send %d failed", i)
		}
	}
	if r.TrySend(1, nil, nil) {
		t.Fatal("a slot still viewed was written again before Release")
	}
	r.RecvView(&v)
	r.RecvView(&v) // position 2: half the ring read, positions 0 and 1 published
	if got := r.read.Load(); got != 2 {
		t.Fatalf("published read position %d, want 2 (not the slot just viewed)", got)
	}
	if v.Data[0] != 1 || v.Len != 1 {
		t.Fatalf("third message: %d bytes, %x", v.Len, v.Data[0])
	}
	r.Release()
	if got := r.read.Load(); got != 3 {
		t.Fatalf("read position %d after Release, want 3", got)
	}
}

// TestTrySendFastPath: full-line messages without a reference take
// TrySend's fast path, bounded by fastEnd; it must stop at a full ring,
// leave it while a reference is held in refs (so that stale entries are
// cleared), and take it again once they are.
func TestTrySendFastPath(t *testing.T) {
	r := NewRing(8, NewDoorbell())
	var line [PayloadSize]byte
	var m Msg
	sent, recvd := 0, 0
	send := func(ref any) bool {
		line[0] = byte(sent)
		if !r.TrySend(uint8(sent), line[:], ref) {
			return false
		}
		sent++
		return true
	}
	recv := func(ref any) {
		t.Helper()
		if !r.Recv(&m) || m.Type != uint8(recvd) || m.Data[0] != byte(recvd) || m.Len != PayloadSize || m.Ref != ref {
			t.Fatalf("message %d: got type %d, %d bytes, data %d, ref %v", recvd, m.Type, m.Len, m.Data[0], m.Ref)
		}
		recvd++
	}
	for sent < 8 {
		if !send(nil) {
			t.Fatalf("send %d to a ring with room failed", sent)
		}
	}
	if send(nil) {
		t.Fatal("a full ring took a ninth line")
	}
	recv(nil)
	recv(nil)
	if send(nil) {
		t.Fatal("a slot read but not released was written again")
	}
	r.Release()
	ref := new(int)
	if !send(ref) || !send(nil) {
		t.Fatal("sends after Release failed")
	}
	if r.refsHeld != 1 || r.fastEnd != 0 {
		t.Fatalf("holding a reference: refsHeld %d, fastEnd %d; want 1, 0 (no fast path)", r.refsHeld, r.fastEnd)
	}
	for recvd < sent {
		want := any(nil)
		if recvd == 8 {
			want = ref
		}
		recv(want)
	}
	r.Release()
	for sent < 17 { // a lap: position 16 reuses the slot of the reference
		if !send(nil) {
			t.Fatalf("send %d failed", sent)
		}
	}
	if r.refsHeld != 0 || r.refs[0] != nil || r.fastEnd != r.cachedRead+r.size {
		t.Fatalf("after a lap: refsHeld %d, refs[0] %v, fastEnd %d (cachedRead %d); want the fast path back", r.refsHeld, r.refs[0], r.fastEnd, r.cachedRead)
	}
	for recvd < sent {
		recv(nil)
	}
}
