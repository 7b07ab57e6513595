package link

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// nbConn is a session's TCP connection. During the handshake it reads as a
// net.Conn does (blocking, under the handshake's deadline). Once its session
// starts (start), each read is one non-blocking read(2) of the socket that
// returns errWouldBlock when nothing waits: whoever holds the session's read
// side (its reader goroutine, or a poller on a core: Node.Poll) never parks in
// a read. The reader goroutine reads inside the runtime's wait for the socket
// (readWaiting), as a net.Conn's Read does, so that it parks with no system
// call of its own beyond the reads. Writes, likewise, are non-blocking
// write(2)s: what the socket does not take at once waits in the
// connection's backlog, in order, and the session's writer goroutine flushes
// it (flush), waiting for the socket as long as it must. So a write never
// blocks its caller (a core may write) and never fails half-way, which
// crypto/tls could not go on from.
type nbConn struct {
	*net.TCPConn
	rc syscall.RawConn
	// Set by start, before the session's goroutines run. fd is used under
	// session.rmu (reads) or bmu (writes), and only while the connection
	// is open (closed is set under bmu, and the session closes it holding
	// rmu), so it never names a descriptor reused after the close.
	raw   bool
	fd    int
	reads *atomic.Uint64 // the node's count of read(2)s (Stats.Reads)

	// Guarded by session.rmu. drained: the last read returned less than it
	// asked for, so the socket had nothing more then (TCP reads take all
	// there is, up to the buffer); lazy: a read may trust that and return
	// errWouldBlock without a system call. Only the reader goroutine sets
	// lazy, while it reads inside the runtime's wait (readWaiting), which
	// wakes it for every byte that comes after: a poller has no such wake-up
	// and always reads.
	drained, lazy bool

	bmu     sync.Mutex // guards backlog, off, closed, werr; a leaf
	backlog []byte     // bytes written that the socket has not taken yet: backlog[off:]
	off     int
	closed  bool
	werr    error
	pending atomic.Int64  // len(backlog) - off, for Send's limit
	kick    chan struct{} // capacity 1: the backlog is not empty
	// mayBlock is set by the session's writer goroutine around its writes:
	// they then wait for the socket rather than leave a backlog (a stream
	// is not copied twice).
	mayBlock atomic.Bool
}

// newNBConn wraps c, which must be a TCP connection.
func newNBConn(c net.Conn) (*nbConn, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil, errNotTCP
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &nbConn{TCPConn: tc, rc: rc, kick: make(chan struct{}, 1)}, nil
}

// start makes reads non-blocking; each read(2) from then on is counted in
// reads. Called once, before the session's reader runs.
func (c *nbConn) start(reads *atomic.Uint64) error {
	var fd int
	if err := c.rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return err
	}
	c.fd, c.raw, c.reads = fd, true, reads
	return nil
}

func (c *nbConn) Read(b []byte) (int, error) {
	if !c.raw {
		return c.TCPConn.Read(b)
	}
	if len(b) == 0 {
		return 0, nil
	}
	if c.lazy && c.drained {
		return 0, errWouldBlock
	}
	for {
		n, err := syscall.Read(c.fd, b)
		c.reads.Add(1)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.drained = true
			return 0, errWouldBlock
		case err != nil:
			return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
		case n == 0:
			return 0, io.EOF
		}
		c.drained = n < len(b)
		return n, nil
	}
}

// Write writes b, or what of it the socket takes now and the rest into the
// backlog (the writer goroutine flushes it). It reports an error only when
// the socket has failed; a backlog is not one. From the writer goroutine
// (mayBlock) it writes the backlog, then b, waiting for the socket when it
// must (a stream is not copied twice). A write the socket takes whole, the
// common case, is one write(2) and sets no deadline.
func (c *nbConn) Write(b []byte) (int, error) {
	if !c.raw {
		return c.TCPConn.Write(b)
	}
	wait := c.mayBlock.Load()
	c.bmu.Lock()
	switch {
	case c.werr != nil:
		c.bmu.Unlock()
		return 0, c.werr
	case c.closed:
		c.bmu.Unlock()
		return 0, net.ErrClosed
	}
	n := 0
	if c.off == len(c.backlog) {
		var err error
		if n, err = c.writeSomeLocked(b); err != nil || n == len(b) {
			c.bmu.Unlock()
			return n, err
		}
	}
	if wait {
		c.bmu.Unlock()
		if err := c.flush(); err != nil {
			return n, err
		}
		m, err := c.writeWaiting(b[n:])
		return n + m, err
	}
	if c.off > 0 && c.off >= len(c.backlog)/2 {
		c.backlog, c.off = c.backlog[:copy(c.backlog, c.backlog[c.off:])], 0
	}
	c.backlog = append(c.backlog, b[n:]...)
	c.pending.Store(int64(len(c.backlog) - c.off))
	c.bmu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return len(b), nil
}

// writeSomeLocked writes as much of b as the socket takes without waiting.
func (c *nbConn) writeSomeLocked(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, err := syscall.Write(c.fd, b[done:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return done, nil
		case err != nil:
			c.werr = &net.OpError{Op: "write", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
			return done, c.werr
		}
		done += n
	}
	return done, nil
}

// flush writes the backlog out, waiting for the socket to take it (each
// wait at most writeTimeout: a slow reader holds a backlog back without the
// session being taken for dead, one that takes nothing does not). Called by
// the session's writer goroutine only.
func (c *nbConn) flush() error {
	for {
		c.bmu.Lock()
		empty := c.off == len(c.backlog)
		c.bmu.Unlock()
		if empty {
			return nil
		}
		var err error
		c.TCPConn.SetWriteDeadline(time.Now().Add(writeTimeout))
		// The write is tried inside the runtime's wait for writability,
		// after it has reset the socket's readiness: a socket that drained
		// between a try and the wait is not waited for (no lost wake-up).
		werr := c.rc.Write(func(uintptr) bool {
			progress, empty, e := c.flushSome()
			err = e
			return progress || empty || err != nil
		})
		switch {
		case err != nil:
			return err
		case werr != nil:
			return werr
		}
	}
}

// writeWaiting writes b, waiting for the socket as flush does; the backlog
// is empty.
func (c *nbConn) writeWaiting(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		var err error
		c.TCPConn.SetWriteDeadline(time.Now().Add(writeTimeout))
		werr := c.rc.Write(func(uintptr) bool {
			c.bmu.Lock()
			defer c.bmu.Unlock()
			switch {
			case c.werr != nil:
				err = c.werr
			case c.closed:
				err = net.ErrClosed
			default:
				var n int
				n, err = c.writeSomeLocked(b[done:])
				done += n
				if n > 0 {
					return true
				}
			}
			return err != nil || done == len(b)
		})
		switch {
		case err != nil:
			return done, err
		case werr != nil:
			return done, werr
		}
	}
	return done, nil
}

// flushSome writes what of the backlog the socket takes now.
func (c *nbConn) flushSome() (progress, empty bool, err error) {
	c.bmu.Lock()
	defer c.bmu.Unlock()
	if c.werr != nil {
		return false, false, c.werr
	}
	if c.closed {
		return false, false, net.ErrClosed
	}
	if c.off == len(c.backlog) {
		return false, true, nil
	}
	n, err := c.writeSomeLocked(c.backlog[c.off:])
	c.off += n
	left := len(c.backlog) - c.off
	if left == 0 {
		c.backlog, c.off = c.backlog[:0], 0
		if cap(c.backlog) > maxIdleBacklog {
			c.backlog = nil
		}
	}
	c.pending.Store(int64(left))
	return n > 0, left == 0, err
}

// maxIdleBacklog is the most backlog capacity a connection keeps once its
// backlog is written.
const maxIdleBacklog = 1 << 20

// Close closes the socket; no raw read or write follows.
func (c *nbConn) Close() error {
	c.bmu.Lock()
	c.closed = true
	c.bmu.Unlock()
	return c.TCPConn.Close()
}

// readWaiting calls read at once and then each time the socket has become
// readable, inside the runtime's wait for it, until read returns true; it
// returns nil then, or the wait's error: the read deadline passed (an error
// whose Timeout is true) or the connection was closed. The runtime resets
// the socket's readiness before the first call and wakes the wait for every
// byte that comes after a read found the socket empty, so nothing is waited
// for that had come already. read runs holding the descriptor's read lock,
// which Close waits for: it must never wait for anything that one who
// closes the connection may hold (session.rmu: it takes it with TryLock).
func (c *nbConn) readWaiting(read func() bool) error {
	return c.rc.Read(func(uintptr) bool { return read() })
}

// wouldBlock is the error of a read that found nothing to read. It is a
// temporary net.Error, so that crypto/tls keeps a partial record it has
// buffered and goes on from it at the next read.
type wouldBlock struct{}

func (wouldBlock) Error() string   { return "link: read would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

var errWouldBlock net.Error = wouldBlock{}

var errNotTCP = &net.OpError{Op: "link", Net: "tcp", Err: syscall.EINVAL}
