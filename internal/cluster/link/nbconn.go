package link

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// nbConn is a session's TCP connection. During the handshake it reads as a
// net.Conn does (blocking, under the handshake's deadline). Once its session
// starts (start), reads and writes use a duplicate of the socket's
// descriptor (fd): each read is one non-blocking read(2) that returns
// errWouldBlock when nothing waits, so whoever holds the session's read side
// (its reader goroutine, or a poller on a core: Node.Poll) never parks in a
// read. The reader waits for the socket in the Go runtime's poller, through
// a registered descriptor of its own (the handshake's net.Conn, then one
// register makes), but only while no poller reads the sockets: while one
// does (Node.SetPolling) the reader closes it, taking the socket out of the
// runtime's epoll set. In that set every arriving segment woke the thread
// parked in epoll_wait, whether or not a goroutine waited for the socket,
// and on a machine whose cores spin that thread took a CPU from one of them
// (a spinning core was descheduled). Writes, likewise, are non-blocking
// write(2)s: what the socket does not take at once waits in the
// connection's backlog, in order, and the session's writer goroutine
// flushes it (flush), waiting for the socket with poll(2) as long as it
// must. So a write never blocks its caller (a core may write) and never
// fails half-way, which crypto/tls could not go on from.
type nbConn struct {
	*net.TCPConn
	rc syscall.RawConn
	// Set by start, before the session's goroutines run. fd is the
	// duplicate start keeps; reads and writes use it under session.rmu
	// (reads) or bmu (writes) only while the connection is open (closed
	// is set under bmu, and the session closes it holding rmu). Close
	// shuts the socket down, which ends any poll(2) on it; the descriptor
	// itself is closed by the last of its three holders to let it go
	// (release: Close, the reader and the writer goroutines), so no
	// poll(2) ever names a descriptor reused after the close.
	raw   bool
	fd    int
	refs  atomic.Int32
	reads *atomic.Uint64 // the node's count of read(2)s (Stats.Reads)

	// Guarded by session.rmu. drained: the last read returned less than it
	// asked for, so the socket had nothing more then (TCP reads take all
	// there is, up to the buffer); lazy: a read may trust that and return
	// errWouldBlock without a system call. The reader sets lazy while it
	// drains inside the runtime's wait, which wakes it for every byte that
	// comes after; a poller while it drains after poll(2) said the socket
	// was readable (drain), and polls again before its next read.
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

// start makes reads and writes use a duplicate of the socket's descriptor,
// non-blocking; each read(2) from then on is counted in reads. The net.Conn
// is the reader's to wait with, and to close. Called once, before the
// session's goroutines run; they, and Close, each release the duplicate once.
func (c *nbConn) start(reads *atomic.Uint64) error {
	fd := -1
	var derr error
	if err := c.rc.Control(func(u uintptr) {
		fd, derr = unix.FcntlInt(u, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return err
	}
	if derr != nil {
		return &net.OpError{Op: "dup", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: derr}
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return &net.OpError{Op: "link", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	c.fd, c.raw, c.reads = fd, true, reads
	c.refs.Store(3)
	return nil
}

// release lets the descriptor go for one of its holders; the last closes it.
func (c *nbConn) release() {
	if c.refs.Add(-1) == 0 {
		unix.Close(c.fd)
	}
}

// register makes another registered descriptor of the socket for the
// reader to wait with (readLoop), after a poller's spell; the reader holds
// its reference to fd.
func (c *nbConn) register() (*net.TCPConn, error) {
	fd, err := unix.FcntlInt(uintptr(c.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, &net.OpError{Op: "dup", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	f := os.NewFile(uintptr(fd), "link")
	nc, err := net.FileConn(f) // a descriptor of its own, in the runtime's poller
	f.Close()
	if err != nil {
		return nil, err
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		nc.Close()
		return nil, errNotTCP
	}
	return tc, nil
}

// readableNow reports, without waiting, whether the socket has something to
// read (or has failed, or was shut down). poll(2) reads the socket's state
// without its lock, which a read(2) that finds nothing takes: a poller that
// spins on read(2) contends, on every try, with the sender's segments being
// received into the socket.
func (c *nbConn) readableNow() bool {
	fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN | unix.POLLRDHUP}}
	for {
		k, err := unix.Poll(fds, 0)
		if err != unix.EINTR {
			return err != nil || k > 0
		}
	}
}

// waitWritable waits, with poll(2), until the socket has room to write (or
// has failed, or was shut down: a write then says so) and reports true, or
// until deadline (by now's clock) and reports false.
func (c *nbConn) waitWritable(deadline int64, now func() int64) (bool, error) {
	return c.wait(unix.POLLOUT, deadline, now)
}

func (c *nbConn) wait(events int16, deadline int64, now func() int64) (bool, error) {
	for {
		left := deadline - now()
		if left <= 0 {
			return false, nil
		}
		fds := []unix.PollFd{{Fd: int32(c.fd), Events: events}}
		k, err := unix.Poll(fds, int((left+int64(time.Millisecond)-1)/int64(time.Millisecond)))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return false, &net.OpError{Op: "poll", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
		case k > 0:
			return true, nil
		}
	}
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
		if err := c.untilWritten(func() (bool, error) {
			progress, empty, err := c.flushSome()
			return progress || empty, err
		}); err != nil {
			return err
		}
	}
}

// untilWritten calls try until it reports progress or an error, waiting
// for room in the socket between tries, at most writeTimeout after the last
// progress. poll(2) is level-triggered: room that came between a try and
// the wait ends the wait at once (no lost wake-up).
func (c *nbConn) untilWritten(try func() (bool, error)) error {
	clock := func() int64 { return time.Now().UnixNano() }
	deadline := clock() + int64(writeTimeout)
	for {
		done, err := try()
		if done || err != nil {
			return err
		}
		ok, err := c.waitWritable(deadline, clock)
		switch {
		case err != nil:
			return err
		case !ok:
			return &net.OpError{Op: "write", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.ErrDeadlineExceeded}
		}
	}
}

// writeWaiting writes b, waiting for the socket as flush does; the backlog
// is empty.
func (c *nbConn) writeWaiting(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		err := c.untilWritten(func() (bool, error) {
			c.bmu.Lock()
			defer c.bmu.Unlock()
			switch {
			case c.werr != nil:
				return false, c.werr
			case c.closed:
				return false, net.ErrClosed
			}
			n, err := c.writeSomeLocked(b[done:])
			done += n
			return n > 0 || done == len(b), err
		})
		if err != nil {
			return done, err
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

// Close closes the connection; no raw read or write follows. Once started,
// it shuts the socket down (the peer reads the end; a poll(2) on it returns)
// and releases the descriptor, which the session's goroutines release too.
func (c *nbConn) Close() error {
	if !c.raw {
		c.bmu.Lock()
		c.closed = true
		c.bmu.Unlock()
		return c.TCPConn.Close()
	}
	c.bmu.Lock()
	if c.closed {
		c.bmu.Unlock()
		return nil
	}
	c.closed = true
	unix.Shutdown(c.fd, unix.SHUT_RDWR)
	c.bmu.Unlock()
	c.release()
	return nil
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
