package link

import (
	"bufio"
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
		downs := append([]func(uint64){}, n.downs...)
		closing := n.closed
		n.mu.Unlock()
		p.qmu.Lock()
		p.pending = p.pending[:0]
		p.queued = 0
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
	var out []byte
	ping := time.NewTimer(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-p.signal:
		case <-ping.C:
			p.qmu.Lock()
			if len(p.pending) == 0 {
				p.pending = appendFrame(p.pending, kindPing, nil)
				p.queued++
			}
			p.qmu.Unlock()
		}
		p.qmu.Lock()
		out, p.pending = p.pending, out[:0]
		frames := p.queued
		p.queued = 0
		p.qmu.Unlock()
		if len(out) > 0 {
			n.framesOut.Add(frames)
			n.writes.Add(1)
			s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := s.conn.Write(out); err != nil {
				n.endSession(s, err)
				return
			}
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

// readLoop reads frames and hands each to its kind's handler.
func (n *Node) readLoop(s *session) {
	defer n.wg.Done()
	r := bufio.NewReaderSize(s.conn, readBuffer)
	var hdr [headerSize]byte
	var deadline time.Time
	for {
		if now := time.Now(); deadline.Sub(now) < deadAfter-time.Second {
			deadline = now.Add(deadAfter)
			s.conn.SetReadDeadline(deadline)
		}
		kind, payload, err := readFrame(r, hdr[:])
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

// readFrame reads one frame; hdr is scratch of headerSize bytes.
func readFrame(r io.Reader, hdr []byte) (byte, []byte, error) {
	if _, err := io.ReadFull(r, hdr[:headerSize]); err != nil {
		return 0, nil, err
	}
	size := binary.BigEndian.Uint32(hdr)
	if size > MaxFrame {
		return 0, nil, fmt.Errorf("protocol: frame of %d bytes (at most %d)", size, MaxFrame)
	}
	payload := make([]byte, size)
	if _, err := io.ReadFull(r, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return hdr[4], payload, nil
}
