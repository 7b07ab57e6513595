package ipc

import (
	"encoding/binary"
	"testing"

	"isle/internal/contract"
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

// crossCore is a stream from table a on core 0 (its exporter's end, exp)
// to table b on core 1 (the importer's end, imp), on a fake machine of
// cores cores.
type crossCore struct {
	m        *fakeMachine
	a, b     *Table
	st       *contract.Contract
	exp, imp Handle
}

func newCrossCore(t *testing.T, cores int) *crossCore {
	m := newFake(cores)
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	st := set.Lookup("Stream")
	imp, exp, _ := a.NewChannel(m.port(0), st)
	return &crossCore{m: m, a: a, b: b, st: st, exp: exp, imp: moveTo(t, m, a, b, imp, 0, 1)}
}

// sendItem sends Item(n) and checks that the transport was handed the
// sender's own bytes: the only copy on the sending side is the transport's,
// into its slot.
func (c *crossCore) sendItem(t *testing.T, n uint64) {
	t.Helper()
	payload := enc(t, c.st, "Item", n)
	sent := len(c.m.inlineBodies)
	if err := c.a.Send(c.m.port(0), c.exp, msgID(c.st, "Item"), payload, nil); err != nil {
		t.Fatal(err)
	}
	if len(c.m.inlineBodies) != sent+1 {
		t.Fatalf("the message went through the transport %d times, want 1", len(c.m.inlineBodies)-sent)
	}
	if body := c.m.inlineBodies[sent]; len(body) != len(payload) || &body[0] != &payload[0] {
		t.Fatal("the transport was given a copy of the payload, not the sender's bytes")
	}
	binary.LittleEndian.PutUint64(payload, 99) // the sender's memory, reused
}

// queued returns how many messages wait on b's end, and how many are held
// early.
func (c *crossCore) queued() (int, int) {
	e, _ := c.b.endpoint(c.imp)
	return len(e.queue) - e.qhead, len(e.early)
}

// TestInlineCopiesCrossCore: a small message to a receiver on another core
// that waits in recv on that endpoint (a posted receive) is copied twice:
// into the transport's slot from the sender's bytes, and from the slot into
// the receiver's buffer at the delivery. No packet is made on the way (the
// receiving core's free list is untouched and nothing is queued), the
// buffer holds the message although the slot was overwritten as soon as the
// delivery returned (the fake transport poisons it), and the receive that
// was posted reports it as Recv would, once.
func TestInlineCopiesCrossCore(t *testing.T) {
	c := newCrossCore(t, 2)
	_, flow, _ := c.a.Describe(c.exp)
	buf := make([]byte, 64)
	if _, err := c.b.Recv(c.m.port(1), c.imp, buf, nil); err != ErrAgain {
		t.Fatalf("recv on an empty queue: %v, want ErrAgain", err)
	}
	c.b.PostRecv(c.imp, buf) // and the SIP blocks
	c.m.sys.freePacket(1, &Packet{})
	free := len(c.m.sys.cores[1].free)
	c.sendItem(t, 7)
	c.m.settle()
	if q, early := c.queued(); q != 0 || early != 0 {
		t.Fatalf("%d packets queued and %d early, want none: the message went into a packet", q, early)
	}
	if n := len(c.m.sys.cores[1].free); n != free {
		t.Fatalf("the receiving core's free packets went from %d to %d: a packet was made", free, n)
	}
	if c.m.woken[c.b] != 1 {
		t.Fatalf("the receiver was woken %d times, want 1", c.m.woken[c.b])
	}
	info, ok := c.b.TakePosted(c.imp)
	if !ok {
		t.Fatal("the posted receive got nothing")
	}
	want := RecvInfo{Msg: msgID(c.st, "Item"), Len: 8, Flow: flow, Contract: c.st}
	if info != want {
		t.Fatalf("the posted receive reports %+v, want %+v", info, want)
	}
	if n := binary.LittleEndian.Uint64(buf); n != 7 {
		t.Fatalf("the buffer holds the item %d, want 7", n)
	}
	if _, err := c.b.Recv(c.m.port(1), c.imp, buf, nil); err != ErrAgain {
		t.Fatalf("a receive after the posted one: %v, want ErrAgain (the message is received once)", err)
	}
}

// TestInlineCopiesCrossCoreQueued: to a receiver that does not wait in recv
// on the endpoint, a small message from another core is copied three times:
// into the slot, from the slot into a packet on the receiving core (its own
// storage: the slot is overwritten after the delivery), out at the receive.
func TestInlineCopiesCrossCoreQueued(t *testing.T) {
	c := newCrossCore(t, 2)
	c.sendItem(t, 7)
	c.m.settle()
	e, _ := c.b.endpoint(c.imp)
	if q, _ := c.queued(); q != 1 {
		t.Fatalf("%d packets queued, want 1", q)
	}
	if q := e.queue[e.qhead]; &q.payload[0] != &q.inline[0] {
		t.Fatal("the queued packet's payload is not in its own storage")
	}
	if _, body := recvOK(t, c.b, c.m.port(1), c.imp); binary.LittleEndian.Uint64(body) != 7 {
		t.Fatalf("received %x, want the item 7", body)
	}
}

// TestInlineCopiesSameCorePosted: a small message to a peer on the same core
// whose SIP waits in recv on it (a posted receive) is copied once, from the
// sender's bytes into the receiver's buffer, at the send: no packet is made
// (the core's free list is untouched), nothing is queued, the receiver is
// woken once, and the posted receive reports the message as Recv would,
// once.
func TestInlineCopiesSameCorePosted(t *testing.T) {
	m := newFake(1)
	p := m.port(0)
	a := m.sys.NewTable("a")
	st := set.Lookup("Stream")
	imp, exp, _ := a.NewChannel(p, st) // the exporter sends Items
	_, flow, _ := a.Describe(exp)
	buf := make([]byte, 64)
	if _, err := a.Recv(p, imp, buf, nil); err != ErrAgain {
		t.Fatalf("recv on an empty queue: %v, want ErrAgain", err)
	}
	a.PostRecv(imp, buf) // and the SIP blocks
	m.sys.freePacket(0, &Packet{})
	free := len(m.sys.cores[0].free)
	payload := enc(t, st, "Item", uint64(7))
	if err := a.Send(p, exp, msgID(st, "Item"), payload, nil); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(payload, 99) // the sender's memory, reused
	if n := len(m.inlineBodies); n != 0 {
		t.Fatalf("the message went through the transport %d times, want 0", n)
	}
	e, _ := a.endpoint(imp)
	if q := len(e.queue) - e.qhead; q != 0 {
		t.Fatalf("%d packets queued, want none", q)
	}
	if n := len(m.sys.cores[0].free); n != free {
		t.Fatalf("the core's free packets went from %d to %d: a packet was made", free, n)
	}
	if m.woken[a] != 1 {
		t.Fatalf("the receiver was woken %d times, want 1", m.woken[a])
	}
	info, ok := a.TakePosted(imp)
	if !ok {
		t.Fatal("the posted receive got nothing")
	}
	if want := (RecvInfo{Msg: msgID(st, "Item"), Len: 8, Flow: flow, Contract: st}); info != want {
		t.Fatalf("the posted receive reports %+v, want %+v", info, want)
	}
	if n := binary.LittleEndian.Uint64(buf); n != 7 {
		t.Fatalf("the buffer holds the item %d, want 7", n)
	}
	if _, err := a.Recv(p, imp, buf, nil); err != ErrAgain {
		t.Fatalf("a receive after the posted one: %v, want ErrAgain (the message is received once)", err)
	}
	// The next message, with no receive posted, is queued as before.
	if err := a.Send(p, exp, msgID(st, "Item"), enc(t, st, "Item", uint64(8)), nil); err != nil {
		t.Fatal(err)
	}
	if _, body := recvOK(t, a, p, imp); binary.LittleEndian.Uint64(body) != 8 {
		t.Fatalf("received %x, want the item 8", body)
	}
}

// TestSendTracedDescribes: SendTraced sends as Send does and returns what
// Describe said before it, the endpoint's contract and the flow id, which
// the receive reports too; a handle that is no endpoint gives no contract.
func TestSendTracedDescribes(t *testing.T) {
	m := newFake(1)
	p := m.port(0)
	a := m.sys.NewTable("a")
	st := set.Lookup("Stream")
	imp, exp, _ := a.NewChannel(p, st)
	for i := range 2 {
		wantCon, wantFlow, _ := a.Describe(exp)
		con, flow, err := a.SendTraced(p, exp, msgID(st, "Item"), enc(t, st, "Item", uint64(i)), nil)
		if err != nil || con != wantCon || flow != wantFlow || flow == 0 {
			t.Fatalf("send %d: %v, %d, %v; Describe said %v, %d", i, con, flow, err, wantCon, wantFlow)
		}
		info, _ := a.Recv(p, imp, make([]byte, 64), nil)
		if info.Flow != flow {
			t.Fatalf("send %d: received flow %d, sent %d", i, info.Flow, flow)
		}
	}
	if con, _, err := a.SendTraced(p, Handle(0), msgID(st, "Item"), nil, nil); con != nil || err == nil {
		t.Fatalf("a send on no endpoint: %v, %v", con, err)
	}
}
