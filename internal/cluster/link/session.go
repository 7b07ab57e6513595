package link

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// session is one live connection with a peer, after its handshake.
type session struct {
	// Immutable after register.
	peer        *peer
	conn        net.Conn
	epoch       uint64 // the lower side's dial number of this session
	incarnation uint64 // the peer's, from its handshake
	done        chan struct{}

	once sync.Once // ends the session once
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
	s.peer.sess = s
	s.peer.lastError = ""
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
		s.conn.Close()
		p := s.peer
		n.mu.Lock()
		if p.sess == s {
			p.sess = nil
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

// writeLoop drains the peer's queue into the session: every frame queued
// since the last write goes in one write. An idle session gets a heartbeat.
func (n *Node) writeLoop(s *session) {
	defer n.wg.Done()
	p := s.peer
	var out [][]byte
	ping := time.NewTimer(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-p.signal:
		case <-ping.C:
			p.qmu.Lock()
			if p.q.bytes == 0 {
				p.q.push(kindPing, nil)
			}
			p.qmu.Unlock()
		}
		p.qmu.Lock()
		var frames uint64
		out, frames = p.q.take(out[:0])
		p.qmu.Unlock()
		n.framesOut.Add(frames)
		for _, c := range out {
			if err := n.writeBatch(s, c); err != nil {
				n.endSession(s, err)
				return
			}
		}
		p.qmu.Lock()
		p.q.recycle(out)
		p.qmu.Unlock()
		clear(out)
		if !ping.Stop() {
			select {
			case <-ping.C:
			default:
			}
		}
		ping.Reset(pingInterval)
	}
}

// writeBatch writes out in writes of at most writeChunk bytes, each with
// its own deadline: a slow reader holds a large batch back without the
// session being taken for dead.
func (n *Node) writeBatch(s *session, out []byte) error {
	for len(out) > 0 {
		k := min(len(out), writeChunk)
		s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := s.conn.Write(out[:k]); err != nil {
			return err
		}
		n.writes.Add(1)
		out = out[k:]
	}
	return nil
}

// readLoop reads frames and hands each to its kind's handler. It reads the
// connection in chunks of up to readBuffer bytes and cuts frames out of them
// in place; a small payload is copied into a shared arena (one allocation for
// many frames), a larger one into its own slice.
func (n *Node) readLoop(s *session) {
	defer n.wg.Done()
	fr := frameReader{conn: s.conn, buf: make([]byte, readBuffer)}
	for {
		kind, payload, err := fr.next()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				err = fmt.Errorf("nothing heard for %v", deadAfter)
			}
			n.endSession(s, err)
			return
		}
		if kind >= KindReserved {
			if kind != kindPing {
				n.endSession(s, fmt.Errorf("protocol: frame of kind %#x after the handshake", kind))
				return
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
	conn  net.Conn
	buf   []byte
	r, w  int    // buf[r:w] is read and not yet cut
	arena []byte // free room for small payloads
}

// next returns the next frame. Its payload is the caller's to keep.
func (f *frameReader) next() (byte, []byte, error) {
	if err := f.fill(headerSize); err != nil {
		return 0, nil, err
	}
	size := int(binary.BigEndian.Uint32(f.buf[f.r:]))
	kind := f.buf[f.r+4]
	if size > MaxFrame {
		return 0, nil, fmt.Errorf("protocol: frame of %d bytes (at most %d)", size, MaxFrame)
	}
	if err := f.fill(headerSize + size); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
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

// fill reads until buf[r:w] holds at least k bytes, each read with a
// deadline of deadAfter.
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
		f.conn.SetReadDeadline(time.Now().Add(deadAfter))
		m, err := f.conn.Read(f.buf[f.w:])
		f.w += m
		if err != nil && f.w-f.r < k {
			return err
		}
	}
	return nil
}
