package wasi

import (
	"encoding/binary"

	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/service"
)

// WASI file types.
const (
	filetypeCharacterDevice = 2
	filetypeDirectory       = 3
)

// allRights is every fd right of WASI preview 1 (bits 0–28).
const allRights = 1<<29 - 1

// firstPreopen is the fd of the first directory given with --dir.
const firstPreopen = 3

func (p *Proc) preopen(fd uint32) (Preopen, bool) {
	if fd < firstPreopen || fd-firstPreopen >= uint32(len(p.Preopens)) {
		return Preopen{}, false
	}
	return p.Preopens[fd-firstPreopen], true
}

// fdFdstatGet(fd, stat *fdstat): 24 bytes, filetype u8 @0, flags u16 @2,
// rights_base u64 @8, rights_inheriting u64 @16.
func fdFdstatGet(c *sandbox.Call, _ *kernel.SIP, p *Proc, a []uint64) Errno {
	fd := u32(a[0])
	var st [24]byte
	switch {
	case fd <= 2:
		st[0] = filetypeCharacterDevice
		binary.LittleEndian.PutUint64(st[8:], allRights)
	default:
		if _, ok := p.preopen(fd); !ok {
			return EBADF
		}
		st[0] = filetypeDirectory
		binary.LittleEndian.PutUint64(st[8:], allRights)
		binary.LittleEndian.PutUint64(st[16:], allRights)
	}
	if !c.Memory().Write(u32(a[1]), st[:]) {
		return EFAULT
	}
	return ESUCCESS
}

// fdPrestatGet(fd, prestat *prestat): tag u8 @0 (0 = directory), name_len u32 @4.
func fdPrestatGet(c *sandbox.Call, _ *kernel.SIP, p *Proc, a []uint64) Errno {
	pre, ok := p.preopen(u32(a[0]))
	if !ok {
		return EBADF
	}
	var st [8]byte
	binary.LittleEndian.PutUint32(st[4:], uint32(len(pre.Guest)))
	if !c.Memory().Write(u32(a[1]), st[:]) {
		return EFAULT
	}
	return ESUCCESS
}

// fdPrestatDirName(fd, path *u8, path_len u32)
func fdPrestatDirName(c *sandbox.Call, _ *kernel.SIP, p *Proc, a []uint64) Errno {
	pre, ok := p.preopen(u32(a[0]))
	if !ok {
		return EBADF
	}
	n := u32(a[2])
	if n < uint32(len(pre.Guest)) {
		return ENAMETOOLONG
	}
	if !c.Memory().Write(u32(a[1]), []byte(pre.Guest)) {
		return EFAULT
	}
	return ESUCCESS
}

// iovecs walks an iovec array (buf u32, len u32 each), calling f for each
// buffer view until f returns false. It reports false on a bad pointer.
func iovecs(m sandbox.Memory, iovs, n uint32, f func(b []byte) bool) bool {
	for i := uint32(0); i < n; i++ {
		ptr, ok1 := m.ReadUint32(iovs + 8*i)
		l, ok2 := m.ReadUint32(iovs + 8*i + 4)
		if !ok1 || !ok2 || iovs+8*i < iovs {
			return false
		}
		b, ok := m.Read(ptr, l)
		if !ok {
			return false
		}
		if !f(b) {
			return true
		}
	}
	return true
}

// fdWrite(fd, iovs *iovec, iovs_len u32, nwritten *u32)
func fdWrite(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	fd := u32(a[0])
	m := c.Memory()
	if fd != 1 && fd != 2 {
		if fd == 0 {
			return EBADF
		}
		if _, ok := p.preopen(fd); ok {
			return EISDIR
		}
		return EBADF
	}
	req := s.Request()
	req.Op = service.OpWrite
	req.Fd = int32(fd)
	ok := iovecs(m, u32(a[1]), u32(a[2]), func(b []byte) bool {
		room := maxWriteChunk - len(req.Buf)
		if len(b) > room {
			b = b[:room]
		}
		req.Buf = append(req.Buf, b...)
		return len(req.Buf) < maxWriteChunk
	})
	if !ok {
		return EFAULT
	}
	n := int64(0)
	if len(req.Buf) > 0 {
		rep := s.Call(p.Console)
		if rep.Errno != 0 {
			return Errno(rep.Errno)
		}
		n = rep.N
	}
	if !m.WriteUint32(u32(a[3]), uint32(n)) {
		return EFAULT
	}
	return ESUCCESS
}

// fdRead(fd, iovs *iovec, iovs_len u32, nread *u32)
func fdRead(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	fd := u32(a[0])
	m := c.Memory()
	if fd != 0 {
		if fd <= 2 {
			return EBADF
		}
		if _, ok := p.preopen(fd); ok {
			return EISDIR
		}
		return EBADF
	}
	want := uint64(0)
	if !iovecs(m, u32(a[1]), u32(a[2]), func(b []byte) bool {
		want += uint64(len(b))
		return want < maxReadChunk
	}) {
		return EFAULT
	}
	want = min(want, maxReadChunk)
	n := 0
	if want > 0 {
		req := s.Request()
		req.Op = service.OpRead
		req.Fd = 0
		req.Off = int64(want)
		rep := s.Call(p.Stdin)
		if rep.Errno != 0 {
			return Errno(rep.Errno)
		}
		data := rep.Buf[:rep.N]
		// The guest has not run since the check above, so the views are valid.
		iovecs(m, u32(a[1]), u32(a[2]), func(b []byte) bool {
			k := copy(b, data[n:])
			n += k
			return n < len(data)
		})
	}
	if !m.WriteUint32(u32(a[3]), uint32(n)) {
		return EFAULT
	}
	return ESUCCESS
}

// fdSeek(fd, offset i64, whence u8, newoffset *u64)
func fdSeek(_ *sandbox.Call, _ *kernel.SIP, p *Proc, a []uint64) Errno {
	return seekable(p, u32(a[0]))
}

// fdTell(fd, offset *u64)
func fdTell(_ *sandbox.Call, _ *kernel.SIP, p *Proc, a []uint64) Errno {
	return seekable(p, u32(a[0]))
}

func seekable(p *Proc, fd uint32) Errno {
	if fd <= 2 {
		return ESPIPE
	}
	if _, ok := p.preopen(fd); ok {
		return EISDIR
	}
	return EBADF
}
