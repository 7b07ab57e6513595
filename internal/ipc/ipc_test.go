// Tests of one table's handles, contracts, quotas, wait sets, listeners
// and exit, on the fake machine of fake_test.go.

package ipc

import (
	"encoding/binary"
	"fmt"
	"testing"

	"isle/internal/contract"
)

func TestHandlesForgedStaleAndSent(t *testing.T) {
	m := newFake(1)
	p := m.port(0)
	tab := m.sys.NewTable(nil)
	pp := set.Lookup("PingPong")
	imp, exp, err := tab.NewChannel(p, pp)
	if err != nil {
		t.Fatal(err)
	}
	ping := msgID(pp, "Ping")
	payload := enc(t, pp, "Ping", uint64(1), []byte("x"))
	for _, h := range []Handle{0, 99, imp + 1<<HandleIndexBits, Handle(handleIndexMask)} {
		wantErr(t, tab.Send(p, h, ping, payload, nil), ErrBadHandle)
	}
	b, _ := tab.Alloc(16)
	wantErr(t, tab.Send(p, b, ping, payload, nil), ErrWrongType)
	if err := tab.Close(p, exp); err != nil {
		t.Fatal(err)
	}
	wantErr(t, tab.Close(p, exp), ErrBadHandle) // stale
	// The slot is reused with a new generation: the old handle stays dead.
	b2, _ := tab.Alloc(1)
	if uint32(b2)&handleIndexMask != uint32(exp)&handleIndexMask || b2 == exp {
		t.Fatalf("slot reuse: old %#x new %#x", exp, b2)
	}
	if _, err := tab.Block(exp); err == nil {
		t.Fatal("stale handle names the slot's new block")
	}
	if tab.Handles() != 3 {
		t.Fatalf("%d handles, want 3", tab.Handles())
	}
}

func TestContractEnforcedReceiverSeesNothing(t *testing.T) {
	m := newFake(1)
	p := m.port(0)
	tab := m.sys.NewTable(nil)
	pp := set.Lookup("PingPong")
	imp, exp, _ := tab.NewChannel(p, pp)
	ping, pong := msgID(pp, "Ping"), msgID(pp, "Pong")
	wantErr(t, tab.Send(p, exp, pong, enc(t, pp, "Pong", uint64(1), []byte{}), nil), ErrNotAllowed) // exporter may not send in Idle
	wantErr(t, tab.Send(p, imp, pong, enc(t, pp, "Pong", uint64(1), []byte{}), nil), ErrNotAllowed) // Pong is the exporter's
	wantErr(t, tab.Send(p, imp, ping, []byte{1, 2, 3}, nil), ErrBadFields)                          // truncated
	wantErr(t, tab.Send(p, imp, ping, append(enc(t, pp, "Ping", uint64(1), []byte{}), 0), nil), ErrBadFields)
	wantErr(t, tab.Send(p, imp, 77, nil, nil), ErrNotAllowed) // no such message
	if _, err := tab.Recv(p, exp, make([]byte, 64), nil); err != ErrAgain {
		t.Fatalf("receiver saw a refused message: %v", err)
	}
	if err := tab.Send(p, imp, ping, enc(t, pp, "Ping", uint64(7), []byte("hi")), nil); err != nil {
		t.Fatal(err)
	}
	wantErr(t, tab.Send(p, imp, ping, enc(t, pp, "Ping", uint64(8), []byte{}), nil), ErrNotAllowed) // now Waiting
	info, body := recvOK(t, tab, p, exp)
	vals, _ := pp.Message(info.Msg).Decode(body)
	if info.Msg != ping || vals[0].(uint64) != 7 || string(vals[1].([]byte)) != "hi" {
		t.Fatalf("got %v %v", info, vals)
	}
	if err := tab.Send(p, exp, pong, enc(t, pp, "Pong", uint64(7), []byte("hi")), nil); err != nil {
		t.Fatal(err)
	}
	// A buffer too small leaves the message queued.
	info, err := tab.Recv(p, imp, make([]byte, 3), nil)
	if err != ErrTooBig || info.Len != 14 {
		t.Fatalf("small buffer: %v %v", info, err)
	}
	if info, _ := recvOK(t, tab, p, imp); info.Msg != pong {
		t.Fatalf("got %v", info)
	}
}

func TestEndpointsAndBlocksMove(t *testing.T) {
	m := newFake(2)
	p0, p1 := m.port(0), m.port(1)
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	car, st := set.Lookup("Carrier"), set.Lookup("Stream")
	// a makes a Carrier channel and hands its exporter's end to b.
	cimp, cexp, _ := a.NewChannel(p0, car)
	simp, sexp, _ := a.NewChannel(p0, st)
	give := msgID(car, "Give")
	// Wrong side, the sending endpoint itself, a block: refused.
	wantErr(t, a.Send(p0, cimp, give, enc(t, car, "Give", simp), nil), ErrWrongType)
	wantErr(t, a.Send(p0, cimp, give, enc(t, car, "Give", cexp), nil), ErrWrongType)
	blk, _ := a.Alloc(4096)
	wantErr(t, a.Send(p0, cimp, give, enc(t, car, "Give", blk), nil), ErrWrongType)
	copy(mustBlock(t, a, blk).Bytes(), "block")
	heap := a.HeapBytes()
	if err := a.Send(p0, cimp, give, enc(t, car, "Give", sexp), []Handle{blk}); err != nil {
		t.Fatal(err)
	}
	// Linear: the sent handles are dead in a.
	wantErr(t, a.Close(p0, sexp), ErrBadHandle)
	wantErr(t, a.Close(p0, blk), ErrBadHandle)
	wantErr(t, a.Send(p0, cimp, give, enc(t, car, "Give", sexp), nil), ErrBadHandle) // already sent
	if a.HeapBytes() != heap-4096 {
		t.Fatalf("heap %d after sending a block", a.HeapBytes())
	}
	// Move the Carrier's exporter's end to b on core 1 (by hand: a second
	// carrier would do the same).
	moveTo(t, m, a, b, cexp, 0, 1)
	bh := onlyEndpoint(t, b, car)
	m.settle()
	blocks := make([]Handle, 2)
	buf := make([]byte, 16)
	info, err := b.Recv(p1, bh, buf, blocks)
	if err != nil || info.Msg != give || info.Blocks != 1 {
		t.Fatalf("recv: %v %v", info, err)
	}
	nh := Handle(binary.LittleEndian.Uint32(buf))
	if got := string(mustBlock(t, b, blocks[0]).Bytes()[:5]); got != "block" {
		t.Fatalf("block holds %q", got)
	}
	// b now holds Stream's exporter's end and sends on it to a on core 0.
	item := msgID(st, "Item")
	if err := b.Send(p1, nh, item, enc(t, st, "Item", uint64(42)), nil); err != nil {
		t.Fatal(err)
	}
	m.settle()
	if info, body := recvOK(t, a, p0, simp); info.Msg != item || binary.LittleEndian.Uint64(body) != 42 {
		t.Fatalf("got %v %x", info, body)
	}
}

func TestClosedAfterQueuedMessages(t *testing.T) {
	m := newFake(2)
	p0, p1 := m.port(0), m.port(1)
	a := m.sys.NewTable("a")
	st := set.Lookup("Stream")
	simp, sexp, _ := a.NewChannel(p0, st)
	// Move the exporter's end to core 1 through a carrier.
	car := set.Lookup("Carrier")
	cimp, cexp, _ := a.NewChannel(p0, car)
	b := m.sys.NewTable("b")
	moveTo(t, m, a, b, cexp, 0, 1)
	if err := a.Send(p0, cimp, msgID(car, "Give"), enc(t, car, "Give", sexp), nil); err != nil {
		t.Fatal(err)
	}
	m.settle()
	bcexp := onlyEndpoint(t, b, car)
	_, buf := recvOK(t, b, p1, bcexp)
	sh := Handle(binary.LittleEndian.Uint32(buf))
	for i := range 3 {
		if err := b.Send(p1, sh, msgID(st, "Item"), enc(t, st, "Item", uint64(i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(p1, sh); err != nil {
		t.Fatal(err)
	}
	m.settle()
	for i := range 3 {
		if info, body := recvOK(t, a, p0, simp); info.Msg != 0 || binary.LittleEndian.Uint64(body) != uint64(i) {
			t.Fatalf("item %d: %v %x", i, info, body)
		}
	}
	for range 2 { // Closed is sticky
		if info, _ := recvOK(t, a, p0, simp); info.Msg != MsgClosed || info.Breach {
			t.Fatalf("got %v, want a clean Closed", info)
		}
	}
	// Sending on a channel whose peer is gone: ErrClosed. PingPong closed in
	// Waiting is a breach.
	pp := set.Lookup("PingPong")
	imp, exp, _ := a.NewChannel(p0, pp)
	a.Send(p0, imp, msgID(pp, "Ping"), enc(t, pp, "Ping", uint64(1), []byte{}), nil)
	a.Close(p0, imp)
	recvOK(t, a, p0, exp)
	if info, _ := recvOK(t, a, p0, exp); info.Msg != MsgClosed || !info.Breach {
		t.Fatalf("got %v, want Closed with a breach", info)
	}
	wantErr(t, a.Send(p0, exp, msgID(pp, "Pong"), enc(t, pp, "Pong", uint64(1), []byte{}), nil), ErrClosed)
}

func TestQuotas(t *testing.T) {
	m := newFake(1)
	m.sys.limits.Handles = 3
	m.sys.limits.HeapBytes = 1000
	p := m.port(0)
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	car, st := set.Lookup("Carrier"), set.Lookup("Stream")
	cimp, cexp, _ := a.NewChannel(p, car)
	moveTo(t, m, a, b, cexp, 0, 0)
	if _, err := a.Alloc(1001); err != ErrQuota {
		t.Fatalf("alloc past heap quota: %v", err)
	}
	blk, err := a.Alloc(600)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.NewChannel(p, st); err != ErrQuota { // 2+2 handles would be 4
		t.Fatalf("channel past handle quota: %v", err)
	}
	// b holds 600 bytes already: the block a sends would put it past 1000.
	b.Alloc(600)
	if err := a.Send(p, cimp, msgID(car, "Data"), enc(t, car, "Data", uint32(1)), []Handle{blk}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Recv(p, cexp2(t, b, car), make([]byte, 8), make([]Handle, 1)); err != ErrQuota {
		t.Fatalf("recv past quota: %v", err)
	}
	// Freeing room lets the same message through.
	for i, sl := range b.slots {
		if sl.blk != nil {
			b.Close(p, makeHandle(uint32(i), sl.gen))
		}
	}
	if _, err := b.Recv(p, cexp2(t, b, car), make([]byte, 8), make([]Handle, 1)); err != nil {
		t.Fatal(err)
	}
}

func TestWaitSetAndWake(t *testing.T) {
	m := newFake(2)
	p0, p1 := m.port(0), m.port(1)
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	st := set.Lookup("Stream")
	var imps []Handle
	var exps []Handle
	for range 3 {
		i, e, _ := a.NewChannel(p0, st)
		imps = append(imps, i)
		moveTo(t, m, a, b, e, 0, 1)
	}
	for _, sl := range b.slots {
		exps = append(exps, sl.ep.handle)
	}
	if _, _, err := a.RecvAny(p0, imps, 0, nil, nil); err != ErrAgain {
		t.Fatalf("empty wait set: %v", err)
	}
	a.Watch(imps...)
	b.Send(p1, exps[2], 0, enc(t, st, "Item", uint64(9)), nil)
	m.settle()
	if m.woken[a] != 1 {
		t.Fatalf("a woken %d times", m.woken[a])
	}
	a.Unwatch(imps...)
	i, info, err := a.RecvAny(p0, imps, 0, make([]byte, 8), nil)
	if err != nil || i != 2 || info.Msg != 0 {
		t.Fatalf("RecvAny: %d %v %v", i, info, err)
	}
	// A closed peer makes its endpoint ready too.
	b.Close(p1, exps[0])
	m.settle()
	if i, info, _ := a.RecvAny(p0, imps, 1, nil, nil); i != 0 || info.Msg != MsgClosed {
		t.Fatalf("got %d %v", i, info)
	}
	if m.woken[a] != 1 {
		t.Fatal("woken while not waiting")
	}
}

func TestListenConnect(t *testing.T) {
	m := newFake(2)
	p0, p1 := m.port(0), m.port(1)
	srv, cli := m.sys.NewTable("srv"), m.sys.NewTable("cli")
	pp := set.Lookup("PingPong")
	lc, err := ListenerContract(pp)
	if err != nil {
		t.Fatal(err)
	}
	lh, l, _ := srv.Listen(p0, lc)
	ch, err := cli.Connect(p1, l, srv, 0)
	if err != nil {
		t.Fatal(err)
	}
	cli.Send(p1, ch, msgID(pp, "Ping"), enc(t, pp, "Ping", uint64(5), []byte{}), nil)
	m.settle()
	info, buf := recvOK(t, srv, p0, lh)
	if info.Msg != 0 || len(buf) != 4 {
		t.Fatalf("accept: %v", info)
	}
	sh := Handle(binary.LittleEndian.Uint32(buf))
	if info, _ := recvOK(t, srv, p0, sh); info.Msg != msgID(pp, "Ping") {
		t.Fatalf("got %v", info)
	}
	wantErr(t, srv.Send(p0, lh, 0, buf, nil), ErrWrongType)
	// A closed listener: a new client sees Closed.
	srv.Close(p0, lh)
	ch2, _ := cli.Connect(p1, l, srv, 0)
	m.settle()
	if info, _ := recvOK(t, cli, p1, ch2); info.Msg != MsgClosed {
		t.Fatalf("got %v", info)
	}
}

// TestCloseAllAtExit: when a SIP ends, every endpoint it held is closed
// (peers see Closed, after what was sent before), its blocks are freed,
// and nothing can be installed in its table any more.
func TestCloseAllAtExit(t *testing.T) {
	m := newFake(2)
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	st := set.Lookup("Stream")
	var peers []Handle
	for range 3 {
		i, e, _ := a.NewChannel(m.port(0), st)
		peers = append(peers, moveTo(t, m, a, b, i, 0, 1))
		a.Send(m.port(0), e, 0, enc(t, st, "Item", uint64(1)), nil)
	}
	a.Alloc(100)
	a.CloseAll(m.port(0))
	m.settle()
	if a.Handles() != 0 || a.HeapBytes() != 0 {
		t.Fatalf("after CloseAll: %d handles, %d bytes", a.Handles(), a.HeapBytes())
	}
	for _, h := range peers {
		if info, _ := recvOK(t, b, m.port(1), h); info.Msg != 0 {
			t.Fatalf("the item sent before the exit is lost: %v", info)
		}
		if info, _ := recvOK(t, b, m.port(1), h); info.Msg != MsgClosed || info.Breach {
			t.Fatalf("got %v, want a clean Closed", info)
		}
	}
	if _, _, err := a.NewChannel(m.port(0), st); err != ErrQuota {
		t.Fatalf("a dead table made a channel: %v", err)
	}
}

// TestWaitSetFairness: a receive over a wait set serves the endpoint after
// the one it served last, so one busy peer cannot starve the others.
func TestWaitSetFairness(t *testing.T) {
	m := newFake(1)
	p := m.port(0)
	a := m.sys.NewTable("a")
	st := set.Lookup("Stream")
	var hs []Handle
	for range 3 {
		i, e, _ := a.NewChannel(p, st)
		hs = append(hs, i)
		for k := range 5 {
			a.Send(p, e, 0, enc(t, st, "Item", uint64(k)), nil)
		}
	}
	start := 0
	var order []int
	for range 6 {
		i, _, err := a.RecvAny(p, hs, start, make([]byte, 8), nil)
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, i)
		start = i + 1
	}
	if fmt.Sprint(order) != "[0 1 2 0 1 2]" {
		t.Fatalf("served %v", order)
	}
}

// TestNewChannelAt: a channel made in a state other than the initial one
// (the cluster's gateway continues a carried endpoint's channel there)
// enforces the contract from that state; EndpointState reports it; a state
// the contract does not have is refused.
func TestNewChannelAt(t *testing.T) {
	m := newFake(1)
	p := m.port(0)
	tab := m.sys.NewTable(nil)
	pp := set.Lookup("PingPong")
	waiting, ok := pp.StateByName("Waiting")
	if !ok {
		t.Fatal("no state Waiting")
	}
	imp, exp, err := tab.NewChannelAt(p, pp, waiting)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []Handle{imp, exp} {
		if s, err := tab.EndpointState(h); err != nil || s != waiting {
			t.Fatalf("state %v %v, want Waiting", s, err)
		}
	}
	ping, pong := msgID(pp, "Ping"), msgID(pp, "Pong")
	wantErr(t, tab.Send(p, imp, ping, enc(t, pp, "Ping", uint64(1), []byte{}), nil), ErrNotAllowed) // the importer waits
	if err := tab.Send(p, exp, pong, enc(t, pp, "Pong", uint64(1), []byte{}), nil); err != nil {
		t.Fatal(err)
	}
	if info, _ := recvOK(t, tab, p, imp); info.Msg != pong {
		t.Fatalf("got %v", info)
	}
	if _, _, err := tab.NewChannelAt(p, pp, contract.StateID(pp.NumStates())); err != ErrInvalid {
		t.Fatalf("a state past the contract's: %v", err)
	}
	if _, err := tab.EndpointState(0); err != ErrBadHandle {
		t.Fatalf("a bad handle: %v", err)
	}
}
