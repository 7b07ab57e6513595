package wasi

// Sockets: the listeners given with --listen (fds after the preopens) and
// the connections accepted on them, served by the network service
// (internal/service/net.go).

import (
	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/service"
	"isle/internal/wasip1"
)

// sockEntry returns fd's entry if it is a connection: EBADF if fd is not
// open, ENOTSOCK if it is not a socket, ENOTCONN for a listener.
func (p *Proc) sockEntry(s *kernel.SIP, fd uint32) (*fdEntry, Errno) {
	e := p.fd(s, fd)
	switch {
	case e == nil:
		return nil, EBADF
	case !e.sock:
		return nil, ENOTSOCK
	case e.listen:
		return nil, ENOTCONN
	}
	return e, ESUCCESS
}

func nonblock(e *fdEntry) int64 { return int64(e.flags&wasip1.FdflagsNonblock) >> 2 }

// sockAccept(fd, flags u16, result *fd)
func sockAccept(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e := p.fd(s, u32(a[0]))
	switch {
	case e == nil:
		return EBADF
	case !e.sock:
		return ENOTSOCK
	case !e.listen:
		return EINVAL
	}
	flags := uint16(a[1])
	if a[1]&0xffffffff&^wasip1.FdflagsNonblock != 0 {
		return EINVAL
	}
	m := c.Memory()
	out := u32(a[2])
	if _, ok := m.Read(out, 4); !ok {
		return EFAULT
	}
	if lfd, ok := e.hostFd(); ok && nonblock(e) != 0 {
		// Nothing to accept: say so on the core (inline.go).
		p.poller.Reset()
		p.poller.Add(lfd, 1)
		if p.poller.Now() && p.poller.Events(0) == 0 {
			return EAGAIN
		}
	}
	service.NetAcceptReq{Listener: e.handle, NoWait: nonblock(e) != 0}.Put(s.Request())
	rep := p.netCall(s)
	if rep.Errno != 0 {
		return Errno(rep.Errno)
	}
	acc := service.NetAcceptedOf(rep)
	ne := &fdEntry{typ: wasip1.FiletypeSocketStream, stream: -1, handle: acc.Handle, flags: flags,
		base: allRights, inh: allRights, preopen: -1, sock: true}
	if acc.HasLent {
		ne.lent = acc.Lent + 1
	}
	fd, errno := p.install(s, ne)
	if errno != ESUCCESS {
		p.release(s, ne)
		return errno
	}
	m.WriteUint32(out, fd)
	return ESUCCESS
}

// sockRecv(fd, ri_data *iovec, ri_data_len u32, ri_flags u16, ro_datalen *u32, ro_flags *u16)
// RECV_PEEK leaves the bytes in the socket; RECV_WAITALL, on a blocking
// socket, waits until the buffers are full, the peer ends its side or an
// error comes after some bytes (which are returned), as recv(2) does.
func sockRecv(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e, errno := p.sockEntry(s, u32(a[0]))
	if errno != ESUCCESS {
		return errno
	}
	flags := a[3] & 0xffffffff
	if flags&^(wasip1.RiflagsRecvPeek|wasip1.RiflagsRecvWaitall) != 0 {
		return EINVAL
	}
	m := c.Memory()
	iovs, niovs, outLen, outFlags := u32(a[1]), u32(a[2]), u32(a[4]), u32(a[5])
	if _, ok := m.Read(outFlags, 2); !ok {
		return EFAULT
	}
	if _, ok := m.Read(outLen, 4); !ok {
		return EFAULT
	}
	want := uint64(0)
	if errno := iovecs(m, iovs, niovs, func(b []byte) bool {
		want += uint64(len(b))
		return want < maxFileChunk
	}); errno != ESUCCESS {
		return errno
	}
	want = min(want, maxFileChunk)
	waitall := flags&wasip1.RiflagsRecvWaitall != 0 && flags&wasip1.RiflagsRecvPeek == 0 && nonblock(e) == 0
	n := 0
	if k, errno, done := p.recvInline(m, e, iovs, niovs, int(want), flags&wasip1.RiflagsRecvPeek != 0); done {
		if errno != ESUCCESS {
			return errno
		}
		n = k
		if !waitall || k == 0 {
			want = 0 // answered on the core
		}
	}
	for uint64(n) < want {
		service.NetRecvReq{Conn: e.handle, Max: int64(want) - int64(n), Peek: flags&wasip1.RiflagsRecvPeek != 0,
			NoWait: nonblock(e) != 0}.Put(s.Request())
		rep := p.netCall(s)
		if rep.Errno != 0 {
			if n > 0 {
				break // the error comes again on the next call
			}
			return Errno(rep.Errno)
		}
		data := rep.Buf[:min(int(rep.N), len(rep.Buf))]
		skip, k := n, 0
		iovecs(m, iovs, niovs, func(b []byte) bool {
			if skip >= len(b) {
				skip -= len(b)
				return true
			}
			k += copy(b[skip:], data[k:])
			skip = 0
			return k < len(data)
		})
		n += k
		if !waitall || len(data) == 0 {
			break
		}
	}
	m.WriteUint32(outLen, uint32(n))
	m.Write(outFlags, []byte{0, 0})
	return ESUCCESS
}

// sockSend(fd, si_data *ciovec, si_data_len u32, si_flags u16, so_datalen *u32)
func sockSend(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e, errno := p.sockEntry(s, u32(a[0]))
	if errno != ESUCCESS {
		return errno
	}
	if a[3]&0xffffffff != 0 {
		return EINVAL
	}
	m := c.Memory()
	out := u32(a[4])
	if _, ok := m.Read(out, 4); !ok {
		return EFAULT
	}
	req := s.Request()
	if errno := gather(m, req, u32(a[1]), u32(a[2])); errno != ESUCCESS {
		return errno
	}
	n := int64(0)
	if len(req.Buf) > 0 {
		var errno Errno
		if n, errno = p.sendSock(s, e, req); errno != ESUCCESS {
			return errno
		}
	}
	m.WriteUint32(out, uint32(n))
	return ESUCCESS
}

// sockShutdown(fd, how u8): SHUT_RD 1, SHUT_WR 2. As in Linux, a bad how
// is EINVAL before a listener is ENOTCONN; a socket whose connection has
// ended is ENOTCONN too (the host's answer).
func sockShutdown(_ *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e := p.fd(s, u32(a[0]))
	switch {
	case e == nil:
		return EBADF
	case !e.sock:
		return ENOTSOCK
	}
	how := a[1] & 0xffffffff
	if how == 0 || how > 3 {
		return EINVAL
	}
	if e.listen {
		return ENOTCONN
	}
	service.NetShutdownReq{Conn: e.handle, Read: how&wasip1.SdflagsRd != 0, Write: how&wasip1.SdflagsWr != 0}.Put(s.Request())
	return Errno(p.netCall(s).Errno)
}
