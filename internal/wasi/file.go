package wasi

// Calls on files and directories: each decodes its arguments, checks the
// guest's pointers, and sends one request to the SIP's file-system worker
// (internal/service/fs.go), which does the host I/O.

import (
	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/service"
	"isle/internal/wasip1"
)

// Limits in one place (see also proc.go).
const (
	maxFileChunk = 1 << 20 // bytes one fd_read asks the file-system service for
	maxPath      = 4096    // bytes of a path argument
)

// badLookupFlags reports undefined lookupflags bits: EINVAL, as wasmtime
// refuses flags it cannot decode.
func badLookupFlags(flags uint64) bool { return flags&0xffffffff&^wasip1.LookupflagsSymlinkFollow != 0 }

// pathArg reads a path argument.
func pathArg(m sandbox.Memory, ptr, n uint32) (string, Errno) {
	if n > maxPath {
		if _, ok := m.Read(ptr, n); !ok {
			return "", EFAULT
		}
		return "", ENAMETOOLONG
	}
	b, ok := m.Read(ptr, n)
	if !ok {
		return "", EFAULT
	}
	return string(b), ESUCCESS
}

// dirEntry returns the directory entry fd names: EBADF if none, ENOTDIR if
// it is not a directory.
func (p *Proc) dirEntry(s *kernel.SIP, fd uint32) (*fdEntry, Errno) {
	e := p.fd(s, fd)
	switch {
	case e == nil:
		return nil, EBADF
	case !e.isDir():
		return nil, ENOTDIR
	}
	return e, ESUCCESS
}

// fsEntry returns the entry of fd if it is a file or directory; stdio is
// answered by the caller.
func (p *Proc) fsEntry(s *kernel.SIP, fd uint32) (*fdEntry, Errno) {
	e := p.fd(s, fd)
	if e == nil {
		return nil, EBADF
	}
	return e, p.behindErr(e) // a failed write behind is the next call's answer
}

// simple sends the request put on the SIP's record, for calls that return
// only an errno.
func (p *Proc) simple(s *kernel.SIP) Errno {
	return Errno(p.fsCall(s).Errno)
}

// fdFilestatGet(fd, buf *filestat)
func fdFilestatGet(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e, errno := p.fsEntry(s, u32(a[0]))
	if errno != ESUCCESS {
		return errno
	}
	m := c.Memory()
	out := u32(a[1])
	if _, ok := m.Read(out, wasip1.FilestatSize); !ok {
		return EFAULT
	}
	var st [wasip1.FilestatSize]byte
	if e.notFile() {
		st[16] = e.typ
		m.Write(out, st[:])
		return ESUCCESS
	}
	if fd, ok := e.hostFd(); ok && e.localStat && !p.inFlightOn(e) && service.StatNow(fd, &st) {
		m.Write(out, st[:]) // on the core (inline.go)
		return ESUCCESS
	}
	service.FSStatReq{Handle: e.handle}.Put(s.Request())
	rep := p.fsCall(s)
	if rep.Errno != 0 {
		return Errno(rep.Errno)
	}
	copy(st[:], rep.Buf)
	m.Write(out, st[:])
	return ESUCCESS
}

// fdFilestatSetSize(fd, size u64)
func fdFilestatSetSize(_ *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e, errno := p.fsEntry(s, u32(a[0]))
	switch {
	case errno != ESUCCESS:
		return errno
	case e.notFile():
		return EINVAL
	case e.isDir():
		return EISDIR
	case int64(a[1]) < 0:
		return EINVAL
	case e.base&rightFdWrite == 0:
		return EINVAL // ftruncate(2) on a read-only fd
	}
	service.FSSetSizeReq{Handle: e.handle, Size: int64(a[1])}.Put(s.Request())
	return p.simple(s)
}

func badTimeFlags(fl uint64) bool {
	const atim, atimNow, mtim, mtimNow = 1, 2, 4, 8
	return fl&^15 != 0 || fl&(atim|atimNow) == atim|atimNow || fl&(mtim|mtimNow) == mtim|mtimNow
}

// fdFilestatSetTimes(fd, atim u64, mtim u64, fst_flags u16)
func fdFilestatSetTimes(_ *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e, errno := p.fsEntry(s, u32(a[0]))
	switch {
	case errno != ESUCCESS:
		return errno
	case badTimeFlags(a[3] & 0xffffffff):
		return EINVAL
	case e.notFile():
		return ESUCCESS // the console has no times to keep
	}
	t := service.FSTimes{Atim: a[1], Mtim: a[2], Fst: uint16(a[3])}
	service.FSSetTimesReq{Handle: e.handle, Times: t}.Put(s.Request())
	return Errno(p.fsCall(s).Errno)
}

// fdSync(fd), fdDatasync(fd)
func fdSync(_ *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	return sync(s, p, u32(a[0]), false)
}

func fdDatasync(_ *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	return sync(s, p, u32(a[0]), true)
}

func sync(s *kernel.SIP, p *Proc, fd uint32, dataOnly bool) Errno {
	e, errno := p.fsEntry(s, fd)
	switch {
	case errno != ESUCCESS:
		return errno
	case e.notFile():
		return EINVAL // fsync(2) on a terminal or pipe
	}
	service.FSSyncReq{Handle: e.handle, DataOnly: dataOnly}.Put(s.Request())
	return p.simple(s)
}

// fdAdvise(fd, offset u64, len u64, advice u8): advice is checked and
// otherwise ignored, which POSIX allows.
func fdAdvise(_ *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e, errno := p.fsEntry(s, u32(a[0]))
	switch {
	case errno != ESUCCESS:
		return errno
	case u32(a[3]) > 5 || int64(a[1]) < 0 || int64(a[2]) < 0:
		return EINVAL
	case e.notFile():
		return ESPIPE
	case e.isDir():
		return EBADF
	}
	return ESUCCESS
}

// fdAllocate(fd, offset u64, len u64)
func fdAllocate(_ *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e, errno := p.fsEntry(s, u32(a[0]))
	switch {
	case errno != ESUCCESS:
		return errno
	case int64(a[1]) < 0 || int64(a[2]) <= 0 || int64(a[1]+a[2]) < 0:
		return EINVAL
	case e.notFile():
		return ESPIPE
	case e.isDir():
		return EBADF
	case e.base&rightFdWrite == 0:
		return EBADF
	}
	service.FSAllocateReq{Handle: e.handle, Off: int64(a[1]), Len: int64(a[2])}.Put(s.Request())
	return p.simple(s)
}

// fdReaddir(fd, buf *u8, buf_len u32, cookie u64, bufused *u32)
func fdReaddir(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e, errno := p.fsEntry(s, u32(a[0]))
	if errno != ESUCCESS {
		return errno
	}
	if !e.isDir() {
		return ENOTDIR
	}
	m := c.Memory()
	buf, n, used := u32(a[1]), u32(a[2]), u32(a[4])
	if _, ok := m.Read(buf, n); !ok {
		return EFAULT
	}
	if _, ok := m.Read(used, 4); !ok {
		return EFAULT
	}
	if int64(a[3]) < 0 {
		return EINVAL
	}
	service.FSReaddirReq{Handle: e.handle, Cookie: int64(a[3]), Max: int64(n)}.Put(s.Request())
	rep := p.fsCall(s)
	if rep.Errno != 0 {
		return Errno(rep.Errno)
	}
	out := rep.Buf
	if uint32(len(out)) > n {
		out = out[:n] // the last entry is cut: the buffer is full, as the spec says
	}
	m.Write(buf, out)
	m.WriteUint32(used, uint32(len(out)))
	return ESUCCESS
}

// pathOp sends a path request (an FSPathReq's op) relative to directory fd
// and returns the reply.
func (p *Proc) pathOp(c *sandbox.Call, s *kernel.SIP, fd, ptr, n uint32, op uint32, follow bool) (*kernel.Request, Errno) {
	e, errno := p.dirEntry(s, fd)
	if errno != ESUCCESS {
		return nil, errno
	}
	path, errno := pathArg(c.Memory(), ptr, n)
	if errno == ESUCCESS {
		path, errno = p.reducePath(s, e, path)
	}
	if errno != ESUCCESS {
		return nil, errno
	}
	service.FSPathReq{Op: op, Dir: e.handle, Path: path, Follow: follow}.Put(s.Request())
	rep := p.fsCall(s)
	return rep, Errno(rep.Errno)
}

// pathCreateDirectory(fd, path *u8, path_len u32)
func pathCreateDirectory(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	_, errno := p.pathOp(c, s, u32(a[0]), u32(a[1]), u32(a[2]), service.FSMkdir, false)
	return errno
}

// pathUnlinkFile(fd, path *u8, path_len u32)
func pathUnlinkFile(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	_, errno := p.pathOp(c, s, u32(a[0]), u32(a[1]), u32(a[2]), service.FSUnlink, false)
	return errno
}

// pathRemoveDirectory(fd, path *u8, path_len u32)
func pathRemoveDirectory(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	_, errno := p.pathOp(c, s, u32(a[0]), u32(a[1]), u32(a[2]), service.FSRmdir, false)
	return errno
}

// pathFilestatGet(fd, flags u32, path *u8, path_len u32, buf *filestat)
func pathFilestatGet(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	if badLookupFlags(a[1]) {
		return EINVAL
	}
	m := c.Memory()
	out := u32(a[4])
	if _, ok := m.Read(out, wasip1.FilestatSize); !ok {
		return EFAULT
	}
	var st [wasip1.FilestatSize]byte
	if errno, ok := p.pathStatInline(c, s, u32(a[0]), u32(a[2]), u32(a[3]), a[1]&wasip1.LookupflagsSymlinkFollow != 0, &st); ok {
		if errno == ESUCCESS {
			m.Write(out, st[:])
		}
		return errno
	}
	rep, errno := p.pathOp(c, s, u32(a[0]), u32(a[2]), u32(a[3]), service.FSPathStat, a[1]&wasip1.LookupflagsSymlinkFollow != 0)
	if errno != ESUCCESS {
		return errno
	}
	copy(st[:], rep.Buf)
	m.Write(out, st[:])
	return ESUCCESS
}

// pathFilestatSetTimes(fd, flags u32, path *u8, path_len u32, atim u64, mtim u64, fst_flags u16)
func pathFilestatSetTimes(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	if badTimeFlags(a[6]&0xffffffff) || badLookupFlags(a[1]) {
		return EINVAL
	}
	e, errno := p.dirEntry(s, u32(a[0]))
	if errno != ESUCCESS {
		return errno
	}
	path, errno := pathArg(c.Memory(), u32(a[2]), u32(a[3]))
	if errno == ESUCCESS {
		path, errno = p.reducePath(s, e, path)
	}
	if errno != ESUCCESS {
		return errno
	}
	t := service.FSTimes{Atim: a[4], Mtim: a[5], Fst: uint16(a[6])}
	service.FSPathSetTimesReq{Dir: e.handle, Path: path, Follow: a[1]&wasip1.LookupflagsSymlinkFollow != 0, Times: t}.Put(s.Request())
	return Errno(p.fsCall(s).Errno)
}

// pathReadlink(fd, path *u8, path_len u32, buf *u8, buf_len u32, bufused *u32)
// A target longer than the buffer is cut, as readlink(2) does.
func pathReadlink(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	m := c.Memory()
	buf, n, used := u32(a[3]), u32(a[4]), u32(a[5])
	if _, ok := m.Read(buf, n); !ok {
		return EFAULT
	}
	if _, ok := m.Read(used, 4); !ok {
		return EFAULT
	}
	rep, errno := p.pathOp(c, s, u32(a[0]), u32(a[1]), u32(a[2]), service.FSReadlink, false)
	if errno != ESUCCESS {
		return errno
	}
	out := rep.Buf
	if uint32(len(out)) > n {
		out = out[:n]
	}
	m.Write(buf, out)
	m.WriteUint32(used, uint32(len(out)))
	return ESUCCESS
}

// pathSymlink(old_path *u8, old_path_len u32, fd, new_path *u8, new_path_len u32)
func pathSymlink(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	e, errno := p.dirEntry(s, u32(a[2]))
	if errno != ESUCCESS {
		return errno
	}
	m := c.Memory()
	target, errno := pathArg(m, u32(a[0]), u32(a[1]))
	if errno != ESUCCESS {
		return errno
	}
	link, errno := pathArg(m, u32(a[3]), u32(a[4]))
	if errno == ESUCCESS {
		link, errno = p.reducePath(s, e, link) // the target is stored, not resolved
	}
	if errno != ESUCCESS {
		return errno
	}
	service.FSSymlinkReq{Target: target, Dir: e.handle, Path: link}.Put(s.Request())
	return Errno(p.fsCall(s).Errno)
}

// pathRename(fd, old_path *u8, old_path_len u32, new_fd, new_path *u8, new_path_len u32)
func pathRename(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	return twoPaths(c, s, p, service.FSRename, u32(a[0]), u32(a[1]), u32(a[2]), u32(a[3]), u32(a[4]), u32(a[5]), false)
}

// pathLink(old_fd, old_flags u32, old_path *u8, old_path_len u32, new_fd, new_path *u8, new_path_len u32)
// Without LOOKUP_SYMLINK_FOLLOW a final symlink in old_path is linked
// itself, as linkat(2) without AT_SYMLINK_FOLLOW does; with it, the file the
// symlink leads to (inside the directory) is linked, as the specification
// and linkat(2) with AT_SYMLINK_FOLLOW say (wasmtime answers EINVAL).
// The old directory needs path_link_source, the new one path_link_target.
func pathLink(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	if a[1]&0xffffffff&^wasip1.LookupflagsSymlinkFollow != 0 {
		return EINVAL
	}
	for _, x := range []struct {
		fd    uint32
		right uint64
	}{{u32(a[0]), rightPathLinkSource}, {u32(a[4]), rightPathLinkTarget}} {
		if e := p.fd(s, x.fd); e != nil && e.isDir() && e.base&x.right == 0 {
			return ENOTCAPABLE
		}
	}
	follow := a[1]&wasip1.LookupflagsSymlinkFollow != 0
	return twoPaths(c, s, p, service.FSLink, u32(a[0]), u32(a[2]), u32(a[3]), u32(a[4]), u32(a[5]), u32(a[6]), follow)
}

// twoPaths is a rename (op FSRename) or a link (FSLink; follow: a final
// symlink in the old path) from one directory's path to another's.
func twoPaths(c *sandbox.Call, s *kernel.SIP, p *Proc, op uint32, ofd, optr, olen, nfd, nptr, nlen uint32, follow bool) Errno {
	oe, errno := p.dirEntry(s, ofd)
	if errno != ESUCCESS {
		return errno
	}
	ne, errno := p.dirEntry(s, nfd)
	if errno != ESUCCESS {
		return errno
	}
	m := c.Memory()
	old, errno := pathArg(m, optr, olen)
	if errno == ESUCCESS && old != "" {
		old, errno = p.reducePath(s, oe, old)
	}
	if errno != ESUCCESS {
		return errno
	}
	nw, errno := pathArg(m, nptr, nlen)
	if errno == ESUCCESS && nw != "" {
		nw, errno = p.reducePath(s, ne, nw)
	}
	if errno != ESUCCESS {
		return errno
	}
	if old == "" {
		return ENOENT
	}
	if op == service.FSLink {
		service.FSLinkReq{Dir: oe.handle, Old: old, Follow: follow, NewDir: ne.handle, New: nw}.Put(s.Request())
	} else {
		service.FSRenameReq{Dir: oe.handle, Old: old, NewDir: ne.handle, New: nw}.Put(s.Request())
	}
	return Errno(p.fsCall(s).Errno)
}

// pathOpen(fd, dirflags u32, path *u8, path_len u32, oflags u16,
// rights_base u64, rights_inheriting u64, fdflags u16, opened *fd)
// The rights asked for are an upper bound (rights.go): checked against the
// directory's inheriting rights, then reduced to what the opened object
// supports. Under O_DIRECTORY the file rights (fd_write among them) simply do
// not apply; without it, fd_write on a directory is EISDIR, as open(2) with
// O_WRONLY, wasmtime and wazero answer (and Go's os tests expect), as are
// O_TRUNC, APPEND and O_CREAT: the file-system service decides.
func pathOpen(c *sandbox.Call, s *kernel.SIP, p *Proc, a []uint64) Errno {
	if badLookupFlags(a[1]) {
		return EINVAL
	}
	e, errno := p.dirEntry(s, u32(a[0]))
	if errno != ESUCCESS {
		return errno
	}
	m := c.Memory()
	path, errno := pathArg(m, u32(a[2]), u32(a[3]))
	if errno != ESUCCESS {
		return errno
	}
	out := u32(a[8])
	if _, ok := m.Read(out, 4); !ok {
		return EFAULT
	}
	oflags, fdflags := uint16(a[4]), uint16(a[7])
	if a[4]&0xffffffff > 0xf || a[7]&0xffffffff > 0x1f {
		return EINVAL
	}
	if oflags&wasip1.OflagsDirectory != 0 && oflags&(wasip1.OflagsCreat|wasip1.OflagsExcl|wasip1.OflagsTrunc) != 0 {
		return EINVAL // as wasmtime: O_DIRECTORY opens, never creates or truncates
	}
	base, inh, errno := openRights(e.base, e.inh, a[5], a[6], oflags)
	if errno != ESUCCESS {
		return errno
	}
	if path, errno = p.reducePath(s, e, path); errno != ESUCCESS {
		return errno
	}
	write := base&rightFdWrite != 0
	if oflags&wasip1.OflagsDirectory != 0 {
		write = false // only a directory can be opened: file rights do not apply
	}
	follow := a[1]&wasip1.LookupflagsSymlinkFollow != 0
	if ne, errno, ok := p.openInline(s, e, path, oflags, fdflags, follow, write, base, inh); ok {
		if errno != ESUCCESS {
			return errno
		}
		return p.installOpened(s, m, out, ne)
	}
	service.FSOpenReq{Dir: e.handle, Path: path, Oflags: oflags, Fdflags: fdflags,
		Follow: follow, Read: base&rightFdRead != 0, Write: write}.Put(s.Request())
	rep := p.fsCall(s)
	if rep.Errno != 0 {
		return Errno(rep.Errno)
	}
	o := service.FSOpenedOf(rep)
	typ := o.Type
	base, inh = openedRights(typ, base, inh)
	ne := &fdEntry{typ: typ, stream: -1, handle: o.Handle, flags: fdflags,
		base: base, inh: inh, ro: o.ReadOnly, preopen: -1,
		ownPos: typ == wasip1.FiletypeRegularFile}
	ne.lend(o.Lend)
	if ne.typ == wasip1.FiletypeDirectory {
		ne.flags &^= wasip1.FdflagsAppend
	}
	return p.installOpened(s, m, out, ne)
}

// installOpened gives the file path_open opened an fd and writes it to the
// guest's out; with no fd left, it closes the file.
func (p *Proc) installOpened(s *kernel.SIP, m sandbox.Memory, out uint32, ne *fdEntry) Errno {
	fd, errno := p.install(s, ne)
	if errno != ESUCCESS {
		p.release(s, ne)
		return errno
	}
	m.WriteUint32(out, fd)
	return ESUCCESS
}
