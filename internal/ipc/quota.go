package ipc

// Quotas count what is queued. A message stays charged to its sender until
// the receiver takes it:
//
//   - Each endpoint may have at most Limits.QueueMessages messages sent and
//     not yet received; a send past that is ErrQuota (the sender backs off
//     and retries, as from any quota).
//   - A message that travels as a packet (not inline) charges its payload
//     bytes, its blocks' bytes and its blocks and endpoints as handles to
//     the sending endpoint's payer: the table that holds the endpoint, or
//     held it when it was closed. So a block or an endpoint that leaves a
//     table in a message still counts against that table's heap and handle
//     quotas until it is received, and queued payloads count against the
//     heap quota. An endpoint carried in a message brings its own charges
//     into that message's, and the receiving table takes them over when it
//     installs the endpoint.
//   - The receiver tells the sender what it has received by an
//     acknowledgement, the sequence number of the first message it has not
//     received (ackSeq): in the header of every message it sends back (a
//     reply costs nothing), or in a credit of its own when it finds its queue
//     empty or has taken creditEvery messages or creditBytes bytes since the
//     last one. A close, or a close of the receiver after the sender's
//     (final credit), releases everything.
//   - A sender that is closed charged to nobody (inside a packet that was
//     dropped, or because its SIP ended) says so in its close (flagOrphan),
//     and the receiving end then charges its own payer for its queue
//     (adopt): whoever holds what nobody pays for any more pays for it. An
//     endpoint closed earlier and still charged (a ghost, Table.ghosts)
//     says so when its SIP ends, by a message after its close (pktOrphan).
//
// The charge record lives in the sending endpoint (and the sums in its
// payer table), so it moves with the endpoint and is touched only by the
// core that owns it: no counter is shared between cores, and an
// acknowledgement is a message like any other.

// Credits: a receiver that takes messages without replying sends a credit
// after this many messages or bytes, so a stream never stalls on a full
// window while the receiver keeps taking.
const (
	creditEvery = 32 // or a quarter of Limits.QueueMessages, if less
	creditBytes = 1 << 20
)

// charge is what one message sent as a packet costs its sender until the
// peer receives it.
type charge struct {
	seq     uint64 // the message's sequence number
	bytes   int64  // payload and block bytes, and those carried endpoints were charged
	handles int    // endpoints and blocks, and those carried endpoints were charged
}

// setPayer makes t (nil: nobody) the table charged for e's queued messages.
func (e *Endpoint) setPayer(t *Table) {
	if e.payer == t {
		return
	}
	if p := e.payer; p != nil {
		p.queuedBytes -= e.queuedBytes
		p.queuedHandles -= e.queuedHandles
	}
	e.payer = t
	if t != nil {
		t.queuedBytes += e.queuedBytes
		t.queuedHandles += e.queuedHandles
	}
}

// charge records what the packet with sequence number seq costs e.
func (e *Endpoint) charge(seq uint64, bytes int64, handles int) {
	if bytes == 0 && handles == 0 {
		return
	}
	e.charges = append(e.charges, charge{seq: seq, bytes: bytes, handles: handles})
	e.uncharge(-bytes, -handles)
}

// uncharge takes bytes and handles off e's account and its payer's.
func (e *Endpoint) uncharge(bytes int64, handles int) {
	e.queuedBytes -= bytes
	e.queuedHandles -= handles
	if t := e.payer; t != nil {
		t.queuedBytes -= bytes
		t.queuedHandles -= handles
	}
}

// dropCharges clears e's account: the peer is gone and e is closed, so
// nothing it sent or adopted is queued any more.
func (e *Endpoint) dropCharges() {
	e.charges = nil
	e.uncharge(e.queuedBytes, e.queuedHandles)
}

// cost is what a queued packet is charged: its payload unless it could
// have travelled inline, its blocks' bytes, and its endpoints and blocks
// as handles (what the endpoints carried had queued is theirs).
func (pkt *Packet) cost() (bytes int64, handles int) {
	if len(pkt.eps) > 0 || len(pkt.blocks) > 0 || len(pkt.payload) > MaxInlinePayload {
		bytes = int64(len(pkt.payload))
	}
	for _, b := range pkt.blocks {
		bytes += int64(len(b.data))
	}
	return bytes, len(pkt.eps) + len(pkt.blocks)
}

// adopt makes e's payer pay for e's queue: the peer closed charged to
// nobody (it was closed inside a dropped packet, or its SIP ended), and
// what it sent would otherwise stay queued on nobody's account for as long
// as e's owner likes. Each packet's cost comes off as e receives it, the
// rest when e closes.
func (e *Endpoint) adopt() {
	if e.orphaned {
		return
	}
	e.orphaned = true
	for _, q := range e.queue[e.qhead:] {
		b, h := q.cost()
		e.uncharge(-b, -h)
	}
}

// acknowledge records that the peer has received every message of e's
// before sequence number ack, and returns their charges.
func (e *Endpoint) acknowledge(ack uint64) {
	ack = min(ack, e.sendSeq)
	if ack <= e.acked {
		return
	}
	e.acked = ack
	n := 0
	var bytes int64
	handles := 0
	for n < len(e.charges) && e.charges[n].seq < ack {
		bytes += e.charges[n].bytes
		handles += e.charges[n].handles
		n++
	}
	if n == 0 {
		return
	}
	e.charges = e.charges[n:]
	if len(e.charges) == 0 {
		e.charges = nil // let the array go
	}
	e.uncharge(bytes, handles)
	if e.closed && e.queuedBytes == 0 && e.queuedHandles == 0 && e.payer != nil {
		delete(e.payer.ghosts, e) // nothing left to charge
	}
}

// releaseAll returns every charge of e: the peer is gone, so nothing e sent
// will be received, and the peer's end dropped it.
func (e *Endpoint) releaseAll() { e.acknowledge(e.sendSeq) }

// queueFull reports whether e may send no more before the peer receives.
func (e *Endpoint) queueFull() bool {
	return e.sendSeq-e.acked >= uint64(e.sys.limits.QueueMessages)
}

// ackSeq is what e has received of its peer's messages: the sequence number
// of the first one not received.
func (e *Endpoint) ackSeq() uint64 {
	if e.qhead < len(e.queue) {
		return e.queue[e.qhead].seq
	}
	return e.recvSeq
}

// acked32 is the acknowledgement a message from e carries, marked sent.
// Messages carry its low 32 bits: the peer rebuilds it from its own sendSeq
// (unacked32), which is ahead of it by less than its window.
func (e *Endpoint) acked32() uint32 {
	a := e.ackSeq()
	e.credited, e.uncredited = a, 0
	return uint32(a)
}

// acked32Full is acked32 in full, for an acknowledgement applied on this
// core without a message.
func (e *Endpoint) acked32Full() uint64 {
	a := e.ackSeq()
	e.credited, e.uncredited = a, 0
	return a
}

// ackHere applies an acknowledgement from e's peer on the core that owns
// e, without a message: the peer received from the table e is in.
func (e *Endpoint) ackHere(ack uint64) {
	if !e.unpaid() {
		e.acknowledge(ack)
	}
}

// unacked32 rebuilds a full acknowledgement from the low 32 bits a message
// from e's peer carried.
func (e *Endpoint) unacked32(a uint32) uint64 {
	return e.sendSeq - uint64(uint32(e.sendSeq)-a)
}

// received notes that e took a message of bytes bytes, and sends a credit
// when the peer has not heard of enough of them.
func (e *Endpoint) received(p Port, bytes int64) {
	e.uncredited += bytes
	every := uint64(max(1, min(creditEvery, e.sys.limits.QueueMessages/4)))
	if e.ackSeq()-e.credited >= every || e.uncredited >= creditBytes {
		e.credit(p)
	}
}

// creditIfOwed sends a credit if e received messages its peer has not
// heard of: the receiver found its queue empty, and may now block.
func (e *Endpoint) creditIfOwed(p Port) {
	if e.peer != nil && !e.closed && e.credited != e.ackSeq() {
		e.credit(p)
	}
}

// credit tells the peer what e has received.
func (e *Endpoint) credit(p Port) { e.sendInline(p, pktCredit, 0, 0, nil) }

// admitAck applies the acknowledgement a packet from the peer carries: all
// of it for the peer's close or final credit.
func (e *Endpoint) admitAck(pkt *Packet) {
	if pkt.kind != pktClose && (pkt.kind != pktCredit || !pkt.final) {
		e.admitAck32(pkt.ack)
		return
	}
	if !e.unpaid() {
		// The peer's end is gone: it received everything it will, and
		// dropped the rest.
		e.releaseAll()
	}
}

// admitAck32 applies the acknowledgement a message from the peer carried
// (the low 32 bits, unacked32).
func (e *Endpoint) admitAck32(ack uint32) {
	if !e.unpaid() {
		e.acknowledge(e.unacked32(ack))
	}
}

// unpaid reports whether nobody is charged for e any more (it is closed,
// and its payer gone): acknowledgements then leave a dead table's
// endpoints alone.
func (e *Endpoint) unpaid() bool { return e.closed && (e.payer == nil || e.payer.dead) }
