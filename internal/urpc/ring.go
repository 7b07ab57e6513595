// Package urpc is the only memory shared between isle's cores: single-producer
// single-consumer rings of cache-line slots, and doorbells.
//
// The rules of the interface:
//
//   - A Ring has exactly one producer goroutine and one consumer goroutine at a
//     time. Send, TrySend and Pending belong to the producer; Recv, Release and
//     Empty belong to the consumer. Nothing else may call them.
//   - A slot is one 64-byte, 64-byte-aligned cache line: an 8-byte header word
//     and 56 bytes of payload. The header holds the slot's sequence number (the
//     position+1, so it encodes the lap), the message type and the payload length.
//     The producer writes the payload, then publishes the header with an atomic
//     store; the consumer polls only the header of its next slot and never
//     writes a slot.
//   - Flow control: the consumer publishes how far it has read on a cache line of
//     its own, lazily (Release, once per batch, or when half the ring has been
//     read); the producer keeps a cached copy and re-reads it only when the ring
//     looks full.
//   - A message may carry a reference (any Go pointer) beside its payload. The
//     reference lives in a parallel array written only by the producer and is
//     published by the same header store. It carries ownership: after sending,
//     the producer must not touch the referenced object again.
//   - Batching: a producer may send many messages and ring the consumer's
//     doorbell once (Notify). A consumer that is about to sleep follows the
//     Doorbell protocol, so no wake-up is lost.
//
// Send and receive never allocate, lock or use a Go channel.
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

// Header word layout: | seq (48 bits) | type (8 bits) | len (8 bits) |.
const (
	lenBits  = 8
	typeBits = 8
	seqShift = lenBits + typeBits
	seqMask  = 1<<(64-seqShift) - 1
)

type slot struct {
	hdr  atomic.Uint64
	data [PayloadSize]byte
}

type pad [LineSize]byte

// Msg is a received message: a copy of a slot's payload and its reference.
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
	_ pad
	// Producer-local: written and read only by the producer.
	head       uint64 // next position to write
	cachedRead uint64 // the consumer's read position as last seen
	sent       uint64 // messages sent, for statistics
	_          [LineSize - 24]byte

	// Consumer-local: written and read only by the consumer.
	tail      uint64 // next position to read
	published uint64 // tail as last published in read
	received  uint64 // messages received, for statistics
	_         [LineSize - 24]byte

	// Written by the consumer, read by the producer: its own cache line.
	read atomic.Uint64
	_    [LineSize - 8]byte

	// Immutable after construction.
	slots []slot
	refs  []any // written by the producer only; published by the slot header
	mask  uint64
	half  uint64
	bell  *Doorbell // the consumer's doorbell
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
		slots: alignedSlots(size),
		refs:  make([]any, size),
		mask:  uint64(size - 1),
		half:  uint64(size / 2),
		bell:  bell,
	}
}

// alignedSlots allocates n slots starting on a 64-byte boundary. The slice
// points into a larger allocation, which it keeps alive.
func alignedSlots(n int) []slot {
	raw := make([]slot, n+1)
	addr := uintptr(unsafe.Pointer(&raw[0]))
	off := (LineSize - addr%LineSize) % LineSize
	return unsafe.Slice((*slot)(unsafe.Add(unsafe.Pointer(&raw[0]), off)), n)
}

// Size returns the number of slots.
func (r *Ring) Size() int { return len(r.slots) }

// Bell returns the consumer's doorbell.
func (r *Ring) Bell() *Doorbell { return r.bell }

// TrySend publishes one message without ringing the doorbell. It reports
// false, sending nothing, when the ring is full. Payloads longer than
// PayloadSize are a caller bug.
func (r *Ring) TrySend(typ uint8, payload []byte, ref any) bool {
	if len(payload) > PayloadSize {
		panic("urpc: payload larger than a slot")
	}
	pos := r.head
	if pos-r.cachedRead >= uint64(len(r.slots)) {
		r.cachedRead = r.read.Load()
		if pos-r.cachedRead >= uint64(len(r.slots)) {
			return false
		}
	}
	i := pos & r.mask
	s := &r.slots[i]
	copy(s.data[:], payload)
	r.refs[i] = ref
	s.hdr.Store(((pos+1)&seqMask)<<seqShift | uint64(typ)<<lenBits | uint64(len(payload)))
	r.head = pos + 1
	r.sent++
	return true
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
func (r *Ring) Sent() uint64 { return r.sent }

// Recv copies the next message into m and reports whether there was one.
func (r *Ring) Recv(m *Msg) bool {
	pos := r.tail
	i := pos & r.mask
	s := &r.slots[i]
	h := s.hdr.Load()
	if h>>seqShift != (pos+1)&seqMask {
		return false
	}
	m.Type = uint8(h >> lenBits)
	m.Len = uint8(h)
	copy(m.Data[:m.Len], s.data[:m.Len])
	m.Ref = r.refs[i]
	r.tail = pos + 1
	r.received++
	if r.tail-r.published >= r.half {
		r.Release()
	}
	return true
}

// Release publishes the consumer's read position, freeing the slots read so
// far for the producer. The consumer calls it at the end of each batch.
func (r *Ring) Release() {
	if r.published != r.tail {
		r.published = r.tail
		r.read.Store(r.tail)
	}
}

// Empty reports whether the consumer's next slot holds no message (consumer only).
func (r *Ring) Empty() bool {
	return r.slots[r.tail&r.mask].hdr.Load()>>seqShift != (r.tail+1)&seqMask
}

// Received returns how many messages the consumer has received (consumer only).
func (r *Ring) Received() uint64 { return r.received }
