package service

// Waits of the network service: a blocking accept, receive, send or poll
// never holds the worker that every SIP of the worker shares. Serve tries
// the call at once; if it would block, it defers the request
// (kernel.Request.Defer) and a goroutine of its own waits in Go's netpoller
// (readiness, not a blocked thread), then finishes the request, whose reply
// goes back to the core by message.
//
// The rules:
//
//   - Each wait is cancellable from the worker: Cancel (the kernel's cancel
//     of a killed SIP's request) and Close call its cancel, which ends the
//     wait at once: a deadline in the past for a connection's read or write
//     (the connection belongs to the waiting SIP alone), the same on the
//     waiter's own duplicate of a listener's descriptor for an accept (a
//     listener is shared, so its own deadline is not ours to set), a write
//     to the poll's eventfd for a poll.
//   - A wait goroutine touches only its connection, its buffer and its own
//     descriptors; the request's fields and the worker's tables are written
//     in the function it hands to Finish, on the worker's goroutine.
//   - Close cancels every wait, closes the connections and waits for the
//     wait goroutines, so that no host descriptor outlives the machine.

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"isle/internal/kernel"
	"isle/internal/wasip1"
)

// past is a deadline that has passed: it ends a netpoller wait at once.
func past() time.Time { return time.Unix(1, 0) }

// wait runs fn on a goroutine of its own for a deferred request; cancel
// ends fn's wait. fn returns what to do on the worker when it is done.
func (n *Net) wait(req *kernel.Request, cancel func(), fn func() func()) {
	d := req.Defer()
	n.waits[req] = cancel
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		then := fn()
		d.Finish(func() {
			delete(n.waits, req)
			then()
		})
	}()
}

// Cancel implements kernel.Canceler: the SIP waiting for req was killed.
func (n *Net) Cancel(req *kernel.Request) {
	if cancel := n.waits[req]; cancel != nil {
		cancel()
	}
}

// recvLater waits for data on c (a blocking receive; a peek with peek).
func (n *Net) recvLater(req *kernel.Request, c *net.TCPConn, peekOnly bool) {
	buf := req.Buf
	n.wait(req, func() { c.SetReadDeadline(past()) }, func() func() {
		var got int
		var errno wasip1.Errno
		if peekOnly {
			got, errno = peek(c, buf, false)
		} else {
			var err error
			got, err = c.Read(buf)
			errno = recvErrno(got, err)
		}
		if errno == wasip1.ErrnoAgain {
			errno = wasip1.ErrnoIntr // a blocking receive says EAGAIN only when cancelled
		}
		return func() { req.N, req.Errno = int64(got), errno }
	})
}

// sendLater waits until c takes (some of) buf.
func (n *Net) sendLater(req *kernel.Request, c *net.TCPConn) {
	buf := req.Buf
	n.wait(req, func() { c.SetWriteDeadline(past()) }, func() func() {
		got, err := c.Write(buf)
		errno := wasip1.Errno(0)
		if err != nil && got == 0 {
			errno = netErrno(err)
			if errno == wasip1.ErrnoAgain {
				errno = wasip1.ErrnoIntr
			}
		}
		return func() { req.N, req.Errno = int64(got), errno }
	})
}

// acceptLater waits for a connection on listener l, on a duplicate of its
// descriptor: each waiter has its own place in the netpoller and its own
// deadline, and another worker's accept may take a connection first (then
// this one waits on).
func (n *Net) acceptLater(req *kernel.Request, l *net.TCPListener) wasip1.Errno {
	f, err := dupFile(l)
	if err != nil {
		return netErrno(err)
	}
	n.wait(req, func() { f.SetReadDeadline(past()) }, func() func() {
		defer f.Close()
		rc, err := f.SyscallConn()
		nfd := -1
		var aerr error
		if err == nil {
			err = rc.Read(func(fd uintptr) bool {
				nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
				return aerr != unix.EAGAIN
			})
		}
		if err == nil {
			err = aerr
		}
		return func() {
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				req.Errno = wasip1.ErrnoIntr
			case err != nil:
				req.Errno = netErrno(err)
			default:
				req.Errno = n.adopt(req, nfd)
			}
			if req.Errno != 0 {
				n.quota.release(n.fds, req.PID(), 1) // charged by accept
			}
		}
	})
	return 0
}

// dupFile returns a pollable duplicate of l's descriptor.
func dupFile(l *net.TCPListener) (*os.File, error) {
	rc, err := l.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	// The duplicate shares the listener's O_NONBLOCK, so os.NewFile puts it
	// in the netpoller.
	return os.NewFile(uintptr(nfd), "listener"), nil
}

// adopt makes the accepted descriptor nfd a connection of this worker and
// req's result (accept charged it to the SIP); once the worker is closed it
// closes nfd instead.
func (n *Net) adopt(req *kernel.Request, nfd int) wasip1.Errno {
	if n.closed {
		unix.Close(nfd)
		return wasip1.ErrnoIntr
	}
	c, err := connOf(nfd)
	if err != nil {
		return netErrno(err)
	}
	req.N = int64(n.install(c, req.PID()))
	req.Off = lendConn(c)
	return 0
}

// connOf wraps an accepted descriptor (it takes it over).
func connOf(nfd int) (*net.TCPConn, error) {
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

// pollLater runs poll(2) over pfds for at most ms milliseconds on a
// goroutine, with an eventfd as the last entry, which a cancel writes to.
func (n *Net) pollLater(req *kernel.Request, pfds []unix.PollFd, ms int) wasip1.Errno {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return netErrno(err)
	}
	pfds = append(pfds, unix.PollFd{Fd: int32(efd), Events: unix.POLLIN})
	n.wait(req, func() {
		var one [8]byte
		binary.LittleEndian.PutUint64(one[:], 1)
		unix.Write(efd, one[:])
	}, func() func() {
		deadline := time.Now().Add(time.Duration(ms) * time.Millisecond)
		for {
			left := int(time.Until(deadline).Milliseconds())
			_, err := unix.Poll(pfds, max(left, 0))
			if err != unix.EINTR || left <= 0 {
				break
			}
		}
		return func() {
			unix.Close(efd) // the cancel, which writes to it, ran on this goroutine if at all
			req.Buf = pollEvents(req.Buf[:0], pfds[:len(pfds)-1])
			req.Errno = 0
		}
	})
	return 0
}

// recvErrno is the errno of a receive that got got bytes and err.
func recvErrno(got int, err error) wasip1.Errno {
	if err == nil || got > 0 || errors.Is(err, io.EOF) {
		return 0
	}
	return netErrno(err)
}
