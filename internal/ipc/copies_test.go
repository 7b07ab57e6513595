package ipc

import (
	"encoding/binary"
	"testing"
)

// TestInlineCopiesSameCore: a small message to a peer on the same core is
// copied once into the packet that is queued for the receiver, and once out
// at the receive: it does not go through the transport's slot (SendInline)
// and the queued packet keeps its own copy, not the sender's bytes.
func TestInlineCopiesSameCore(t *testing.T) {
	m := newFake(1)
	p := m.port(0)
	a := m.sys.NewTable("a")
	st := set.Lookup("Stream")
	imp, exp, _ := a.NewChannel(p, st) // the exporter sends Items
	payload := enc(t, st, "Item", uint64(7))
	if err := a.Send(p, exp, msgID(st, "Item"), payload, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(m.inlineBodies); n != 0 {
		t.Fatalf("the message went through the transport %d times, want 0 (the packet is made here)", n)
	}
	e, _ := a.endpoint(imp)
	if len(e.queue)-e.qhead != 1 {
		t.Fatalf("%d packets queued, want 1", len(e.queue)-e.qhead)
	}
	if q := e.queue[e.qhead]; &q.payload[0] != &q.inline[0] {
		t.Fatal("the queued packet's payload is not in its own storage")
	}
	binary.LittleEndian.PutUint64(payload, 99) // the sender's memory, reused
	if _, body := recvOK(t, a, p, imp); binary.LittleEndian.Uint64(body) != 7 {
		t.Fatalf("received %x, want the item 7 as sent", body)
	}
}

// TestInlineCopiesCrossCore: a small message to a peer on another core is
// handed to the transport as the sender's own bytes (the only copy on the
// sending side is the transport's, into its slot), and arrives intact.
func TestInlineCopiesCrossCore(t *testing.T) {
	m := newFake(2)
	p0, p1 := m.port(0), m.port(1)
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	st := set.Lookup("Stream")
	imp, exp, _ := a.NewChannel(p0, st)
	bimp := moveTo(t, m, a, b, imp, 0, 1)
	payload := enc(t, st, "Item", uint64(7))
	if err := a.Send(p0, exp, msgID(st, "Item"), payload, nil); err != nil {
		t.Fatal(err)
	}
	if len(m.inlineBodies) != 1 {
		t.Fatalf("the message went through the transport %d times, want 1", len(m.inlineBodies))
	}
	if body := m.inlineBodies[0]; len(body) != len(payload) || &body[0] != &payload[0] {
		t.Fatal("the transport was given a copy of the payload, not the sender's bytes")
	}
	m.settle()
	if _, body := recvOK(t, b, p1, bimp); binary.LittleEndian.Uint64(body) != 7 {
		t.Fatalf("received %x, want the item 7", body)
	}
}
