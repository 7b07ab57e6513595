// Package gateway carries channels between the nodes of a cluster: each
// machine runs one gateway, a SIP whose code is Go (this package's host
// module, isle_gateway), that owns a proxy endpoint for every channel one of
// whose ends lives on another node, as Barrelfish's monitor does for
// channels between its CPU drivers.
//
// The rules of the interface:
//
//   - A remote name (Import) is registered on this machine's name table by
//     the gateway, with the contract given for it. A SIP's lookup of it
//     connects to the gateway's proxy listener; the gateway then opens the
//     channel on the node that serves the name, whose gateway looks the name
//     up there (checking that the contracts match) and holds the other proxy.
//     So a channel that crosses nodes is three: SIP ↔ gateway, gateway ↔
//     gateway (frames on the link), gateway ↔ SIP.
//   - The contract is checked at the sender's kernel (the SIP's send to its
//     local proxy) and again on arrival (the receiving gateway's send to the
//     SIP, on its own copy of the protocol state): a node never trusts
//     another's check. A message the receiving side refuses closes the
//     channel at both ends, with one log line.
//   - Exchange-heap blocks attached to a message move to the other node with
//     it: the sending gateway copies each into the frame and frees it (the
//     sender's handle died at its send, as between cores), the receiving one
//     allocates a block of the same bytes and sends it on, so the receiving
//     SIP owns it. An endpoint carried in a message moves too: the sending
//     gateway keeps it, as the proxy of a new channel between the nodes, and
//     the receiving one makes a fresh channel of its contract in the state
//     the endpoint was in, sends the SIP the end of the endpoint's side and
//     keeps the other as the new channel's proxy: the endpoint's peer, on
//     the first node, and its new owner, on the second, talk through both
//     gateways from then on, checked at both ends like any crossing channel.
//   - When the link to a node is lost, every proxy endpoint whose channel
//     went there is closed: the SIPs on this node see Closed.
//   - The gateway's state (its channels, proxies, listeners) is owned by its
//     SIP and touched only on the SIP's coroutine. Link goroutines hand it
//     frames through inbox (a mutex) and wake it with a delivery.
//
// Lock order: Gateway.mu is a leaf.
package gateway

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"isle/internal/abi"
	"isle/internal/cluster/link"
	"isle/internal/contract"
	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/wasmbin"
)

// Link frame kinds of the gateway, and their payloads (integers big-endian;
// a string is a u32 length and its bytes):
const (
	KindOpen  = 0x80 // id u64, contract name, contract source, then the service name: open a channel to a service
	KindMsg   = 0x81 // dir u8, id u64, msg u16, blocks u8, payload length u32, the payload, each block (u32 length, bytes), then endpoints u8 and each one's channel id u64 and state u16
	KindClose = 0x82 // dir u8, id u64: the channel's other end closed (or was refused)
)

// dir says whose id a frame names: the sender's (it opened the channel) or
// the receiver's.
const (
	dirSenders   = 0
	dirReceivers = 1
)

const (
	kindOpen  = KindOpen
	kindMsg   = KindMsg
	kindClose = KindClose
)

// Limits of the gateway, in one place.
const (
	// maxBatch is how many frames or messages one turn of the gateway
	// handles before it yields its core.
	maxBatch = 256
	// backlogRetry is how long (ns) the gateway sleeps, rather than
	// blocks, while a message waits for room in a SIP's queue (a credit
	// does not wake it).
	backlogRetry = 200_000
	// pollHot and pollHotMax bound how long (ns) after its last frame in
	// or out the gateway polls the links itself (link.Node.Poll), staying
	// runnable, before it blocks and leaves the reading to the links'
	// reader goroutines; the window adapts between them (hot.go: why the
	// longest outlasts the cores' poll window; docs/cluster.md, "Hot
	// gateways").
	pollHot    = 100_000
	pollHotMax = 5_000_000
	// contractCacheMax bounds the gateway's cache of compiled contracts.
	contractCacheMax = 256
)

// HostModuleName is the import module of the gateway's program.
const HostModuleName = "isle_gateway"

// Import is a name served on another node, made reachable here.
type Import struct {
	Name     string // the service's name, on both nodes
	Node     uint64 // the node that serves it
	Source   []byte // the contract's source
	Contract string // the contract's name in Source
}

// Gateway is one machine's end of the cluster's channels.
type Gateway struct {
	// Immutable after New (sip after Attach, before the SIP runs).
	link    *link.Node
	imports []Import
	logf    func(format string, args ...any)
	// att is set once by Attach; link goroutines read it to wake the SIP.
	att atomic.Pointer[attachment]

	mu    sync.Mutex // guards inbox and want
	inbox []frame
	// want is the latest set of remote names given to SetImports, taken by
	// the gateway's SIP when it handles the frameImports frame.
	want []Import
	// woken: a wake delivery is on its way to the gateway's SIP.
	woken atomic.Bool

	st *state // owned by the gateway's SIP
}

// attachment is the machine and the SIP that run the gateway.
type attachment struct {
	m   *kernel.Machine
	sip *kernel.SIP
}

// frame is what a link goroutine hands the gateway: a frame from a peer, or
// (kind 0) the loss of the link to it, or (frameImports) a new set of
// remote names.
type frame struct {
	from    uint64
	kind    byte
	payload []byte
}

// New makes the gateway of a machine whose node is n. Call Attach with the
// machine and the gateway's SIP before the SIP runs.
func New(n *link.Node, imports []Import, logf func(format string, args ...any)) *Gateway {
	g := &Gateway{link: n, imports: append([]Import(nil), imports...), logf: logf}
	for _, k := range []byte{kindOpen, kindMsg, kindClose} {
		n.Handle(k, func(from uint64, p []byte) { g.post(frame{from, k, bytes.Clone(p)}) }) // the link lends p
	}
	n.OnPeerDown(func(peer uint64) { g.post(frame{from: peer}) })
	return g
}

// frameImports is the frame kind (not a link kind) that says SetImports
// gave a new set of remote names.
const frameImports = 1

// SetImports replaces the remote names the gateway serves on this machine:
// names no longer given are unregistered here (channels already open stay
// open until their node's link is lost), new ones registered. Called from
// any goroutine (isle node calls it each time the cluster's name table
// changes); the gateway's SIP applies the latest set.
func (g *Gateway) SetImports(imports []Import) {
	g.mu.Lock()
	g.want = append([]Import(nil), imports...)
	g.mu.Unlock()
	g.post(frame{kind: frameImports})
}

// wanted returns the latest set given to SetImports.
func (g *Gateway) wanted() []Import {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.want
}

// Module is the gateway's program: a _start that calls isle_gateway.run,
// which returns only when the machine stops.
func Module() []byte {
	return wasmbin.CallsModule(HostModuleName, []wasmbin.Import{{Name: "run"}}, []wasmbin.Call{{Func: 0}}, nil)
}

// HostModule is module isle_gateway. Only the gateway's own SIP may call it.
func (g *Gateway) HostModule() sandbox.HostModule {
	return sandbox.HostModule{Name: HostModuleName, Funcs: []sandbox.HostFunc{{
		Name: "run",
		Fn: func(c *sandbox.Call, _ []uint64) {
			s := kernel.SIPOf(c)
			if a := g.att.Load(); a == nil || s != a.sip {
				c.Exit(1) // a SIP that is not the gateway
				return
			}
			g.run(s)
		},
	}}}
}

// Attach names the machine and the SIP that runs the gateway; call it before
// spawning the SIP.
func (g *Gateway) Attach(m *kernel.Machine, s *kernel.SIP) {
	g.att.Store(&attachment{m: m, sip: s})
}

// Serves reports whether pid is the gateway's own SIP: the names it
// registers are other nodes', not its machine's.
func (g *Gateway) Serves(pid int64) bool {
	a := g.att.Load()
	return a != nil && a.sip.PID() == pid
}

// post queues f for the gateway and wakes its SIP. Called on link goroutines.
func (g *Gateway) post(f frame) {
	g.mu.Lock()
	g.inbox = append(g.inbox, f)
	g.mu.Unlock()
	if a := g.att.Load(); a != nil && !g.woken.Swap(true) {
		a.m.Deliver(a.sip.Home(), (*wake)(g))
	}
}

// wake is the delivery that wakes the gateway's SIP on its core.
type wake Gateway

func (w *wake) Deliver(c *kernel.Core) {
	if s := w.att.Load().sip; s.Core() == c {
		c.Wake(s)
	}
}

func (w *wake) Target() *kernel.SIP { return w.att.Load().sip }

var _ kernel.SIPDeliverable = (*wake)(nil)

// take empties the inbox into buf.
func (g *Gateway) take(buf []frame) []frame {
	g.woken.Store(false)
	g.mu.Lock()
	buf = append(buf, g.inbox...)
	clear(g.inbox)
	g.inbox = g.inbox[:0]
	g.mu.Unlock()
	return buf
}

// pending reports whether frames wait in the inbox.
func (g *Gateway) pending() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.inbox) > 0
}

// Encoding of the frames.

func encodeOpen(id uint64, imp Import) []byte {
	b := binary.BigEndian.AppendUint64(nil, id)
	b = appendString(b, imp.Contract)
	b = appendString(b, string(imp.Source))
	return append(b, imp.Name...)
}

func decodeOpen(b []byte) (id uint64, cname, src, name string, err error) {
	if len(b) < 8 {
		return 0, "", "", "", errShort
	}
	id, b = binary.BigEndian.Uint64(b), b[8:]
	if cname, b, err = cutString(b); err != nil {
		return
	}
	if src, b, err = cutString(b); err != nil {
		return
	}
	return id, cname, src, string(b), nil
}

// A msg frame: dir, id, msg, the number of blocks (u8), the payload's
// length (u32), the payload, each block as a u32 length and its bytes, then
// the number of endpoints carried (u8) and, for each endpoint field in
// order, the id of the channel it continues on and its state (u64, u16).

// carried is an endpoint that a message takes to another node: the channel
// id its sending gateway keeps it under, and its protocol state.
type carried struct {
	id    uint64
	state contract.StateID
}

func encodeMsg(dir byte, id uint64, msg contract.MsgID, payload []byte, blocks [][]byte, refs []carried) []byte {
	size := 17 + len(payload) + 10*len(refs)
	for _, b := range blocks {
		size += 4 + len(b)
	}
	b := make([]byte, 0, size)
	b = append(b, dir)
	b = binary.BigEndian.AppendUint64(b, id)
	b = binary.BigEndian.AppendUint16(b, uint16(msg))
	b = append(b, byte(len(blocks)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	for _, blk := range blocks {
		b = binary.BigEndian.AppendUint32(b, uint32(len(blk)))
		b = append(b, blk...)
	}
	b = append(b, byte(len(refs)))
	for _, r := range refs {
		b = binary.BigEndian.AppendUint64(b, r.id)
		b = binary.BigEndian.AppendUint16(b, uint16(r.state))
	}
	return b
}

// msgFrame is a decoded msg frame; payload and blocks are views of the frame.
type msgFrame struct {
	dir     byte
	id      uint64
	msg     contract.MsgID
	payload []byte
	blocks  [][]byte
	refs    []carried
}

// decodeMsg cuts a msg frame, with at most maxBlocks blocks.
func decodeMsg(b []byte, maxBlocks int) (m msgFrame, err error) {
	if len(b) < 16 || b[0] > dirReceivers || int(b[11]) > maxBlocks {
		return m, errShort
	}
	m.dir, m.id, m.msg = b[0], binary.BigEndian.Uint64(b[1:]), contract.MsgID(binary.BigEndian.Uint16(b[9:]))
	nb := int(b[11])
	n := binary.BigEndian.Uint32(b[12:])
	rest := b[16:]
	if uint64(n) > uint64(len(rest)) {
		return m, errShort
	}
	m.payload, rest = rest[:n:n], rest[n:]
	for i := 0; i < nb; i++ {
		if len(rest) < 4 {
			return m, errShort
		}
		k := binary.BigEndian.Uint32(rest)
		if uint64(k) > uint64(len(rest)-4) {
			return m, errShort
		}
		m.blocks = append(m.blocks, rest[4:4+k:4+k])
		rest = rest[4+k:]
	}
	if len(rest) < 1 || len(rest) != 1+10*int(rest[0]) {
		return m, errShort
	}
	for rest = rest[1:]; len(rest) > 0; rest = rest[10:] {
		m.refs = append(m.refs, carried{id: binary.BigEndian.Uint64(rest), state: contract.StateID(binary.BigEndian.Uint16(rest[8:]))})
	}
	return m, nil
}

func encodeClose(dir byte, id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{dir}, id)
}

func decodeClose(b []byte) (dir byte, id uint64, err error) {
	if len(b) != 9 || b[0] > dirReceivers {
		return 0, 0, errShort
	}
	return b[0], binary.BigEndian.Uint64(b[1:]), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func cutString(b []byte) (string, []byte, error) {
	if len(b) < 4 {
		return "", nil, errShort
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return "", nil, errShort
	}
	return string(b[4 : 4+n]), b[4+n:], nil
}

var errShort = fmt.Errorf("malformed frame")

// procOf is the gateway SIP's channel state.
func procOf(s *kernel.SIP) *abi.Proc { return s.Ext.(abi.Owner).Channels() }
