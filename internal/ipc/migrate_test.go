// Tests of endpoints that move: tables migrating between cores, endpoints
// carried in messages, and the order of a channel's messages under both.

package ipc

import (
	"encoding/binary"
	"math/rand"
	"testing"
)

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
