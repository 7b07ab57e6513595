package ipc

// Routes follow migrated SIPs. A sender addresses a message to where it
// believes the peer lives (Endpoint.peerAt: a table, and a core that
// table's SIP has been on); when the peer's SIP has moved, the kernel
// forwards the message from the old core (kernel.SIPDeliverable), and when
// the peer has left the table, the table forwards it (Table.gone). Both are
// detours. So when a message arrives somewhere other than where its sender
// addressed it, the receiving endpoint tells its peer where it is now, by a
// route update (pktRoute); the peer's later messages go direct. Each
// endpoint sends an update once per new place (told), and numbers them
// (epoch), so a stale update that arrives after a newer one is ignored.
//
// Order is kept by the sequence numbers, not by the paths: a message sent
// direct after the update may arrive before earlier ones still being
// forwarded, and the endpoint holds it (Endpoint.early) until their turn.
// docs/ipc.md, "Routes follow migrated SIPs", gives the argument.

// noteArrival is called when a message from e's peer, addressed to addr,
// reaches e on the core that owns e (in table dest, or in a packet queued
// there): if the sender addressed it elsewhere, e tells the peer where it
// is now.
func (e *Endpoint) noteArrival(p Port, addr hop, dest *Table) {
	at := hop{table: dest, core: p.Core()}
	if addr == at || e.told == at || e.peer == nil || e.closed || e.peerGone || at.table == nil {
		return
	}
	e.told = at
	e.epoch++
	u := e.sys.newPacket(p.Core())
	u.to, u.kind, u.seq, u.at = e.peer, pktRoute, uint64(e.epoch), at
	u.ack = e.acked32() // every packet from e carries a valid one (quota.go)
	route(p, nil, e.peerAt, u)
}

// admitRoute applies a route update from e's peer unless a newer one came
// first.
func (e *Endpoint) admitRoute(pkt *Packet) {
	if epoch := uint32(pkt.seq); !e.closed && int32(epoch-e.peerEpoch) > 0 {
		e.peerEpoch = epoch
		e.peerAt = pkt.at
	}
}
