// The harness of the package's tests: a fake machine whose ports queue
// packets and inline messages for delivery in any order, and helpers that
// encode, receive and move endpoints.

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

// Here is where SendInline delivers at once: t's SIP is placed on this
// core (or nowhere: a table the test never placed) and not moving.
func (p *fakePort) Here(t *Table) bool {
	_, moving := p.m.inFlight[t]
	w, placed := p.m.where[t]
	return !moving && (!placed || w == p.core)
}

// SendInline carries an inline message like a packet: a stand-in packet of
// kind fakeInline holds a copy of the data and the route, and the delivering
// core hands them to DeliverInline, as the kernel's receiving core does.
func (p *fakePort) SendInline(to int, r *Route, head, body []byte) {
	p.m.inlineBodies = append(p.m.inlineBodies, body)
	data := append(p.m.joined[:0], head...)
	data = append(data, body...)
	if to == p.core && p.Here(r.dest) {
		DeliverInline(p, r, data) // at once, allocating nothing, as the kernel does
		poison(data)
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

// poison overwrites an inline message's slot once DeliverInline has
// returned, as the kernel's next message in that slot would: whatever kept
// a view of it instead of a copy then reads garbage.
func poison(slot []byte) {
	for i := range slot {
		slot[i] = 0xA5
	}
}

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
		poison(pkt.payload) // the slot: valid only during the call
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

func mustBlock(t *testing.T, tab *Table, h Handle) *Block {
	t.Helper()
	b, err := tab.Block(h)
	if err != nil {
		t.Fatal(err)
	}
	return b
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

func cexp2(t *testing.T, tab *Table, c *contract.Contract) Handle { return onlyEndpoint(t, tab, c) }

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
