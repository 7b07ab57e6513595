package wasi

import (
	"encoding/binary"

	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/service"
	"isle/internal/wasip1"
)

// fdFdstatGet(fd, stat *fdstat): 24 bytes, filetype u8 @0, flags u16 @2,
// rights_base u64 @8, rights_inheriting u64 @16.
func fdFdstatGet(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e := p.fd(s, u32(a[0]))
	if e == nil {
		return EBADF
	}
	var st [24]byte
	st[0] = e.typ
	binary.LittleEndian.PutUint16(st[2:], e.flags)
	binary.LittleEndian.PutUint64(st[8:], e.base)
	binary.LittleEndian.PutUint64(st[16:], e.inh)
	if !c.Memory().Write(u32(a[1]), st[:]) {
		return EFAULT
	}
	return ESUCCESS
}

// fdFdstatSetFlags(fd, flags u16): APPEND is changed on the host file;
// the others are recorded (writes are synchronous to the service anyway).
func fdFdstatSetFlags(_ *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e := p.fd(s, u32(a[0]))
	if e == nil {
		return EBADF
	}
	fl := uint16(a[1])
	if uint64(fl) != a[1]&0xffffffff || fl&^(wasip1.FdflagsAppend|wasip1.FdflagsDsync|wasip1.FdflagsNonblock|wasip1.FdflagsRsync|wasip1.FdflagsSync) != 0 {
		return EINVAL
	}
	if !e.notFile() && (fl^e.flags)&wasip1.FdflagsAppend != 0 {
		service.FSSetFlagsReq{Handle: e.handle, Append: fl&wasip1.FdflagsAppend != 0}.Put(s.Request())
		if rep := p.fsCall(s); rep.Errno != 0 {
			return Errno(rep.Errno)
		}
	}
	e.flags = fl
	return ESUCCESS
}

// fdFdstatSetRights(fd, base u64, inheriting u64): rights only shrink;
// rights the object cannot hold are dropped first (rights.go).
func fdFdstatSetRights(_ *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e := p.fd(s, u32(a[0]))
	if e == nil {
		return EBADF
	}
	bm, im := e.rightsMasks()
	base, inh, errno := setRights(e.base, e.inh, bm, im, a[1], a[2])
	if errno != ESUCCESS {
		return errno
	}
	e.base, e.inh = base, inh
	return ESUCCESS
}

// fdPrestatGet(fd, prestat *prestat): tag u8 @0 (0 = directory), name_len u32 @4.
func fdPrestatGet(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e := p.fd(s, u32(a[0]))
	if e == nil || e.preopen < 0 {
		return EBADF
	}
	var st [8]byte
	binary.LittleEndian.PutUint32(st[4:], uint32(len(p.Preopens[e.preopen].Guest)))
	if !c.Memory().Write(u32(a[1]), st[:]) {
		return EFAULT
	}
	return ESUCCESS
}

// fdPrestatDirName(fd, path *u8, path_len u32)
func fdPrestatDirName(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e := p.fd(s, u32(a[0]))
	if e == nil || e.preopen < 0 {
		return EBADF
	}
	name := p.Preopens[e.preopen].Guest
	n := u32(a[2])
	if n < uint32(len(name)) {
		return ENAMETOOLONG
	}
	if !c.Memory().Write(u32(a[1]), []byte(name)) {
		return EFAULT
	}
	return ESUCCESS
}

// fdClose(fd)
func fdClose(_ *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	fd := u32(a[0])
	e := p.fd(s, fd)
	if e == nil {
		return EBADF
	}
	p.fds[fd] = nil
	return p.closeFile(s, e)
}

// fdRenumber(from, to): to must be open, as in wasmtime; it is closed and
// from takes its number.
func fdRenumber(_ *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	from, to := u32(a[0]), u32(a[1])
	ef, et := p.fd(s, from), p.fd(s, to)
	if ef == nil || et == nil {
		return EBADF
	}
	if from == to {
		return ESUCCESS
	}
	p.fds[to] = ef
	p.fds[from] = nil
	p.release(s, et)
	return ESUCCESS
}

// iovecs walks an iovec array (buf u32, len u32 each), calling f for each
// buffer view until f returns false. More than iovMax iovecs is EINVAL; an
// array or a buffer outside memory is EFAULT. The array's bounds are checked
// once, before the walk.
func iovecs(m sandbox.Memory, iovs, n uint32, f func(b []byte) bool) Errno {
	if n > iovMax {
		return EINVAL
	}
	arr, ok := m.Read(iovs, 8*n)
	if !ok {
		return EFAULT
	}
	for i := uint32(0); i < n; i++ {
		ptr := binary.LittleEndian.Uint32(arr[8*i:])
		l := binary.LittleEndian.Uint32(arr[8*i+4:])
		b, ok := m.Read(ptr, l)
		if !ok {
			return EFAULT
		}
		if !f(b) {
			return ESUCCESS
		}
	}
	return ESUCCESS
}

// gather copies the bytes of an iovec array into req.Buf, at most
// maxWriteChunk of them.
func gather(m sandbox.Memory, req *kernel.Request, iovs, n uint32) Errno {
	return iovecs(m, iovs, n, func(b []byte) bool {
		room := maxWriteChunk - len(req.Buf)
		if len(b) > room {
			b = b[:room]
		}
		req.Buf = append(req.Buf, b...)
		return len(req.Buf) < maxWriteChunk
	})
}

// fdWrite(fd, iovs *iovec, iovs_len u32, nwritten *u32)
func fdWrite(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	return write(c, s, p, u32(a[0]), u32(a[1]), u32(a[2]), -1, u32(a[3]))
}

// fdPwrite(fd, iovs *iovec, iovs_len u32, offset u64, nwritten *u32)
func fdPwrite(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	if int64(a[3]) < 0 {
		return EINVAL
	}
	return write(c, s, p, u32(a[0]), u32(a[1]), u32(a[2]), int64(a[3]), u32(a[4]))
}

func write(c *sandbox.Call, s *kernel.SIP, p *Proc, fd, iovs, niovs uint32, off int64, nwritten uint32) Errno {
	m := c.Memory()
	e := p.fd(s, fd)
	switch {
	case e == nil:
		return EBADF
	case e.ownPos:
		if e.base&rightFdWrite == 0 {
			return EBADF
		}
		if errno := p.behindErr(e); errno != ESUCCESS {
			return errno
		}
		return p.writeOwn(m, s, e, iovs, niovs, off, nwritten)
	case e.stream == 1 || e.stream == 2:
		if off >= 0 {
			return ESPIPE
		}
		return p.consoleWrite(m, s, int32(e.stream), iovs, niovs, nwritten)
	case e.stream == 0:
		return EBADF
	case e.sock:
		if off >= 0 {
			return ESPIPE
		}
		if e.listen {
			return ENOTCONN
		}
		return p.writeSock(m, s, e, iovs, niovs, nwritten)
	case e.isDir():
		return EISDIR
	case e.base&rightFdWrite == 0:
		return EBADF
	}
	return p.writeFile(m, s, e, iovs, niovs, off, nwritten)
}

// writeSock is fd_write on a connection: on the core if the socket takes
// the bytes, the rest by the network worker (sendSock).
func (p *Proc) writeSock(m sandbox.Memory, s *kernel.SIP, e *fdEntry, iovs, niovs, nwritten uint32) Errno {
	req := s.Request()
	if errno := gather(m, req, iovs, niovs); errno != ESUCCESS {
		return errno
	}
	if _, ok := m.Read(nwritten, 4); !ok {
		return EFAULT
	}
	k := int64(0)
	if len(req.Buf) > 0 {
		var errno Errno
		if k, errno = p.sendSock(s, e, req); errno != ESUCCESS {
			return errno
		}
	}
	if !m.WriteUint32(nwritten, uint32(k)) {
		return EFAULT
	}
	return ESUCCESS
}

// writeFile is fd_write and fd_pwrite on a file whose offset the host
// keeps (not a regular file: a character device, a FIFO), by the worker.
func (p *Proc) writeFile(m sandbox.Memory, s *kernel.SIP, e *fdEntry, iovs, niovs uint32, off int64, nwritten uint32) Errno {
	req := s.Request()
	service.FSWriteReq{Handle: e.handle, At: off}.Put(req) // at the file's offset if off < 0
	// A large write from one buffer goes from the guest's memory to the
	// host with no copy in between: the SIP is suspended, so its memory
	// neither changes nor grows until the worker has replied (a kill
	// waits for the reply too).
	own := req.Buf
	if view, ok := zeroCopyView(m, iovs, niovs, maxWriteChunk); ok {
		req.Buf = view
		defer func() { req.Buf = own[:0] }()
	} else if errno := gather(m, req, iovs, niovs); errno != ESUCCESS {
		return errno
	}
	if _, ok := m.Read(nwritten, 4); !ok {
		return EFAULT
	}
	n := int64(0)
	if len(req.Buf) > 0 {
		rep := p.fsCall(s)
		if rep.Errno != 0 {
			return Errno(rep.Errno)
		}
		n = rep.N
	}
	if !m.WriteUint32(nwritten, uint32(n)) {
		return EFAULT
	}
	return ESUCCESS
}

// zeroCopyMin is the smallest buffer worth lending to a worker rather than
// copying.
const zeroCopyMin = 4096

// zeroCopyView returns the guest's buffer when an iovec array has exactly one
// non-empty buffer of at least zeroCopyMin bytes, cut to limit, capacity
// included, so that a worker can never reach past it.
func zeroCopyView(m sandbox.Memory, iovs, n uint32, limit int) ([]byte, bool) {
	var view []byte
	count := 0
	errno := iovecs(m, iovs, n, func(b []byte) bool {
		if len(b) > 0 {
			view = b
			count++
		}
		return count <= 1
	})
	if errno != ESUCCESS || count != 1 || len(view) < zeroCopyMin {
		return nil, false
	}
	view = view[:min(len(view), limit)]
	return view[:len(view):len(view)], true
}

// fdRead(fd, iovs *iovec, iovs_len u32, nread *u32)
func fdRead(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	return read(c, s, p, u32(a[0]), u32(a[1]), u32(a[2]), -1, u32(a[3]))
}

// fdPread(fd, iovs *iovec, iovs_len u32, offset u64, nread *u32)
func fdPread(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	if int64(a[3]) < 0 {
		return EINVAL
	}
	return read(c, s, p, u32(a[0]), u32(a[1]), u32(a[2]), int64(a[3]), u32(a[4]))
}

func read(c *sandbox.Call, s *kernel.SIP, p *Proc, fd, iovs, niovs uint32, off int64, nread uint32) Errno {
	m := c.Memory()
	e := p.fd(s, fd)
	if e == nil {
		return EBADF
	}
	limit := uint64(maxFileChunk)
	switch {
	case e.stream == 0:
		if off >= 0 {
			return ESPIPE
		}
		limit = maxReadChunk
	case e.stream > 0:
		return EBADF
	case e.sock:
		if off >= 0 {
			return ESPIPE
		}
		if e.listen {
			return ENOTCONN
		}
	case e.isDir():
		return EISDIR
	case e.base&rightFdRead == 0:
		return EBADF
	}
	if errno := p.behindErr(e); errno != ESUCCESS {
		return errno
	}
	want := uint64(0)
	if errno := iovecs(m, iovs, niovs, func(b []byte) bool {
		want += uint64(len(b))
		return want < limit
	}); errno != ESUCCESS {
		return errno
	}
	if _, ok := m.Read(nread, 4); !ok {
		return EFAULT
	}
	want = min(want, limit)
	n := 0
	if want > 0 {
		var errno Errno
		if n, errno = p.readFrom(m, s, e, iovs, niovs, off, int(want)); errno != ESUCCESS {
			return errno
		}
	}
	if !m.WriteUint32(nread, uint32(n)) {
		return EFAULT
	}
	return ESUCCESS
}

// readFrom reads at most want (> 0) bytes from e into the guest's buffers,
// at off (< 0: at the fd's offset), and returns how many.
func (p *Proc) readFrom(m sandbox.Memory, s *kernel.SIP, e *fdEntry, iovs, niovs uint32, off int64, want int) (int, Errno) {
	if e.ownPos {
		o := off
		if o < 0 {
			o = e.pos
		}
		got, errno := p.readRegular(m, s, e, iovs, niovs, o, want)
		if errno == ESUCCESS && off < 0 {
			e.pos = o + int64(got)
		}
		return got, errno
	}
	req := s.Request()
	var rep *kernel.Request
	switch {
	case e.stream == 0:
		p.flush(s) // a prompt is out before the read, even one answered on the core
		if k, errno, done := p.stdinNow(m, e, iovs, niovs, want); done {
			return k, errno
		}
		// NoWait: EAGAIN when nothing is buffered (Go's runtime then waits
		// in poll_oneoff).
		service.ConsoleReadReq{Max: int64(want), NoWait: e.flags&wasip1.FdflagsNonblock != 0}.Put(req)
		rep = s.Call(p.Stdin)
	case e.sock:
		if k, errno, done := p.recvInline(m, e, iovs, niovs, want, false); done {
			return k, errno
		}
		service.NetRecvReq{Conn: e.handle, Max: int64(want), NoWait: e.flags&wasip1.FdflagsNonblock != 0}.Put(req)
		rep = p.netCall(s)
	default:
		service.FSReadReq{Handle: e.handle, Max: int64(want), At: off}.Put(req) // at the file's offset if off < 0
		// A large read into one buffer goes straight into the guest's
		// memory (see write); the copy below is then skipped.
		if view, ok := zeroCopyView(m, iovs, niovs, want); ok {
			own := req.Buf
			req.Buf = view
			rep = p.fsCall(s)
			n := int(min(rep.N, int64(len(view))))
			rep.Buf = own[:0]
			if rep.Errno != 0 {
				return 0, Errno(rep.Errno)
			}
			return n, ESUCCESS
		}
		rep = p.fsCall(s)
	}
	if rep.Errno != 0 {
		return 0, Errno(rep.Errno)
	}
	// The guest has not run since the caller checked the views, so they
	// are valid.
	return scatter(m, iovs, niovs, 0, rep.Buf[:min(int(rep.N), len(rep.Buf))]), ESUCCESS
}

// fdSeek(fd, offset i64, whence u8, newoffset *u64)
func fdSeek(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	whence := u32(a[2])
	if whence > 2 {
		return EINVAL
	}
	return seek(c, s, p, u32(a[0]), int64(a[1]), whence, u32(a[3]))
}

// fdTell(fd, offset *u64)
func fdTell(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	return seek(c, s, p, u32(a[0]), 0, 1, u32(a[1]))
}

func seek(c *sandbox.Call, s *kernel.SIP, p *Proc, fd uint32, off int64, whence uint32, out uint32) Errno {
	e := p.fd(s, fd)
	switch {
	case e == nil:
		return EBADF
	case e.stream >= 0 || e.sock:
		return ESPIPE
	case e.isDir():
		return EISDIR
	}
	m := c.Memory()
	if _, ok := m.Read(out, 8); !ok {
		return EFAULT
	}
	if errno := p.behindErr(e); errno != ESUCCESS {
		return errno
	}
	if e.ownPos {
		to, errno := p.seekRegular(s, e, off, whence)
		if errno != ESUCCESS {
			return errno
		}
		m.WriteUint64(out, uint64(to))
		return ESUCCESS
	}
	service.FSSeekReq{Handle: e.handle, Offset: off, Whence: uint8(whence)}.Put(s.Request())
	rep := p.fsCall(s)
	if rep.Errno != 0 {
		return Errno(rep.Errno)
	}
	if !m.WriteUint64(out, uint64(rep.N)) {
		return EFAULT
	}
	return ESUCCESS
}

// writeOwn is fd_write and fd_pwrite on a regular file, whose offset the
// entry keeps (inline.go): at off, or, when off < 0, at the fd's offset
// (the file's end if it appends), which then moves past what was written.
func (p *Proc) writeOwn(m sandbox.Memory, s *kernel.SIP, e *fdEntry, iovs, niovs uint32, off int64, nwritten uint32) Errno {
	total := 0
	if errno := iovecs(m, iovs, niovs, func(b []byte) bool {
		total += len(b)
		return total < maxWriteChunk
	}); errno != ESUCCESS {
		return errno
	}
	total = min(total, maxWriteChunk)
	if _, ok := m.Read(nwritten, 4); !ok {
		return EFAULT
	}
	n := 0
	if total > 0 {
		o := off
		if o < 0 {
			o = e.pos
			if e.flags&wasip1.FdflagsAppend != 0 {
				o = -1
			}
		}
		got, pos, errno := p.writeRegular(m, s, e, iovs, niovs, o, total)
		if errno != ESUCCESS {
			return errno
		}
		if off < 0 {
			e.pos = pos
		}
		n = got
	}
	if !m.WriteUint32(nwritten, uint32(n)) {
		return EFAULT
	}
	return ESUCCESS
}
