package ipc

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// waitSet is crossCore with a second stream from a (core 0) to b (core 1):
// exp2 on a, imp2 on b, so that b can wait on both.
type waitSet struct {
	*crossCore
	exp2, imp2 Handle
}

func newWaitSet(t *testing.T) *waitSet {
	c := newCrossCore(t, 2)
	imp2, exp2, _ := c.a.NewChannel(c.m.port(0), c.st)
	return &waitSet{crossCore: c, exp2: exp2, imp2: moveTo(t, c.m, c.a, c.b, imp2, 0, 1)}
}

// sendOn sends Item(n) on a's end exp and lets it arrive.
func (w *waitSet) sendOn(t *testing.T, exp Handle, n uint64) {
	t.Helper()
	if err := w.a.Send(w.m.port(0), exp, msgID(w.st, "Item"), enc(t, w.st, "Item", n), nil); err != nil {
		t.Fatal(err)
	}
	w.m.settle()
}

// queuedOn returns how many messages wait on b's end h, and how many are
// held early.
func (w *waitSet) queuedOn(h Handle) (int, int) {
	e, _ := w.b.endpoint(h)
	return len(e.queue) - e.qhead, len(e.early)
}

// TestInlineCopiesCrossCoreAny: a small message to a receiver on another
// core that waits in recv_any on a set holding the endpoint is copied
// twice, as one waiting in recv: into the transport's slot from the
// sender's bytes, and from the slot into the receiver's buffer at the
// delivery. No packet is made and nothing is queued on any endpoint of the
// set, the buffer holds the message although the fake transport poisons
// the slot as soon as the delivery returns, and the posted receive reports
// it once, with its index in the set.
func TestInlineCopiesCrossCoreAny(t *testing.T) {
	w := newWaitSet(t)
	_, flow, _ := w.a.Describe(w.exp2)
	hs := []Handle{w.imp, w.imp2}
	buf := make([]byte, 64)
	if _, _, err := w.b.RecvAny(w.m.port(1), hs, 0, buf, nil); err != ErrAgain {
		t.Fatalf("recv_any on empty queues: %v, want ErrAgain", err)
	}
	w.b.PostRecvAny(hs, buf) // and the SIP blocks
	w.m.sys.freePacket(1, &Packet{})
	free := len(w.m.sys.cores[1].free)
	// sendItem's checks are the exporter's end of the first stream's: send
	// on the second by hand, with the same check of the transport.
	payload := enc(t, w.st, "Item", uint64(7))
	if err := w.a.Send(w.m.port(0), w.exp2, msgID(w.st, "Item"), payload, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(w.m.inlineBodies); n != 1 || &w.m.inlineBodies[0][0] != &payload[0] {
		t.Fatalf("the transport was given %d bodies, want 1: the sender's own bytes", n)
	}
	binary.LittleEndian.PutUint64(payload, 99) // the sender's memory, reused
	w.m.settle()
	for _, h := range hs {
		if q, early := w.queuedOn(h); q != 0 || early != 0 {
			t.Fatalf("%d packets queued and %d early on %d, want none: the message went into a packet", q, early, h)
		}
	}
	if n := len(w.m.sys.cores[1].free); n != free {
		t.Fatalf("the receiving core's free packets went from %d to %d: a packet was made", free, n)
	}
	if w.m.woken[w.b] != 1 {
		t.Fatalf("the receiver was woken %d times, want 1", w.m.woken[w.b])
	}
	i, info, ok := w.b.TakePostedAny(hs, 0)
	if !ok || i != 1 {
		t.Fatalf("the posted wait set got %d, %v; want the message on index 1", i, ok)
	}
	want := RecvInfo{Msg: msgID(w.st, "Item"), Len: 8, Flow: flow, Contract: w.st}
	if info != want {
		t.Fatalf("the posted wait set reports %+v, want %+v", info, want)
	}
	if n := binary.LittleEndian.Uint64(buf); n != 7 {
		t.Fatalf("the buffer holds the item %d, want 7", n)
	}
	for _, h := range hs {
		if e, _ := w.b.endpoint(h); e.watched {
			t.Fatalf("endpoint %d is still watched after TakePostedAny", h)
		}
	}
	if _, _, err := w.b.RecvAny(w.m.port(1), hs, 0, buf, nil); err != ErrAgain {
		t.Fatalf("recv_any after the posted one: %v, want ErrAgain (the message is received once)", err)
	}
}

// TestPostedAnyIndexAsRecvAny: the index a posted wait set reports is the
// one RecvAny reports for the same message, the same set and the same
// rotation, queued: with an endpoint named twice in the set, the first
// from the rotation's start.
func TestPostedAnyIndexAsRecvAny(t *testing.T) {
	for start := range 3 {
		w := newWaitSet(t)
		hs := []Handle{w.imp2, w.imp, w.imp2}
		w.sendOn(t, w.exp2, 1) // queued: nobody waits
		buf := make([]byte, 64)
		want, _, err := w.b.RecvAny(w.m.port(1), hs, start, buf, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.b.PostRecvAny(hs, buf)
		w.sendOn(t, w.exp2, 2)
		i, _, ok := w.b.TakePostedAny(hs, start)
		if !ok || i != want || binary.LittleEndian.Uint64(buf) != 2 {
			t.Fatalf("start %d: posted %d, %v, item %d; RecvAny said %d for the item before", start, i, ok, binary.LittleEndian.Uint64(buf), want)
		}
	}
}

// TestPostedAnyFallsBack: where a wait set's posted receive must not take
// a message, it takes the usual path (a packet, queued) and the receives
// after it see what RecvAny would without posting, in rotation order.
func TestPostedAnyFallsBack(t *testing.T) {
	item := msgID(newCrossCore(t, 1).st, "Item")
	for _, tc := range []struct {
		name   string
		cap    int
		only   bool // the set posted is imp alone
		arrive func(*testing.T, *waitSet)
		wake   int
		taken  uint64   // the item the posted receive takes (0: none)
		then   []uint64 // the items RecvAny takes after, from start 0 (MsgClosed's 0 for a close)
	}{
		{"buffer too small", 4, false, func(t *testing.T, w *waitSet) { w.sendOn(t, w.exp2, 7) }, 1, 0, []uint64{7}},
		{"a second message", 64, false, func(t *testing.T, w *waitSet) {
			w.sendOn(t, w.exp2, 1) // taken, posted
			w.sendOn(t, w.exp, 2)  // the receive has its message: queued
		}, 1, 1, []uint64{2}},
		{"woken by a close first", 64, false, func(t *testing.T, w *waitSet) {
			if err := w.a.Close(w.m.port(0), w.exp); err != nil {
				t.Fatal(err)
			}
			w.m.settle()
			w.sendOn(t, w.exp2, 7) // the SIP is runnable: RecvAny decides
		}, 1, 0, []uint64{0, 7}},
		{"an endpoint outside the set", 64, true, func(t *testing.T, w *waitSet) { w.sendOn(t, w.exp2, 7) }, 0, 0, []uint64{7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWaitSet(t)
			hs := []Handle{w.imp, w.imp2}
			posted := hs
			if tc.only {
				posted = hs[:1]
			}
			buf := make([]byte, tc.cap)
			w.b.PostRecvAny(posted, buf)
			tc.arrive(t, w)
			if w.m.woken[w.b] != tc.wake {
				t.Fatalf("the receiver was woken %d times, want %d", w.m.woken[w.b], tc.wake)
			}
			i, info, ok := w.b.TakePostedAny(posted, 0)
			switch {
			case tc.taken == 0 && ok:
				t.Fatalf("the posted wait set took %+v on %d", info, i)
			case tc.taken == 0 && !bytes.Equal(buf, make([]byte, tc.cap)):
				t.Fatalf("the posted buffer was written: %x", buf)
			case tc.taken != 0 && (!ok || binary.LittleEndian.Uint64(buf) != tc.taken):
				t.Fatalf("the posted wait set got %v, %x; want the item %d", ok, buf, tc.taken)
			}
			start := 0
			for _, n := range tc.then {
				rb := make([]byte, 64)
				i, info, err := w.b.RecvAny(w.m.port(1), hs, start, rb, nil)
				if err != nil {
					t.Fatalf("recv_any: %v, want the item %d", err, n)
				}
				if got := binary.LittleEndian.Uint64(rb); n == 0 && info.Msg != MsgClosed || n != 0 && (info.Msg != item || got != n) {
					t.Fatalf("recv_any from %d got %+v (%d) on %d, want the item %d (0: Closed)", start, info, got, i, n)
				}
				start = i + 1
			}
			for _, h := range hs {
				if q, early := w.queuedOn(h); q != 0 || early != 0 {
					t.Fatalf("%d messages left queued and %d early on %d", q, early, h)
				}
			}
		})
	}
}
