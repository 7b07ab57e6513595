package urpc

import (
	"bytes"
	"testing"

	"pgregory.net/rapid"
)

// refQueue is the deliberately simple reference the ring is checked
// against: a slice of messages, and the one rule of lazy flow control
// written out plainly. The producer may fill only the slots that the
// consumer has released; the consumer releases when asked to, and by itself
// once it has read half a ring since it last did.
type refQueue struct {
	size     int
	msgs     []refMsg // sent, not yet received, oldest first
	sent     int
	received int
	released int // received messages whose slots the producer may reuse
}

type refMsg struct {
	typ     uint8
	payload []byte
	ref     any
}

func (q *refQueue) trySend(m refMsg) bool {
	if q.sent-q.released >= q.size {
		return false
	}
	q.msgs = append(q.msgs, m)
	q.sent++
	return true
}

func (q *refQueue) recv() (refMsg, bool) {
	if len(q.msgs) == 0 {
		return refMsg{}, false
	}
	m := q.msgs[0]
	q.msgs = q.msgs[1:]
	q.received++
	if q.received-q.released >= q.size/2 {
		q.released = q.received
	}
	return m, true
}

// recvView is recv as RecvView does it: its own release, at half a ring,
// frees only the messages before the one it returns.
func (q *refQueue) recvView() (refMsg, bool) {
	if len(q.msgs) == 0 {
		return refMsg{}, false
	}
	if q.received-q.released >= q.size/2 {
		q.released = q.received
	}
	m := q.msgs[0]
	q.msgs = q.msgs[1:]
	q.received++
	return m, true
}

func (q *refQueue) release() { q.released = q.received }

// TestRingMatchesReference drives a ring and the reference with the same
// random operations, one goroutine playing both ends, and requires the same
// answers from both.
func TestRingMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := 1 << rapid.IntRange(1, 5).Draw(t, "log2size")
		r := NewRing(size, NewDoorbell())
		q := &refQueue{size: size}
		var m Msg
		var v View
		refs := []any{nil, new(int), "a string", &refQueue{}}
		t.Repeat(map[string]func(*rapid.T){
			"send": func(t *rapid.T) {
				want := refMsg{
					typ:     rapid.Uint8().Draw(t, "type"),
					payload: rapid.SliceOfN(rapid.Byte(), 0, PayloadSize).Draw(t, "payload"),
					ref:     refs[rapid.IntRange(0, len(refs)-1).Draw(t, "ref")],
				}
				ok, refOK := r.TrySend(want.typ, want.payload, want.ref), q.trySend(want)
				if ok != refOK {
					t.Fatalf("TrySend = %v, reference says %v (sent %d, received %d, released %d, size %d)", ok, refOK, q.sent, q.received, q.released, size)
				}
				if ok && rapid.Bool().Draw(t, "notify") {
					r.Notify()
				}
			},
			"send a line": func(t *rapid.T) { // full, no reference: TrySend's fast path
				want := refMsg{typ: rapid.Uint8().Draw(t, "type"), payload: rapid.SliceOfN(rapid.Byte(), PayloadSize, PayloadSize).Draw(t, "line")}
				if ok, refOK := r.TrySend(want.typ, want.payload, nil), q.trySend(want); ok != refOK {
					t.Fatalf("TrySend of a line = %v, reference says %v (sent %d, received %d, released %d, size %d)", ok, refOK, q.sent, q.received, q.released, size)
				}
			},
			"recv": func(t *rapid.T) {
				ok := r.Recv(&m)
				want, refOK := q.recv()
				if ok != refOK {
					t.Fatalf("Recv = %v, reference says %v", ok, refOK)
				}
				if ok && (m.Type != want.typ || !bytes.Equal(m.Payload(), want.payload) || m.Ref != want.ref) {
					t.Fatalf("Recv got type %d payload %x ref %v, want type %d payload %x ref %v", m.Type, m.Payload(), m.Ref, want.typ, want.payload, want.ref)
				}
			},
			"sendPair": func(t *rapid.T) {
				p := rapid.SliceOfN(rapid.Byte(), 0, PayloadSize).Draw(t, "payload")
				cut := rapid.IntRange(0, len(p)).Draw(t, "cut")
				want := refMsg{typ: rapid.Uint8().Draw(t, "type"), payload: p, ref: refs[rapid.IntRange(0, len(refs)-1).Draw(t, "ref")]}
				if ok, refOK := r.TrySendPair(want.typ, p[:cut], p[cut:], want.ref), q.trySend(want); ok != refOK {
					t.Fatalf("TrySendPair = %v, reference says %v", ok, refOK)
				}
			},
			"recvView": func(t *rapid.T) {
				ok := r.RecvView(&v)
				want, refOK := q.recvView()
				if ok != refOK {
					t.Fatalf("RecvView = %v, reference says %v", ok, refOK)
				}
				if ok && (v.Type != want.typ || !bytes.Equal(v.Payload(), want.payload) || v.Ref != want.ref) {
					t.Fatalf("RecvView got type %d payload %x ref %v, want type %d payload %x ref %v", v.Type, v.Payload(), v.Ref, want.typ, want.payload, want.ref)
				}
			},
			"release": func(t *rapid.T) {
				r.Release()
				q.release()
			},
			"": func(t *rapid.T) {
				if r.Empty() != (len(q.msgs) == 0) {
					t.Fatalf("Empty = %v with %d messages queued", r.Empty(), len(q.msgs))
				}
				if r.Sent() != uint64(q.sent) || r.Received() != uint64(q.received) {
					t.Fatalf("Sent, Received = %d, %d, want %d, %d", r.Sent(), r.Received(), q.sent, q.received)
				}
			},
		})
	})
}
