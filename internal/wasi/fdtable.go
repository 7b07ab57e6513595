package wasi

// The per-SIP fd table.
//
// Rules:
//   - The table lives in Proc and is touched only on the SIP's coroutine.
//   - fds 0, 1 and 2 are the console streams; 3 … 3+len(Preopens)-1 the
//     preopened directories (Go's runtime and wasi-libc walk them from 3
//     until fd_prestat_get says EBADF); then files and directories the
//     program opens, at the lowest free number, as POSIX does.
//   - A file or directory entry names a handle in the SIP's file-system
//     worker (Proc.FS[pid % len]); the worker owns the host file. Closing an
//     fd closes the handle; closing a preopen only forgets the fd.
//   - Rights follow rights.go: a preopen holds wasmtime's directory rights,
//     an opened fd what it asked for reduced to what its object supports;
//     they are reported by fd_fdstat_get and may only shrink
//     (fd_fdstat_set_rights); reads and writes need fd_read and fd_write, as
//     wasmtime checks, or the call is EBADF as in POSIX.

import (
	"isle/internal/kernel"
	"isle/internal/service"
	"isle/internal/wasip1"
)

// maxFds is how many fds a SIP may hold.
const maxFds = 4096

// fdEntry is one open fd.
type fdEntry struct {
	typ     uint8  // WASI filetype
	stream  int8   // 0, 1, 2: a console stream; -1: a file-system handle
	handle  int32  // the file-system worker's handle (service.AdoptedHandle for a file opened on the core)
	flags   uint16 // fdflags
	base    uint64 // rights (rights.go)
	inh     uint64 // inheriting rights: the most a path_open under it may ask for
	ro      bool   // under a read-only preopen
	preopen int    // index in Proc.Preopens, or -1
	sock    bool   // a socket: handle is the network worker's
	listen  bool   // a listener given with --listen (shared; never closed on the host)

	// Inline calls (inline.go). lent is the host descriptor that the
	// worker lends for calls made on the core, plus one (0: none); pos is a
	// regular file's offset when ownPos, kept here so that fd_seek and
	// fd_tell never leave the core and reads and writes name their offset;
	// noWait: the host file refused RWF_NOWAIT for reads (noWaitRead),
	// writes (noWaitWrite) or both, so those calls go to the worker (ext4
	// takes it for buffered reads, not writes). All owned by the SIP's
	// coroutine, like the entry.
	lent   int32
	pos    int64
	ownPos bool
	noWait uint8
	// localStat: the lent file is on a local file system, whose fstat
	// never waits (service.FSLocal): fd_filestat_get and SEEK_END stat it
	// on the core.
	localStat bool
	// behind is the number of the latest write behind on the file in the
	// SIP's sequence (fdbehind.go; 0: none); dev and ino say which host
	// file it is (ino 0: not known yet, or not on a local file system).
	behind   int64
	dev, ino uint64
}

// noWait bits.
const (
	noWaitRead  = 1
	noWaitWrite = 2
)

// hostFd returns the descriptor lent for inline calls, if one is.
func (e *fdEntry) hostFd() (int32, bool) { return e.lent - 1, e.lent > 0 }

// lend records the lent descriptor of an FSOpen result's bits (off).
func (e *fdEntry) lend(off int64) {
	if hfd, ok := service.LentFd(off); ok {
		e.lent = hfd + 1
		e.localStat = off&service.FSLocal != 0
	}
}

func (e *fdEntry) isDir() bool { return e.typ == wasip1.FiletypeDirectory }

// notFile reports whether e is a console stream or a socket: no handle of
// the file-system service.
func (e *fdEntry) notFile() bool { return e.stream >= 0 || e.sock }

// table returns the fd table, setting it up on first use.
func (p *Proc) table(s *kernel.SIP) []*fdEntry {
	if p.fds != nil {
		return p.fds
	}
	for i := 0; i < 3; i++ {
		p.fds = append(p.fds, &fdEntry{typ: wasip1.FiletypeCharacterDevice, stream: int8(i), base: allRights, preopen: -1})
	}
	for i, pre := range p.Preopens {
		e := &fdEntry{typ: wasip1.FiletypeDirectory, stream: -1, handle: int32(i),
			base: preopenBase, inh: preopenInh, ro: pre.ReadOnly, preopen: i}
		if i < len(p.PreopenLends) {
			e.lend(p.PreopenLends[i])
		}
		p.fds = append(p.fds, e)
	}
	// A listener starts non-blocking, as wasmtime's --tcplisten sockets
	// do: Go's net.FileListener registers it in its netpoller only if
	// fd_fdstat_get says NONBLOCK, and a blocking accept would stop every
	// goroutine of the program (docs/net.md).
	for i := 0; i < p.Listeners; i++ {
		e := &fdEntry{typ: wasip1.FiletypeSocketStream, stream: -1, handle: int32(i), flags: wasip1.FdflagsNonblock,
			base: allRights, inh: allRights, preopen: -1, sock: true, listen: true}
		if i < len(p.ListenerFds) && p.ListenerFds[i] >= 0 {
			e.lent = p.ListenerFds[i] + 1
		}
		p.fds = append(p.fds, e)
	}
	if len(p.Net) > 0 {
		p.net = p.Net[int(uint64(s.PID())%uint64(len(p.Net)))]
	}
	if len(p.FS) > 0 {
		p.fs = p.FS[int(uint64(s.PID())%uint64(len(p.FS)))]
	}
	return p.fds
}

// fd returns the entry of fd, or nil.
func (p *Proc) fd(s *kernel.SIP, fd uint32) *fdEntry {
	t := p.table(s)
	if uint64(fd) >= uint64(len(t)) {
		return nil
	}
	return t[fd]
}

// install puts e at the lowest free fd.
func (p *Proc) install(s *kernel.SIP, e *fdEntry) (uint32, Errno) {
	t := p.table(s)
	for i, x := range t {
		if x == nil {
			t[i] = e
			return uint32(i), ESUCCESS
		}
	}
	if len(t) >= maxFds {
		return 0, EMFILE
	}
	p.fds = append(t, e)
	return uint32(len(t)), ESUCCESS
}

// release closes e's host handle, unless it is a preopen's (shared).
func (p *Proc) release(s *kernel.SIP, e *fdEntry) {
	if e.stream >= 0 || e.preopen >= 0 || e.listen {
		return
	}
	// A close answers nothing the SIP needs (the services' closes always
	// succeed), so it is posted, not waited for; the SIP's next request to
	// the same worker comes after it, so its quota is released by then.
	if e.sock {
		if len(p.Net) > 0 {
			r := &kernel.Request{}
			service.NetCloseReq{Conn: e.handle}.Put(r)
			s.Post(p.net, r)
		}
		return
	}
	if len(p.FS) > 0 {
		var r kernel.Request
		service.FSCloseReq{Handle: e.handle}.Put(&r)
		p.postFS(s.PostLazy, r) // the worker's close can wait for a batch
	}
}

// closeAll closes every file and directory the SIP opened, in one request;
// proc_exit calls it. (A SIP that traps, is killed or returns from _start
// without proc_exit leaves its handles open in the worker: the kernel has no
// exit hook for personalities yet.)
func (p *Proc) closeAll(s *kernel.SIP) {
	if p.fds == nil {
		return
	}
	var socks []int32
	req := s.Request()
	service.FSCloseAllReq{}.Put(req)
	for i, e := range p.fds {
		switch {
		case e == nil || e.stream >= 0 || e.preopen >= 0 || e.listen:
		case e.sock:
			socks = append(socks, e.handle)
		default:
			service.AppendHandle(req, e.handle)
		}
		p.fds[i] = nil
	}
	if len(req.Buf) > 0 {
		p.fsCall(s)
	}
	if len(socks) > 0 {
		req := s.Request()
		service.NetCloseAllReq{}.Put(req)
		for _, h := range socks {
			service.AppendHandle(req, h)
		}
		p.netCall(s)
	}
}

// netCall sends the SIP's filled-in request to its network worker.
func (p *Proc) netCall(s *kernel.SIP) *kernel.Request {
	if len(p.Net) == 0 {
		r := s.Request()
		r.Errno = EBADF
		return r
	}
	return s.Call(p.net)
}

// fsCall sends the SIP's filled-in request to its file-system worker.
func (p *Proc) fsCall(s *kernel.SIP) *kernel.Request {
	if len(p.FS) == 0 {
		r := s.Request()
		r.Errno = EBADF
		return r
	}
	p.fsCalling = true // ReleaseHeld need not settle: the worker orders the call after the posts
	r := s.Call(p.fs)
	p.fsCalling = false
	return r
}

// fileEntry returns fd's entry if it names a file-system handle; EBADF if it
// is not open, ESPIPE-like answers are the caller's.
func (p *Proc) fileEntry(s *kernel.SIP, fd uint32) (*fdEntry, Errno) {
	e := p.fd(s, fd)
	if e == nil {
		return nil, EBADF
	}
	return e, ESUCCESS
}

// OnExit is the WASI layer's exit hook (a kernel.ExitFunc): it releases the
// host files of a SIP whose Ext is an Owner.
func OnExit(c *kernel.Core, s *kernel.SIP) {
	if o, ok := s.Ext.(Owner); ok {
		o.WASI().Release(c)
	}
}

// Release closes, by requests that nobody waits for, every host file and
// socket a SIP still holds. The kernel's exit hook calls it on the core that
// owned the SIP, so a SIP that trapped or was killed (and never reached
// proc_exit) does not leave host handles open until the machine stops.
func (p *Proc) Release(c *kernel.Core) {
	if !p.out.lent && len(p.out.req.Buf) > 0 {
		// Held output of a SIP that was killed (AtEnd sent it otherwise).
		// Output lent to the console when the SIP was killed is the
		// console's to write (consoleOut.lent).
		held := &kernel.Request{Buf: p.out.req.Buf}
		service.ConsoleWriteReq{Stream: p.out.stream}.Put(held)
		c.Post(p.Console, held)
		p.out.req.Buf = nil
	}
	if p.behind != nil {
		// Last in the SIP's sequence: the worker forgets its Behind.
		var end kernel.Request
		service.FSBehindEndReq{}.Put(&end)
		defer p.postFS(c.Post, end)
	}
	if p.fds == nil {
		return
	}
	files, socks := &kernel.Request{}, &kernel.Request{}
	service.FSCloseAllReq{}.Put(files)
	service.NetCloseAllReq{}.Put(socks)
	for i, e := range p.fds {
		switch {
		case e == nil || e.stream >= 0 || e.preopen >= 0 || e.listen:
		case e.sock:
			service.AppendHandle(socks, e.handle)
		default:
			service.AppendHandle(files, e.handle)
		}
		p.fds[i] = nil
	}
	if len(files.Buf) > 0 && len(p.FS) > 0 {
		p.postFS(c.Post, *files)
	}
	if len(socks.Buf) > 0 && len(p.Net) > 0 {
		c.Post(p.net, socks)
	}
}
