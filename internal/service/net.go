package service

// The network service serves the TCP listeners given to the machine with
// --listen: accepting, receiving, sending and shutting down, over host
// sockets.
//
// The rules of its interface:
//
//   - Handles 0 … len(listeners)-1 are the listeners, shared by every worker
//     (net.Listener.Accept is safe from many goroutines) and never closed by
//     a SIP; the others are connections accepted by this worker, owned by
//     the SIP that accepted them.
//   - Like the file-system service, a machine runs several workers (NewNet
//     per worker) and a SIP uses one. No request holds its worker: a call
//     that would block (accept, receive, send, a poll with a timeout) waits
//     on a goroutine of its own in Go's netpoller and replies when ready,
//     and a kill of the waiting SIP ends the wait at once (netwait.go).

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"isle/internal/kernel"
	"isle/internal/wasip1"
)

// Network operations (kernel.Request.Op), each the Op of a typed request
// (netreq.go).
const (
	NetAccept   uint32 = iota + 200 // NetAcceptReq
	NetRecv                         // NetRecvReq
	NetSend                         // NetSendReq
	NetShutdown                     // NetShutdownReq
	NetClose                        // NetCloseReq
	NetPoll                         // NetPollReq: Buf lists (handle i32, events u16, 2 bytes pad) entries (AppendNetPoll); the reply's Buf holds the ready events, a u16 per entry (NetPollEvent)
	NetCloseAll                     // NetCloseAllReq: Buf lists handles, little-endian int32s (AppendHandle)
)

// Limits in one place.
const (
	maxConns     = 1 << 16 // connections per worker
	maxPollFds   = 8192    // handles in one NetPoll: as many as poll_oneoff takes subscriptions (wasi maxSubscriptions)
	maxPollMilli = 1000    // longest wait of one NetPoll, in milliseconds
)

// Net is one network worker.
//
// Ownership: listeners are shared by every worker and immutable, and so is
// fds, the machine's budget (safe for concurrent use, hostfds.go); conns,
// owner, quota, next, waits and closed are owned by the worker's goroutine;
// wg counts the wait goroutines (netwait.go), which touch only what their
// wait names.
type Net struct {
	listeners []*net.TCPListener
	fds       *HostFDs
	conns     map[int32]*net.TCPConn
	owner     map[int32]int64 // the SIP that accepted each connection
	quota     quota
	next      int32
	waits     map[*kernel.Request]func() // deferred requests → what cancels their wait
	wg        sync.WaitGroup
	closed    bool
}

// NewNet returns a worker serving listeners. Its SIPs' connections are
// charged to fds (nil: no machine budget) and to each SIP's quota
// (MaxFilesPerSIP).
func NewNet(listeners []*net.TCPListener, fds *HostFDs) *Net {
	return &Net{listeners: listeners, fds: fds, conns: map[int32]*net.TCPConn{}, owner: map[int32]int64{},
		quota: quota{}, next: int32(len(listeners)), waits: map[*kernel.Request]func(){}}
}

// Close implements kernel.Closer: it ends every wait, closes the worker's
// connections (not the listeners, which the machine closes) and waits for
// the wait goroutines. The kernel calls it on the worker's goroutine once
// the machine's cores have ended; before Boot, anyone may.
func (n *Net) Close() {
	n.closed = true
	for _, cancel := range n.waits {
		cancel()
	}
	for h := range n.conns {
		n.closeConn(h)
	}
	n.wg.Wait()
}

// Abandon implements kernel.Abandoner: the SIP that asked for req was
// killed before it saw the reply; a connection it accepted is closed.
func (n *Net) Abandon(req *kernel.Request) {
	if req.Op == NetAccept && req.Errno == 0 {
		n.closeConn(NetAcceptedOf(req).Handle)
	}
}

func (n *Net) closeConn(h int32) {
	if c := n.conns[h]; c != nil {
		c.Close()
		n.quota.release(n.fds, n.owner[h], 1)
		delete(n.conns, h)
		delete(n.owner, h)
	}
}

// install gives c, accepted for pid (and charged to it), the next free
// handle.
func (n *Net) install(c *net.TCPConn, pid int64) int32 {
	h := n.next
	for n.conns[h] != nil || h < int32(len(n.listeners)) {
		h++
		if h < 0 {
			h = int32(len(n.listeners))
		}
	}
	n.next = h + 1
	n.conns[h] = c
	n.owner[h] = pid
	return h
}

// Serve implements kernel.Service.
func (n *Net) Serve(req *kernel.Request) {
	req.Errno = n.serve(req)
}

func (n *Net) serve(req *kernel.Request) wasip1.Errno {
	switch req.Op {
	case NetPoll:
		return n.poll(req)
	case NetCloseAll:
		for b := req.Buf; len(b) >= 4; b = b[4:] {
			n.closeConn(int32(binary.LittleEndian.Uint32(b)))
		}
		return 0
	case NetAccept:
		return n.accept(req, netAcceptOf(req))
	case NetRecv:
		return n.recv(req, netRecvOf(req))
	case NetSend:
		a := netSendOf(req)
		c, e := n.conn(a.Conn)
		if e != 0 {
			return e
		}
		got, err := now(c, false, req.Buf)
		if err != nil && got == 0 {
			if e := netErrno(err); e != wasip1.ErrnoAgain || a.NoWait {
				return e
			}
			n.sendLater(req, c)
			return 0
		}
		req.N = int64(got)
		return 0
	case NetShutdown:
		a := netShutdownOf(req)
		c, e := n.conn(a.Conn)
		if e != 0 {
			return e
		}
		var err error
		switch {
		case a.Read && a.Write:
			if err = c.CloseRead(); err == nil {
				err = c.CloseWrite()
			}
		case a.Read:
			err = c.CloseRead()
		case a.Write:
			err = c.CloseWrite()
		default:
			return wasip1.ErrnoInval
		}
		return netErrnoOf(err)
	case NetClose:
		a := netCloseOf(req)
		if _, e := n.conn(a.Conn); e != 0 {
			return e
		}
		n.closeConn(a.Conn)
		return 0
	}
	return wasip1.ErrnoInval
}

// recv receives what the connection holds now, or waits for it (netwait.go)
// unless the call is non-blocking.
func (n *Net) recv(req *kernel.Request, a NetRecvReq) wasip1.Errno {
	c, e := n.conn(a.Conn)
	if e != 0 {
		return e
	}
	want := min(max(a.Max, 0), maxFSChunk)
	if int64(cap(req.Buf)) < want {
		req.Buf = make([]byte, want)
	}
	req.Buf = req.Buf[:want]
	var got int
	var errno wasip1.Errno
	if a.Peek {
		got, errno = peek(c, req.Buf, true)
	} else {
		var err error
		got, err = now(c, true, req.Buf)
		errno = recvErrno(got, err)
	}
	if errno == wasip1.ErrnoAgain && !a.NoWait && want > 0 {
		n.recvLater(req, c, a.Peek)
		return 0
	}
	req.N = int64(got)
	return errno
}

// conn is the connection handle h names: ENOTCONN for a listener, EBADF
// for nothing.
func (n *Net) conn(h int32) (*net.TCPConn, wasip1.Errno) {
	c := n.conns[h]
	if c == nil {
		if h >= 0 && int(h) < len(n.listeners) {
			return nil, wasip1.ErrnoNotconn
		}
		return nil, wasip1.ErrnoBadf
	}
	return c, 0
}

// accept takes a connection waiting on the listener, or waits for one
// (netwait.go) unless the call is non-blocking.
func (n *Net) accept(req *kernel.Request, a NetAcceptReq) wasip1.Errno {
	if a.Listener < 0 || int(a.Listener) >= len(n.listeners) {
		if n.conns[a.Listener] != nil {
			return wasip1.ErrnoInval // accept on a connection
		}
		return wasip1.ErrnoBadf
	}
	if len(n.conns) >= maxConns {
		return wasip1.ErrnoNfile
	}
	// The connection is charged before it is accepted, so that a SIP past
	// its quota leaves it waiting for another.
	pid := req.PID()
	if e := n.quota.admit(n.fds, pid, 1); e != 0 {
		return e
	}
	l := n.listeners[a.Listener]
	c, err := acceptNow(l)
	if err != nil {
		e := netErrno(err)
		if e == wasip1.ErrnoAgain && !a.NoWait {
			if e = n.acceptLater(req, l); e == 0 {
				return 0
			}
		}
		n.quota.release(n.fds, pid, 1)
		return e
	}
	req.N = int64(n.install(c, pid))
	req.Off = lendConn(c)
	return 0
}

// lendConn returns the lent-descriptor bits of an accept's result (Off,
// read with LentFd): the connection's host descriptor, for the SIP's inline
// receives and sends (inline.go).
func lendConn(c *net.TCPConn) int64 {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	var v int64
	rc.Control(func(fd uintptr) { v = lend(int(fd)) })
	return v
}

// peek is recv(MSG_PEEK): at once if nonblock (EAGAIN if nothing), else
// waiting in the netpoller.
func peek(c *net.TCPConn, buf []byte, nonblock bool) (int, wasip1.Errno) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, netErrno(err)
	}
	var got int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		got, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_PEEK|unix.MSG_DONTWAIT)
		return nonblock || rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, netErrno(err)
	}
	return got, 0
}

// poll says which of the listed handles are ready, with poll(2) on the
// host sockets; if none is and Off allows a wait, it waits on a goroutine of
// its own (netwait.go).
func (n *Net) poll(req *kernel.Request) wasip1.Errno {
	b := req.Buf
	k := len(b) / 8
	if k == 0 || k > maxPollFds {
		return wasip1.ErrnoInval
	}
	pfds := make([]unix.PollFd, k, k+1)
	for i := 0; i < k; i++ {
		h := int32(binary.LittleEndian.Uint32(b[8*i:]))
		ev := binary.LittleEndian.Uint16(b[8*i+4:])
		pfds[i].Fd = -1
		var sc syscall.Conn
		if h >= 0 && int(h) < len(n.listeners) {
			sc = n.listeners[h]
		} else if c := n.conns[h]; c != nil {
			sc = c
		} else {
			continue
		}
		rc, err := sc.SyscallConn()
		if err != nil {
			continue
		}
		rc.Control(func(fd uintptr) { pfds[i].Fd = int32(fd) })
		if ev&1 != 0 {
			pfds[i].Events |= unix.POLLIN
		}
		if ev&2 != 0 {
			pfds[i].Events |= unix.POLLOUT
		}
	}
	for {
		_, err := unix.Poll(pfds, 0)
		if err != unix.EINTR {
			break
		}
	}
	ms := int(min(max(netPollOf(req).Timeout, 0)/1e6, maxPollMilli))
	if ms > 0 && !anyReady(pfds) {
		return n.pollLater(req, pfds, ms)
	}
	req.Buf = pollEvents(req.Buf[:0], pfds)
	return 0
}

func anyReady(pfds []unix.PollFd) bool {
	for _, p := range pfds {
		if p.Fd < 0 || p.Revents != 0 {
			return true
		}
	}
	return false
}

// pollEvents appends the ready events of each entry: 1 read, 2 write, 4
// hung up (both directions closed: POLLHUP; a peer that only shut down its
// side is readable, not hung up, so a server still answers it), 0xffff not
// a socket of this worker.
func pollEvents(out []byte, pfds []unix.PollFd) []byte {
	for _, p := range pfds {
		ev := readyEvents(p.Revents)
		if p.Fd < 0 {
			ev = 0xffff
		}
		out = binary.LittleEndian.AppendUint16(out, ev)
	}
	return out
}

func netErrnoOf(err error) wasip1.Errno {
	if err == nil {
		return 0
	}
	return netErrno(err)
}

func netErrno(err error) wasip1.Errno {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return wasip1.ErrnoAgain
	case errors.Is(err, net.ErrClosed):
		return wasip1.ErrnoBadf
	case errors.Is(err, syscall.ECONNRESET):
		return wasip1.ErrnoConnreset
	case errors.Is(err, syscall.EPIPE):
		return wasip1.ErrnoPipe
	case errors.Is(err, syscall.ENOTCONN):
		return wasip1.ErrnoNotconn
	}
	return fsErrno(err)
}

// A deadline in the past makes Go's poller refuse a read before trying it,
// so non-blocking calls go to the socket directly.

// now reads (or writes) what the socket holds (or takes) now; EAGAIN if
// nothing.
func now(c *net.TCPConn, read bool, b []byte) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var serr error
	do := rc.Write
	if read {
		do = rc.Read
	}
	err = do(func(fd uintptr) bool {
		if read {
			n, serr = unix.Read(int(fd), b)
			if n == 0 && serr == nil && len(b) > 0 {
				serr = io.EOF
			}
		} else {
			n, serr = unix.Write(int(fd), b)
		}
		return true // never wait
	})
	if err != nil {
		return 0, err
	}
	if n < 0 {
		n = 0
	}
	return n, serr
}

// acceptNow accepts a connection waiting on l, or says EAGAIN.
func acceptNow(l *net.TCPListener) (*net.TCPConn, error) {
	rc, err := l.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var aerr error
	// A listener's RawConn refuses Read (EINVAL); its descriptor is
	// non-blocking, so accept4 under Control says EAGAIN at once.
	err = rc.Control(func(fd uintptr) {
		nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	})
	if err != nil {
		return nil, err
	}
	if aerr != nil {
		return nil, aerr
	}
	return connOf(nfd)
}
