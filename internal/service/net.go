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
//     per worker) and a SIP uses one. A blocking accept or receive holds up
//     its worker until it completes, so a SIP that must not wait sets
//     NONBLOCK (the request then says EAGAIN at once) and waits in
//     poll_oneoff, which asks NetPoll with a bounded timeout.

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"isle/internal/kernel"
)

// Network operations (kernel.Request.Op). Fd is a handle; Off bit 0 asks for
// a non-blocking call (EAGAIN instead of waiting).
const (
	NetAccept   uint32 = iota + 200 // accept on listener Fd; N = new handle
	NetRecv                         // receive at most N bytes into Buf; N = bytes received (0 at end of stream); Off bit 1: peek
	NetSend                         // send Buf; N = bytes sent
	NetShutdown                     // shut down Fd: N 1 read side, 2 write side, 3 both
	NetClose                        // close connection Fd
	NetPoll                         // Buf: (handle i32, events u16 1 read 2 write) pairs, 8 bytes each; wait at most Off ns; Buf = ready events u16 per pair
	NetCloseAll                     // close every connection listed in Buf (little-endian int32s)
)

// Net is one network worker. Every field but listeners is owned by the
// worker's goroutine.
type Net struct {
	listeners []*net.TCPListener // shared by every worker; immutable
	conns     map[int32]*net.TCPConn
	next      int32
}

// NewNet returns a worker serving listeners.
func NewNet(listeners []*net.TCPListener) *Net {
	return &Net{listeners: listeners, conns: map[int32]*net.TCPConn{}, next: int32(len(listeners))}
}

// Close closes the worker's connections (not the listeners, which the
// machine closes). Call it only once the machine has stopped.
func (n *Net) Close() {
	for h, c := range n.conns {
		c.Close()
		delete(n.conns, h)
	}
}

const maxConns = 1 << 16

// Serve implements kernel.Service.
func (n *Net) Serve(req *kernel.Request) {
	req.Errno = n.serve(req)
}

func (n *Net) serve(req *kernel.Request) uint16 {
	nonblock := req.Off&1 != 0
	switch req.Op {
	case NetPoll:
		return n.poll(req)
	case NetCloseAll:
		for b := req.Buf; len(b) >= 4; b = b[4:] {
			h := int32(binary.LittleEndian.Uint32(b))
			if c := n.conns[h]; c != nil {
				c.Close()
				delete(n.conns, h)
			}
		}
		return 0
	case NetAccept:
		if req.Fd < 0 || int(req.Fd) >= len(n.listeners) {
			if n.conns[req.Fd] != nil {
				return errnoInval // accept on a connection
			}
			return errnoBadf
		}
		if len(n.conns) >= maxConns {
			return errnoNfile
		}
		l := n.listeners[req.Fd]
		var c *net.TCPConn
		var err error
		if nonblock {
			c, err = acceptNow(l)
		} else {
			c, err = l.AcceptTCP()
		}
		if err != nil {
			return netErrno(err)
		}
		h := n.next
		for n.conns[h] != nil || h < int32(len(n.listeners)) {
			h++
			if h < 0 {
				h = int32(len(n.listeners))
			}
		}
		n.next = h + 1
		n.conns[h] = c
		req.N = int64(h)
		return 0
	}
	c := n.conns[req.Fd]
	if c == nil {
		if req.Fd >= 0 && int(req.Fd) < len(n.listeners) {
			return errnoNotconn
		}
		return errnoBadf
	}
	switch req.Op {
	case NetRecv:
		want := min(max(req.N, 0), maxFSChunk)
		if int64(cap(req.Buf)) < want {
			req.Buf = make([]byte, want)
		}
		req.Buf = req.Buf[:want]
		if req.Off&2 != 0 {
			return peek(c, req, nonblock)
		}
		var got int
		var err error
		if nonblock {
			got, err = now(c, true, req.Buf)
		} else {
			got, err = c.Read(req.Buf)
		}
		req.N = int64(got)
		if err != nil && got == 0 {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return errnoAgain
			}
			if errors.Is(err, io.EOF) {
				return 0
			}
			return netErrno(err)
		}
		return 0
	case NetSend:
		var got int
		var err error
		if nonblock {
			got, err = now(c, false, req.Buf)
		} else {
			got, err = c.Write(req.Buf)
		}
		req.N = int64(got)
		if err != nil && got == 0 {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return errnoAgain
			}
			return netErrno(err)
		}
		return 0
	case NetShutdown:
		var err error
		switch req.N {
		case 1:
			err = c.CloseRead()
		case 2:
			err = c.CloseWrite()
		case 3:
			if err = c.CloseRead(); err == nil {
				err = c.CloseWrite()
			}
		default:
			return errnoInval
		}
		return netErrnoOf(err)
	case NetClose:
		c.Close()
		delete(n.conns, req.Fd)
		return 0
	}
	return errnoInval
}

// peek is recv(MSG_PEEK).
func peek(c *net.TCPConn, req *kernel.Request, nonblock bool) uint16 {
	rc, err := c.SyscallConn()
	if err != nil {
		return netErrno(err)
	}
	var got int
	var rerr error
	flags := unix.MSG_PEEK
	if nonblock {
		flags |= unix.MSG_DONTWAIT
	}
	err = rc.Read(func(fd uintptr) bool {
		got, _, rerr = unix.Recvfrom(int(fd), req.Buf, flags)
		return nonblock || rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return netErrno(err)
	}
	req.N = int64(got)
	return 0
}

// poll waits until one of the listed handles is ready or Off nanoseconds
// have passed, with poll(2) on the host sockets.
func (n *Net) poll(req *kernel.Request) uint16 {
	b := req.Buf
	k := len(b) / 8
	if k == 0 || k > 4096 {
		return errnoInval
	}
	pfds := make([]unix.PollFd, k)
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
	ms := int(min(max(req.Off, 0)/1e6, 1000))
	for {
		_, err := unix.Poll(pfds, ms)
		if err != unix.EINTR {
			break
		}
	}
	out := req.Buf[:0]
	for i := 0; i < k; i++ {
		var ev uint16
		r := pfds[i].Revents
		if r&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0 {
			ev |= 1
		}
		if r&(unix.POLLOUT|unix.POLLERR) != 0 {
			ev |= 2
		}
		if pfds[i].Fd < 0 {
			ev = 0xffff // not a socket of this worker
		}
		out = binary.LittleEndian.AppendUint16(out, ev)
	}
	req.Buf = out
	return 0
}

const errnoNotconn = 53

func netErrnoOf(err error) uint16 {
	if err == nil {
		return 0
	}
	return netErrno(err)
}

func netErrno(err error) uint16 {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errnoAgain
	case errors.Is(err, net.ErrClosed):
		return errnoBadf
	case errors.Is(err, syscall.ECONNRESET):
		return 15 // ECONNRESET
	case errors.Is(err, syscall.EPIPE):
		return errnoPipe
	case errors.Is(err, syscall.ENOTCONN):
		return errnoNotconn
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
	err = rc.Read(func(fd uintptr) bool {
		nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return true
	})
	if err != nil {
		return nil, err
	}
	if aerr != nil {
		return nil, aerr
	}
	f := os.NewFile(uintptr(nfd), "conn")
	defer f.Close()
	fc, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	tc, ok := fc.(*net.TCPConn)
	if !ok {
		fc.Close()
		return nil, syscall.EPROTOTYPE
	}
	return tc, nil
}
