package ipc

import (
	"encoding/binary"
	"math/rand"
	"testing"

	"isle/internal/contract"
)

// TestRouteFollowsMigratedReceiver: messages to a SIP that moved since its
// peer learned where it was detour through the old core until the first of
// them arrives; the receiver then sends a route update, and later messages
// go direct, all in order.
func TestRouteFollowsMigratedReceiver(t *testing.T) {
	m := newFake(3)
	a, b := m.sys.NewTable("a"), m.sys.NewTable("b")
	st := set.Lookup("Stream")
	simp, sexp, _ := b.NewChannel(m.port(0), st)
	simp = moveTo(t, m, b, a, simp, 0, 1) // the receiver's SIP was on core 1
	m.where[a] = 2                        // and has moved to core 2 since
	item := msgID(st, "Item")
	send := func(from, to int) {
		for i := from; i < to; i++ {
			if err := b.Send(m.port(0), sexp, item, enc(t, st, "Item", uint64(i)), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(0, 10)
	m.settle()
	if m.forwarded != 10 {
		t.Fatalf("%d of 10 messages sent on a stale route detoured, want all", m.forwarded)
	}
	e, _ := b.endpoint(sexp)
	if e.peerAt != (hop{table: a, core: 2}) {
		t.Fatalf("after the detour the sender's route is %v, want table a on core 2", e.peerAt)
	}
	send(10, 20)
	m.settle()
	if m.forwarded != 10 {
		t.Fatalf("%d messages detoured after the route update, want none", m.forwarded-10)
	}
	for i := range 20 {
		if info, body := recvOK(t, a, m.port(2), simp); info.Msg != item || binary.LittleEndian.Uint64(body) != uint64(i) {
			t.Fatalf("message %d: %v %x", i, info, body)
		}
	}
}

// TestRouteUpdateMidStream migrates the receiving SIP between three cores
// while its peer streams to it, with the rings delivered in random
// interleavings, so that route updates change the sender's path while
// earlier messages are still being forwarded: every message arrives once
// and in order (a message sent direct after an update must wait for those
// still on the detour), and once the receiver stays put, the sender's
// route leads straight to it.
func TestRouteUpdateMidStream(t *testing.T) {
	updated, posted, postedAny := 0, 0, 0
	for seed := int64(0); seed < 200; seed++ {
		r := newRouteRun(t, seed)
		for step := 0; step < 400; step++ {
			r.step()
		}
		r.drain()
		r.checkDirect()
		if e, _ := r.a.endpoint(r.simp); e.epoch > 0 {
			updated++
		}
		if r.posted > 0 {
			posted++
		}
		if r.postedAny > 0 {
			postedAny++
		}
	}
	if postedAny < 50 {
		t.Fatalf("messages received at delivery into a posted wait set in only %d of 200 seeds", postedAny)
	}
	if updated < 100 {
		t.Fatalf("route updates in only %d of 200 seeds", updated)
	}
	if posted < 100 {
		t.Fatalf("messages received at delivery into a posted receive in only %d of 200 seeds", posted)
	}
}

// routeRun is one seed of TestRouteUpdateMidStream: table b streams from
// core 0 to table a, whose SIP moves between the fake machine's cores.
type routeRun struct {
	t          *testing.T
	seed       int64
	rng        *rand.Rand
	m          *fakeMachine
	a, b       *Table
	st         *contract.Contract
	simp, sexp Handle
	where, to  int  // a's core; where it is going while inFlight
	inFlight   bool // a's SIP is in a ring on its way to core to
	got        []uint64
	sent       uint64
	payloads   map[uint64][]byte
	// The receiver blocks in recv when it finds nothing (PostRecv), or in
	// recv_any on a set of the stream and another endpoint (PostRecvAny),
	// so that messages are also received at delivery (posted.go); posted
	// counts those, postedAny those of the wait set.
	buf       []byte
	posted    int
	postedAny int
	waitSet   [2]Handle // another endpoint of a's (it never gets a message), the stream's
	asSet     bool      // the receive posted now is the wait set's
}

// sipInRing marks the packet that stands for the migrating SIP itself.
const sipInRing = 0xFF

func newRouteRun(t *testing.T, seed int64) *routeRun {
	const cores = 3
	r := &routeRun{t: t, seed: seed, rng: rand.New(rand.NewSource(seed)), m: newFake(cores), payloads: map[uint64][]byte{}, buf: make([]byte, 256)}
	r.a, r.b = r.m.sys.NewTable("a"), r.m.sys.NewTable("b")
	r.st = set.Lookup("Stream")
	var sexp Handle
	r.simp, sexp, _ = r.a.NewChannel(r.m.port(0), r.st)
	r.sexp = moveTo(t, r.m, r.a, r.b, sexp, 0, 0) // b sends from core 0
	r.m.where[r.a] = 0
	other, _, _ := r.a.NewChannel(r.m.port(0), r.st)
	r.waitSet = [2]Handle{other, r.simp}
	return r
}

func (r *routeRun) send() {
	id, p := streamMsg(r.t, r.st, r.rng, r.sent)
	if err := r.b.Send(r.m.port(0), r.sexp, id, p, nil); err == nil {
		r.payloads[r.sent] = p
		r.sent++
	}
}

// pop delivers the first packet of ring k: the SIP arrives, or a message.
func (r *routeRun) pop(k [2]int) {
	pkt := r.m.rings[k][0]
	r.m.rings[k] = r.m.rings[k][1:]
	if pkt.kind == sipInRing {
		r.where, r.inFlight = r.to, false
		r.m.arrive(r.a)
	} else {
		r.m.deliver(r.m.ports[k[1]], pkt)
	}
}

// step sends, starts a migration, delivers a packet of a random ring or
// receives, at random.
func (r *routeRun) step() {
	switch n := r.rng.Intn(10); {
	case n < 4:
		r.send()
	case n < 5 && !r.inFlight:
		const cores = 3
		r.to = (r.where + 1 + r.rng.Intn(cores-1)) % cores
		r.m.migrate(r.a, r.to)
		k := [2]int{r.where, r.to}
		r.m.rings[k] = append(r.m.rings[k], &Packet{kind: sipInRing})
		r.inFlight = true
	case n < 8:
		for k, q := range r.m.rings {
			if len(q) == 0 || r.rng.Intn(2) == 0 {
				continue
			}
			r.pop(k)
			break
		}
	default:
		if !r.inFlight {
			r.receive(true)
		}
	}
}

// receive takes the message the receiver's posted receive got, if any, then
// every message queued, and, with post, posts a receive again: the SIP
// found nothing and blocks in recv.
func (r *routeRun) receive(post bool) {
	var info RecvInfo
	ok := false
	if r.asSet {
		var i int
		if i, info, ok = r.a.TakePostedAny(r.waitSet[:], r.rng.Intn(2)); ok && i != 1 {
			r.t.Fatalf("seed %d: the posted wait set received on index %d, want the stream's, 1", r.seed, i)
		}
		if ok {
			r.postedAny++
		}
	} else {
		info, ok = r.a.TakePosted(r.simp)
	}
	if ok {
		n := binary.LittleEndian.Uint64(r.buf)
		if want := r.payloads[n]; string(r.buf[:info.Len]) != string(want) {
			r.t.Fatalf("seed %d: posted message %d: payload %x, want %x", r.seed, n, r.buf[:info.Len], want)
		}
		r.got = append(r.got, n)
		r.posted++
	}
	r.got = recvStream(r.t, r.a, r.m.port(r.where), r.simp, r.payloads, r.got)
	r.asSet = false
	if post {
		if r.asSet = r.rng.Intn(2) == 0; r.asSet {
			r.a.PostRecvAny(r.waitSet[:], r.buf)
		} else {
			r.a.PostRecv(r.simp, r.buf)
		}
	}
}

// drain lets everything arrive, the SIP included, and receives it.
func (r *routeRun) drain() {
	for r.inFlight || r.m.queued() > 0 {
		for k, q := range r.m.rings {
			if len(q) > 0 {
				r.pop(k)
			}
		}
	}
	r.receive(true)
}

// checkDirect: once the receiver stays put, one message may still take
// the old path (it brings the update) and later ones go direct; every
// message arrived once, in order.
func (r *routeRun) checkDirect() {
	t, m, seed := r.t, r.m, r.seed
	m.settle() // the receiver's credit: the sender's queue is empty
	n := r.sent
	if r.send(); r.sent != n+1 {
		t.Fatalf("seed %d: a send to an empty queue failed", seed)
	}
	m.settle()
	before := m.forwarded
	for range 5 {
		r.send()
	}
	m.settle()
	if m.forwarded != before {
		t.Fatalf("seed %d: %d messages detoured after the receiver settled on core %d", seed, m.forwarded-before, r.where)
	}
	r.receive(false)
	if m.bad != "" {
		t.Fatalf("seed %d: %s", seed, m.bad)
	}
	if uint64(len(r.got)) != r.sent {
		t.Fatalf("seed %d: received %d of %d", seed, len(r.got), r.sent)
	}
	for k, v := range r.got {
		if v != uint64(k) {
			t.Fatalf("seed %d: item %d is %d", seed, k, v)
		}
	}
}

// TestRouteFollowsAMovedEndpoint: when the receiving endpoint itself moves
// to another table (sent in a message), messages addressed to the old table
// follow it through the table's forwarding entry; the first brings a route
// update naming the new table, and later ones go there direct.
func TestRouteFollowsAMovedEndpoint(t *testing.T) {
	m := newFake(3)
	a, b, c := m.sys.NewTable("a"), m.sys.NewTable("b"), m.sys.NewTable("c")
	car, st := set.Lookup("Carrier"), set.Lookup("Stream")
	simp, sexp, _ := a.NewChannel(m.port(0), st)
	sexp = moveTo(t, m, a, c, sexp, 0, 2) // the sender, in c on core 2
	cimp, cexp, _ := a.NewChannel(m.port(0), car)
	cexp = moveTo(t, m, a, b, cexp, 0, 1)
	// a gives the stream's receiving end to b; the sender still believes it
	// is in a.
	if err := a.Send(m.port(0), cimp, msgID(car, "GiveImp"), enc(t, car, "GiveImp", simp), nil); err != nil {
		t.Fatal(err)
	}
	m.settle()
	_, buf := recvOK(t, b, m.port(1), cexp)
	simp = Handle(binary.LittleEndian.Uint32(buf))
	item := msgID(st, "Item")
	if err := c.Send(m.port(2), sexp, item, enc(t, st, "Item", uint64(0)), nil); err != nil {
		t.Fatal(err)
	}
	m.settle()
	e, _ := c.endpoint(sexp)
	if e.peerAt != (hop{table: b, core: 1}) {
		t.Fatalf("after the first message the sender's route is %+v, want table b on core 1", e.peerAt)
	}
	// Forget a's forwarding entry: a message that still went to a would
	// be admitted there, on core 0, which the fake transport reports
	// (m.bad), as b is on core 1.
	delete(a.gone, e.peer)
	m.where[a], m.where[b], m.where[c] = 0, 1, 2
	if err := c.Send(m.port(2), sexp, item, enc(t, st, "Item", uint64(1)), nil); err != nil {
		t.Fatal(err)
	}
	m.settle()
	if m.bad != "" {
		t.Fatal(m.bad)
	}
	for i := range 2 {
		if info, body := recvOK(t, b, m.port(1), simp); info.Msg != item || binary.LittleEndian.Uint64(body) != uint64(i) {
			t.Fatalf("message %d: %v %x", i, info, body)
		}
	}
}
