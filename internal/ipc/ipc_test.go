package ipc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"isle/internal/contract"
)

const testContracts = `
contract PingPong {
  msg Ping(seq u64, payload bytes)
  msg Pong(seq u64, payload bytes)
  msg Quit
  initial state Idle {
    imp Ping -> Waiting
    imp Quit -> Over
  }
  state Waiting { exp Pong -> Idle }
  final state Over {}
}

contract Carrier {
  msg Give(ep exp<Stream>)
  msg GiveImp(ep imp<Stream>)
  msg Data(n u32)
  msg GiveCarrier(ep exp<Carrier>)
  initial final state Open {
    imp Give -> Open
    imp GiveImp -> Open
    imp Data -> Open
    imp GiveCarrier -> Open
  }
}

contract Stream {
  msg Item(n u64)
  msg Bulk(n u64, pad bytes)
  initial final state S { exp Item -> S  exp Bulk -> S }
}
`

// streamMsg is the stream's message number n: an Item, or a Bulk whose
// padding makes it an inline message or a packet (MaxInlinePayload), so
// that one channel carries both kinds in one sequence.
func streamMsg(t *testing.T, st *contract.Contract, rng *rand.Rand, n uint64) (contract.MsgID, []byte) {
	t.Helper()
	if rng.Intn(2) == 0 {
		return msgID(st, "Item"), enc(t, st, "Item", n)
	}
	pad := make([]byte, rng.Intn(2*MaxInlinePayload))
	for i := range pad {
		pad[i] = byte(n)
	}
	return msgID(st, "Bulk"), enc(t, st, "Bulk", n, pad)
}

// recvStream takes every message queued on the stream endpoint h and
// appends their numbers to got, checking each payload against sent.
func recvStream(t *testing.T, tab *Table, p Port, h Handle, sent map[uint64][]byte, got []uint64) []uint64 {
	t.Helper()
	buf := make([]byte, 256)
	for {
		info, err := tab.Recv(p, h, buf, nil)
		if err != nil {
			return got
		}
		n := binary.LittleEndian.Uint64(buf)
		if want := sent[n]; string(buf[:info.Len]) != string(want) {
			t.Fatalf("message %d: payload %x, want %x", n, buf[:info.Len], want)
		}
		got = append(got, n)
	}
}

// fakeMachine is a deterministic transport: a FIFO ring per ordered pair of
// cores, delivered when the test says.
type fakeMachine struct {
	sys   *System
	ports []*fakePort
	// where, when set for a table, is the core that owns its SIP (or the
	// core it is migrating to, while inFlight): deliver plays the kernel,
	// carrying packets for the table there and holding them until the SIP
	// has arrived (kernel.SIPDeliverable never overtakes its SIP), and
	// checks that packets are admitted only there.
	where    map[*Table]int
	inFlight map[*Table][]*Packet
	bad      string
	rings    map[[2]int][]*Packet
	woken    map[*Table]int
	inline   map[*Packet]*Route // stand-ins for inline messages in the rings
	// inlineBodies are the bodies SendInline was given, as given (not
	// copies); joined is SendInline's scratch.
	inlineBodies [][]byte
	joined       [InlineData]byte
	// forwarded counts deliveries that reached a core the destination's
	// SIP had left, and that deliver carried on (the kernel's detour).
	forwarded int
}

type fakePort struct {
	m    *fakeMachine
	core int
}

func (p *fakePort) Core() int { return p.core }
func (p *fakePort) Send(to int, pkt *Packet) {
	if to == p.core {
		p.m.deliver(p, pkt)
		return
	}
	k := [2]int{p.core, to}
	p.m.rings[k] = append(p.m.rings[k], pkt)
}
func (p *fakePort) Wake(t *Table) { p.m.woken[t]++ }

// SendInline carries an inline message like a packet: a stand-in packet of
// kind fakeInline holds a copy of the data and the route, and the delivering
// core hands them to DeliverInline, as the kernel's receiving core does.
func (p *fakePort) SendInline(to int, r *Route, head, body []byte) {
	p.m.inlineBodies = append(p.m.inlineBodies, body)
	data := append(p.m.joined[:0], head...)
	data = append(data, body...)
	_, moving := p.m.inFlight[r.dest]
	if w, placed := p.m.where[r.dest]; to == p.core && !moving && (!placed || w == p.core) {
		DeliverInline(p, r, data) // at once, allocating nothing, as the kernel does
		return
	}
	pkt := &Packet{kind: fakeInline, to: r.to, dest: r.dest, payload: append([]byte(nil), data...)}
	p.m.inline[pkt] = r
	if to == p.core {
		p.m.deliver(p, pkt)
		return
	}
	k := [2]int{p.core, to}
	p.m.rings[k] = append(p.m.rings[k], pkt)
}

// fakeInline marks the fake transport's stand-ins for inline messages.
const fakeInline = 0xFE

func newFake(cores int) *fakeMachine {
	m := &fakeMachine{sys: NewSystem(cores, DefaultLimits()), rings: map[[2]int][]*Packet{}, woken: map[*Table]int{}, where: map[*Table]int{}, inFlight: map[*Table][]*Packet{}, inline: map[*Packet]*Route{}}
	for i := range cores {
		m.ports = append(m.ports, &fakePort{m, i})
	}
	return m
}

func (m *fakeMachine) port(core int) Port { return m.ports[core] }

// deliverOne delivers the head of one nonempty ring chosen by rng (or the
// first in a fixed order when rng is nil); false when every ring is empty.
func (m *fakeMachine) deliverOne(rng *rand.Rand) bool {
	var keys [][2]int
	for from := 0; from < len(m.sys.cores); from++ {
		for to := 0; to < len(m.sys.cores); to++ {
			if len(m.rings[[2]int{from, to}]) > 0 {
				keys = append(keys, [2]int{from, to})
			}
		}
	}
	if len(keys) == 0 {
		return false
	}
	k := keys[0]
	if rng != nil {
		k = keys[rng.Intn(len(keys))]
	}
	pkt := m.rings[k][0]
	m.rings[k] = m.rings[k][1:]
	m.deliver(m.ports[k[1]], pkt)
	return true
}

// deliver plays the kernel's part (follow the destination table's SIP),
// then Deliver, checking where packets are admitted.
func (m *fakeMachine) deliver(p *fakePort, pkt *Packet) {
	dest := pkt.Dest()
	if q, ok := m.inFlight[dest]; ok {
		m.inFlight[dest] = append(q, pkt)
		return
	}
	if w, ok := m.where[dest]; ok && w != p.core {
		m.forwarded++
		k := [2]int{p.core, w}
		m.rings[k] = append(m.rings[k], pkt)
		return
	}
	tab := pkt.to.table
	w, watched := m.where[tab]
	before := m.queued()
	if r, ok := m.inline[pkt]; ok {
		delete(m.inline, pkt)
		DeliverInline(p, r, pkt.payload)
	} else {
		Deliver(p, pkt)
	}
	if watched && m.queued() == before && w != p.core && m.bad == "" {
		m.bad = fmt.Sprintf("a packet admitted on core %d for a table on core %d", p.core, w)
	}
}

// migrate moves table t's SIP to core to: packets for it wait until arrive.
func (m *fakeMachine) migrate(t *Table, to int) {
	m.where[t] = to
	m.inFlight[t] = nil
}

func (m *fakeMachine) arrive(t *Table) {
	q := m.inFlight[t]
	delete(m.inFlight, t)
	for _, pkt := range q {
		m.deliver(m.ports[m.where[t]], pkt)
	}
}

func (m *fakeMachine) queued() int {
	n := 0
	for _, q := range m.rings {
		n += len(q)
	}
	return n
}

func (m *fakeMachine) settle() {
	for m.deliverOne(nil) {
	}
}

var set = contract.MustCompile("test.contract", testContracts)

func msgID(c *contract.Contract, name string) contract.MsgID { return c.MessageByName(name).ID() }

func enc(t *testing.T, c *contract.Contract, name string, vals ...any) []byte {
	t.Helper()
	b, err := c.MessageByName(name).Encode(nil, vals...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantErr(t *testing.T, got error, want Error) {
	t.Helper()
	if !errors.Is(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func recvOK(t *testing.T, tab *Table, p Port, h Handle) (RecvInfo, []byte) {
	t.Helper()
	buf := make([]byte, 256)
	info, err := tab.Recv(p, h, buf, make([]Handle, 8))
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return info, buf[:info.Len]
}

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

func mustBlock(t *testing.T, tab *Table, h Handle) *Block {
	t.Helper()
	b, err := tab.Block(h)
	if err != nil {
		t.Fatal(err)
	}
	return b
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

// moveTo moves endpoint h of table from (on core fc) to table to (core tc)
// the way a packet would, for tests that set up placements.
func moveTo(t *testing.T, m *fakeMachine, from, to *Table, h Handle, fc, tc int) Handle {
	t.Helper()
	e, err := from.endpoint(h)
	if err != nil {
		t.Fatal(err)
	}
	from.remove(h)
	// Tell the peer where e went, as a route update would.
	if e.peer != nil {
		e.peer.peerAt = hop{table: to, core: tc}
	}
	return to.put(e, nil)
}

func onlyEndpoint(t *testing.T, tab *Table, c *contract.Contract) Handle {
	t.Helper()
	for i, sl := range tab.slots {
		if sl.ep != nil && sl.ep.c == c {
			return makeHandle(uint32(i), sl.gen)
		}
	}
	t.Fatal("no endpoint of", c.Name())
	return 0
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

func cexp2(t *testing.T, tab *Table, c *contract.Contract) Handle { return onlyEndpoint(t, tab, c) }

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

// TestOrderUnderMovesAndReordering moves a stream's receiving end between
// three cores again and again while the sender keeps sending, with rings
// delivered in random interleavings: every item arrives once, in order.
func TestOrderUnderMovesAndReordering(t *testing.T) {
	total := 0
	for seed := int64(0); seed < 200; seed++ {
		rng := rand.New(rand.NewSource(seed))
		const cores = 3
		m := newFake(cores)
		tabs := make([]*Table, cores)
		for i := range tabs {
			tabs[i] = m.sys.NewTable(i)
		}
		st, car := set.Lookup("Stream"), set.Lookup("Carrier")
		// Carriers: a channel from every core's table to every other's,
		// importer's end at i, exporter's at j.
		carriers := map[[2]int]Handle{}
		for i := 0; i < cores; i++ {
			for j := 0; j < cores; j++ {
				if i == j {
					continue
				}
				ci, ce, _ := tabs[i].NewChannel(m.port(i), car)
				moveTo(t, m, tabs[i], tabs[j], ce, i, j)
				carriers[[2]int{i, j}] = ci
			}
		}
		// The stream: exporter's end on core 0 sends; importer's end moves.
		simp, sexp, _ := tabs[0].NewChannel(m.port(0), st)
		where, h := 0, simp
		var got []uint64
		sent := uint64(0)
		payloads := map[uint64][]byte{}
		for step := 0; step < 300; step++ {
			switch r := rng.Intn(10); {
			case r < 4:
				id, b := streamMsg(t, st, rng, sent)
				if tabs[0].Send(m.port(0), sexp, id, b, nil) == nil {
					payloads[sent] = b
					sent++
				}
			case r < 6 && h != 0:
				to := (where + 1 + rng.Intn(cores-1)) % cores
				ch := carriers[[2]int{where, to}]
				if err := tabs[where].Send(m.port(where), ch, msgID(car, "GiveImp"), enc(t, car, "GiveImp", h), nil); err != nil {
					t.Fatal(err)
				}
				where, h = to, 0
			case r < 8:
				m.deliverOne(rng)
			default:
				if h == 0 {
					// Take the stream out of the carrier once it arrived.
					for from := 0; from < cores; from++ {
						if from == where {
							continue
						}
						ce := findExp(tabs[where], car, carriers, from, where)
						buf := make([]byte, 8)
						if info, err := tabs[where].Recv(m.port(where), ce, buf, nil); err == nil && info.Msg == msgID(car, "GiveImp") {
							h = Handle(binary.LittleEndian.Uint32(buf))
						}
					}
				} else {
					got = recvStream(t, tabs[where], m.port(where), h, payloads, got)
				}
			}
		}
		total += len(got)
		for k, v := range got {
			if v != uint64(k) {
				t.Fatalf("seed %d: item %d is %d (got %v)", seed, k, v, got)
			}
		}
	}
	if total < 1000 {
		t.Fatalf("only %d items received over all seeds", total)
	}
}

// findExp returns the handle in tab of the exporter's end of the carrier
// from core from to core to.
func findExp(tab *Table, car *contract.Contract, carriers map[[2]int]Handle, from, to int) Handle {
	for i, sl := range tab.slots {
		if sl.ep != nil && sl.ep.c == car && sl.ep.side == contract.Exporter && sl.ep.peerAt.core == from {
			return makeHandle(uint32(i), sl.gen)
		}
	}
	return 0
}

// TestMigration moves a receiving SIP's table between cores the way the
// kernel's balancer moves a runnable SIP (Leave on the old core, the SIP in
// the ring, Arrive on the new one) while its peer keeps sending: nothing is
// lost, reordered or admitted on a core that no longer owns the endpoint.
func TestMigration(t *testing.T) {
	total := 0
	defer func() {
		if total < 300 {
			t.Errorf("only %d items received over all seeds", total)
		}
	}()
	for seed := int64(0); seed < 100; seed++ {
		rng := rand.New(rand.NewSource(seed))
		const cores = 3
		m := newFake(cores)
		a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
		st := set.Lookup("Stream")
		simp, sexp, _ := a.NewChannel(m.port(0), st)
		sexp = moveTo(t, m, a, b, sexp, 0, 0) // b sends from core 0
		where := 0
		m.where[a] = 0
		inFlight := false
		arrive := func() {}
		var got []uint64
		sent := uint64(0)
		payloads := map[uint64][]byte{}
		for step := 0; step < 400; step++ {
			switch r := rng.Intn(10); {
			case r < 4:
				id, p := streamMsg(t, st, rng, sent)
				if b.Send(m.port(0), sexp, id, p, nil) == nil {
					payloads[sent] = p
					sent++
				}
			case r < 5 && !inFlight:
				to := (where + 1 + rng.Intn(cores-1)) % cores
				m.migrate(a, to)
				// The SIP travels in the ring where→to, behind nothing
				// the forwarded packets could overtake.
				from := where
				k := [2]int{from, to}
				marker := &Packet{kind: 0xFF}
				m.rings[k] = append(m.rings[k], marker)
				inFlight = true
				arrive = func() { where = to; inFlight = false; m.arrive(a) }
			case r < 8:
				// Deliver one packet, or the SIP's arrival.
				for k, q := range m.rings {
					if len(q) == 0 || rng.Intn(2) == 0 {
						continue
					}
					pkt := q[0]
					m.rings[k] = q[1:]
					if pkt.kind == 0xFF {
						arrive()
					} else {
						m.deliver(m.ports[k[1]], pkt)
					}
					break
				}
			default:
				if inFlight {
					continue
				}
				got = recvStream(t, a, m.port(where), simp, payloads, got)
			}
		}
		if m.bad != "" {
			t.Fatalf("seed %d: %s", seed, m.bad)
		}
		total += len(got)
		for k, v := range got {
			if v != uint64(k) {
				t.Fatalf("seed %d: item %d is %d", seed, k, v)
			}
		}
	}
}

// TestNestedEndpointsFollow: an endpoint inside a packet queued on an
// endpoint goes wherever that endpoint goes, so sending the outer one must
// record where the inner one went too, and packets for the inner one that
// reach the old table follow it.
func TestNestedEndpointsFollow(t *testing.T) {
	m := newFake(3)
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	car, st := set.Lookup("Carrier"), set.Lookup("Stream")
	// inner: a Stream's exporter's end, sent, unreceived, on carrier 1.
	simp, sexp, _ := a.NewChannel(m.port(0), st)
	c1i, c1e, _ := a.NewChannel(m.port(0), car)
	c2i, c2e, _ := a.NewChannel(m.port(0), car)
	inner, _ := a.endpoint(sexp)
	if err := a.Send(m.port(0), c1i, msgID(car, "Give"), enc(t, car, "Give", sexp), nil); err != nil {
		t.Fatal(err)
	}
	outer, _ := a.endpoint(c1e)
	// Send the carrier's receiving end, with the stream queued on it, to b
	// on core 1.
	moveTo(t, m, a, b, c2e, 0, 1)
	m.where[b] = 1
	if err := a.Send(m.port(0), c2i, msgID(car, "GiveCarrier"), enc(t, car, "GiveCarrier", c1e), nil); err != nil {
		t.Fatal(err)
	}
	if a.gone[inner].table != b || a.gone[outer].table != b {
		t.Fatalf("after the send: a.gone[inner]=%v a.gone[outer]=%v, want b", a.gone[inner], a.gone[outer])
	}
	m.settle()
	// The stream's importer closes: its notice goes to a, where the
	// exporter's end was, and must follow it to b.
	a.Close(m.port(0), simp)
	m.settle()
	if !inner.peerGone {
		t.Fatal("the close notice did not follow the nested endpoint")
	}
	if _, ok := b.gone[inner]; ok {
		t.Fatal("b forwards an endpoint that lives in it")
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
