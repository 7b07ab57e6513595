package ipc

import (
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
