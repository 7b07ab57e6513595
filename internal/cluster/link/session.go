package link

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
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
	// empty: the last drain ended at a read that found the socket empty,
	// so nothing whole waits in the TLS connection's or the frame reader's
	// buffers, and until poll(2) says the socket is readable a poller has
	// nothing to read (drain). Set and cleared under rmu; read without it.
	empty atomic.Bool
	// unpolled (capacity 1) wakes the reader when the node's poller stops
	// (Node.SetPolling).
	unpolled chan struct{}
	// lapsed: the reader found the poller gone (no Poll for pollLease)
	// when the node's count of polls was lapsedAt, and reads the socket
	// until the next Poll. The reader's own.
	lapsed   bool
	lapsedAt uint64

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
	s := &session{peer: p, conn: c, nb: nb, epoch: epoch, incarnation: incarnation, done: make(chan struct{}), unpolled: make(chan struct{}, 1)}
	s.fr = newFrameReader(c, readBuffer)
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
	defer s.nb.release()
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
// until the session ends. While no poller reads the node's sockets, it
// drains inside the runtime's wait for the socket (a registered duplicate,
// pc): at once (the handshake may have left whole frames in the TLS
// connection's buffers, which no readability would announce), then each
// time the socket becomes readable, so that a frame costs the reader one
// read(2) and no other system call of its own, and the Go scheduler may run
// it on the thread that just parked another goroutine, without a wake-up.
// While a poller reads the sockets (Node.SetPolling), the reader closes pc,
// which takes the socket out of the runtime's epoll set, so that what
// arrives wakes no thread (nbConn), and waits for the poller to stop
// (awaitUnpolled); then it registers the socket again and drains what the
// poller left. A poller (Node.Poll) may have read the frames first; the
// reader then finds none and waits again.
func (n *Node) readLoop(s *session) {
	defer n.wg.Done()
	defer s.nb.release()
	pc := s.nb.TCPConn // the handshake's connection: registered already
	defer func() {
		if pc != nil {
			pc.Close()
		}
	}()
	for {
		if pc == nil {
			var err error
			if pc, err = s.nb.register(); err != nil {
				n.endSession(s, err)
				return
			}
		}
		hot, due, derr, err := n.readRegistered(s, pc)
		switch {
		case derr != nil:
			n.endSession(s, derr)
			return
		case due:
			return
		case hot:
			pc.Close() // out of the runtime's epoll set
			pc = nil
			if err := n.awaitUnpolled(s); err != nil {
				n.endSession(s, err)
				return
			}
			continue
		case err == nil:
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			if n.clock()-s.heard.Load() < int64(deadAfter) {
				continue // the deadline is renewed: once per deadAfter on a busy session
			}
			err = fmt.Errorf("nothing heard for %v", deadAfter)
		}
		n.endSession(s, err)
		return
	}
}

// readRegistered drains s inside the runtime's wait for pc, a registered
// duplicate of its socket, until the session ends (due, or derr), a poller
// starts (hot: the reader leaves the socket to it) or the wait fails (err:
// the read deadline, heard + deadAfter, passed). It holds pc's read lock
// meanwhile, which nobody else takes: it may wait for rmu in it.
func (n *Node) readRegistered(s *session, pc *net.TCPConn) (hot, due bool, derr, err error) {
	pc.SetReadDeadline(n.born.Add(time.Duration(s.heard.Load()) + deadAfter))
	rc, err := pc.SyscallConn()
	if err != nil {
		return false, false, nil, err
	}
	err = rc.Read(func(uintptr) bool {
		if n.pollerHolds(s) {
			hot = true
			return true
		}
		s.rmu.Lock()
		s.nb.drained, s.nb.lazy = false, true
		_, derr = n.drainLocked(s, false)
		s.nb.lazy = false
		if due = s.closeDue.Load(); due {
			s.closeConnLocked() // endSession left the closing to us
		}
		s.rmu.Unlock()
		return derr != nil || due
	})
	return hot, due, derr, err
}

// pollerHolds reports whether a poller holds the node's sockets, for s's
// reader: SetPolling(true) and, if the reader found the poller gone
// (lapsed), Poll called since.
func (n *Node) pollerHolds(s *session) bool {
	return n.polling.Load() && (!s.lapsed || n.polls.Load() != s.lapsedAt)
}

// awaitUnpolled waits, while a poller reads the node's sockets, for it to
// stop (s.unpolled), or the session to end (it returns nil: the reader's
// next drain sees closeDue); it reports that nothing was heard for
// deadAfter meanwhile. A poller that has not called Poll for pollLease is
// taken for gone (s.lapsed): the reader reads the socket again, until the
// next Poll.
func (n *Node) awaitUnpolled(s *session) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	seen, since := n.polls.Load(), n.clock()
	for n.pollerHolds(s) && !s.closeDue.Load() {
		now := n.clock()
		if k := n.polls.Load(); k != seen {
			seen, since = k, now
		} else if now-since >= int64(pollLease) {
			s.lapsed, s.lapsedAt = true, seen
			return nil
		}
		deadline := s.heard.Load() + int64(deadAfter)
		d := time.Duration(deadline - now)
		if d <= 0 {
			return fmt.Errorf("nothing heard for %v", deadAfter)
		}
		d = min(d, time.Duration(since+int64(pollLease)-now))
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		n.parked.Add(1)
		select {
		case <-s.done:
		case <-s.unpolled:
		case <-timer.C:
		}
		n.parked.Add(-1)
	}
	return nil
}

// drain reads, for a poller, every frame that can be read without waiting
// (at most PollBatch) and hands each to its handler, holding the session's
// read side; it gives up at once when another holds it (the reader, whose
// frames are on their way). It returns how many frames it read.
func (n *Node) drain(s *session) (got int, err error) {
	if s.empty.Load() && !s.nb.readableNow() {
		return 0, nil
	}
	if !s.rmu.TryLock() {
		return 0, nil
	}
	s.nb.drained, s.nb.lazy = false, true
	got, err = n.drainLocked(s, true)
	s.nb.lazy = false
	if s.closeDue.Load() {
		s.closeConnLocked()
	}
	s.rmu.Unlock()
	return got, err
}

// drainLocked reads every frame that can be read without waiting (at most
// PollBatch for a poller) and hands each to its handler; rmu is held. It
// stops when the session is ending, and closes nothing: its caller does.
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
	s.empty.Store(false)
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
				s.empty.Store(true) // nothing whole is left above the socket
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

// frameReader cuts frames out of what it reads from a connection. A
// payload is a piece of its buffer, lent: it is valid until the next call of
// next, which may read over it (a handler that keeps a payload copies it:
// Node.Handle). So a frame costs the reader neither a copy nor an
// allocation, and a stream's reader reads into one buffer again and again.
type frameReader struct {
	conn io.Reader
	buf  []byte // buf[r:w] is read and not yet cut
	r, w int
}

// newFrameReader returns a reader of conn with a buffer of size bytes (a
// larger frame grows it).
func newFrameReader(conn io.Reader, size int) frameReader {
	return frameReader{conn: conn, buf: make([]byte, size)}
}

// next returns the next frame. Its payload is valid until the next call.
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
	start := f.r + headerSize
	end := start + size
	f.r = end
	if size == 0 {
		return kind, nil, nil
	}
	return kind, f.buf[start:end:end], nil
}

// fill reads until buf[r:w] holds at least k bytes. A read that would
// block returns errWouldBlock, keeping what was read: the next call goes on
// from there. Where buf has no room for k bytes past r, what is read and
// not cut moves to the buffer's start (a larger buffer's, for a frame
// larger than it).
func (f *frameReader) fill(k int) error {
	if f.w-f.r >= k {
		return nil
	}
	if f.r == f.w {
		f.r, f.w = 0, 0 // all cut: read from the start
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
