package ipc

import (
	"encoding/binary"
	"unsafe"

	"isle/internal/contract"
)

// MsgClosed is the message ID a receive reports once the peer endpoint is
// closed and every message it sent before has been received: the implicit
// `closed` message. It is outside every contract's range of IDs.
const MsgClosed contract.MsgID = 0xFFFF

// Endpoint is one end of a channel.
//
// Ownership: sys, c, side and peer are immutable. Every other field is owned
// by the core that holds the endpoint (through a table, or through a packet
// queued on that core) and moves with it; the peer's fields are never
// touched from here: everything to the peer goes by Packet.
type Endpoint struct {
	sys  *System
	c    *contract.Contract
	side contract.Side
	peer *Endpoint // nil for a listener

	state    contract.StateID
	table    *Table    // the owner; nil while in a packet
	handle   Handle    // the handle in table
	watched  bool      // the owner's SIP waits for this endpoint
	peerAt   hop       // where the peer was last known to live (routing)
	route    *Route    // peerAt as inline messages carry it; made on first use
	sendSeq  uint64    // sequence number of the next packet to the peer
	recvSeq  uint64    // sequence number of the next packet to admit
	queue    []*Packet // admitted, not yet received: queue[qhead:]
	qhead    int
	early    []*Packet // arrived ahead of their turn, by seq
	closed   bool      // this end is closed: packets to it are dropped
	peerGone bool      // the peer's close was admitted
	orphaned bool      // the peer closed charged to nobody: e's payer pays for e's queue (quota.go)
	breach   bool      // the peer closed in a state that is not final

	// Quotas (quota.go). As a sender: the peer has received every message
	// before acked; charges are the packets after it that cost something,
	// summed in queuedBytes and queuedHandles and charged to payer (the
	// table that holds e, or held it when e closed; nil in flight).
	acked         uint64
	charges       []charge
	queuedBytes   int64
	queuedHandles int
	payer         *Table
	// As a receiver: the acknowledgement last sent, and bytes taken since.
	credited   uint64
	uncredited int64

	// Routes (route.go): where e last told its peer it lives, how many
	// route updates e has sent, and the latest of the peer's e applied.
	told      hop
	epoch     uint32
	peerEpoch uint32

	// The fields above make 256 bytes, a multiple of a cache line (see
	// lineFill; TestLineSized keeps it so): the two endpoints of a channel
	// are made together, so they would otherwise share a line that the
	// sending core writes (sendSeq, state) and the receiving core writes
	// (queue, recvSeq) on every message.
}

// Contract returns the endpoint's contract.
func (e *Endpoint) Contract() *contract.Contract { return e.c }

// Side returns which end the endpoint is.
func (e *Endpoint) Side() contract.Side { return e.side }

// State returns the endpoint's protocol state (for its owning core).
func (e *Endpoint) State() contract.StateID { return e.state }

// Packet kinds.
const (
	pktData    uint8 = iota + 1 // a message
	pktClose                    // the sender's endpoint closed
	pktConnect                  // a name service connection to a listener: unsequenced
	pktCredit                   // an acknowledgement only (quota.go): unsequenced; final: the sender's end is gone
	pktRoute                    // a route update (route.go): unsequenced, seq is the update's epoch
	pktOrphan                   // after a close: nobody is charged any more for what came before (quota.go)
)

// Packet is one message between endpoints, with whatever it carries. It is
// owned by the sending core until Port.Send, then by the packet's path, then
// by the receiving endpoint's core.
type Packet struct {
	to      *Endpoint
	dest    *Table // where to is believed to live; forwarded from there
	seq     uint64
	kind    uint8
	final   bool   // pktClose: the closer was in a final state
	orphan  bool   // pktClose: nobody is charged any more for what the closer sent (quota.go)
	ack     uint32 // the low bits of the sender's acknowledgement (quota.go)
	addr    hop    // where the sender addressed it (route.go)
	at      hop    // pktRoute: where the sender lives now
	from    *Table // a packet charged to its sender: the sender's table when it was sent
	msg     contract.MsgID
	payload []byte
	refs    []contract.EndpointRef // where the endpoint fields are in payload
	eps     []*Endpoint            // the endpoints moving, in field order
	blocks  []*Block               // the blocks moving
	big     []byte                 // payload storage past inline, kept when the packet is reused
	inline  [48]byte
	_       [packetFill]byte // whole cache lines (lineFill)
}

// packetFill brings a Packet to 256 bytes.
const packetFill = 8

// maxFreePackets bounds a core's free list of packets.
const maxFreePackets = 256

// newPacket takes a packet from this core's free list, or makes one.
func (s *System) newPacket(core int) *Packet {
	cs := &s.cores[core]
	if n := len(cs.free); n > 0 {
		pkt := cs.free[n-1]
		cs.free[n-1] = nil
		cs.free = cs.free[:n-1]
		return pkt
	}
	return &Packet{}
}

// freePacket returns a received packet to this core's free list. Packets
// move between cores with their messages, so a core that receives more
// than it sends keeps at most maxFreePackets of them.
func (s *System) freePacket(core int, pkt *Packet) {
	cs := &s.cores[core]
	if len(cs.free) >= maxFreePackets {
		return
	}
	big := pkt.big
	*pkt = Packet{}
	if cap(big) <= 4096 {
		pkt.big = big[:0]
	}
	cs.free = append(cs.free, pkt)
}

// setPayload copies b into the packet's own storage.
func (pkt *Packet) setPayload(b []byte) {
	if len(b) <= len(pkt.inline) {
		pkt.payload = pkt.inline[:len(b)]
	} else {
		if cap(pkt.big) < len(b) {
			pkt.big = make([]byte, len(b))
		}
		pkt.payload = pkt.big[:len(b)]
	}
	copy(pkt.payload, b)
}

// sameContract reports whether a and b are the same contract, compiled once
// or separately from the same source.
func sameContract(a, b *contract.Contract) bool {
	return a == b || a.Fingerprint() == b.Fingerprint()
}

// NewChannel creates a channel of contract c with both endpoints in t,
// returning the importer's and the exporter's handles.
func (t *Table) NewChannel(p Port, c *contract.Contract) (imp, exp Handle, err error) {
	if t.dead || !t.room(2, 0) {
		return 0, 0, ErrQuota
	}
	ie, ee := newPair(t.sys, c, t, p.Core())
	return t.put(ie, nil), t.put(ee, nil), nil
}

func newPair(sys *System, c *contract.Contract, t *Table, core int) (imp, exp *Endpoint) {
	at := hop{table: t, core: core}
	imp = &Endpoint{sys: sys, c: c, side: contract.Importer, state: c.Initial(), peerAt: at, told: at}
	exp = &Endpoint{sys: sys, c: c, side: contract.Exporter, state: c.Initial(), peerAt: at, told: at}
	imp.peer, exp.peer = exp, imp
	return imp, exp
}

// Send sends message msg with payload and the attached blocks on endpoint
// h. It checks everything first and changes nothing when it refuses; then
// the endpoints named in the payload and the blocks leave t.
func (t *Table) Send(p Port, h Handle, msg contract.MsgID, payload []byte, blocks []Handle) error {
	return t.send(p, h, msg, payload, blocks, nil) // inlined: a call of send
}

// SendTraced is Send for a trace: it returns too h's contract (nil when h
// is not an endpoint) and the flow id the message carries (Describe's),
// from the one lookup of h that the send makes.
func (t *Table) SendTraced(p Port, h Handle, msg contract.MsgID, payload []byte, blocks []Handle) (*contract.Contract, uint64, error) {
	var d described
	err := t.send(p, h, msg, payload, blocks, &d)
	return d.c, d.flow, err
}

// described is what SendTraced returns of the endpoint it sent on.
type described struct {
	c    *contract.Contract
	flow uint64
}

// send is Send; d, when not nil, is given the endpoint's contract and the
// message's flow id (SendTraced).
func (t *Table) send(p Port, h Handle, msg contract.MsgID, payload []byte, blocks []Handle, d *described) error {
	e, err := t.endpoint(h)
	if err != nil {
		return err
	}
	if d != nil {
		d.c = e.c
		if e.peer != nil {
			d.flow = flowID(e.peer, e.sendSeq)
		}
	}
	if e.peer == nil {
		return ErrWrongType // a listener only receives
	}
	if e.peerGone {
		return ErrClosed
	}
	next, ok := e.c.Step(e.state, e.side, msg)
	if !ok {
		return ErrNotAllowed
	}
	lim := &t.sys.limits
	if len(payload) > lim.MaxPayload || len(blocks) > lim.MaxBlocks {
		return ErrTooBig
	}
	m := e.c.Message(msg)
	var scratch [8]contract.EndpointRef
	refs, ferr := m.CheckFields(payload, scratch[:0])
	if ferr != nil {
		return ErrBadFields
	}
	// Every endpoint field: an endpoint of t, of the field's contract and
	// side, not the sending endpoint or its peer, named once.
	for i, r := range refs {
		ce, err := t.endpoint(r.Handle)
		if err != nil {
			return err
		}
		f := m.Field(r.Field)
		if ce == e || ce == e.peer || ce.side != f.Side || !sameContract(ce.c, f.Contract) {
			return ErrWrongType
		}
		for _, q := range refs[:i] {
			if q.Handle == r.Handle {
				return ErrBadHandle
			}
		}
	}
	for i, bh := range blocks {
		if _, err := t.block(bh); err != nil {
			return err
		}
		for _, q := range blocks[:i] {
			if q == bh {
				return ErrBadHandle
			}
		}
	}
	// Quotas (quota.go): the queue's bound, and the payload's bytes until
	// received (blocks and endpoints move from the table to the queue).
	inline := len(refs) == 0 && len(blocks) == 0 && len(payload) <= MaxInlinePayload
	if e.queueFull() || !inline && !t.room(0, int64(len(payload))) {
		return ErrQuota
	}

	// Commit: nothing below fails.
	if inline {
		e.state = next
		e.sendInline(p, pktData, 0, msg, payload)
		return nil
	}
	e.state = next
	t.sendPacket(p, e, msg, payload, refs, blocks)
	return nil
}

// sendPacket is Send's commit for a message that travels as a packet: the
// endpoints and blocks leave t, and the message is charged to e until the
// peer receives it.
func (t *Table) sendPacket(p Port, e *Endpoint, msg contract.MsgID, payload []byte, refs []contract.EndpointRef, blocks []Handle) {
	pkt := t.sys.newPacket(p.Core())
	pkt.to, pkt.seq, pkt.kind, pkt.msg, pkt.from = e.peer, e.sendSeq, pktData, msg, t
	pkt.ack = e.acked32()
	e.sendSeq++
	pkt.setPayload(payload)
	bytes, handles := int64(len(payload)), len(refs)+len(blocks)
	if len(refs) > 0 {
		pkt.refs = append([]contract.EndpointRef(nil), refs...)
		pkt.eps = make([]*Endpoint, len(refs))
		for i, r := range refs {
			ce, _ := t.endpoint(r.Handle)
			t.remove(r.Handle)
			ce.setPayer(nil) // its charges travel in this message's
			bytes += ce.queuedBytes
			handles += ce.queuedHandles
			pkt.eps[i] = ce
		}
	}
	if len(blocks) > 0 {
		pkt.blocks = make([]*Block, len(blocks))
		for i, bh := range blocks {
			b, _ := t.block(bh)
			t.remove(bh)
			bytes += int64(len(b.data))
			pkt.blocks[i] = b
		}
	}
	e.charge(pkt.seq, bytes, handles)
	route(p, t, e.peerAt, pkt)
}

// hop is where an endpoint lives, as far as a sender knows: the table
// that holds it (directly, or in a packet queued on one of its endpoints),
// and a core that table's SIP has been on. The kernel carries a packet to
// the core that owns the table's SIP now, following the SIP's migrations
// (kernel.SIPDeliverable); the table says where endpoints that left it went.
type hop struct {
	table *Table
	core  int
}

// route sends pkt toward the table of hop to, from table from (nil for a
// packet that carries no endpoints), recording in from that the endpoints
// it carries went that way.
func route(p Port, from *Table, to hop, pkt *Packet) {
	if pkt.dest == nil {
		pkt.addr = to // where the sender addressed it (a forward keeps it)
	}
	pkt.dest = to.table
	if from != nil && from != to.table && len(pkt.eps) > 0 {
		gone := from.goneMap()
		pkt.carried(func(ce *Endpoint) { gone[ce] = to })
	}
	p.Send(to.core, pkt)
}

// carried calls fn for every endpoint that travels with pkt: those in its
// fields and, recursively, those in packets queued on them. Ownership is
// linear, so each is visited once.
func (pkt *Packet) carried(fn func(*Endpoint)) {
	for _, ce := range pkt.eps {
		fn(ce)
		ce.carried(fn)
	}
}

// carried calls fn for every endpoint in the packets queued on e,
// recursively: they live wherever e lives.
func (e *Endpoint) carried(fn func(*Endpoint)) {
	for _, q := range e.queue[e.qhead:] {
		q.carried(fn)
	}
	for _, q := range e.early {
		q.carried(fn)
	}
}

// Deliver is called by the core that owns the SIP of the packet's
// destination table (Packet.Dest). It forwards the packet if its endpoint
// has left that table, and otherwise admits it in sequence, waking the
// table's SIP if it waits for the endpoint.
func Deliver(p Port, pkt *Packet) {
	e := pkt.to
	if t := pkt.dest; t != nil && len(t.gone) > 0 {
		if to, ok := t.gone[e]; ok {
			route(p, t, to, pkt)
			return
		}
		if len(pkt.eps) > 0 {
			pkt.carried(func(ce *Endpoint) { delete(t.gone, ce) }) // they live here now
		}
	}
	e.admit(p, pkt)
}

// Dest returns the table the packet is addressed to: the kernel delivers
// it on the core that owns that table's SIP.
func (pkt *Packet) Dest() *Table { return pkt.dest }

func (e *Endpoint) admit(p Port, pkt *Packet) {
	if pkt.kind != pktConnect {
		e.admitAck(pkt)
		if pkt.kind == pktRoute {
			e.admitRoute(pkt) // first: an update of e's own goes the new way
		}
		e.noteArrival(p, pkt.addr, pkt.dest)
	}
	switch {
	case pkt.kind == pktCredit || pkt.kind == pktRoute:
		e.sys.freePacket(p.Core(), pkt)
		return
	case e.closed:
		pkt.destroy(p)
		return
	case pkt.kind == pktConnect:
		e.queue = appendPacket(e.queue, pkt)
	case pkt.seq != e.recvSeq:
		i := len(e.early)
		e.early = append(e.early, nil)
		for i > 0 && e.early[i-1].seq > pkt.seq {
			e.early[i] = e.early[i-1]
			i--
		}
		e.early[i] = pkt
		return
	default:
		e.take(pkt)
		for len(e.early) > 0 && e.early[0].seq == e.recvSeq {
			next := e.early[0]
			e.early = e.early[1:]
			e.take(next)
		}
	}
	if e.watched && e.table != nil && e.table.blocked {
		e.table.blocked = false
		p.Wake(e.table)
	}
}

// appendPacket appends to an endpoint's queue, which starts as a line of
// its own (lineQueue).
func appendPacket(q []*Packet, pkt *Packet) []*Packet {
	if cap(q) == 0 {
		q = make([]*Packet, 0, lineQueue)
	}
	return append(q, pkt)
}

// take admits the packet whose turn it is.
func (e *Endpoint) take(pkt *Packet) {
	e.recvSeq++
	if pkt.kind == pktClose {
		e.peerGone = true
		e.breach = !pkt.final
		if pkt.orphan {
			e.adopt()
		}
		return
	}
	if pkt.kind == pktOrphan {
		e.adopt()
		return
	}
	e.queue = appendPacket(e.queue, pkt)
}

// destroy drops a packet nobody will receive: the endpoints it carries are
// closed (their peers see Closed) and its blocks freed.
func (pkt *Packet) destroy(p Port) {
	for _, ce := range pkt.eps {
		ce.close(p)
	}
	pkt.eps, pkt.blocks = nil, nil
}

// close closes an endpoint that has left its table: queued packets are
// dropped and the peer is told, after everything sent before.
func (e *Endpoint) close(p Port) {
	if e.closed {
		return
	}
	e.closed = true
	for _, q := range e.queue[e.qhead:] {
		q.destroy(p)
	}
	for _, q := range e.early {
		q.destroy(p)
	}
	e.queue, e.qhead, e.early = nil, 0, nil
	if e.peer == nil {
		return
	}
	if e.peerGone {
		// The peer closed first and may still be charged for what it sent
		// here (quota.go): everything is received or dropped now. What e
		// sent, the peer dropped; what e adopted, e dropped.
		e.dropCharges()
		if e.credited != e.recvSeq {
			e.sendInline(p, pktCredit, flagFinal, 0, nil)
		}
		return
	}
	var flags uint8
	if e.c.Final(e.state) {
		flags |= flagFinal
	}
	if e.payer == nil || e.payer.dead {
		flags |= flagOrphan // closed in a dropped packet, or its SIP ended
	}
	e.sendInline(p, pktClose, flags, 0, nil)
}

// RecvInfo describes a received message.
type RecvInfo struct {
	Msg    contract.MsgID // MsgClosed once the peer is closed
	Len    int            // payload bytes (needed size on ErrTooBig)
	Blocks int            // blocks attached (needed room on ErrTooBig)
	Breach bool           // with MsgClosed: the peer closed in a state that is not final
	Flow   uint64         // the message's flow id (flowID), as Describe gave its sender
	// Contract is the endpoint's contract, which names Msg for a trace.
	Contract *contract.Contract
}

// flowID names message seq to endpoint e for a trace: the same number at
// the send (e is the sender's peer) and at the receive, so that a trace
// draws an arrow from one to the other. An endpoint's address is stable
// while it lives (Go's heap does not move objects) and the sequence
// numbers of one endpoint's messages differ; an address reused after an
// endpoint is freed starts its sequence again, so two ids may meet, which
// costs a trace a wrong arrow, nothing else. The id has 62 bits and is not
// 0 (a trace keeps the top two for flows of its own, and 0 for none).
func flowID(e *Endpoint, seq uint64) uint64 {
	return max((uint64(uintptr(unsafe.Pointer(e)))^seq*0x9E3779B97F4A7C15)&(1<<62-1), 1)
}

// Describe returns, for a trace, endpoint h's contract and the flow id
// that the next message sent on h will carry; false when h is not an
// endpoint.
func (t *Table) Describe(h Handle) (c *contract.Contract, flow uint64, ok bool) {
	e, err := t.endpoint(h)
	if err != nil {
		return nil, 0, false
	}
	if e.peer != nil {
		flow = flowID(e.peer, e.sendSeq)
	}
	return e.c, flow, true
}

// ready reports whether a receive on e would return at once.
func (e *Endpoint) ready() bool { return e.qhead < len(e.queue) || e.peerGone }

// Recv takes the next message on endpoint h: its payload is copied into buf
// (with endpoint fields rewritten to new handles in t), the handles of its
// blocks into blocks. With nothing queued it returns ErrAgain; once the peer
// is closed and the queue is empty, MsgClosed. On ErrTooBig (buf or blocks
// too small; info says how much is needed) and ErrQuota the message stays
// queued.
func (t *Table) Recv(p Port, h Handle, buf []byte, blocks []Handle) (RecvInfo, error) {
	e, err := t.endpoint(h)
	if err != nil {
		return RecvInfo{}, err
	}
	return t.recv(p, e, buf, blocks)
}

func (t *Table) recv(p Port, e *Endpoint, buf []byte, blocks []Handle) (RecvInfo, error) {
	if e.qhead == len(e.queue) {
		e.creditIfOwed(p) // the receiver may block now: the sender may be waiting for room
		if e.peerGone {
			return RecvInfo{Msg: MsgClosed, Breach: e.breach}, nil
		}
		return RecvInfo{}, ErrAgain
	}
	pkt := e.queue[e.qhead]
	info := RecvInfo{Msg: pkt.msg, Len: len(pkt.payload), Blocks: len(pkt.blocks), Flow: flowID(e, pkt.seq), Contract: e.c}
	if len(buf) < len(pkt.payload) || len(blocks) < len(pkt.blocks) {
		return info, ErrTooBig
	}
	var bytes, carried int64
	for _, b := range pkt.blocks {
		bytes += int64(len(b.data))
	}
	handles := len(pkt.eps) + len(pkt.blocks)
	for _, ce := range pkt.eps { // their queued messages become t's charges
		carried += ce.queuedBytes
		handles += ce.queuedHandles
	}
	// t may be charged for this packet already (quota.go): it adopted
	// it, or sent it from an endpoint that is still here (directly, or in
	// a packet queued here: no forwarding entry), on this core.
	sent := pkt.from == t && t.gone[e.peer] == (hop{})
	switch {
	case e.orphaned: // taking it turns the adopted charge into what it brings
		handles -= len(pkt.eps) + len(pkt.blocks)
		bytes = 0
	case sent: // taking it moves the charge from queued to owned
		handles, bytes, carried = 0, 0, 0
	}
	if t.dead || !t.room(handles, bytes+carried) {
		return info, ErrQuota
	}
	from := e.side.Peer()
	if pkt.kind == pktConnect {
		from = contract.Importer
	}
	next, ok := e.c.Step(e.state, from, pkt.msg)
	if !ok {
		panic("ipc: a received message breaks the contract the sender was checked against")
	}
	e.state = next
	e.queue[e.qhead] = nil
	e.qhead++
	if e.qhead == len(e.queue) {
		e.queue, e.qhead = e.queue[:0], 0
	}
	copy(buf, pkt.payload)
	for i, ce := range pkt.eps {
		nh := t.put(ce, nil)
		binary.LittleEndian.PutUint32(buf[pkt.refs[i].Offset:], uint32(nh))
	}
	for i, b := range pkt.blocks {
		blocks[i] = t.put(nil, b)
	}
	if e.orphaned {
		e.uncharge(pkt.cost())
	}
	t.sys.freePacket(p.Core(), pkt)
	if sent {
		e.peer.ackHere(e.acked32Full())
	} else {
		e.received(p, int64(info.Len)+bytes)
	}
	return info, nil
}

// RecvAny is a receive over a wait set: it takes the next message of the
// first endpoint in hs, from start on and wrapping around, that has one (or
// whose peer is closed), and returns that endpoint's index in hs.
func (t *Table) RecvAny(p Port, hs []Handle, start int, buf []byte, blocks []Handle) (int, RecvInfo, error) {
	for _, h := range hs {
		if _, err := t.endpoint(h); err != nil {
			return -1, RecvInfo{}, err
		}
	}
	n := len(hs)
	for k := 0; k < n; k++ {
		i := (start + k) % n
		e, _ := t.endpoint(hs[i])
		if e.ready() {
			info, err := t.recv(p, e, buf, blocks)
			return i, info, err
		}
	}
	for _, h := range hs {
		e, _ := t.endpoint(h)
		e.creditIfOwed(p) // the receiver may block now (quota.go)
	}
	return -1, RecvInfo{}, ErrAgain
}

// Watch marks the endpoints of hs as waited for and the table as blocked,
// before the SIP blocks: a packet admitted to any of them wakes the SIP.
// Bad handles are skipped (RecvAny reports them).
func (t *Table) Watch(hs ...Handle) {
	for _, h := range hs {
		if e, err := t.endpoint(h); err == nil {
			e.watched = true
		}
	}
	t.blocked = true
}

// Unwatch undoes Watch after the SIP has run again.
func (t *Table) Unwatch(hs ...Handle) {
	for _, h := range hs {
		if e, err := t.endpoint(h); err == nil {
			e.watched = false
		}
	}
	t.blocked = false
}

// EndpointState returns the protocol state of the endpoint h names, for a
// holder that carries the endpoint elsewhere (the cluster's gateway).
func (t *Table) EndpointState(h Handle) (contract.StateID, error) {
	e, err := t.endpoint(h)
	if err != nil {
		return 0, err
	}
	return e.state, nil
}

// NewChannelAt is NewChannel with both endpoints in state s of c, not its
// initial state: the cluster's gateway continues there a channel whose
// other end was carried in from another node in that state.
func (t *Table) NewChannelAt(p Port, c *contract.Contract, s contract.StateID) (imp, exp Handle, err error) {
	if int(s) >= c.NumStates() {
		return 0, 0, ErrInvalid
	}
	if t.dead || !t.room(2, 0) {
		return 0, 0, ErrQuota
	}
	ie, ee := newPair(t.sys, c, t, p.Core())
	ie.state, ee.state = s, s
	return t.put(ie, nil), t.put(ee, nil), nil
}
