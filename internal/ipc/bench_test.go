package ipc

import (
	"fmt"
	"testing"
	"unsafe"
)

// sendRecvSameCore is one ping-pong round on one core: the importer sends
// Ping, the exporter takes it and answers Pong, the importer takes that.
func sendRecvSameCore(tb testing.TB) func() {
	m := newFake(1)
	p := m.port(0)
	tab := m.sys.NewTable(nil)
	pp := set.Lookup("PingPong")
	imp, exp, _ := tab.NewChannel(p, pp)
	ping, pong := msgID(pp, "Ping"), msgID(pp, "Pong")
	pingB, _ := pp.Message(ping).Encode(nil, uint64(1), []byte("0123456789"))
	pongB, _ := pp.Message(pong).Encode(nil, uint64(1), []byte("0123456789"))
	buf := make([]byte, 64)
	var blocks [8]Handle
	return func() {
		if err := tab.Send(p, imp, ping, pingB, nil); err != nil {
			tb.Fatal(err)
		}
		if _, err := tab.Recv(p, exp, buf, blocks[:]); err != nil {
			tb.Fatal(err)
		}
		if err := tab.Send(p, exp, pong, pongB, nil); err != nil {
			tb.Fatal(err)
		}
		if _, err := tab.Recv(p, imp, buf, blocks[:]); err != nil {
			tb.Fatal(err)
		}
	}
}

// The kernel's hot path allocates nothing (docs/design.md): a steady ping-pong
// reuses its packets and queues.
func TestSendRecvAllocatesNothing(t *testing.T) {
	round := sendRecvSameCore(t)
	round()
	if n := testing.AllocsPerRun(1000, round); n != 0 {
		t.Errorf("%v allocations per round trip", n)
	}
}

func BenchmarkPingPongSameCore(b *testing.B) {
	round := sendRecvSameCore(b)
	b.ReportAllocs()
	for b.Loop() {
		round()
	}
}

// TestLineSized checks that the structures that cores write on every
// message fill whole cache lines (their size classes are then made of whole
// lines): see lineFill.
func TestLineSized(t *testing.T) {
	for name, size := range map[string]uintptr{
		"Endpoint": unsafe.Sizeof(Endpoint{}),
		"Table":    unsafe.Sizeof(Table{}),
		"Route":    unsafe.Sizeof(Route{}),
		"System":   unsafe.Sizeof(System{}),
		"Packet":   unsafe.Sizeof(Packet{}),
	} {
		if size%64 != 0 {
			t.Errorf("%s is %d bytes, not a multiple of 64", name, size)
		}
	}
}

// loopPort is a transport of two cores on one goroutine for benchmarks: an
// inline message is joined into one slot and delivered at once on the
// other core's port, as the kernel's receiving core would, allocating
// nothing. Packets (route updates) are delivered at once too.
type loopPort struct {
	core  int
	other *loopPort
	slot  [InlineData]byte
}

func (p *loopPort) Core() int { return p.core }

func (p *loopPort) Send(to int, pkt *Packet) { Deliver(p.at(to), pkt) }

func (p *loopPort) SendInline(to int, r *Route, head, body []byte) {
	n := copy(p.slot[copy(p.slot[:], head):], body) + len(head)
	DeliverInline(p.at(to), r, p.slot[:n])
}

func (p *loopPort) Wake(*Table) {}

func (p *loopPort) Here(*Table) bool { return false }

func (p *loopPort) at(core int) *loopPort {
	if core == p.core {
		return p
	}
	return p.other
}

// inlineCrossCore is one Item sent from core 0 to a receiver on core 1
// and received there: posted, into the buffer of a receive that waits for
// it; or queued, and taken by a receive after the delivery.
func inlineCrossCore(tb testing.TB, posted bool) func() {
	p0 := &loopPort{core: 0}
	p1 := &loopPort{core: 1, other: p0}
	p0.other = p1
	sys := NewSystem(2, DefaultLimits())
	a, b := sys.NewTable("a"), sys.NewTable("b")
	st := set.Lookup("Stream")
	imp, exp, _ := a.NewChannel(p0, st)
	e, _ := a.endpoint(imp)
	a.remove(imp)
	e.peer.peerAt = hop{table: b, core: 1}
	imp = b.put(e, nil)
	item := msgID(st, "Item")
	payload, _ := st.Message(item).Encode(nil, uint64(7))
	buf := make([]byte, 64)
	return func() {
		if posted {
			b.PostRecv(imp, buf)
		}
		if err := a.Send(p0, exp, item, payload, nil); err != nil {
			tb.Fatal(err)
		}
		if posted {
			if _, ok := b.TakePosted(imp); !ok {
				tb.Fatal("the posted receive got nothing")
			}
			return
		}
		if _, err := b.Recv(p1, imp, buf, nil); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestInlineCrossCoreAllocatesNothing(t *testing.T) {
	for _, posted := range []bool{false, true} {
		round := inlineCrossCore(t, posted)
		round()
		if n := testing.AllocsPerRun(1000, round); n != 0 {
			t.Errorf("posted %v: %v allocations per message", posted, n)
		}
	}
}

// BenchmarkInlineCrossCore times a small message's send, delivery and
// receive on the other core, queued (three copies, a packet) and posted
// (two copies, no packet), on one goroutine: the work, not the cache lines
// that cross between cores.
func BenchmarkInlineCrossCore(b *testing.B) {
	for _, c := range []struct {
		name   string
		posted bool
	}{{"queued", false}, {"posted", true}} {
		b.Run(c.name, func(b *testing.B) {
			round := inlineCrossCore(b, c.posted)
			b.ReportAllocs()
			for b.Loop() {
				round()
			}
		})
	}
}

// recvAnyCrossCore is one message of size bytes of payload (a Bulk: 12
// bytes and its padding) sent from core 0 to a receiver on core 1 that
// waits for it in a wait set's receive over two endpoints: the receive
// finds nothing, waits (watching the set, or posting it), and takes the
// message; posted, at its delivery when it is inline (two copies), queued
// otherwise (three for an inline message, two for a packet).
func recvAnyCrossCore(tb testing.TB, posted bool, size int) func() {
	p0 := &loopPort{core: 0}
	p1 := &loopPort{core: 1, other: p0}
	p0.other = p1
	sys := NewSystem(2, DefaultLimits())
	a, b := sys.NewTable("a"), sys.NewTable("b")
	st := set.Lookup("Stream")
	var hs [2]Handle
	var exp Handle
	for i := range hs {
		imp, e2, _ := a.NewChannel(p0, st)
		e, _ := a.endpoint(imp)
		a.remove(imp)
		e.peer.peerAt = hop{table: b, core: 1}
		hs[i], exp = b.put(e, nil), e2
	}
	bulk := msgID(st, "Bulk")
	payload, _ := st.Message(bulk).Encode(nil, uint64(7), make([]byte, size-12))
	buf := make([]byte, 2048)
	return func() {
		if _, _, err := b.RecvAny(p1, hs[:], 0, buf, nil); err != ErrAgain {
			tb.Fatalf("recv_any on empty queues: %v", err)
		}
		if posted {
			b.PostRecvAny(hs[:], buf)
		} else {
			b.Watch(hs[:]...)
		}
		if err := a.Send(p0, exp, bulk, payload, nil); err != nil {
			tb.Fatal(err)
		}
		if posted {
			if _, _, ok := b.TakePostedAny(hs[:], 0); ok {
				return
			} else if size <= MaxInlinePayload {
				tb.Fatal("the posted wait set got nothing")
			}
		} else {
			b.Unwatch(hs[:]...)
		}
		if i, _, err := b.RecvAny(p1, hs[:], 0, buf, nil); err != nil || i != 1 {
			tb.Fatalf("recv_any: %d %v", i, err)
		}
	}
}

// anySizes are recvAnyCrossCore's payload sizes: two inline, three packets.
func anySizes() []int { return []int{16, MaxInlinePayload, 64, 256, 1024} }

// TestRecvAnyCrossCoreAllocatesNothing: an inline message to a wait set,
// queued or posted, allocates nothing.
func TestRecvAnyCrossCoreAllocatesNothing(t *testing.T) {
	for _, posted := range []bool{false, true} {
		for _, size := range anySizes()[:2] {
			round := recvAnyCrossCore(t, posted, size)
			round()
			if n := testing.AllocsPerRun(1000, round); n != 0 {
				t.Errorf("posted %v, %d bytes: %v allocations per message", posted, size, n)
			}
		}
	}
}

// BenchmarkRecvAnyCrossCore times recvAnyCrossCore by payload size, queued
// (as recv_any was: Watch, the delivery, Unwatch, RecvAny) beside posted,
// on one goroutine: the work, not the cache lines that cross between cores.
func BenchmarkRecvAnyCrossCore(b *testing.B) {
	for _, size := range anySizes() {
		for _, c := range []struct {
			name   string
			posted bool
		}{{"queued", false}, {"posted", true}} {
			b.Run(fmt.Sprintf("%s/payload_%d", c.name, size), func(b *testing.B) {
				round := recvAnyCrossCore(b, c.posted, size)
				b.ReportAllocs()
				for b.Loop() {
					round()
				}
			})
		}
	}
}
