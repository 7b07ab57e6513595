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
//   - the SIP waits in a receive posted on this endpoint (PostRecv), and no
//     message was received into it yet;
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
// Anything else takes the usual path, a packet that is admitted and queued,
// and the receive, woken, answers as it always did. The contract is stepped
// once, here; the acknowledgement the message carries, the route update its
// arrival may call for (noteArrival) and the credit its receipt may call for
// (received) are those of admit and recv, in their order.

// postedRecv is the receive a table's SIP waits in, when it posted its
// buffer: the endpoint and the buffer, and, once a message was received
// into the buffer, what the receive reports of it.
type postedRecv struct {
	ep   *Endpoint // the endpoint the receive waits on; nil: none posted
	buf  []byte    // the receiver's buffer: a view of its memory, valid while it waits
	done bool      // a message was received into buf
	msg  contract.MsgID
	n    int    // its payload's length
	seq  uint64 // its sequence number (for RecvInfo.Flow)
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

// TakePosted undoes PostRecv once the SIP runs again. It returns the message
// received into the buffer meanwhile, as Recv would have (its payload is in
// the buffer), and true; or false when there was none, and the receive goes
// on as after Unwatch.
func (t *Table) TakePosted(h Handle) (RecvInfo, bool) {
	po := &t.post
	if po.ep != nil {
		// Unwatch(h): h names po.ep, as when it was posted (the table's
		// handles change only by its SIP's own calls).
		po.ep.watched = false
	} else {
		t.Unwatch(h)
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
	if t == nil || t != r.dest || t.post.ep != e || t.post.done || !t.blocked || !e.watched {
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
	po.done, po.msg, po.n, po.seq = true, h.msg, len(payload), h.seq
	e.received(p, int64(len(payload)))
	t.blocked = false
	p.Wake(t)
	return true
}
