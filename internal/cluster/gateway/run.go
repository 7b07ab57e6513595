package gateway

import (
	"encoding/binary"
	"errors"

	"isle/internal/abi"
	"isle/internal/contract"
	"isle/internal/ipc"
	"isle/internal/kernel"
)

// chanKey names a channel that crosses to peer: id was chosen by this node
// (mine) or by the peer.
type chanKey struct {
	peer uint64
	id   uint64
	mine bool
}

// channel is one channel that crosses nodes, as this gateway holds it.
type channel struct {
	key     chanKey
	h       ipc.Handle         // the gateway's proxy endpoint, facing the local SIP
	ct      *contract.Contract // its contract
	backlog []queued           // messages from the peer waiting for room
}

type queued struct {
	msg     contract.MsgID
	payload []byte
	blocks  [][]byte
	refs    []carried
}

// state is the gateway's own: owned by its SIP.
type state struct {
	chans     map[chanKey]*channel
	byHandle  map[ipc.Handle]*channel
	listeners map[ipc.Handle]*served
	nextID    uint64
	start     int          // RecvAny's rotation
	hs        []ipc.Handle // handles' list, while !hsStale
	hsStale   bool
	buf       []byte
	blocks    [abi.MaxBlocks]ipc.Handle
	frames    []frame
	compiled  map[string]*contract.Contract
	backlogs  int               // channels with a backlog
	refused   map[string]Import // remote names that could not be served here, said once
}

// served is a remote name and its compiled contract.
type served struct {
	Import
	ct *contract.Contract
}

// dirOf is the dir a frame about ch carries.
func dirOf(ch *channel) byte {
	if ch.key.mine {
		return dirSenders
	}
	return dirReceivers
}

// keyOf is the channel a frame from peer names.
func keyOf(from uint64, dir byte, id uint64) chanKey {
	return chanKey{peer: from, id: id, mine: dir == dirReceivers}
}

// run is the gateway's loop, on its SIP's coroutine: serve the remote names,
// then carry frames in and messages out until the machine stops the SIP.
func (g *Gateway) run(s *kernel.SIP) {
	p := procOf(s)
	st := &state{
		chans: map[chanKey]*channel{}, byHandle: map[ipc.Handle]*channel{}, listeners: map[ipc.Handle]*served{},
		buf: make([]byte, ipc.DefaultLimits().MaxPayload), compiled: map[string]*contract.Contract{},
		refused: map[string]Import{},
	}
	for _, imp := range g.imports {
		g.serve(s, p, st, imp)
	}
	hot := newHotWindow(pollHot, pollHotMax)
	for {
		// Out first: a turn that follows a local SIP's send (a reply) writes
		// it before it polls the links.
		sent := g.pumpOut(s, p, st)
		if sent {
			g.link.Flush() // write what pumpOut queued now, on this core
		}
		polled := false
		if hot.until > 0 {
			g.woken.Store(true)     // what Poll posts is taken below: no wake delivery
			g.link.SetPolling(true) // the readers leave the sockets to Poll
			polled = g.link.Poll() > 0
		}
		worked := g.pumpIn(s, p, st) || polled
		if worked || sent {
			hot.active(s.Machine().Now())
			s.Yield() // a host function's loop is not preempted: let the core's other SIPs run
			continue
		}
		if hot.polling(s.Machine().Now()) {
			s.Yield() // poll the links again after the core's other work (hot.go)
			continue
		}
		g.link.SetPolling(false) // the readers wait on the sockets again
		hs := st.handles()
		p.Table().Watch(hs...)
		switch {
		case g.pending():
		case st.backlogs > 0:
			s.SleepUntil(s.Machine().Now() + backlogRetry)
		default:
			s.Block()
		}
		p.Table().Unwatch(hs...)
	}
}

// serve registers the remote name imp on this machine, as a listener of
// the gateway's.
func (g *Gateway) serve(s *kernel.SIP, p *abi.Proc, st *state, imp Import) {
	ct, err := st.compile(imp.Source, imp.Contract)
	if err == nil {
		var h ipc.Handle
		if h, err = p.Register(s, imp.Name, ct); err == nil {
			st.listeners[h] = &served{Import: imp, ct: ct}
			st.hsStale = true
			delete(st.refused, imp.Name)
			return
		}
	}
	if old, said := st.refused[imp.Name]; !said || !sameImport(old, imp) {
		g.logf("gateway: node %d: remote name %q (node %d, contract %s) not served here: %v", g.link.ID(), imp.Name, imp.Node, imp.Contract, err)
	}
	st.refused[imp.Name] = imp
}

func sameImport(a, b Import) bool {
	return a.Name == b.Name && a.Node == b.Node && a.Contract == b.Contract && string(a.Source) == string(b.Source)
}

// reconcile makes the remote names served here those of want: a listener
// whose name is gone, or now served elsewhere, is unregistered; a new name
// registered. A name that could not be registered (a local SIP holds it) is
// tried again at the next change.
func (g *Gateway) reconcile(s *kernel.SIP, p *abi.Proc, st *state, want []Import) {
	byName := make(map[string]Import, len(want))
	for _, imp := range want {
		byName[imp.Name] = imp
	}
	for h, sv := range st.listeners {
		if imp, ok := byName[sv.Name]; ok && sameImport(imp, sv.Import) {
			delete(byName, sv.Name)
			continue
		}
		p.Unregister(s, h)
		delete(st.listeners, h)
		st.hsStale = true
	}
	for name := range st.refused {
		if _, ok := byName[name]; !ok {
			delete(st.refused, name)
		}
	}
	for _, imp := range want {
		if _, ok := byName[imp.Name]; ok {
			g.serve(s, p, st, imp)
		}
	}
}

// compile returns contract name of src, compiled once.
func (st *state) compile(src []byte, name string) (*contract.Contract, error) {
	key := name + "\x00" + string(src)
	if ct, ok := st.compiled[key]; ok {
		return ct, nil
	}
	set, diags := contract.CompileSource("remote", src)
	if len(diags) > 0 {
		return nil, errors.New(diags[0].String())
	}
	ct := set.Lookup(name)
	if ct == nil {
		return nil, errors.New("no such contract in its source")
	}
	if len(st.compiled) >= contractCacheMax {
		clear(st.compiled)
	}
	st.compiled[key] = ct
	return ct, nil
}

// handles is the gateway's wait set: its listeners and proxies, made again
// only when they changed (hsStale).
func (st *state) handles() []ipc.Handle {
	if !st.hsStale {
		return st.hs
	}
	st.hsStale = false
	st.hs = st.hs[:0]
	for h := range st.listeners {
		st.hs = append(st.hs, h)
	}
	for h := range st.byHandle {
		st.hs = append(st.hs, h)
	}
	return st.hs
}

// add records a channel.
func (st *state) add(ch *channel) {
	st.chans[ch.key] = ch
	st.byHandle[ch.h] = ch
	st.hsStale = true
}

// drop closes ch's proxy (its SIP sees Closed) and forgets it.
func (st *state) drop(port ipc.Port, tab *ipc.Table, ch *channel) {
	tab.Close(port, ch.h)
	delete(st.chans, ch.key)
	delete(st.byHandle, ch.h)
	st.hsStale = true
	if len(ch.backlog) > 0 {
		st.backlogs--
	}
}

// pumpIn handles the frames the link has handed over, and retries backlogs.
func (g *Gateway) pumpIn(s *kernel.SIP, p *abi.Proc, st *state) bool {
	port, tab := p.Port(s.Core()), p.Table()
	worked := false
	if st.backlogs > 0 {
		for _, ch := range st.chans {
			if len(ch.backlog) > 0 {
				worked = g.flushBacklog(port, tab, st, ch) || worked
			}
		}
	}
	st.frames = g.take(st.frames[:0])
	for i := range st.frames {
		f := &st.frames[i]
		worked = true
		switch f.kind {
		case 0:
			g.peerDown(port, tab, st, f.from)
		case frameImports:
			g.reconcile(s, p, st, g.wanted())
		case kindOpen:
			g.open(s, p, st, f)
		case kindMsg:
			g.message(port, tab, st, f)
		case kindClose:
			dir, id, err := decodeClose(f.payload)
			if err != nil {
				g.logf("gateway: node %d: from node %d: %v", g.link.ID(), f.from, err)
				continue
			}
			if ch := st.chans[keyOf(f.from, dir, id)]; ch != nil {
				st.drop(port, tab, ch)
			}
		}
		f.payload = nil
	}
	return worked
}

// peerDown closes every channel to peer.
func (g *Gateway) peerDown(port ipc.Port, tab *ipc.Table, st *state, peer uint64) {
	n := 0
	for k, ch := range st.chans {
		if k.peer == peer {
			st.drop(port, tab, ch)
			n++
		}
	}
	if n > 0 {
		g.logf("gateway: node %d: the link to node %d is lost: %d channels closed", g.link.ID(), peer, n)
	}
}

// open serves a peer's request to open a channel to a service here.
func (g *Gateway) open(s *kernel.SIP, p *abi.Proc, st *state, f *frame) {
	id, cname, src, name, err := decodeOpen(f.payload)
	if err != nil {
		g.logf("gateway: node %d: from node %d: %v", g.link.ID(), f.from, err)
		return
	}
	refuse := func(why error) {
		g.logf("gateway: node %d: node %d's channel to %q refused: %v", g.link.ID(), f.from, name, why)
		g.link.Send(f.from, kindClose, encodeClose(dirReceivers, id))
	}
	ct, err := st.compile([]byte(src), cname)
	if err != nil {
		refuse(err)
		return
	}
	key := chanKey{peer: f.from, id: id}
	if st.chans[key] != nil {
		refuse(errors.New("channel id in use"))
		return
	}
	h, err := p.Lookup(s, name, ct)
	if err != nil {
		refuse(err)
		return
	}
	st.add(&channel{key: key, h: h, ct: ct})
	g.logf("gateway: node %d: node %d opened a channel to %q", g.link.ID(), f.from, name)
}

// message hands a peer's message to the local SIP, checking it against the
// proxy's own copy of the contract's state.
func (g *Gateway) message(port ipc.Port, tab *ipc.Table, st *state, f *frame) {
	lim := ipc.DefaultLimits()
	m, err := decodeMsg(f.payload, lim.MaxBlocks)
	if err != nil {
		// A frame that names a channel and is malformed closes it, as a
		// message refused on arrival does: its sender waits for nothing.
		if b := f.payload; len(b) >= 9 && b[0] <= dirReceivers {
			if ch := st.chans[keyOf(f.from, b[0], binary.BigEndian.Uint64(b[1:]))]; ch != nil {
				g.logf("gateway: node %d: node %d's message on a %s channel refused on arrival (%v): channel closed", g.link.ID(), f.from, ch.ct.Name(), err)
				g.link.Send(ch.key.peer, kindClose, encodeClose(dirOf(ch), ch.key.id))
				st.drop(port, tab, ch)
				return
			}
		}
		g.logf("gateway: node %d: from node %d: %v", g.link.ID(), f.from, err)
		return
	}
	ch := st.chans[keyOf(f.from, m.dir, m.id)]
	if ch == nil {
		return // closed here already; its close is on the way
	}
	q := queued{m.msg, m.payload, m.blocks, m.refs}
	if len(ch.backlog) > 0 {
		ch.backlog = append(ch.backlog, q)
		return
	}
	g.deliver(port, tab, st, ch, q)
}

// deliver sends one message from the peer on ch's proxy, its blocks and the
// endpoints it carries made in the gateway's table first. It reports false
// when the message had to wait (the SIP's queue, or the gateway's heap or
// handles, is full).
func (g *Gateway) deliver(port ipc.Port, tab *ipc.Table, st *state, ch *channel, q queued) bool {
	refs, why := checkArrival(ch.ct, q)
	if why == nil {
		var made []made
		hs, err := allocBlocks(tab, port, q.blocks, st.blocks[:0])
		if err == nil {
			made, err = g.makeCarried(port, tab, ch, q, refs)
			if err != nil {
				closeAll(tab, port, hs)
			}
		}
		if err == nil {
			err = tab.Send(port, ch.h, q.msg, q.payload, hs)
			if err != nil {
				closeAll(tab, port, hs)
				for _, m := range made {
					tab.Close(port, m.sip)
					tab.Close(port, m.ch.h)
				}
			} else {
				for _, m := range made {
					st.add(m.ch)
				}
			}
		}
		switch {
		case err == nil, errors.Is(err, ipc.ErrClosed):
			return true // a closed SIP's Closed reaches the peer on its own
		case errors.Is(err, ipc.ErrQuota):
			if len(ch.backlog) == 0 {
				st.backlogs++
			}
			ch.backlog = append(ch.backlog, q)
			return false
		default:
			why = err
		}
	}
	g.logf("gateway: node %d: node %d's message %d on a %s channel refused on arrival (%v): channel closed", g.link.ID(), ch.key.peer, q.msg, ch.ct.Name(), why)
	g.link.Send(ch.key.peer, kindClose, encodeClose(dirOf(ch), ch.key.id))
	st.drop(port, tab, ch)
	return true
}

// made is an endpoint carried in from another node: the end handed to the
// SIP, and the new channel whose proxy is the other end.
type made struct {
	sip ipc.Handle
	ch  *channel
}

// makeCarried makes, for each endpoint field of an arriving message, a fresh
// channel of the field's contract in the carried endpoint's state, writes
// the handle of the field's side into the payload and keeps the other end as
// the proxy of the channel the sending node named.
func (g *Gateway) makeCarried(port ipc.Port, tab *ipc.Table, ch *channel, q queued, refs []contract.EndpointRef) ([]made, error) {
	if len(refs) != len(q.refs) {
		return nil, errors.New("its endpoint fields and the endpoints it carries differ")
	}
	var out []made
	undo := func() {
		for _, m := range out {
			tab.Close(port, m.sip)
			tab.Close(port, m.ch.h)
		}
	}
	for i, r := range refs {
		f := ch.ct.Message(q.msg).Field(r.Field)
		imp, exp, err := tab.NewChannelAt(port, f.Contract, q.refs[i].state)
		if err != nil {
			undo()
			return nil, err
		}
		sip, proxy := imp, exp
		if f.Side == contract.Exporter {
			sip, proxy = exp, imp
		}
		key := chanKey{peer: ch.key.peer, id: q.refs[i].id}
		out = append(out, made{sip: sip, ch: &channel{key: key, h: proxy, ct: f.Contract}})
		binary.LittleEndian.PutUint32(q.payload[r.Offset:], uint32(sip))
	}
	return out, nil
}

func closeAll(tab *ipc.Table, port ipc.Port, hs []ipc.Handle) {
	for _, h := range hs {
		tab.Close(port, h)
	}
}

// checkArrival is what the gateway checks of a message from another node
// before its proxy's send checks the rest (state, fields): the message exists
// and its fields parse. It returns the message's endpoint fields, whose
// numbers the gateway replaces with handles of its own making: a number from
// another node never names an endpoint of the gateway's table.
func checkArrival(ct *contract.Contract, q queued) ([]contract.EndpointRef, error) {
	if int(q.msg) >= ct.NumMessages() {
		return nil, errors.New("no such message")
	}
	return ct.Message(q.msg).CheckFields(q.payload, nil)
}

// allocBlocks makes a block in tab for each of blocks, with its bytes.
func allocBlocks(tab *ipc.Table, port ipc.Port, blocks [][]byte, hs []ipc.Handle) ([]ipc.Handle, error) {
	for _, data := range blocks {
		h, err := tab.Alloc(int64(len(data)))
		if err != nil {
			for _, h := range hs {
				tab.Close(port, h)
			}
			return nil, err
		}
		b, _ := tab.Block(h)
		copy(b.Bytes(), data)
		hs = append(hs, h)
	}
	return hs, nil
}

// flushBacklog retries ch's waiting messages in order.
func (g *Gateway) flushBacklog(port ipc.Port, tab *ipc.Table, st *state, ch *channel) bool {
	q := ch.backlog
	ch.backlog = nil
	st.backlogs--
	for i, m := range q {
		if st.byHandle[ch.h] != ch {
			return true // refused and dropped
		}
		if !g.deliver(port, tab, st, ch, m) {
			ch.backlog = append(ch.backlog[:len(ch.backlog)-1], q[i:]...)
			return i > 0
		}
	}
	return true
}

// pumpOut carries what the local SIPs sent on the proxies to the peers.
func (g *Gateway) pumpOut(s *kernel.SIP, p *abi.Proc, st *state) bool {
	port, tab := p.Port(s.Core()), p.Table()
	worked := false
	for n := 0; n < maxBatch; n++ {
		hs := st.handles()
		if len(hs) == 0 {
			break
		}
		i, info, err := tab.RecvAny(port, hs, st.start, st.buf, st.blocks[:])
		if err != nil {
			if !errors.Is(err, ipc.ErrAgain) {
				g.logf("gateway: node %d: receive: %v", g.link.ID(), err)
			}
			break
		}
		worked = true
		st.start = i + 1
		h := hs[i]
		if sv := st.listeners[h]; sv != nil {
			g.connect(port, tab, st, h, sv, info)
			continue
		}
		ch := st.byHandle[h]
		if info.Msg == ipc.MsgClosed {
			g.link.Send(ch.key.peer, kindClose, encodeClose(dirOf(ch), ch.key.id))
			st.drop(port, tab, ch)
			continue
		}
		payload := st.buf[:info.Len]
		refs, _ := ch.ct.Message(info.Msg).CheckFields(payload, nil)
		blocks := st.blocks[:info.Blocks]
		var out []carried
		for _, r := range refs {
			// The endpoint stays here, as the proxy of a new channel to
			// the peer; the peer makes its other end for the receiver.
			state, err := tab.EndpointState(r.Handle)
			if err != nil {
				continue // cannot be: the receive just made it
			}
			st.nextID++
			f := ch.ct.Message(info.Msg).Field(r.Field)
			st.add(&channel{key: chanKey{peer: ch.key.peer, id: st.nextID, mine: true}, h: r.Handle, ct: f.Contract})
			out = append(out, carried{id: st.nextID, state: state})
		}
		var data [][]byte
		for _, b := range blocks {
			blk, _ := tab.Block(b)
			data = append(data, blk.Bytes())
		}
		err = g.link.Queue(ch.key.peer, kindMsg, encodeMsg(dirOf(ch), ch.key.id, info.Msg, payload, data, out))
		for _, b := range blocks {
			tab.Close(port, b) // its bytes are in the frame: the block lives on on the other node
		}
		if err != nil {
			g.logf("gateway: node %d: to node %d: %v: channel closed", g.link.ID(), ch.key.peer, err)
			for _, c := range out {
				if k := st.chans[chanKey{peer: ch.key.peer, id: c.id, mine: true}]; k != nil {
					st.drop(port, tab, k)
				}
			}
			st.drop(port, tab, ch)
		}
	}
	return worked
}

// connect opens, on the node that serves it, a channel a local SIP made by
// looking up a remote name.
func (g *Gateway) connect(port ipc.Port, tab *ipc.Table, st *state, h ipc.Handle, sv *served, info ipc.RecvInfo) {
	if info.Msg == ipc.MsgClosed || info.Len < 4 {
		return
	}
	nh := ipc.Handle(binary.LittleEndian.Uint32(st.buf))
	if !g.link.Linked(sv.Node) {
		// Refused now rather than left waiting for a node that may not
		// come back: the client sees Closed and may look the name up again.
		g.logf("gateway: node %d: %q: node %d is not linked; connection closed", g.link.ID(), sv.Name, sv.Node)
		tab.Close(port, nh)
		return
	}
	st.nextID++
	ch := &channel{key: chanKey{peer: sv.Node, id: st.nextID, mine: true}, h: nh, ct: sv.ct}
	if err := g.link.Send(sv.Node, kindOpen, encodeOpen(ch.key.id, sv.Import)); err != nil {
		g.logf("gateway: node %d: %q on node %d: %v", g.link.ID(), sv.Name, sv.Node, err)
		tab.Close(port, nh)
		return
	}
	st.add(ch)
}
