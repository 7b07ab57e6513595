// Package urpc is the only memory shared between isle's cores: single-producer
// single-consumer rings of cache-line slots, and doorbells.
//
// The rules of the interface:
//
//   - A Ring has exactly one producer goroutine and one consumer goroutine at a
//     time. TrySend, Send, Notify and Sent belong to the producer; Recv,
//     Release, Empty and Received belong to the consumer. Nothing else may
//     call them.
//   - A slot is one 64-byte, 64-byte-aligned cache line: an 8-byte header word
//     and 56 bytes of payload. The header holds the slot's sequence number (the
//     position+1, so it encodes the lap), the message type, the payload length
//     and whether a reference travels with the message. The producer writes
//     the payload, then publishes the header with a release store; the
//     consumer polls only the header of its next slot and never writes a slot.
//   - Flow control: the consumer publishes how far it has read on a cache line of
//     its own, lazily (Release, once per batch, or when half the ring has been
//     read); the producer keeps a cached copy and re-reads it only when the ring
//     looks full.
//   - A message may carry a reference (any Go pointer) beside its payload. The
//     reference lives in a parallel array written only by the producer and is
//     published by the same header store; the consumer reads it only when the
//     header says there is one, so messages without a reference never touch
//     that array. It carries ownership: after sending, the producer must not
//     touch the referenced object again. The array keeps the object reachable
//     until the producer reuses the slot, one lap later. A reference that is
//     the one sent last on the ring is not written again: the header says
//     "the same", and the consumer takes the one it read last. A stream of
//     messages for one object then moves one cache line each, not two; each
//     side keeps the last reference reachable until another replaces it.
//   - Batching: a producer may send many messages with TrySend and ring the
//     consumer's doorbell once (Notify). A consumer that is about to sleep
//     follows the Doorbell protocol, so no wake-up is lost. A message sent
//     with TrySend is visible to a polling consumer at once, but a sleeping
//     consumer learns of it only from a later Notify (or Send).
//
// Send and receive never allocate, lock or use a Go channel. docs/urpc.md is
// the design record, with measurements; models/urpc.pml is the SPIN model of
// the protocol.
package urpc

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// LineSize is the size of a cache line and of a slot.
const LineSize = 64

// PayloadSize is the number of payload bytes in one slot.
const PayloadSize = LineSize - 8

// Header word layout: | seq (48 bits) | type (8 bits) | ref (1 bit) | same (1 bit) | len (6 bits) |.
// ref: a reference is in the refs array; same: the reference is the last one
// that was in it.
// seq is the slot's position+1 modulo 2^48; a slot whose header holds any
// other sequence number is empty for the consumer at that position. A ring
// would need 2^48 messages in flight to confuse two laps, and it holds at
// most its size.
const (
	lenBits  = 8
	typeBits = 8
	seqShift = lenBits + typeBits
	lenMask  = 0x3f
	seqLow   = 1<<seqShift - 1 // the header bits below seq
	sameFlag = 0x40            // the message's reference is the last one that travelled
	refFlag  = 0x80
)

type slot struct {
	hdr  atomic.Uint64
	data [PayloadSize]byte
}

// gap separates fields written by different CPUs. Rings are not allocated
// on a cache-line boundary, so two groups of fields are kept at least a
// line apart whatever the alignment, and 128 bytes apart so that the
// adjacent-line prefetcher does not pair them either.
type gap [2 * LineSize]byte

// Msg is a received message: a copy of a slot's payload and its reference.
// Data holds the whole payload area of the slot: bytes past Len are left
// over from earlier messages on the same ring and mean nothing.
type Msg struct {
	Type uint8
	Len  uint8
	Data [PayloadSize]byte
	Ref  any
}

// Payload returns the valid bytes of the message's payload.
func (m *Msg) Payload() []byte { return m.Data[:m.Len] }

// Ring is a single-producer single-consumer queue of cache-line slots.
type Ring struct {
	_ gap
	// Producer-local: written and read only by the producer.
	head       uint64 // next position to write; also the number of messages sent
	cachedRead uint64 // the consumer's read position as last seen
	refsHeld   uint64 // entries of refs that are not nil
	// fastEnd bounds TrySend's fast path: positions below it have room by
	// cachedRead and no stale reference to clear (cachedRead+size while
	// refsHeld is 0, else 0), so that path tests one word, not three.
	fastEnd uint64
	sentRef any // the last reference written to refs
	_       [len(gap{}) - 48]byte

	// Consumer-local: written and read only by the consumer.
	tail      uint64 // next position to read; also the number of messages received
	published uint64 // tail as last published in read
	publishAt uint64 // published+half: where Recv publishes by itself
	recvRef   any    // the last reference read from refs
	_         [len(gap{}) - 40]byte

	// Written by the consumer, read by the producer: its own cache line.
	read atomic.Uint64
	_    [len(gap{}) - 8]byte

	// Immutable after construction.
	slots unsafe.Pointer // the first of size slots, 64-byte aligned
	refs  []any          // written by the producer only; published by the slot header
	size  uint64
	mask  uint64
	half  uint64
	bell  *Doorbell // the consumer's doorbell
	_     gap
}

// NewRing returns a ring of size slots (a power of two, at least 2) whose
// consumer sleeps on bell.
func NewRing(size int, bell *Doorbell) *Ring {
	if size < 2 || size&(size-1) != 0 {
		panic(fmt.Sprintf("urpc: ring size %d is not a power of two ≥ 2", size))
	}
	if bell == nil {
		panic("urpc: ring without a doorbell")
	}
	return &Ring{
		slots:     alignedSlots(size),
		fastEnd:   uint64(size),
		publishAt: uint64(size / 2),
		refs:      make([]any, size),
		size:      uint64(size),
		mask:      uint64(size - 1),
		half:      uint64(size / 2),
		bell:      bell,
	}
}

// alignedSlots allocates n slots starting on a 64-byte boundary and returns
// a pointer to the first. The pointer points into a larger allocation, which
// it keeps alive.
func alignedSlots(n int) unsafe.Pointer {
	raw := make([]slot, n+1)
	addr := uintptr(unsafe.Pointer(&raw[0]))
	off := (LineSize - addr%LineSize) % LineSize
	return unsafe.Add(unsafe.Pointer(&raw[0]), off)
}

// seqBits returns the header bits that mark a slot as holding position
// pos: its sequence number, pos+1, in place (the shift drops the bits above
// seq's 48, so no mask is needed).
func seqBits(pos uint64) uint64 { return (pos + 1) << seqShift }

// slot returns the slot of position pos.
func (r *Ring) slot(pos uint64) *slot {
	return (*slot)(unsafe.Add(r.slots, (pos&r.mask)*LineSize))
}

// Size returns the number of slots.
func (r *Ring) Size() int { return int(r.size) }

// Bell returns the consumer's doorbell.
func (r *Ring) Bell() *Doorbell { return r.bell }

// TrySend publishes one message without ringing the doorbell. It reports
// false, sending nothing, when the ring is full. Payloads longer than
// PayloadSize are a caller bug.
//
// The common case — a full-line payload, no reference to place or clear,
// room known from the cached read position, all three in one test of
// fastEnd — takes a path with no call; everything else goes to trySend.
// (The compiler still stores the slice and interface arguments on the
// stack on entry, as it does in any function that makes a call: the cost
// docs/urpc.md measures as what is left.)
func (r *Ring) TrySend(typ uint8, payload []byte, ref any) bool {
	if pos := r.head; len(payload) == PayloadSize && ref == nil && pos < r.fastEnd {
		s := r.slot(pos)
		s.data = [PayloadSize]byte(payload)
		storeRelease(&s.hdr, seqBits(pos)|uint64(typ)<<lenBits|PayloadSize)
		r.head = pos + 1
		return true
	}
	return r.trySend(typ, payload, ref)
}

// room reports whether the producer may write position pos, re-reading
// the consumer's position only when the cached one says the ring is full.
func (r *Ring) room(pos uint64) bool {
	if pos-r.cachedRead >= r.size {
		r.cachedRead = r.read.Load()
		if pos-r.cachedRead >= r.size {
			return false
		}
		r.setFastEnd()
	}
	return true
}

// setFastEnd recomputes fastEnd after cachedRead or refsHeld changed.
func (r *Ring) setFastEnd() {
	r.fastEnd = 0
	if r.refsHeld == 0 {
		r.fastEnd = r.cachedRead + r.size
	}
}

// trySend is TrySend for any message.
func (r *Ring) trySend(typ uint8, payload []byte, ref any) bool {
	n := len(payload)
	if n > PayloadSize {
		panic("urpc: payload larger than a slot")
	}
	pos := r.head
	if !r.room(pos) {
		return false
	}
	s := r.slot(pos)
	if n == PayloadSize {
		s.data = [PayloadSize]byte(payload)
	} else {
		copy(s.data[:], payload)
	}
	r.publish(pos, typ, n, ref)
	return true
}

// putRef stores ref in refs[i], where the last lap's reference may still
// be (the consumer is done with it: dropping it lets the GC have it), and
// returns the header's ref flag.
// sameRef reports whether interface values a and b are the same value: the
// same dynamic type and the same data word. It compares the words rather
// than the values, so it never panics on an uncomparable type; for pointer
// types, which references are, it is identity.
func sameRef(a, b any) bool {
	wa := (*[2]unsafe.Pointer)(unsafe.Pointer(&a))
	wb := (*[2]unsafe.Pointer)(unsafe.Pointer(&b))
	return wa[0] == wb[0] && wa[1] == wb[1]
}

func (r *Ring) putRef(i uint64, ref any) uint64 {
	old := r.refs[i] != nil
	r.refs[i] = ref
	switch {
	case ref == nil && old:
		r.refsHeld--
		if r.refsHeld == 0 {
			r.setFastEnd()
		}
	case ref != nil && !old:
		r.refsHeld++
		r.fastEnd = 0
	}
	if ref == nil {
		return 0
	}
	return refFlag
}

// Send publishes one message and rings the doorbell. It reports false when
// the ring is full.
func (r *Ring) Send(typ uint8, payload []byte, ref any) bool {
	if !r.TrySend(typ, payload, ref) {
		return false
	}
	r.bell.Ring()
	return true
}

// Notify rings the consumer's doorbell after a batch of TrySend.
func (r *Ring) Notify() { r.bell.Ring() }

// Sent returns how many messages the producer has sent (producer only).
func (r *Ring) Sent() uint64 { return r.head }

// Recv copies the next message into m and reports whether there was one.
func (r *Ring) Recv(m *Msg) bool {
	pos := r.tail
	s := r.slot(pos)
	h := s.hdr.Load()
	if h&^seqLow != seqBits(pos) {
		return false
	}
	m.Type = uint8(h >> lenBits)
	m.Len = uint8(h) & lenMask
	m.Data = s.data
	if h&(refFlag|sameFlag) != 0 || m.Ref != nil {
		m.Ref = r.refOf(h, pos)
	}
	r.tail = pos + 1
	if pos+1 >= r.publishAt {
		r.Release()
	}
	return true
}

// refOf returns the reference of the message at position pos, whose header
// is h, and keeps it as the last one read.
func (r *Ring) refOf(h, pos uint64) any {
	switch {
	case h&refFlag != 0:
		r.recvRef = r.refs[pos&r.mask]
		return r.recvRef
	case h&sameFlag != 0:
		return r.recvRef
	}
	return nil
}

// Release publishes the consumer's read position, freeing the slots read so
// far for the producer. The consumer calls it at the end of each batch.
// Until the producer next finds the ring full, the line stays in the
// consumer's cache and Release costs a local store.
func (r *Ring) Release() {
	if r.published != r.tail {
		r.publishPos(r.tail)
	}
}

// publishPos publishes pos as the consumer's read position.
func (r *Ring) publishPos(pos uint64) {
	r.published = pos
	r.publishAt = pos + r.half
	storeRelease(&r.read, pos)
}

// Empty reports whether the consumer's next slot holds no message (consumer only).
func (r *Ring) Empty() bool {
	return r.slot(r.tail).hdr.Load()&^seqLow != seqBits(r.tail)
}

// Received returns how many messages the consumer has received (consumer only).
func (r *Ring) Received() uint64 { return r.tail }

// TrySendPair is TrySend of a payload in two parts, head then body, copied
// into the slot one after the other: a caller that frames a payload (a
// header of its own before a guest's bytes) writes it into the slot
// without assembling it elsewhere first. len(head)+len(body) must not
// exceed PayloadSize.
func (r *Ring) TrySendPair(typ uint8, head, body []byte, ref any) bool {
	n := len(head) + len(body)
	if n > PayloadSize {
		panic("urpc: payload larger than a slot")
	}
	pos := r.head
	if !r.room(pos) {
		return false
	}
	s := r.slot(pos)
	copy(s.data[copy(s.data[:], head):], body)
	r.publish(pos, typ, n, ref)
	return true
}

// SendPair is TrySendPair, then the doorbell.
func (r *Ring) SendPair(typ uint8, head, body []byte, ref any) bool {
	if !r.TrySendPair(typ, head, body, ref) {
		return false
	}
	r.bell.Ring()
	return true
}

// publish places ref for the slot of position pos, whose payload of n
// bytes is written, and publishes its header.
func (r *Ring) publish(pos uint64, typ uint8, n int, ref any) {
	h := seqBits(pos) | uint64(typ)<<lenBits | uint64(n)
	switch {
	case ref != nil && sameRef(ref, r.sentRef):
		// The consumer has it already: the slot's header says so, and the
		// refs line, which the consumer would have to fetch, is not
		// written (a stream of messages for one object moves one line
		// each, not two).
		h |= sameFlag
		if r.refsHeld != 0 {
			r.putRef(pos&r.mask, nil)
		}
	case ref != nil:
		h |= r.putRef(pos&r.mask, ref)
		r.sentRef = ref
	case r.refsHeld != 0:
		r.putRef(pos&r.mask, nil)
	}
	storeRelease(&r.slot(pos).hdr, h)
	r.head = pos + 1
}

// View is a received message read in place: Data is the slot itself, not
// a copy, valid until the consumer's next Release (the producer may write
// the slot again only after that).
type View struct {
	Type uint8
	Len  uint8
	Data *[PayloadSize]byte
	Ref  any
}

// Payload returns the valid bytes of the message's payload.
func (v *View) Payload() []byte { return v.Data[:v.Len] }

// RecvView is Recv without the copy: v.Data points into the next slot. The
// slot stays the consumer's until it calls Release, which it must do after
// it is done with the view (at the end of its batch); RecvView publishes on
// its own, when half the ring has been read, only the positions before the
// slot it returns.
func (r *Ring) RecvView(v *View) bool {
	pos := r.tail
	sl := r.slot(pos)
	h := sl.hdr.Load()
	if h&^seqLow != seqBits(pos) {
		return false
	}
	if pos >= r.publishAt {
		r.publishPos(pos)
	}
	v.Type = uint8(h >> lenBits)
	v.Len = uint8(h) & lenMask
	v.Data = &sl.data
	if h&(refFlag|sameFlag) != 0 || v.Ref != nil {
		v.Ref = r.refOf(h, pos)
	}
	r.tail = pos + 1
	return true
}
