package ipc

import "isle/internal/contract"

// Posted receives. Across cores an inline message is copied into the
// kernel's message slot on the sending core, from the slot into a packet on
// the receiving core (Route.packet), and from the packet into the guest's
// buffer when it is received: three copies. The slot cannot stand in for
// the packet: it belongs to the receiving core only until the ring is
// released, at the end of the batch, and the receiver may take the message
// much later. But a receiver blocked in recv on that endpoint has said where
// the message goes, its buffer, which stays valid while it waits; so the
// delivery receives the message there and then, straight from the slot:
// two copies, as on one core.
//
// Receiving at delivery does what admit and then recv would have done one
// after the other, and only where recv's outcome is certain:
//
//   - the SIP waits in a receive posted on this endpoint (PostRecv), or on
//     a wait set that holds it (PostRecvAny), and no message was received
//     into it yet;
//   - the message is a message (not a close, credit or route update), the
//     next in sequence, and nothing is queued or held early on the
//     endpoint: it is the one the receive would take;
//   - it fits the buffer (a receive into a buffer too small is ErrTooBig,
//     with the size needed, and leaves the message queued);
//   - the table may take it: its SIP has not ended, and it is within its
//     quotas (an inline message brings nothing to charge, but a table that
//     an adoption left over its quota refuses every receive, ErrQuota);
//   - the endpoint is in the table the message was addressed to, with no
//     forwarding entry there.
//
// A wait set's receive (recv_any) takes the first endpoint of the set, from
// its rotation's start, that has a message or a closed peer. When it posts,
// none has (it found nothing), and anything that makes one ready before the
// SIP runs again wakes the SIP, which ends the posting (the wake clears
// t.blocked): so the message the delivery may take is the first to make any
// endpoint of the set ready, the one the receive would take whatever its
// rotation, and TakePostedAny finds its index as RecvAny would.
//
// Anything else takes the usual path, a packet that is admitted and queued,
// and the receive, woken, answers as it always did. The contract is stepped
// once, here; the acknowledgement the message carries, the route update its
// arrival may call for (noteArrival) and the credit its receipt may call for
// (received) are those of admit and recv, in their order.

// postedRecv is the receive a table's SIP waits in, when it posted its
// buffer: the endpoint and the buffer, and, once a message was received
// into the buffer, what the receive reports of it.
type postedRecv struct {
	// ep is the endpoint the receive waits on (nil: none posted); for a
	// wait set (set), nil until a message was received, then its endpoint.
	ep   *Endpoint
	buf  []byte // the receiver's buffer: a view of its memory, valid while it waits
	set  bool   // posted by a wait set's receive: any endpoint the SIP watches
	done bool   // a message was received into buf
	msg  contract.MsgID
	n    int    // its payload's length
	seq  uint64 // its sequence number (for RecvInfo.Flow)
}

// takes reports whether a message to e may be received into the posted
// receive: it waits on e, or on a wait set that holds e, and has nothing.
func (po *postedRecv) takes(e *Endpoint) bool {
	if po.done {
		return false
	}
	if po.set {
		return e.watched
	}
	return po.ep == e
}

// PostRecv is Watch(h) for a receive on h into buf that found nothing and
// will wait: a message that can be taken the moment it arrives is received
// into buf then, and TakePosted returns it. buf must stay valid, and unread
// by anyone else, until TakePosted.
func (t *Table) PostRecv(h Handle, buf []byte) {
	if e, err := t.endpoint(h); err == nil {
		e.watched = true
		t.post = postedRecv{ep: e, buf: buf}
	}
	t.blocked = true
}

// PostRecvAny is Watch(hs...) for a wait set's receive (RecvAny) that found
// nothing and will wait: the first message that makes an endpoint of hs
// ready, if it can be taken the moment it arrives, is received into buf
// then, and TakePostedAny returns it. buf must stay valid, and unread by
// anyone else, until TakePostedAny.
func (t *Table) PostRecvAny(hs []Handle, buf []byte) {
	t.Watch(hs...)
	t.post = postedRecv{buf: buf, set: true}
}

// TakePostedAny undoes PostRecvAny(hs, buf) once the SIP runs again. It
// returns what RecvAny(p, hs, start, buf, blocks) would have: the index in
// hs of the endpoint whose message was received into the buffer meanwhile
// (the first from start that names it), the message, and true; or false
// when there was none, and the receive goes on as after Unwatch.
func (t *Table) TakePostedAny(hs []Handle, start int) (int, RecvInfo, bool) {
	po := &t.post
	var h Handle
	if po.set && po.done {
		h = po.ep.handle
	}
	info, ok := t.takePosted(hs...)
	if !ok {
		return -1, RecvInfo{}, false
	}
	for k := range hs {
		if i := (start + k) % len(hs); hs[i] == h {
			return i, info, true
		}
	}
	panic("ipc: a posted wait set received on an endpoint outside the set")
}

// TakePosted undoes PostRecv once the SIP runs again. It returns the message
// received into the buffer meanwhile, as Recv would have (its payload is in
// the buffer), and true; or false when there was none, and the receive goes
// on as after Unwatch.
func (t *Table) TakePosted(h Handle) (RecvInfo, bool) { return t.takePosted(h) }

func (t *Table) takePosted(hs ...Handle) (RecvInfo, bool) {
	po := &t.post
	if po.ep != nil && !po.set {
		// Unwatch(h): h names po.ep, as when it was posted (the table's
		// handles change only by its SIP's own calls). A wait set's
		// endpoints are unwatched all.
		po.ep.watched = false
	} else {
		t.Unwatch(hs...)
	}
	t.blocked = false
	if !po.done {
		*po = postedRecv{}
		return RecvInfo{}, false
	}
	info := RecvInfo{Msg: po.msg, Len: po.n, Flow: flowID(po.ep, po.seq), Contract: po.ep.c}
	*po = postedRecv{}
	return info, true
}

// recvPosted receives the inline message h, with payload, that came to e by
// route r, into the receive posted on e, if there is one and the message can
// be taken now (above). It reports whether it did; when it did not, nothing
// has changed.
func (e *Endpoint) recvPosted(p Port, r *Route, h inlineHead, payload []byte) bool {
	t := e.table
	if t == nil || t != r.dest || !t.post.takes(e) || !t.blocked || !e.watched {
		return false
	}
	if h.seq != e.recvSeq || e.qhead != len(e.queue) || len(e.early) > 0 ||
		len(payload) > len(t.post.buf) || t.dead || !t.room(0, 0) {
		return false
	}
	if _, moved := t.gone[e]; moved {
		return false
	}
	next, ok := e.c.Step(e.state, e.side.Peer(), h.msg)
	if !ok {
		panic("ipc: a received message breaks the contract the sender was checked against")
	}
	// admit's part: the acknowledgement, the route, the sequence.
	e.admitAck32(h.ack)
	e.noteArrival(p, hop{table: r.dest, core: r.core}, r.dest)
	e.recvSeq++
	// recv's part: the state, the payload, the credit; then the wake.
	e.state = next
	copy(t.post.buf, payload)
	po := &t.post
	po.ep, po.done, po.msg, po.n, po.seq = e, true, h.msg, len(payload), h.seq
	e.received(p, int64(len(payload)))
	t.blocked = false
	p.Wake(t)
	return true
}
