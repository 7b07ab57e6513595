package ipc

import (
	"encoding/binary"
	"testing"

	"isle/internal/contract"
)

// sendItems sends Items on h until a send fails, and returns how many went
// and the error.
func sendItems(t *testing.T, tab *Table, p Port, h Handle, st *contract.Contract, max int) (int, error) {
	t.Helper()
	for n := 0; n < max; n++ {
		if err := tab.Send(p, h, msgID(st, "Item"), enc(t, st, "Item", uint64(n)), nil); err != nil {
			return n, err
		}
	}
	return max, nil
}

// TestQueueBoundNobodyReads: messages to an endpoint nobody reads (here the
// sender's own) stop at the queue's bound with ErrQuota; taking them gives
// the room back.
func TestQueueBoundNobodyReads(t *testing.T) {
	m := newFake(1)
	p := m.port(0)
	a := m.sys.NewTable("a")
	st := set.Lookup("Stream")
	imp, exp, _ := a.NewChannel(p, st)
	n, err := sendItems(t, a, p, exp, st, 10*DefaultLimits().QueueMessages)
	if err != ErrQuota || n != DefaultLimits().QueueMessages {
		t.Fatalf("sent %d, then %v; want %d, then %v", n, err, DefaultLimits().QueueMessages, ErrQuota)
	}
	for range n {
		recvOK(t, a, p, imp)
	}
	if _, err := a.Recv(p, imp, make([]byte, 8), nil); err != ErrAgain {
		t.Fatal(err)
	}
	if n, err := sendItems(t, a, p, exp, st, n); err != nil {
		t.Fatalf("after the queue drained: %d sent, then %v", n, err)
	}
}

// TestStreamNeverWaitsForCredit: a receiver that keeps taking without
// replying sends credits, so a sender that sends as fast as the receiver
// takes never meets the bound.
func TestStreamNeverWaitsForCredit(t *testing.T) {
	m := newFake(2)
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	st := set.Lookup("Stream")
	imp, exp, _ := a.NewChannel(m.port(0), st)
	exp = moveTo(t, m, a, b, exp, 0, 1)
	for i := range 20 * DefaultLimits().QueueMessages {
		if err := b.Send(m.port(1), exp, msgID(st, "Item"), enc(t, st, "Item", uint64(i)), nil); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if i%8 == 7 { // the receiver takes in bursts, never finding its queue empty
			m.settle()
			for range 8 {
				recvOK(t, a, m.port(0), imp)
			}
			m.settle()
		}
	}
}

// TestQueuedBlocksCharged: blocks sent to an endpoint nobody reads stay
// charged to the sender's heap quota, so allocating more fails; when the
// receiver closes, the charges come back.
func TestQueuedBlocksCharged(t *testing.T) {
	m := newFake(2)
	m.sys.limits.HeapBytes = 4<<20 + 64 // four blocks and their payloads
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	car := set.Lookup("Carrier")
	cimp, cexp, _ := a.NewChannel(m.port(0), car)
	cexp = moveTo(t, m, a, b, cexp, 0, 1)
	sent := 0
	for ; sent < 100; sent++ {
		blk, err := a.Alloc(1 << 20)
		if err != nil {
			wantErr(t, err, ErrQuota)
			break
		}
		if err := a.Send(m.port(0), cimp, msgID(car, "Data"), enc(t, car, "Data", uint32(sent)), []Handle{blk}); err != nil {
			t.Fatal(err)
		}
	}
	m.settle()
	if sent != 4 || a.HeapBytes() != 0 {
		t.Fatalf("%d blocks of 1 MiB sent under a 4 MiB quota; %d bytes owned", sent, a.HeapBytes())
	}
	if h, bytes := a.Queued(); h != 4 || bytes != 4<<20+4*4 {
		t.Fatalf("queued: %d handles, %d bytes", h, bytes)
	}
	// The receiver takes two (1 MiB each: it credits at once) and owns
	// their blocks now.
	if _, err := b.Recv(m.port(1), cexp, make([]byte, 8), make([]Handle, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Recv(m.port(1), cexp, make([]byte, 8), make([]Handle, 1)); err != nil {
		t.Fatal(err)
	}
	m.settle()
	if h, bytes := a.Queued(); h != 2 || bytes != 2<<20+2*4 {
		t.Fatalf("after two were received: %d handles, %d bytes queued", h, bytes)
	}
	if b.HeapBytes() != 2<<20 {
		t.Fatalf("the receiver owns %d bytes", b.HeapBytes())
	}
	// The receiver closes: what it never took is freed and a is charged
	// nothing any more.
	b.Close(m.port(1), cexp)
	m.settle()
	if h, bytes := a.Queued(); h != 0 || bytes != 0 {
		t.Fatalf("after the receiver closed: %d handles, %d bytes queued", h, bytes)
	}
	if _, err := a.Alloc(4 << 20); err != nil {
		t.Fatalf("the quota did not come back: %v", err)
	}
}

// TestQueuedEndpointsCharged: endpoints sent to an endpoint nobody reads
// count against the sender's handle quota until received, however many
// carriers it uses.
func TestQueuedEndpointsCharged(t *testing.T) {
	m := newFake(1)
	m.sys.limits.Handles = 64
	p := m.port(0)
	a := m.sys.NewTable("a")
	car, st := set.Lookup("Carrier"), set.Lookup("Stream")
	made := 0
	var err error
	for made < 10000 && err == nil {
		var cimp Handle
		if cimp, _, err = a.NewChannel(p, car); err != nil {
			break
		}
		for k := 0; k < 100 && err == nil; k++ {
			var simp Handle
			if simp, _, err = a.NewChannel(p, st); err != nil {
				break
			}
			made++
			err = a.Send(p, cimp, msgID(car, "GiveImp"), enc(t, car, "GiveImp", simp), nil)
		}
		if err == ErrQuota && a.Handles() < 62 {
			err = nil // the carrier's queue is full: a new carrier
		}
	}
	wantErr(t, err, ErrQuota)
	h, _ := a.Queued()
	if a.Handles()+h > 64 || made > 64 {
		t.Fatalf("%d channels made, %d handles held and %d queued, past a quota of 64", made, a.Handles(), h)
	}
}

// TestChargesMoveWithTheirEndpoint: a sending endpoint with queued charges
// that moves to another table on another core takes them along (inside the
// message that carries it, then in the table that receives it), and the
// receiver's credit, following the endpoint, returns them there.
func TestChargesMoveWithTheirEndpoint(t *testing.T) {
	m := newFake(3)
	a, b, c := m.sys.NewTable("a"), m.sys.NewTable("b"), m.sys.NewTable("c")
	car, st := set.Lookup("Carrier"), set.Lookup("Stream")
	// x: a Stream whose sending end (in a, core 0) sends packets to its
	// receiving end in b (core 1), which does not read yet.
	ximp, xexp, _ := a.NewChannel(m.port(0), st)
	ximp = moveTo(t, m, a, b, ximp, 0, 1)
	pad := make([]byte, 100)
	for i := range 3 {
		if err := a.Send(m.port(0), xexp, msgID(st, "Bulk"), enc(t, st, "Bulk", uint64(i), pad), nil); err != nil {
			t.Fatal(err)
		}
	}
	const each = 8 + 4 + 100
	if h, bytes := a.Queued(); h != 0 || bytes != 3*each {
		t.Fatalf("a: %d handles, %d bytes queued", h, bytes)
	}
	// y: a Carrier from a to c (core 2); a gives x's sending end to c.
	yimp, yexp, _ := a.NewChannel(m.port(0), car)
	yexp = moveTo(t, m, a, c, yexp, 0, 2)
	if err := a.Send(m.port(0), yimp, msgID(car, "Give"), enc(t, car, "Give", xexp), nil); err != nil {
		t.Fatal(err)
	}
	if h, bytes := a.Queued(); h != 1 || bytes != 3*each+4 {
		t.Fatalf("a with x's end in flight: %d handles, %d bytes queued", h, bytes)
	}
	m.settle()
	_, buf := recvOK(t, c, m.port(2), yexp)
	_ = buf
	if _, err := c.Recv(m.port(2), yexp, make([]byte, 8), nil); err != ErrAgain {
		t.Fatal(err) // c finds its queue empty and credits a
	}
	m.settle()
	if h, bytes := a.Queued(); h != 0 || bytes != 0 {
		t.Fatalf("a after c received x's end: %d handles, %d bytes queued", h, bytes)
	}
	if h, bytes := c.Queued(); h != 0 || bytes != 3*each {
		t.Fatalf("c holding x's end: %d handles, %d bytes queued", h, bytes)
	}
	// b takes everything on core 1; its credit goes to a, where it believes
	// x's end is, and follows it to c.
	for range 3 {
		recvOK(t, b, m.port(1), ximp)
	}
	if _, err := b.Recv(m.port(1), ximp, make([]byte, 8), nil); err != ErrAgain {
		t.Fatal(err)
	}
	m.settle()
	if h, bytes := c.Queued(); h != 0 || bytes != 0 {
		t.Fatalf("c after b received all: %d handles, %d bytes queued", h, bytes)
	}
}

// TestClosedSenderStaysCharged: a sender that closes its end with messages
// still queued stays charged for them until the receiver takes them or
// closes; otherwise closing would let a SIP queue without limit.
func TestClosedSenderStaysCharged(t *testing.T) {
	m := newFake(1)
	m.sys.limits.HeapBytes = 1<<20 + 64 // a block and its payload
	p := m.port(0)
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	car := set.Lookup("Carrier")
	cimp, cexp, _ := a.NewChannel(p, car)
	cexp = moveTo(t, m, a, b, cexp, 0, 0)
	blk, _ := a.Alloc(1 << 20)
	if err := a.Send(p, cimp, msgID(car, "Data"), enc(t, car, "Data", uint32(1)), []Handle{blk}); err != nil {
		t.Fatal(err)
	}
	a.Close(p, cimp)
	if _, err := a.Alloc(1 << 20); err != ErrQuota {
		t.Fatalf("alloc after closing the sender: %v, want %v", err, ErrQuota)
	}
	if _, err := b.Recv(p, cexp, make([]byte, 8), make([]Handle, 1)); err != nil {
		t.Fatal(err)
	}
	recvOK(t, b, p, cexp) // Closed, and the queue is empty: b credits
	if h, bytes := a.Queued(); h != 0 || bytes != 0 {
		t.Fatalf("after the receiver took it: %d handles, %d bytes queued", h, bytes)
	}
	// And when the receiver closes instead of receiving.
	cimp, cexp, _ = a.NewChannel(p, car)
	cexp = moveTo(t, m, a, b, cexp, 0, 0)
	blk, _ = a.Alloc(1 << 20)
	a.Send(p, cimp, msgID(car, "Data"), enc(t, car, "Data", uint32(1)), []Handle{blk})
	a.Close(p, cimp)
	b.Close(p, cexp)
	if h, bytes := a.Queued(); h != 0 || bytes != 0 {
		t.Fatalf("after the receiver closed: %d handles, %d bytes queued", h, bytes)
	}
}

// TestReceiverExitReturnsCharges: when the receiving SIP ends, what was
// queued for it is freed and its senders' charges return.
func TestReceiverExitReturnsCharges(t *testing.T) {
	m := newFake(2)
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	car := set.Lookup("Carrier")
	for range 3 {
		cimp, cexp, _ := a.NewChannel(m.port(0), car)
		moveTo(t, m, a, b, cexp, 0, 1)
		blk, _ := a.Alloc(4096)
		a.Send(m.port(0), cimp, msgID(car, "Data"), enc(t, car, "Data", uint32(1)), []Handle{blk})
	}
	m.settle()
	if h, _ := a.Queued(); h != 3 {
		t.Fatalf("%d handles queued", h)
	}
	b.CloseAll(m.port(1))
	m.settle()
	if h, bytes := a.Queued(); h != 0 || bytes != 0 {
		t.Fatalf("after the receiver ended: %d handles, %d bytes queued", h, bytes)
	}
}

// TestCreditsFollowAMigratedSender: the sender's SIP moves to another core
// with messages still charged to it; the receiver's credit, addressed to
// where the sender was, follows the SIP (as every delivery does) and is
// applied on the core that owns it now, returning the charges there.
func TestCreditsFollowAMigratedSender(t *testing.T) {
	m := newFake(3)
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	st := set.Lookup("Stream")
	simp, sexp, _ := a.NewChannel(m.port(0), st)
	simp = moveTo(t, m, a, b, simp, 0, 1)
	m.where[a], m.where[b] = 0, 1
	pad := make([]byte, 100)
	for i := range 3 {
		if err := a.Send(m.port(0), sexp, msgID(st, "Bulk"), enc(t, st, "Bulk", uint64(i), pad), nil); err != nil {
			t.Fatal(err)
		}
	}
	m.migrate(a, 2) // the sender's SIP moves to core 2 with its charges
	m.arrive(a)
	m.settle()
	if _, bytes := a.Queued(); bytes != 3*(8+4+100) {
		t.Fatalf("%d bytes queued before the receiver took them", bytes)
	}
	for range 3 {
		recvOK(t, b, m.port(1), simp)
	}
	if _, err := b.Recv(m.port(1), simp, make([]byte, 8), nil); err != ErrAgain {
		t.Fatal(err) // the receiver's queue is empty: it credits
	}
	m.settle()
	if m.bad != "" {
		t.Fatal(m.bad)
	}
	if h, bytes := a.Queued(); h != 0 || bytes != 0 {
		t.Fatalf("after the receiver took everything: %d handles, %d bytes queued", h, bytes)
	}
}

// TestConnectionsCharged: a connection queued on a listener that does not
// accept counts as one of the client's handles, even after the client
// closes its end, so connecting again and again ends in ErrQuota; accepting
// (and the server's first receive) returns the charge.
func TestConnectionsCharged(t *testing.T) {
	m := newFake(2)
	m.sys.limits.Handles = 16
	srv, cli := m.sys.NewTable("srv"), m.sys.NewTable("cli")
	pp := set.Lookup("PingPong")
	lc, _ := ListenerContract(pp)
	lh, l, _ := srv.Listen(m.port(0), lc)
	n := 0
	for ; n < 100; n++ {
		ch, err := cli.Connect(m.port(1), l, srv, 0)
		if err != nil {
			wantErr(t, err, ErrQuota)
			break
		}
		cli.Close(m.port(1), ch)
	}
	if n != 15 {
		t.Fatalf("%d connections queued by a client with 16 handles, want 15", n)
	}
	m.settle()
	// The server accepts one and receives on it: that client's charge
	// returns, and one more connection fits.
	info, buf := recvOK(t, srv, m.port(0), lh)
	if info.Msg != 0 {
		t.Fatalf("accept: %v", info)
	}
	sh := Handle(binary.LittleEndian.Uint32(buf))
	if info, _ := recvOK(t, srv, m.port(0), sh); info.Msg != MsgClosed {
		t.Fatalf("got %v, want Closed", info)
	}
	m.settle()
	if h, _ := cli.Queued(); h != n-1 {
		t.Fatalf("%d handles queued after one was accepted, want %d", h, n-1)
	}
	if _, err := cli.Connect(m.port(1), l, srv, 0); err != nil {
		t.Fatalf("connect after an accept: %v", err)
	}
	// The listener closes: every queued connection is dropped and every
	// charge returns.
	srv.Close(m.port(0), lh)
	m.settle()
	if h, _ := cli.Queued(); h != 0 {
		t.Fatalf("%d handles queued after the listener closed", h)
	}
}

// TestOrphanedQueueAdopted: a SIP fills a stream to an endpoint of its own,
// sends the stream's sending end into a carrier and closes the carrier's
// receiving end, so the sending end is closed inside a dropped packet,
// charged to nobody; round after round, that would queue without limit.
// The close says so, and the receiving end's table adopts the queue: the
// rounds end in ErrQuota with at most about the heap quota queued.
func TestOrphanedQueueAdopted(t *testing.T) {
	m := newFake(1)
	m.sys.limits.HeapBytes = 1 << 20
	p := m.port(0)
	a := m.sys.NewTable("a")
	car, st := set.Lookup("Carrier"), set.Lookup("Stream")
	pad := make([]byte, 1000)
	var held []Handle
	rounds := 0
	for ; rounds < 1000; rounds++ {
		cimp, cexp, err := a.NewChannel(p, car)
		if err != nil {
			break
		}
		simp, sexp, err := a.NewChannel(p, st)
		if err != nil {
			break
		}
		sent := 0
		for ; sent < 100; sent++ {
			if a.Send(p, sexp, msgID(st, "Bulk"), enc(t, st, "Bulk", uint64(sent), pad), nil) != nil {
				break
			}
		}
		if sent == 0 {
			break // the quota: no room for one more
		}
		if err := a.Send(p, cimp, msgID(car, "Give"), enc(t, car, "Give", sexp), nil); err != nil {
			t.Fatal(err)
		}
		a.Close(p, cexp) // drops the packet holding sexp: it closes, charged to nobody
		a.Close(p, cimp)
		held = append(held, simp)
	}
	var queued int64
	for _, h := range held {
		e, _ := a.endpoint(h)
		for _, q := range e.queue[e.qhead:] {
			queued += int64(len(q.payload))
		}
	}
	if queued > 2*m.sys.limits.HeapBytes {
		t.Fatalf("%d rounds queued %d bytes under a heap quota of %d", rounds, queued, m.sys.limits.HeapBytes)
	}
	// Receiving returns the adopted charges, even with the quota full (the
	// packet's charge becomes what it brings); closing returns the rest.
	if _, err := a.Recv(p, held[0], make([]byte, 2000), nil); err != nil {
		t.Fatalf("receiving an adopted packet with the quota full: %v", err)
	}
	for _, h := range held {
		a.Close(p, h)
	}
	if h, bytes := a.Queued(); h != 0 || bytes != 0 {
		t.Fatalf("after closing: %d handles, %d bytes queued", h, bytes)
	}
}

// TestAdoptedBlockReceivable: when the sending SIP ends with a block
// queued, the receiver adopts its charge, and can still receive it: the
// charge becomes the block it then owns, not a second one.
func TestAdoptedBlockReceivable(t *testing.T) {
	m := newFake(1)
	m.sys.limits.HeapBytes = 1000
	p := m.port(0)
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	car := set.Lookup("Carrier")
	cimp, cexp, _ := a.NewChannel(p, car)
	cexp = moveTo(t, m, a, b, cexp, 0, 0)
	blk, _ := a.Alloc(600)
	if err := a.Send(p, cimp, msgID(car, "Data"), enc(t, car, "Data", uint32(1)), []Handle{blk}); err != nil {
		t.Fatal(err)
	}
	a.CloseAll(p) // the sender's SIP ends
	if h, bytes := b.Queued(); h != 1 || bytes != 604 {
		t.Fatalf("the receiver adopted %d handles, %d bytes", h, bytes)
	}
	if _, err := b.Recv(p, cexp, make([]byte, 8), make([]Handle, 1)); err != nil {
		t.Fatalf("receiving the adopted block: %v", err)
	}
	if h, bytes := b.Queued(); h != 0 || bytes != 0 || b.HeapBytes() != 600 {
		t.Fatalf("after receiving: %d handles, %d bytes queued, %d owned", h, bytes, b.HeapBytes())
	}
}

// TestBigBlockToItself: a SIP may send a block of more than half its heap
// quota to its own other end, receive it and send it again: the block is
// charged once, queued or owned, never both (a receive from the same table
// acknowledges at once, without a message).
func TestBigBlockToItself(t *testing.T) {
	m := newFake(1)
	m.sys.limits.HeapBytes = 1000
	p := m.port(0)
	a := m.sys.NewTable("a")
	car := set.Lookup("Carrier")
	cimp, cexp, _ := a.NewChannel(p, car)
	blk, _ := a.Alloc(900)
	for range 3 {
		if err := a.Send(p, cimp, msgID(car, "Data"), enc(t, car, "Data", uint32(1)), []Handle{blk}); err != nil {
			t.Fatal(err)
		}
		blocks := make([]Handle, 1)
		if _, err := a.Recv(p, cexp, make([]byte, 8), blocks); err != nil {
			t.Fatalf("receiving its own 900-byte block under a 1000-byte quota: %v", err)
		}
		blk = blocks[0] // and sends it again at once: its charge is gone
	}
	if h, bytes := a.Queued(); h != 0 || bytes != 0 || a.HeapBytes() != 900 {
		t.Fatalf("%d handles, %d bytes queued, %d owned", h, bytes, a.HeapBytes())
	}
}

// TestDeadSendersQueueAdopted: SIP after SIP fills a stream to an endpoint
// that one SIP holds and never reads, closes its sending end (which stays
// charged to it) and ends. Its table is dead, so the charge would count
// for nobody and the holder could collect without limit; instead the
// holder adopts each queue when its sender's SIP ends.
func TestDeadSendersQueueAdopted(t *testing.T) {
	m := newFake(1)
	p := m.port(0)
	holder := m.sys.NewTable("holder")
	st := set.Lookup("Stream")
	pad := make([]byte, 1000)
	const each = 8 + 4 + 1000
	for round := range 5 {
		child := m.sys.NewTable(round)
		simp, sexp, _ := child.NewChannel(p, st)
		moveTo(t, m, child, holder, simp, 0, 0)
		for i := range 10 {
			if err := child.Send(p, sexp, msgID(st, "Bulk"), enc(t, st, "Bulk", uint64(i), pad), nil); err != nil {
				t.Fatal(err)
			}
		}
		child.Close(p, sexp) // stays charged to child: the holder has not received
		if _, bytes := child.Queued(); bytes != 10*each {
			t.Fatalf("round %d: the closed sender is charged %d bytes", round, bytes)
		}
		child.CloseAll(p) // the child ends
		if _, bytes := holder.Queued(); bytes != int64(round+1)*10*each {
			t.Fatalf("round %d: the holder is charged %d bytes, want %d", round, bytes, (round+1)*10*each)
		}
	}
	// Receiving one takes its share off; closing returns the rest.
	h := onlyEndpointFirst(holder)
	if _, err := holder.Recv(p, h, make([]byte, 2000), nil); err != nil {
		t.Fatal(err)
	}
	if _, bytes := holder.Queued(); bytes != 5*10*each-each {
		t.Fatalf("after one receive the holder is charged %d bytes", bytes)
	}
	holder.CloseAll(p)
}

// onlyEndpointFirst returns the handle of the first endpoint in tab.
func onlyEndpointFirst(tab *Table) Handle {
	for i, sl := range tab.slots {
		if sl.ep != nil {
			return makeHandle(uint32(i), sl.gen)
		}
	}
	return 0
}
