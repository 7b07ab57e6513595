package link

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// The handshake: the dialer sends a hello frame, the acceptor answers with a
// welcome frame (accepted, or refused with a reason) and then, for a data
// connection, both sides read and write frames; a hint connection ends there.
//
//	hello:   magic "isl1", flags (1: hint), id, incarnation, epoch (u64 each), listen address
//	welcome: magic "isl1", status (0: accepted), id, incarnation (u64 each), reason
const (
	helloMagic = "isl1"
	flagHint   = 1
	// maxHello bounds a hello or welcome frame, so a client sending garbage
	// cannot make the acceptor read much.
	maxHello = 1024
)

type hello struct {
	hint        bool
	id          uint64
	incarnation uint64
	epoch       uint64 // data: the dialer's dial number; hint: the last session the sender lost
	addr        string // hint: where to dial the sender
}

func (h hello) encode() []byte {
	b := []byte(helloMagic)
	var flags byte
	if h.hint {
		flags = flagHint
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint64(b, h.id)
	b = binary.BigEndian.AppendUint64(b, h.incarnation)
	b = binary.BigEndian.AppendUint64(b, h.epoch)
	return append(b, h.addr...)
}

func decodeHello(b []byte) (hello, bool) {
	if len(b) < 4+1+24 || string(b[:4]) != helloMagic || b[4]&^flagHint != 0 {
		return hello{}, false
	}
	h := hello{hint: b[4]&flagHint != 0}
	h.id = binary.BigEndian.Uint64(b[5:])
	h.incarnation = binary.BigEndian.Uint64(b[13:])
	h.epoch = binary.BigEndian.Uint64(b[21:])
	h.addr = string(b[29:])
	return h, h.id != 0
}

func encodeWelcome(id, incarnation uint64, refusal string) []byte {
	b := []byte(helloMagic)
	status := byte(0)
	if refusal != "" {
		status = 1
	}
	b = append(b, status)
	b = binary.BigEndian.AppendUint64(b, id)
	b = binary.BigEndian.AppendUint64(b, incarnation)
	return append(b, refusal...)
}

func decodeWelcome(b []byte) (id, incarnation uint64, refusal string, ok bool) {
	if len(b) < 4+1+16 || string(b[:4]) != helloMagic {
		return 0, 0, "", false
	}
	id = binary.BigEndian.Uint64(b[5:])
	incarnation = binary.BigEndian.Uint64(b[13:])
	refusal = string(b[21:])
	if b[4] != 0 && refusal == "" {
		refusal = "refused"
	}
	return id, incarnation, refusal, true
}

// readHandshake reads one frame of kind, at most maxHello bytes, straight
// from c (no buffering: what follows is the session's).
func readHandshake(c net.Conn, kind byte) ([]byte, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if hdr[4] != kind || size > maxHello {
		return nil, errNotLink
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(c, b); err != nil {
		return nil, err
	}
	return b, nil
}

var errNotLink = errors.New("not an isle link (bad handshake)")

func writeHandshake(c net.Conn, kind byte, payload []byte) error {
	_, err := c.Write(appendFrame(nil, kind, payload))
	return err
}

// acceptLoop accepts connections until the listener closes.
func (n *Node) acceptLoop() {
	defer n.wg.Done()
	for {
		c, err := n.ln.Accept()
		if err != nil {
			if n.isClosed() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			n.logf("link: node %d: accept: %v", n.id, err)
			return
		}
		if !n.trackConn(c, true) {
			c.Close()
			return
		}
		n.wg.Add(1)
		go n.inbound(c)
	}
}

// inbound runs the acceptor's side of a handshake.
func (n *Node) inbound(raw net.Conn) {
	defer n.wg.Done()
	defer n.trackConn(raw, false)
	remote := raw.RemoteAddr().String()
	raw.SetDeadline(time.Now().Add(handshakeTimeout))
	nb, err := newNBConn(raw)
	if err != nil {
		n.logf("link: node %d: refused a connection from %s: %v", n.id, remote, err)
		raw.Close()
		return
	}
	var c net.Conn = nb
	certID := uint64(0)
	if n.serverTLS != nil {
		tc := tls.Server(nb, n.serverTLS)
		if err := tc.HandshakeContext(context.Background()); err != nil {
			n.logf("link: node %d: refused a connection from %s: %v", n.id, remote, err)
			raw.Close()
			return
		}
		id, err := IDFromCert(tc.ConnectionState().PeerCertificates[0])
		if err != nil {
			n.logf("link: node %d: refused a connection from %s: %v", n.id, remote, err)
			tc.Close()
			return
		}
		certID, c = id, tc
	}
	b, err := readHandshake(c, kindHello)
	var h hello
	ok := err == nil
	if ok {
		h, ok = decodeHello(b)
	}
	if !ok {
		if err == nil || err == errNotLink {
			err = errNotLink
		}
		n.logf("link: node %d: refused a connection from %s: %v", n.id, remote, err)
		c.Close()
		return
	}
	if certID != 0 && certID != h.id {
		n.refuse(c, remote, fmt.Sprintf("claims to be node %d but its certificate is for node %d", h.id, certID))
		return
	}
	if h.hint {
		n.inboundHint(c, remote, h)
		return
	}
	s, stale, refusal := n.admit(c, h)
	if refusal != "" {
		n.refuse(c, remote, refusal)
		return
	}
	if err := writeHandshake(c, kindWelcome, encodeWelcome(n.id, n.incarnation, "")); err != nil {
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	if stale != nil {
		n.endSession(stale, errors.New("the peer dialed again"))
	}
	n.register(s)
}

// admit decides whether a data connection from a lower node is accepted: it
// returns the session to register, a stale session of the same peer to end
// first, or a refusal.
func (n *Node) admit(c net.Conn, h hello) (s, stale *session, refusal string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, nil, "node closing"
	}
	if h.id == n.id {
		return nil, nil, fmt.Sprintf("claims this node's own id %d (duplicate node id)", h.id)
	}
	if h.id > n.id {
		return nil, nil, fmt.Sprintf("node %d has the higher id: it must be dialed by this node, not dial it", h.id)
	}
	p := n.peerLocked(h.id)
	if p.sess != nil {
		if p.sess.incarnation != h.incarnation {
			return nil, nil, fmt.Sprintf("node %d is linked already from %s (duplicate node id, or a restart whose old link has not timed out yet)", h.id, p.sess.conn.RemoteAddr())
		}
		if h.epoch <= p.sess.epoch {
			return nil, nil, "stale dial"
		}
		stale = p.sess
	}
	p.epoch = h.epoch
	s, err := newSession(p, c, h.epoch, h.incarnation)
	if err != nil {
		return nil, nil, err.Error()
	}
	return s, stale, ""
}

// inboundHint handles a higher node's request to be dialed.
func (n *Node) inboundHint(c net.Conn, remote string, h hello) {
	var stale *session
	refusal := func() string {
		n.mu.Lock()
		defer n.mu.Unlock()
		if h.id == n.id {
			return fmt.Sprintf("claims this node's own id %d (duplicate node id)", h.id)
		}
		if h.id < n.id {
			return fmt.Sprintf("node %d has the lower id: it dials, it is not dialed", h.id)
		}
		p := n.peerLocked(h.id)
		if p.sess != nil {
			if p.sess.incarnation != h.incarnation {
				return fmt.Sprintf("node %d is linked already at %s (duplicate node id, or a restart whose old link has not timed out yet)", h.id, p.addr)
			}
			if h.epoch < p.sess.epoch {
				return "" // the peer lost an older session, not this one
			}
			stale = p.sess // the peer lost this session; we had not noticed
		}
		if addr := hintAddr(h.addr, remote); addr != "" {
			p.addr = addr
		}
		n.startDialerLocked(p)
		kickPeer(p)
		return ""
	}()
	if refusal != "" {
		n.refuse(c, remote, refusal)
		return
	}
	writeHandshake(c, kindWelcome, encodeWelcome(n.id, n.incarnation, ""))
	c.Close()
	if stale != nil {
		n.endSession(stale, errors.New("the peer lost it"))
	}
}

// hintAddr is the address a hint asks to be dialed at: its own, with the
// host the connection came from when it names none.
func hintAddr(addr, remote string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		rhost, _, err := net.SplitHostPort(remote)
		if err != nil {
			return ""
		}
		host = rhost
	}
	return net.JoinHostPort(host, port)
}

// refuse tells the dialer why, logs one line and closes c.
func (n *Node) refuse(c net.Conn, remote, why string) {
	n.logf("link: node %d: refused a connection from %s: %s", n.id, remote, why)
	writeHandshake(c, kindWelcome, encodeWelcome(n.id, n.incarnation, why))
	c.Close()
}

// startDialerLocked starts the peer's dialer if it has none. n.mu is held.
func (n *Node) startDialerLocked(p *peer) {
	if p.dialer || n.closed {
		return
	}
	p.dialer = true
	n.wg.Add(1)
	go n.dialLoop(p)
}

// dialLoop keeps a session with p: a lower node dials it, a higher one asks
// to be dialed. Failures back off from backoffMin to backoffMax.
func (n *Node) dialLoop(p *peer) {
	defer n.wg.Done()
	backoff := backoffMin
	for {
		n.mu.Lock()
		up, addr := p.sess != nil, p.addr
		n.mu.Unlock()
		if up || addr == "" {
			select {
			case <-n.done:
				return
			case <-p.kick:
			}
			backoff = backoffMin
			continue
		}
		var err error
		wait := backoff
		if n.id < p.id {
			err = n.dialData(p, addr)
		} else {
			err = n.dialHint(p, addr)
			wait = backoffMax / 2 // the lower node dials us; ask again if it does not
		}
		if n.isClosed() {
			return
		}
		if err != nil {
			n.noteDialError(p, addr, err)
			wait = backoff
			backoff = min(2*backoff, backoffMax)
		} else {
			backoff = backoffMin
			if n.id < p.id {
				continue
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-n.done:
			t.Stop()
			return
		case <-p.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// noteDialError logs a dial's failure unless it is the one logged last.
func (n *Node) noteDialError(p *peer, addr string, err error) {
	msg := err.Error()
	n.mu.Lock()
	repeat := p.lastError == msg
	p.lastError = msg
	n.mu.Unlock()
	if !repeat {
		n.logf("link: node %d: cannot link to node %d at %s: %s", n.id, p.id, addr, msg)
	}
}

// connect dials addr and runs the TLS handshake, verifying that the peer's
// certificate is node id's.
func (n *Node) connect(id uint64, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: handshakeTimeout}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("does not answer: %v", err)
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	raw.SetDeadline(time.Now().Add(handshakeTimeout))
	nb, err := newNBConn(raw)
	if err != nil {
		raw.Close()
		return nil, err
	}
	if n.clientTLS == nil {
		return nb, nil
	}
	cfg := n.clientTLS.Clone()
	cfg.ServerName = NodeName(id)
	tc := tls.Client(nb, cfg)
	if err := tc.HandshakeContext(context.Background()); err != nil {
		raw.Close()
		return nil, fmt.Errorf("TLS: %v", err)
	}
	return tc, nil
}

// exchange sends h on c and reads the welcome.
func (n *Node) exchange(c net.Conn, p *peer, h hello) (incarnation uint64, err error) {
	if err := writeHandshake(c, kindHello, h.encode()); err != nil {
		return 0, err
	}
	b, err := readHandshake(c, kindWelcome)
	if err != nil {
		if err == io.EOF {
			err = errors.New("closed during the handshake")
		}
		return 0, err
	}
	id, inc, refusal, ok := decodeWelcome(b)
	switch {
	case !ok:
		return 0, errNotLink
	case refusal != "":
		return 0, fmt.Errorf("refused: %s", refusal)
	case id != p.id:
		return 0, fmt.Errorf("answered as node %d", id)
	}
	return inc, nil
}

// dialData dials a higher peer and registers the session.
func (n *Node) dialData(p *peer, addr string) error {
	c, err := n.connect(p.id, addr)
	if err != nil {
		return err
	}
	if !n.trackConn(c, true) {
		c.Close()
		return ErrClosed
	}
	defer n.trackConn(c, false)
	n.mu.Lock()
	p.epoch++
	epoch := p.epoch
	n.mu.Unlock()
	inc, err := n.exchange(c, p, hello{id: n.id, incarnation: n.incarnation, epoch: epoch})
	if err != nil {
		c.Close()
		return err
	}
	c.SetDeadline(time.Time{})
	s, err := newSession(p, c, epoch, inc)
	if err != nil {
		c.Close()
		return err
	}
	n.register(s)
	return nil
}

// dialHint asks a lower peer to dial this node.
func (n *Node) dialHint(p *peer, addr string) error {
	n.mu.Lock()
	up := p.sess != nil
	n.mu.Unlock()
	if up {
		return nil // the lower node dialed meanwhile
	}
	c, err := n.connect(p.id, addr)
	if err != nil {
		return err
	}
	if !n.trackConn(c, true) {
		c.Close()
		return ErrClosed
	}
	defer n.trackConn(c, false)
	defer c.Close()
	h, up := n.hintHello(p)
	if up {
		return nil // the lower node dialed meanwhile
	}
	_, err = n.exchange(c, p, h)
	return err
}

// hintHello is the hint to p: it carries the epoch of the last session this
// node lost with p, so that p ends that session if it still holds it, and
// never a newer one. up reports that a session is live (no hint is due).
func (n *Node) hintHello(p *peer) (h hello, up bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return hello{hint: true, id: n.id, incarnation: n.incarnation, epoch: p.lost, addr: n.listen}, p.sess != nil
}
