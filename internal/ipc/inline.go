package ipc

import (
	"encoding/binary"

	"isle/internal/contract"
)

// Inline messages. A packet is written by the sending core and read by the
// receiving one: for every message, each of its cache lines crosses between
// the cores twice (the sender's write takes the line from the receiver's
// cache, the receiver's read takes it back), and those transfers, not the
// checks, were most of a cross-core round trip. So a message that carries
// no endpoints and no blocks, and whose payload is small, travels in the
// kernel's message slot itself: its sequence number, ID, kind and payload
// in the slot's bytes, and by reference the sending endpoint's Route, which
// is immutable and so stays in the receiving core's cache. The receiving
// core builds the packet from its own free list.

// InlineData is the size of an inline message (header and payload): a
// Port's SendInline must carry this many bytes.
const InlineData = 56

const inlineHeader = 16 // seq u64, msg u16, kind u8, final u8, ack u32 (quota.go)

// MaxInlinePayload is the largest payload sent inline.
const MaxInlinePayload = InlineData - inlineHeader

// Route is where an endpoint's peer is, as the endpoint knows it: the peer
// and the table believed to hold it. It is made once per endpoint and never
// written again, so a core may read one that another core made.
type Route struct {
	to   *Endpoint
	dest *Table
	core int // the core the sender sends to (route.go: a stale one is noticed)
	// The receiving core reads a route on every message: a line of its
	// own keeps it from sharing one with small objects the sending core
	// writes (see lineFill).
	_ [40]byte
}

// Dest returns the table the route's messages are addressed to: the kernel
// delivers them on the core that owns that table's SIP.
func (r *Route) Dest() *Table { return r.dest }

// routeToPeer returns e's route to its peer. A route is never written
// again: when the peer moves (a route update, route.go), e makes a new one.
func (e *Endpoint) routeToPeer() *Route {
	if r := e.route; r == nil || r.dest != e.peerAt.table || r.core != e.peerAt.core {
		e.route = &Route{to: e.peer, dest: e.peerAt.table, core: e.peerAt.core}
	}
	return e.route
}

// Flags of an inline message (its byte 11).
const (
	flagFinal  = 1 << iota // pktClose: the closer was in a final state; pktCredit: the sender's end is gone
	flagOrphan             // pktClose: nobody is charged any more for what the closer sent (quota.go)
)

// sendInline sends a message, close or credit to e's peer inline. Messages
// and closes take the next sequence number; a credit is unsequenced.
//
// The payload (a view of the sender's memory) is copied once on the way:
// to a peer believed on this core, straight into the packet that will be
// queued (localInline); to another core, straight into the kernel's
// message slot after the header (Port.SendInline), and from the slot into
// the packet on the receiving core (Route.packet). docs/ipc.md counts the
// copies.
func (e *Endpoint) sendInline(p Port, kind, flags uint8, msg contract.MsgID, payload []byte) {
	if e.peerAt.core == p.Core() {
		e.localInline(p, kind, flags, msg, payload)
		return
	}
	b := &e.sys.cores[p.Core()].inline
	binary.LittleEndian.PutUint64(b[0:], e.sendSeq)
	binary.LittleEndian.PutUint16(b[8:], uint16(msg))
	b[10] = kind
	b[11] = flags
	binary.LittleEndian.PutUint32(b[12:], e.acked32())
	if kind != pktCredit {
		e.sendSeq++
	}
	p.SendInline(e.peerAt.core, e.routeToPeer(), b[:inlineHeader], payload)
}

// localInline is sendInline to a peer believed on this core: the packet
// that an inline message stands for is made here, uncharged as an inline
// message is. When the port says that the table the peer is believed in is
// this core's (Port.Here), it is delivered at once, here, as the kernel
// would deliver it; otherwise it goes by Port.Send, which follows the
// peer's SIP.
//
// A message to a peer whose SIP waits in a receive posted on it, on this
// core, is received into the posted buffer at once (recvPosted): one copy,
// no packet, as a posted receive across cores (posted.go).
//
// Only e's own fields are read until the port has said that the table is
// this core's: then that table, and the peer if it is there, are this
// core's to touch.
func (e *Endpoint) localInline(p Port, kind, flags uint8, msg contract.MsgID, payload []byte) {
	t := e.peerAt.table
	here := t != nil && p.Here(t)
	if here && kind == pktData && t.post.ep == e.peer {
		h := inlineHead{seq: e.sendSeq, msg: msg, kind: pktData, ack: e.acked32()}
		if e.peer.recvPosted(p, e.routeToPeer(), h, payload) {
			e.sendSeq++
			return
		}
	}
	pkt := e.sys.newPacket(p.Core())
	pkt.to, pkt.seq, pkt.msg, pkt.kind = e.peer, e.sendSeq, msg, kind
	pkt.final = flags&flagFinal != 0
	pkt.orphan = flags&flagOrphan != 0
	pkt.ack = e.acked32()
	pkt.setPayload(payload)
	if kind != pktCredit {
		e.sendSeq++
	}
	if here {
		pkt.addr, pkt.dest = e.peerAt, t
		Deliver(p, pkt)
		return
	}
	route(p, nil, e.peerAt, pkt)
}

// DeliverInline is Deliver for an inline message: data is what the sender
// gave SendInline, header and payload (valid only during the call: it is
// the kernel's message slot, read in place). A message that a receive
// posted on its endpoint may take at once goes from the slot straight into
// the receiver's buffer (posted.go); any other becomes a packet.
func DeliverInline(p Port, r *Route, data []byte) {
	h, payload := readInline(data)
	if h.kind == pktData && r.to.recvPosted(p, r, h, payload) {
		return
	}
	Deliver(p, r.packet(p.Core(), h, payload))
}

// inlineHead is an inline message's header, as the slot holds it.
type inlineHead struct {
	seq   uint64
	msg   contract.MsgID
	kind  uint8
	flags uint8
	ack   uint32
}

// readInline splits an inline message into its header and its payload (a
// view of data).
func readInline(data []byte) (inlineHead, []byte) {
	if len(data) < inlineHeader {
		panic("ipc: short inline message")
	}
	return inlineHead{
		seq:   binary.LittleEndian.Uint64(data[0:]),
		msg:   contract.MsgID(binary.LittleEndian.Uint16(data[8:])),
		kind:  data[10],
		flags: data[11],
		ack:   binary.LittleEndian.Uint32(data[12:]),
	}, data[inlineHeader:]
}

// packet builds, on core, the packet that an inline message stands for.
func (r *Route) packet(core int, h inlineHead, payload []byte) *Packet {
	pkt := r.to.sys.newPacket(core)
	pkt.to, pkt.dest = r.to, r.dest
	pkt.addr = hop{table: r.dest, core: r.core}
	pkt.seq, pkt.msg, pkt.kind, pkt.ack = h.seq, h.msg, h.kind, h.ack
	pkt.final = h.flags&flagFinal != 0
	pkt.orphan = h.flags&flagOrphan != 0
	pkt.setPayload(payload)
	return pkt
}
