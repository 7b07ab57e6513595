package link

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// session is one live connection with a peer, after its handshake.
type session struct {
	// Immutable after register.
	peer        *peer
	conn        net.Conn // nb, or the TLS connection over it
	nb          *nbConn
	epoch       uint64 // the lower side's dial number of this session
	incarnation uint64 // the peer's, from its handshake
	done        chan struct{}

	once sync.Once // ends the session once

	// The read side: rmu is held by whoever reads frames, the session's
	// reader goroutine or a poller (Node.Poll), never while waiting.
	rmu      sync.Mutex
	fr       frameReader  // guarded by rmu
	shut     bool         // guarded by rmu: the connection is closed
	closeDue atomic.Bool  // endSession found rmu held: its holder closes the connection
	heard    atomic.Int64 // Node.clock when a frame was last read
	// reads counts the drains that read a frame; replied is its value when
	// Node.reply last wrote. Each is written by its side only.
	reads, replied atomic.Uint64
	// missed: the reader was woken while a poller held rmu, and left what
	// woke it to that poller (drain).
	missed atomic.Bool

	// The write side: wmu is held by whoever writes the peer's queue into
	// the connection, the session's writer goroutine or a flusher
	// (Node.Flush); it keeps the queue's batches in order on the wire.
	wmu sync.Mutex
	out [][]byte // guarded by wmu: the batch being written
}

// newSession makes the session of connection c with p.
func newSession(p *peer, c net.Conn, epoch, incarnation uint64) (*session, error) {
	nb, ok := c.(*nbConn)
	if tc, isTLS := c.(*tls.Conn); isTLS {
		nb, ok = tc.NetConn().(*nbConn)
	}
	if !ok {
		return nil, errNotTCP
	}
	s := &session{peer: p, conn: c, nb: nb, epoch: epoch, incarnation: incarnation, done: make(chan struct{})}
	s.fr = frameReader{conn: c, buf: make([]byte, readBuffer)}
	return s, nil
}

// register makes s the live session of its peer and starts its reader and
// writer. It returns false (and closes the connection) when the node is closed
// or the peer has a live session already.
func (n *Node) register(s *session) bool {
	n.mu.Lock()
	if n.closed || s.peer.sess != nil {
		n.mu.Unlock()
		s.conn.Close()
		return false
	}
	if err := s.nb.start(&n.reads); err != nil {
		n.mu.Unlock()
		s.conn.Close()
		return false
	}
	s.heard.Store(n.clock())
	s.peer.sess = s
	s.peer.lastError = ""
	n.publishLocked()
	n.wg.Add(2)
	n.mu.Unlock()
	go n.writeLoop(s)
	go n.readLoop(s)
	return true
}

// endSession closes s, drops its peer's queue and runs the OnPeerDown
// functions, once.
func (n *Node) endSession(s *session, why error) {
	s.once.Do(func() {
		close(s.done)
		s.closeDue.Store(true)
		if s.rmu.TryLock() {
			s.closeConnLocked()
			s.rmu.Unlock()
		} // else the reader or poller that holds it closes it on its way out
		p := s.peer
		n.mu.Lock()
		if p.sess == s {
			p.sess = nil
			n.publishLocked()
		}
		p.lost = max(p.lost, s.epoch)
		downs := append([]func(uint64){}, n.downs...)
		closing := n.closed
		n.mu.Unlock()
		p.qmu.Lock()
		p.q.drop()
		p.qmu.Unlock()
		if !closing {
			n.logf("link: node %d: lost the link to node %d: %v", n.id, p.id, why)
		}
		for _, fn := range downs {
			fn(p.id)
		}
		kickPeer(p)
	})
}

// kickPeer wakes the peer's dialer.
func kickPeer(p *peer) {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// writeLoop drains the peer's queue into the session when told (Send):
// every frame queued since the last write goes in one write. It flushes the
// connection's backlog when the socket did not take a write at once. An
// idle session gets a heartbeat.
func (n *Node) writeLoop(s *session) {
	defer n.wg.Done()
	p := s.peer
	ping := time.NewTimer(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-s.nb.kick:
			if err := s.nb.flush(); err != nil {
				n.endSession(s, err)
				return
			}
			continue
		case <-p.signal:
		case <-ping.C:
			p.qmu.Lock()
			if p.q.bytes == 0 {
				p.q.push(kindPing, nil)
			}
			p.qmu.Unlock()
		}
		if _, err := n.writeQueue(s, true); err != nil {
			n.endSession(s, err)
			return
		}
		if !ping.Stop() {
			select {
			case <-ping.C:
			default:
			}
		}
		ping.Reset(pingInterval)
	}
}

// writeQueue writes every frame queued to s's peer, a chunk a write,
// holding s.wmu: wait says whether to wait for it (the writer goroutine) or
// to give up when another holds it (Flush), which it reports. The writes do
// not block (nbConn.Write).
func (n *Node) writeQueue(s *session, wait bool) (bool, error) {
	if wait {
		s.wmu.Lock()
	} else if !s.wmu.TryLock() {
		return false, nil
	}
	defer s.wmu.Unlock()
	p := s.peer
	p.qmu.Lock()
	var frames uint64
	s.out, frames = p.q.take(s.out[:0])
	p.qmu.Unlock()
	if frames == 0 {
		return true, nil
	}
	n.framesOut.Add(frames)
	s.nb.mayBlock.Store(wait)
	for _, c := range s.out {
		if _, err := s.conn.Write(c); err != nil {
			s.nb.mayBlock.Store(false)
			return true, err
		}
		n.writes.Add(1)
	}
	s.nb.mayBlock.Store(false)
	p.qmu.Lock()
	p.q.recycle(s.out)
	p.qmu.Unlock()
	clear(s.out)
	return true, nil
}

// closeConnLocked closes the connection, once; rmu is held.
func (s *session) closeConnLocked() {
	if !s.shut {
		s.shut = true
		s.conn.Close()
	}
}

// readLoop hands every frame that arrives to its kind's handler (drain),
// until the session ends. It drains inside the runtime's wait for the
// socket (nbConn.readWaiting): at once (the handshake may have left whole
// frames in the TLS connection's buffers, which no readability would
// announce), then each time the socket becomes readable, so that a frame
// costs the reader one read(2) and no other system call of its own. A
// poller (Node.Poll) may have read the frames first; the reader then finds
// none and waits again. Where a poller holds the read side, the reader
// leaves what woke it to the poller (missed) and waits again: it may not
// wait for rmu inside the runtime's wait (see readWaiting), and waiting for
// it outside would make a hot gateway, which polls at every turn, hand the
// mutex to the reader again and again. The poller looks at missed after it
// lets rmu go and, if it is set, drains again (drain): so a byte that came
// after the poller's last read, whose wake-up the reader spent, is read.
func (n *Node) readLoop(s *session) {
	defer n.wg.Done()
	s.nb.TCPConn.SetReadDeadline(n.born.Add(time.Duration(s.heard.Load()) + deadAfter))
	for {
		var derr error
		err := s.nb.readWaiting(func() bool {
			if !s.tryReadSide() {
				return s.closeDue.Load() // its holder reads what woke us
			}
			s.nb.drained, s.nb.lazy = false, true
			_, derr = n.drainLocked(s, false)
			s.nb.lazy = false
			s.rmu.Unlock()
			return derr != nil || s.closeDue.Load()
		})
		switch {
		case derr != nil:
			n.endSession(s, derr)
			return
		case s.closeDue.Load():
			s.rmu.Lock() // endSession left the closing to us, or to a poller
			s.closeConnLocked()
			s.rmu.Unlock()
			return
		case err == nil:
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			// The deadline is renewed only when it passes: once per
			// deadAfter on a busy session, not once per frame.
			if heard := s.heard.Load(); n.clock()-heard < int64(deadAfter) {
				s.nb.TCPConn.SetReadDeadline(n.born.Add(time.Duration(heard) + deadAfter))
				continue
			}
			err = fmt.Errorf("nothing heard for %v", deadAfter)
		}
		n.endSession(s, err)
		return
	}
}

// tryReadSide takes rmu for the reader goroutine without waiting on it: a
// poller's drain lasts about a microsecond, so it tries a few times,
// yielding between tries, and reads what woke it itself, off the poller's
// core (the poller then has no read to make again). Where the poller still
// holds it, it sets missed and tries once more: see drain.
func (s *session) tryReadSide() bool {
	for i := 0; i < readSideTries; i++ {
		if s.rmu.TryLock() {
			s.missed.Store(false)
			return true
		}
		runtime.Gosched()
	}
	s.missed.Store(true) // before the last try: see drain
	if s.rmu.TryLock() {
		s.missed.Store(false)
		return true
	}
	return false
}

// readSideTries is how many times tryReadSide tries rmu before it leaves
// what woke the reader to the poller.
const readSideTries = 4

// drain reads, for a poller, every frame that can be read without waiting
// (at most PollBatch) and hands each to its handler, holding the session's
// read side; it gives up at once when another holds it. It returns how
// many frames it read.
//
// A reader woken while the poller held rmu set missed and tried rmu again
// after it: so if that try failed because of this poller, the poller finds
// missed set once it has let rmu go, and drains again. (Past PollBatch it
// leaves missed set for the next Poll, which its caller owes.)
func (n *Node) drain(s *session) (got int, err error) {
	for {
		if !s.rmu.TryLock() {
			return got, nil
		}
		k, err := n.drainLocked(s, true)
		got += k
		if s.closeDue.Load() {
			s.closeConnLocked()
		}
		s.rmu.Unlock()
		if err != nil || got >= PollBatch || !s.missed.Load() || !s.missed.Swap(false) {
			return got, err
		}
	}
}

// drainLocked reads every frame that can be read without waiting (at most
// PollBatch for a poller) and hands each to its handler; rmu is held. It
// stops when the session is ending. It closes nothing: the reader goroutine
// calls it inside the runtime's wait, where closing would wait for itself.
func (n *Node) drainLocked(s *session, poll bool) (got int, err error) {
	defer func() {
		if got > 0 {
			s.heard.Store(n.clock())
			if poll {
				n.framesPolled.Add(uint64(got))
			} else {
				n.framesRead.Add(uint64(got))
			}
		}
	}()
	if s.shut {
		return 0, nil
	}
	for {
		if s.closeDue.Load() || poll && got >= PollBatch {
			return got, nil // the session ends; or a poller has done its share
		}
		kind, payload, err := s.fr.next()
		if err != nil {
			if errors.Is(err, errWouldBlock) {
				return got, nil
			}
			return got, err
		}
		if got++; got == 1 {
			s.reads.Add(1) // Send's reply rule: a frame came since its last direct write
		}
		if kind >= KindReserved {
			if kind != kindPing {
				return got, fmt.Errorf("protocol: frame of kind %#x after the handshake", kind)
			}
			continue
		}
		if fn := n.handlers[kind].Load(); fn != nil {
			(*fn)(s.peer.id, payload)
		}
	}
}

// Sizes of the reader's arena for small payloads.
const (
	arenaSize     = 32 << 10
	arenaMaxFrame = 512 // payloads up to this size share an arena
)

// frameReader cuts frames out of what it reads from a connection.
type frameReader struct {
	conn  io.Reader
	buf   []byte
	r, w  int    // buf[r:w] is read and not yet cut
	arena []byte // free room for small payloads
}

// next returns the next frame. Its payload is the caller's to keep.
func (f *frameReader) next() (byte, []byte, error) {
	if f.w-f.r < headerSize { // else the header is read: no call
		if err := f.fill(headerSize); err != nil {
			return 0, nil, err
		}
	}
	hdr := f.buf[f.r : f.r+headerSize]
	size, kind := int(binary.BigEndian.Uint32(hdr)), hdr[4]
	if size > MaxFrame {
		return 0, nil, fmt.Errorf("protocol: frame of %d bytes (at most %d)", size, MaxFrame)
	}
	if f.w-f.r < headerSize+size {
		if err := f.fill(headerSize + size); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
	}
	var payload []byte
	if size <= arenaMaxFrame {
		if len(f.arena) < size {
			f.arena = make([]byte, arenaSize)
		}
		payload = f.arena[:size:size]
		f.arena = f.arena[size:]
	} else {
		payload = make([]byte, size)
	}
	copy(payload, f.buf[f.r+headerSize:])
	f.r += headerSize + size
	return kind, payload, nil
}

// fill reads until buf[r:w] holds at least k bytes. A read that would
// block returns errWouldBlock, keeping what was read: the next call goes on
// from there.
func (f *frameReader) fill(k int) error {
	if f.w-f.r >= k {
		return nil
	}
	if f.r+k > len(f.buf) {
		if k > len(f.buf) {
			nb := make([]byte, max(k, 2*len(f.buf)))
			f.w = copy(nb, f.buf[f.r:f.w])
			f.buf = nb
		} else {
			f.w = copy(f.buf, f.buf[f.r:f.w])
		}
		f.r = 0
	}
	for f.w-f.r < k {
		m, err := f.conn.Read(f.buf[f.w:])
		f.w += m
		if err != nil && f.w-f.r < k {
			return err
		}
	}
	return nil
}
