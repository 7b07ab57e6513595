// Package link carries frames between the nodes of an isle cluster: one TCP
// connection (a session) per pair of nodes, mutually authenticated by TLS when
// Config.TLS is set, framed (length, kind, payload) and batched.
//
// The rules of the interface:
//
//   - Send queues a frame and returns; a writer goroutine per session drains the
//     queue and writes every frame queued so far in one write. A frame that
//     answers one (a handler's reply) Send writes itself, without blocking
//     (Node.reply). Queue queues without telling the writer, and Flush then
//     writes every queue on the caller's goroutine, without blocking it (a
//     core's gateway: see nbConn). Frames to one peer
//     arrive in the order they were sent, once, or not at all: when a session is
//     lost, what was queued or in flight is dropped and the OnPeerDown functions
//     run. Frames sent while no session is up wait in the queue (at most MaxQueued
//     bytes a peer) for the next one.
//   - The node with the lower id dials; the higher one only accepts. A higher node
//     that has no session to a lower one it knows of sends it a hint (a short
//     connection saying "dial me at ADDR"), so that a node can join a cluster whose
//     members do not know its address yet.
//   - A handler (Handle) runs on the reading goroutine of the session the frame
//     came on, or on a goroutine that calls Poll (a core's gateway, which reads
//     the sockets itself while it expects frames). The payload is lent: it is
//     valid until the handler returns, and the reader reads the next frames
//     over it; a handler that keeps it (hands it to another goroutine) copies
//     it. Frames of one session reach their handlers in order either way. A
//     handler must not block: it would stop its session's reading, or a core.
//   - Kinds 0xF0 to 0xFF belong to the link itself (handshake, heartbeat);
//     0x80 to 0x8F to the channels between nodes (internal/cluster/gateway);
//     the Raft group and other users of the link take kinds below 0x80.
//   - The node refuses, each with one log line: a connection that does not speak
//     the link's handshake, a certificate not from the cluster's CA (TLS), a peer
//     claiming an id its certificate does not carry, a peer claiming this node's
//     own id, and a second node claiming the id of one that is linked already.
//
// Lock order: Node.mu before peer.qmu; session.wmu before peer.qmu;
// session.rmu and session.wmu before nbConn.bmu, a leaf. No handler or
// OnPeerDown function runs under Node.mu, peer.qmu, session.wmu or
// nbConn.bmu; handlers run under their session's rmu (so a handler that ends
// its own session leaves the socket's closing to the drain it runs in).
package link

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Limits and timings of the link, in one place.
const (
	// MaxFrame is the largest payload of one frame.
	MaxFrame = 16 << 20
	// MaxQueued is the most bytes of frames queued to one peer; Send past it
	// returns ErrQueueFull.
	MaxQueued = 64 << 20
	// KindReserved is the first kind that belongs to the link itself.
	KindReserved = 0xF0

	kindHello   = 0xFF // dialer → acceptor: who I am
	kindWelcome = 0xFE // acceptor → dialer: accepted or refused, and why
	kindPing    = 0xFD // either way: a heartbeat on an idle session

	headerSize = 5 // 4-byte big-endian payload length, 1-byte kind

	// handshakeTimeout bounds a connection's TLS handshake and hello.
	handshakeTimeout = 5 * time.Second
	// pingInterval: a writer idle this long sends a heartbeat.
	pingInterval = 500 * time.Millisecond
	// deadAfter: a session that reads nothing this long is lost.
	deadAfter = 3 * time.Second
	// writeTimeout bounds each wait of a session's writer for its socket to
	// take more of a backlog.
	writeTimeout = 5 * time.Second
	// backoffMin and backoffMax bound the wait between two dials of a peer.
	backoffMin = 20 * time.Millisecond
	backoffMax = 2 * time.Second
	// readBuffer is the size of a session's read buffer.
	readBuffer = 64 << 10
	// PollBatch is the most frames one Poll reads from a session, so that a
	// peer's flood does not hold a core in Poll: a caller that got frames
	// polls again (frames left in the session's buffers wake no reader).
	PollBatch = 256
	// pollLease: a reader that left its socket to a poller (SetPolling)
	// and sees no call of Poll for this long takes the socket back, as if
	// the poller had said it stopped: a poller that goes away without
	// saying so (a machine stopped while its gateway polled) must not
	// leave the link unread, the Raft group's frames with the rest.
	pollLease = 20 * time.Millisecond
)

// Errors of Send.
var (
	ErrClosed      = errors.New("link: node closed")
	ErrUnknownPeer = errors.New("link: unknown peer")
	ErrQueueFull   = errors.New("link: queue to peer full")
	ErrTooLarge    = errors.New("link: frame too large")
)

// Config says who a node is and whom it links to.
type Config struct {
	// ID is this node's id, not 0.
	ID uint64
	// Listen is the TCP address to listen on for peers ("127.0.0.1:0" picks a
	// port; Node.Addr says which).
	Listen string
	// Peers maps the ids of known peers to their addresses.
	Peers map[uint64]string
	// TLS, when set, makes every session mutual TLS 1.3: it must hold this
	// node's certificate and the cluster's CA (LoadTLS makes one). Nil: plain TCP.
	TLS *tls.Config
	// Logf receives the link's log lines; nil: the log package's.
	Logf func(format string, args ...any)
}

// Node is one node's end of every link. Its methods may be called from any
// goroutine.
type Node struct {
	// Immutable after Start.
	id          uint64
	incarnation uint64 // random per Start: tells a restarted node from a duplicate
	listen      string
	ln          net.Listener
	serverTLS   *tls.Config // nil without TLS
	clientTLS   *tls.Config
	logf        func(format string, args ...any)
	done        chan struct{} // closed by Close
	shut        atomic.Bool   // set by Close before done is closed: Send's check, a load
	born        time.Time     // Start's time: clock counts from it

	// handlers[kind] is set by Handle, read by every session's reader.
	handlers [256]atomic.Pointer[func(from uint64, payload []byte)]

	mu     sync.Mutex
	peers  map[uint64]*peer    // guarded by mu
	downs  []func(peer uint64) // guarded by mu
	closed bool                // guarded by mu
	conns  map[net.Conn]bool   // guarded by mu: connections still in handshake
	// live lists the sessions up, for Poll: replaced (never changed in
	// place) under mu by publishLocked, read without it. known is peers as
	// of its last addition, for Send: replaced under mu, read without it.
	live  atomic.Pointer[[]*session]
	known atomic.Pointer[peerSet]

	wg sync.WaitGroup // every goroutine of the node

	// polling: a caller of Poll reads the sockets at every turn
	// (SetPolling), so the sessions' readers do not wait on them; polls
	// counts the calls of Poll, so that a reader can tell a poller that
	// went away without saying so (pollLease).
	polling atomic.Bool
	polls   atomic.Uint64
	// parked counts the readers waiting for the poller to stop (tests).
	parked atomic.Int32

	// Counters, added to by the writers: frames written, and the writes that
	// carried them; by the readers and Poll: frames read by each, and the
	// read(2)s of every session's socket.
	framesOut, writes        atomic.Uint64
	framesRead, framesPolled atomic.Uint64
	reads                    atomic.Uint64
}

// Stats are a node's counters.
type Stats struct {
	FramesOut uint64 // frames written to sessions (heartbeats included)
	Writes    uint64 // writes that carried them: FramesOut/Writes is the batching
	// Frames read from sessions (heartbeats included) by the sessions'
	// reader goroutines, and by callers of Poll.
	FramesRead, FramesPolled uint64
	// Reads counts the read(2)s of the sessions' sockets, by the readers
	// and by Poll (one that finds nothing counts too).
	Reads uint64
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	return Stats{FramesOut: n.framesOut.Load(), Writes: n.writes.Load(),
		FramesRead: n.framesRead.Load(), FramesPolled: n.framesPolled.Load(), Reads: n.reads.Load()}
}

// peer is what a node knows of one other node.
type peer struct {
	id   uint64
	kick chan struct{} // wakes the peer's dialer (capacity 1)

	// Guarded by Node.mu.
	addr      string
	sess      *session // and in cur, for Send, which reads it without mu
	dialer    bool     // a dialer goroutine runs for this peer
	epoch     uint64   // lower side: sessions dialed so far; higher side: the last one accepted
	lost      uint64   // higher side: the epoch of the last session it lost (its hints carry it)
	lastError string   // the last dial or refusal reason logged, so a repeat is not

	cur atomic.Pointer[session] // sess, stored under Node.mu beside it

	// The queue, guarded by qmu; signal (capacity 1) tells the writer.
	qmu    sync.Mutex
	q      queue
	signal chan struct{}
}

// Start listens on cfg.Listen and starts dialing the peers that cfg.Peers names.
func Start(cfg Config) (*Node, error) {
	if cfg.ID == 0 {
		return nil, errors.New("link: node id 0 is not allowed")
	}
	n := &Node{
		id:     cfg.ID,
		logf:   cfg.Logf,
		done:   make(chan struct{}),
		peers:  make(map[uint64]*peer),
		conns:  make(map[net.Conn]bool),
		listen: cfg.Listen,
		born:   time.Now(),
	}
	if n.logf == nil {
		n.logf = log.Printf
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("link: %v", err)
	}
	n.incarnation = binary.LittleEndian.Uint64(b[:]) | 1
	if cfg.TLS != nil {
		var err error
		if n.serverTLS, n.clientTLS, err = tlsConfigs(cfg.TLS); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("link: node %d: listen: %v", cfg.ID, err)
	}
	n.ln = ln
	if host, port, err := net.SplitHostPort(cfg.Listen); err == nil && (port == "0" || port == "") {
		_, real, _ := net.SplitHostPort(ln.Addr().String())
		n.listen = net.JoinHostPort(host, real)
	}
	ids := make([]uint64, 0, len(cfg.Peers))
	for id := range cfg.Peers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if id == cfg.ID {
			continue
		}
		n.AddPeer(id, cfg.Peers[id])
	}
	n.wg.Add(1)
	go n.acceptLoop()
	return n, nil
}

// ID is the node's id.
func (n *Node) ID() uint64 { return n.id }

// Addr is the address the node listens on.
func (n *Node) Addr() string { return n.listen }

// Handle sets the function that frames of kind are given to (nil: dropped).
// Kinds from KindReserved up belong to the link. The payload fn is given is
// valid until fn returns: fn copies what it keeps.
func (n *Node) Handle(kind byte, fn func(from uint64, payload []byte)) {
	if kind >= KindReserved {
		panic(fmt.Sprintf("link: kind %#x is reserved", kind))
	}
	if fn == nil {
		n.handlers[kind].Store(nil)
		return
	}
	n.handlers[kind].Store(&fn)
}

// OnPeerDown adds a function called, on some goroutine of the link, each time
// a session with a peer is lost (after its queue was dropped).
func (n *Node) OnPeerDown(fn func(peer uint64)) {
	n.mu.Lock()
	n.downs = append(n.downs, fn)
	n.mu.Unlock()
}

// AddPeer says where peer id listens. A known peer's address is replaced; its
// live session, if any, is kept.
func (n *Node) AddPeer(id uint64, addr string) {
	if id == n.id || id == 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	p := n.peerLocked(id)
	p.addr = addr
	n.startDialerLocked(p)
}

// Peers lists the ids of the peers that have a live session, in order.
func (n *Node) Peers() []uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	var ids []uint64
	for id, p := range n.peers {
		if p.sess != nil {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Linked reports whether a session with peer id is up.
func (n *Node) Linked(id uint64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.peers[id]
	return p != nil && p.sess != nil
}

// peerLocked returns the record of peer id, making it if needed.
func (n *Node) peerLocked(id uint64) *peer {
	p := n.peers[id]
	if p == nil {
		p = &peer{id: id, kick: make(chan struct{}, 1), signal: make(chan struct{}, 1)}
		n.peers[id] = p
		n.known.Store(newPeerSet(n.peers))
	}
	return p
}

// Send queues a frame of kind to peer to and tells the session's writer.
// The payload is copied.
func (n *Node) Send(to uint64, kind byte, payload []byte) error {
	return n.enqueue(to, kind, payload, true)
}

// Queue queues a frame as Send does but leaves it for the caller's next
// Flush (or the writer's next write): a caller that sends several frames
// and then flushes writes them in one write, on its own goroutine.
func (n *Node) Queue(to uint64, kind byte, payload []byte) error {
	return n.enqueue(to, kind, payload, false)
}

func (n *Node) enqueue(to uint64, kind byte, payload []byte, tell bool) error {
	if len(payload) > MaxFrame {
		return ErrTooLarge
	}
	if n.isClosed() {
		return ErrClosed
	}
	p := n.known.Load().find(to)
	if p == nil {
		return ErrUnknownPeer
	}
	s := p.cur.Load()
	var backlog int64
	if s != nil {
		backlog = s.nb.pending.Load()
	}
	p.qmu.Lock()
	if int64(p.q.bytes+headerSize+len(payload))+backlog > MaxQueued {
		p.qmu.Unlock()
		return ErrQueueFull
	}
	wasEmpty := p.q.push(kind, payload)
	p.qmu.Unlock()
	if tell && wasEmpty && (s == nil || !n.reply(s)) { // else the writer was told already and has not swapped the queue yet
		signal(p)
	}
	return nil
}

// reply writes the queue of s's peer now, on the caller's goroutine, when
// the frame Send queued answers one: s has read a frame since reply last
// wrote (a ping-pong, a request and its answer; a handler calling Send),
// and no one is writing. It reports whether it wrote (or ended s). A reply
// so saves the hand-off to the writer goroutine, and the wait for the Go
// runtime to run it; a stream (frames sent with none read between them) is
// left to the writer, whose one write carries every frame queued meanwhile,
// where writing each at once would cost a system call a frame. The write
// does not block (nbConn).
func (n *Node) reply(s *session) bool {
	r := s.reads.Load()
	if s.replied.Load() == r {
		return false
	}
	wrote, err := n.writeQueue(s, false)
	if err != nil {
		n.endSession(s, err)
		return true
	}
	if wrote {
		s.replied.Store(r)
	}
	return wrote
}

// signal tells p's writer that its queue has frames.
func signal(p *peer) {
	select {
	case p.signal <- struct{}{}:
	default:
	}
}

// Flush writes the frames queued to every linked peer now, on the calling
// goroutine, which it never blocks: the socket takes what it can and the
// session's writer goroutine writes the rest (nbConn). Where that writer is
// writing already, Flush leaves the frames to it. A caller that would
// otherwise hand each batch to the writer goroutine (a core's gateway) saves
// a goroutine hand-off a batch, and the wait for the Go runtime to run the
// writer, which it readied on the caller's processor.
func (n *Node) Flush() {
	live := n.live.Load()
	if live == nil {
		return
	}
	for _, s := range *live {
		p := s.peer
		p.qmu.Lock()
		empty := p.q.bytes == 0
		p.qmu.Unlock()
		if empty {
			continue
		}
		wrote, err := n.writeQueue(s, false)
		switch {
		case err != nil:
			n.endSession(s, err)
		case !wrote:
			signal(p)
		}
	}
}

// Poll reads, without waiting, the frames that have arrived on every
// session and hands each to its kind's handler on the calling goroutine, as
// the session's reader would (in order, once). A session whose read side is
// held (its reader is draining it) is skipped: its frames are on their way.
// It returns how many frames it read; one that read any must poll again
// soon (at most PollBatch a session a call): a session's reader that found
// Poll reading may have left frames to it. Poll lets a caller that would
// otherwise spin, waiting for a frame (a core whose gateway expects an
// answer), read the socket itself rather than wait for the Go runtime to
// notice the socket and run the reader, which it does only when one of its
// processors goes idle.
func (n *Node) Poll() int {
	n.polls.Add(1)
	live := n.live.Load()
	if live == nil {
		return 0
	}
	got := 0
	for _, s := range *live {
		k, err := n.drain(s)
		got += k
		if err != nil {
			n.endSession(s, err)
		}
	}
	return got
}

// SetPolling says whether the caller of Poll now reads the sockets at every
// turn (true) or has stopped (false). While it does, the sessions' reader
// goroutines do not wait on the sockets, so that a frame arriving wakes no
// thread but finds the poller (nbConn: why a woken thread costs a spinning
// core its CPU); a reader still ends its session when nothing is heard for
// deadAfter. Setting it false wakes the readers, which read what the poller
// left. A caller that sets it must call Poll often (a core's gateway, hot)
// and set it false before it stops polling (blocks, sleeps); frames that
// come meanwhile wait for its next Poll. A caller that stops calling Poll
// without setting it false (it was stopped) holds the sockets at most
// pollLease: the readers then read them again, until Poll is called again.
// Only one caller may use it.
func (n *Node) SetPolling(on bool) {
	if n.polling.Load() == on {
		return
	}
	n.polling.Store(on)
	if on {
		return
	}
	if live := n.live.Load(); live != nil {
		for _, s := range *live {
			select {
			case s.unpolled <- struct{}{}:
			default:
			}
		}
	}
}

// publishLocked replaces the list of live sessions and stores each peer's
// session in its cur (Send reads them without mu); mu is held.
func (n *Node) publishLocked() {
	var live []*session
	for _, p := range n.peers {
		p.cur.Store(p.sess)
		if p.sess != nil {
			live = append(live, p.sess)
		}
	}
	n.live.Store(&live)
}

// clock is the time since Start, in nanoseconds (monotonic).
func (n *Node) clock() int64 { return int64(time.Since(n.born)) }

// appendFrame appends one frame to buf.
func appendFrame(buf []byte, kind byte, payload []byte) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(payload)))
	buf = append(buf, kind)
	return append(buf, payload...)
}

// Close ends every session and goroutine of the node. The OnPeerDown
// functions run for each session it ends.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.shut.Store(true)
	close(n.done)
	var sessions []*session
	for _, p := range n.peers {
		if p.sess != nil {
			sessions = append(sessions, p.sess)
		}
	}
	for c := range n.conns {
		c.Close()
	}
	n.mu.Unlock()
	err := n.ln.Close()
	for _, s := range sessions {
		n.endSession(s, ErrClosed)
	}
	n.wg.Wait()
	return err
}

// isClosed reports whether Close was called.
func (n *Node) isClosed() bool { return n.shut.Load() }

// peerSet is the peers a node knows, for Send: immutable once made, ids in
// order, searched without a map (a cluster has a handful of nodes; a map
// lookup cost Send as much as the rest of its checks).
type peerSet struct {
	ids   []uint64
	peers []*peer
}

// newPeerSet returns the set of the peers in m.
func newPeerSet(m map[uint64]*peer) *peerSet {
	ps := &peerSet{ids: make([]uint64, 0, len(m)), peers: make([]*peer, 0, len(m))}
	for id := range m {
		ps.ids = append(ps.ids, id)
	}
	sort.Slice(ps.ids, func(i, j int) bool { return ps.ids[i] < ps.ids[j] })
	for _, id := range ps.ids {
		ps.peers = append(ps.peers, m[id])
	}
	return ps
}

// find returns peer id, or nil; ps may be nil (no peer yet).
func (ps *peerSet) find(id uint64) *peer {
	if ps == nil {
		return nil
	}
	ids := ps.ids
	if len(ids) <= 16 {
		for i, x := range ids {
			if x == id {
				return ps.peers[i]
			}
		}
		return nil
	}
	if i := sort.Search(len(ids), func(i int) bool { return ids[i] >= id }); i < len(ids) && ids[i] == id {
		return ps.peers[i]
	}
	return nil
}

// trackConn records a connection in handshake so that Close can end it; it
// returns false when the node is closed.
func (n *Node) trackConn(c net.Conn, on bool) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if on {
		if n.closed {
			return false
		}
		n.conns[c] = true
	} else {
		delete(n.conns, c)
	}
	return true
}
