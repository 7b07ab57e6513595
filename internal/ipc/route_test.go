package ipc

import (
	"encoding/binary"
	"math/rand"
	"testing"
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
	updated := 0
	for seed := int64(0); seed < 200; seed++ {
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
		send := func() {
			id, p := streamMsg(t, st, rng, sent)
			if err := b.Send(m.port(0), sexp, id, p, nil); err == nil {
				payloads[sent] = p
				sent++
			}
		}
		for step := 0; step < 400; step++ {
			switch r := rng.Intn(10); {
			case r < 4:
				send()
			case r < 5 && !inFlight:
				to := (where + 1 + rng.Intn(cores-1)) % cores
				m.migrate(a, to)
				k := [2]int{where, to}
				m.rings[k] = append(m.rings[k], &Packet{kind: 0xFF}) // the SIP itself
				inFlight = true
				arrive = func() { where = to; inFlight = false; m.arrive(a) }
			case r < 8:
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
				if !inFlight {
					got = recvStream(t, a, m.port(where), simp, payloads, got)
				}
			}
		}
		// Let everything arrive, the SIP included, and drain.
		for inFlight || m.queued() > 0 {
			for k, q := range m.rings {
				if len(q) == 0 {
					continue
				}
				pkt := q[0]
				m.rings[k] = q[1:]
				if pkt.kind == 0xFF {
					arrive()
				} else {
					m.deliver(m.ports[k[1]], pkt)
				}
			}
		}
		got = recvStream(t, a, m.port(where), simp, payloads, got)
		m.settle() // the receiver's credit: the sender's queue is empty
		// One message may still take the old path; it brings the update.
		n := sent
		if send(); sent != n+1 {
			t.Fatalf("seed %d: a send to an empty queue failed", seed)
		}
		m.settle()
		before := m.forwarded
		for range 5 {
			send()
		}
		m.settle()
		if m.forwarded != before {
			t.Fatalf("seed %d: %d messages detoured after the receiver settled on core %d", seed, m.forwarded-before, where)
		}
		got = recvStream(t, a, m.port(where), simp, payloads, got)
		if m.bad != "" {
			t.Fatalf("seed %d: %s", seed, m.bad)
		}
		if uint64(len(got)) != sent {
			t.Fatalf("seed %d: received %d of %d", seed, len(got), sent)
		}
		for k, v := range got {
			if v != uint64(k) {
				t.Fatalf("seed %d: item %d is %d", seed, k, v)
			}
		}
		if e, _ := a.endpoint(simp); e.epoch > 0 {
			updated++
		}
	}
	if updated < 100 {
		t.Fatalf("route updates in only %d of 200 seeds", updated)
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
