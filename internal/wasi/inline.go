package wasi

// Calls served on the core (docs/wasi.md, "Calls served on the core").
//
// A regular file's offset is kept in its fd entry, so fd_seek (but for
// SEEK_END, which needs the file's size) and fd_tell never leave the core,
// and every read and write names its offset (pread/pwrite on the host). A
// read or write of at most service.InlineIOMax bytes is first tried on the
// core with RWF_NOWAIT through the descriptor the worker lent
// (service/inline.go); only when the host says it would wait (EAGAIN: a
// page-cache miss, a write that would wait for writeback), or moved part
// of it, does the call, or its rest, go to the file-system worker as before.

import (
	"encoding/binary"

	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/service"
	"isle/internal/wasip1"
)

// inlineViews collects the guest's buffers of an iovec array, at most want
// bytes of them, into p.views (reused); false if they are more than one
// inline call takes. The views are valid until the guest runs again.
func (p *Proc) inlineViews(m sandbox.Memory, iovs, niovs uint32, want int) bool {
	p.views = p.views[:0]
	left := want
	fits := true
	iovecs(m, iovs, niovs, func(b []byte) bool {
		if left == 0 {
			return false
		}
		if len(b) == 0 {
			return true
		}
		if len(p.views) == service.InlineIovMax {
			fits = false
			return false
		}
		b = b[:min(len(b), left)]
		left -= len(b)
		p.views = append(p.views, b)
		return true
	})
	return fits
}

// scatter copies data into the buffers of an iovec array, skipping their
// first skip bytes, and returns how many it copied.
func scatter(m sandbox.Memory, iovs, niovs uint32, skip int, data []byte) int {
	n := 0
	iovecs(m, iovs, niovs, func(b []byte) bool {
		if skip >= len(b) {
			skip -= len(b)
			return true
		}
		b = b[skip:]
		skip = 0
		k := copy(b, data[n:])
		n += k
		return n < len(data)
	})
	return n
}

// readRegular reads at most want bytes of a regular file at offset o into
// the guest's buffers: on the core when the host has them at hand, else
// (or the rest) by the worker.
func (p *Proc) readRegular(m sandbox.Memory, s *kernel.SIP, e *fdEntry, iovs, niovs uint32, o int64, want int) (int, Errno) {
	got := 0
	if fd, ok := e.hostFd(); ok && e.noWait&noWaitRead == 0 && want <= service.InlineIOMax && p.inlineViews(m, iovs, niovs, want) {
		pend := p.pending() // before the read: what it may not see yet
		n, errno, how := service.PreadNowait(fd, p.views, o)
		if how == service.Done && errno == 0 && len(pend) > 0 {
			var ok bool
			if n, ok = p.overlay(m, e, fd, pend, iovs, niovs, o, n, want); !ok {
				how = service.Again // the worker answers, after the writes in flight (fdbehind.go)
			}
		}
		switch {
		case how == service.Done && errno != 0:
			return 0, Errno(errno)
		case how == service.Done && (n == 0 || n >= want):
			return n, ESUCCESS
		case how == service.Done && p.atEnd(e, fd, o+int64(n)):
			return n, ESUCCESS // a short read at the end of the file: nothing is left to wait for
		case how == service.Done:
			got = n // a part was at hand: the worker reads the rest
		case how == service.Never:
			e.noWait |= noWaitRead
		}
	}
	rest := want - got
	req := s.Request()
	service.FSReadReq{Handle: e.handle, Max: int64(rest), At: o + int64(got)}.Put(req)
	if got == 0 {
		// A large read into one buffer goes straight into the guest's
		// memory: the SIP is suspended until the reply, so the view stays
		// valid (see write).
		if view, ok := zeroCopyView(m, iovs, niovs, rest); ok {
			own := req.Buf
			req.Buf = view
			rep := p.fsCall(s)
			n := int(min(rep.N, int64(len(view))))
			rep.Buf = own[:0]
			if rep.Errno != 0 {
				return 0, Errno(rep.Errno)
			}
			return n, ESUCCESS
		}
	}
	rep := p.fsCall(s)
	if rep.Errno != 0 {
		if got > 0 {
			return got, ESUCCESS // what was read stands, as in a short read
		}
		return 0, Errno(rep.Errno)
	}
	data := rep.Buf[:min(int(rep.N), len(rep.Buf))]
	return got + scatter(m, iovs, niovs, got, data), ESUCCESS
}

// atEnd reports whether offset end is at or past the end of lent file fd,
// by fstat on the core (only on a local file system): a read that stopped
// there was short because the file ends, not because the rest was not in
// the page cache.
func (p *Proc) atEnd(e *fdEntry, fd int32, end int64) bool {
	if !e.localStat {
		return false
	}
	var st [wasip1.FilestatSize]byte
	return service.StatNow(fd, &st) && end >= int64(binary.LittleEndian.Uint64(st[32:]))
}

// writeRegular writes the guest's buffers (total bytes of them, at most
// maxWriteChunk) to a regular file: at offset o, or, when o < 0, at the
// file's end (the fd appends). It returns the bytes written and the fd's
// offset after them.
func (p *Proc) writeRegular(m sandbox.Memory, s *kernel.SIP, e *fdEntry, iovs, niovs uint32, o int64, total int) (int, int64, Errno) {
	got := 0
	fd, lent := e.hostFd()
	if lent && e.noWait&noWaitWrite == 0 && total <= service.InlineIOMax && !p.inFlight() && p.inlineViews(m, iovs, niovs, total) {
		n, errno, how := service.PwriteNowait(fd, p.views, o)
		switch {
		case how == service.Done && errno != 0:
			return 0, 0, Errno(errno)
		case how == service.Done && n >= total:
			return n, p.afterWrite(e, fd, o, n), ESUCCESS
		case how == service.Done:
			got = n
		case how == service.Never:
			e.noWait |= noWaitWrite
		}
	}
	if p.writeBehind(m, s, e, iovs, niovs, o, got, total) {
		return total, o + int64(total), ESUCCESS
	}
	req := s.Request()
	at := int64(-1) // appends: the host file is O_APPEND
	if o >= 0 {
		at = o + int64(got)
	}
	service.FSWriteReq{Handle: e.handle, At: at}.Put(req)
	own := req.Buf
	if view, ok := zeroCopyView(m, iovs, niovs, maxWriteChunk); ok && got == 0 {
		req.Buf = view
		defer func() { req.Buf = own[:0] }()
	} else if errno := gather(m, req, iovs, niovs); errno != ESUCCESS {
		return 0, 0, errno
	} else {
		req.Buf = req.Buf[min(got, len(req.Buf)):]
	}
	rep := p.fsCall(s)
	if rep.Errno != 0 {
		if got > 0 {
			return got, p.afterWrite(e, fd, o, got), ESUCCESS
		}
		return 0, 0, Errno(rep.Errno)
	}
	n := got + int(rep.N)
	if o < 0 {
		return n, service.FSWrittenOf(rep).Offset, ESUCCESS // FSWrite says where the file's offset is
	}
	return n, o + int64(rep.N) + int64(got), ESUCCESS
}

// afterWrite is the offset after n bytes written on the core at o (o < 0:
// appended, at the host file's own offset, which lseek reads at once).
func (p *Proc) afterWrite(e *fdEntry, fd int32, o int64, n int) int64 {
	if o >= 0 {
		return o + int64(n)
	}
	if off, ok := service.OffsetNow(fd); ok {
		return off
	}
	return e.pos
}

// seekRegular moves a regular file's offset, kept in its entry: SEEK_SET and
// SEEK_CUR on the core; SEEK_END needs the size: fstat on the core for a
// file on a local file system, else the worker.
func (p *Proc) seekRegular(s *kernel.SIP, e *fdEntry, off int64, whence uint32) (int64, Errno) {
	var to int64
	switch whence {
	case 0:
		to = off
	case 1:
		to = e.pos + off
		if (off > 0 && to < e.pos) || (off < 0 && to > e.pos) {
			return 0, EINVAL // past what an offset can say
		}
	default:
		var st [wasip1.FilestatSize]byte
		end, known := p.pendingEnd(e) // writes behind in flight may make it longer
		if fd, ok := e.hostFd(); ok && e.localStat && known && service.StatNow(fd, &st) {
			size := max(int64(binary.LittleEndian.Uint64(st[32:])), end)
			to = size + off
			if off > 0 && to < size {
				return 0, EINVAL
			}
			break
		}
		service.FSSeekReq{Handle: e.handle, Offset: off, Whence: uint8(whence)}.Put(s.Request())
		rep := p.fsCall(s)
		if rep.Errno != 0 {
			return 0, Errno(rep.Errno)
		}
		to = rep.N
	}
	if to < 0 {
		return 0, EINVAL
	}
	e.pos = to
	return to, ESUCCESS
}

// Sockets. A connection's receive and send are tried on the core first,
// with MSG_DONTWAIT; only when the socket has nothing to give (or no room)
// does a blocking call go to the network worker, which waits in Go's
// netpoller; a non-blocking one says EAGAIN without leaving the core.

// recvInline receives what connection e holds now into the guest's first
// non-empty buffer (at most want bytes; a stream socket may return fewer).
// done false: nothing is there and the socket blocks, so the worker waits.
func (p *Proc) recvInline(m sandbox.Memory, e *fdEntry, iovs, niovs uint32, want int, peek bool) (int, Errno, bool) {
	fd, ok := e.hostFd()
	if !ok || want == 0 {
		return 0, ESUCCESS, false
	}
	var view []byte
	iovecs(m, iovs, niovs, func(b []byte) bool {
		if len(b) == 0 {
			return true
		}
		view = b[:min(len(b), want)]
		return false
	})
	if view == nil {
		return 0, ESUCCESS, false
	}
	n, errno, how := service.RecvNow(fd, view, peek)
	switch {
	case how == service.Done:
		return n, Errno(errno), true
	case nonblock(e) != 0:
		return 0, EAGAIN, true
	}
	return 0, ESUCCESS, false
}

// sendInline sends what connection e takes of b now. done false: the
// socket blocks and took only n bytes (maybe 0), so the worker sends the
// rest, waiting for room.
func (p *Proc) sendInline(e *fdEntry, b []byte) (int, Errno, bool) {
	fd, ok := e.hostFd()
	if !ok {
		return 0, ESUCCESS, false
	}
	n, errno, how := service.SendNow(fd, b)
	switch {
	case how == service.Done && (errno != 0 || n >= len(b) || nonblock(e) != 0):
		return n, Errno(errno), true
	case how == service.Again && nonblock(e) != 0:
		return 0, EAGAIN, true
	}
	return n, ESUCCESS, false
}

// sendSock sends the bytes in req, the SIP's request record (gathered
// from the guest): on the core if the socket takes them, the rest by the
// worker.
func (p *Proc) sendSock(s *kernel.SIP, e *fdEntry, req *kernel.Request) (int64, Errno) {
	p.settle(s) // what the SIP wrote behind is in its files before a peer hears from it
	n, errno, done := p.sendInline(e, req.Buf)
	if done {
		return int64(n), errno
	}
	req.Buf = req.Buf[:copy(req.Buf, req.Buf[n:])]
	service.NetSendReq{Conn: e.handle, NoWait: nonblock(e) != 0}.Put(req)
	rep := p.netCall(s)
	if rep.Errno != 0 {
		if n > 0 {
			return int64(n), ESUCCESS
		}
		return 0, Errno(rep.Errno)
	}
	return int64(n) + rep.N, ESUCCESS
}

// pollInline answers the socket subscriptions of a poll_oneoff on the core,
// with poll(2) and no wait, when every one names a lent descriptor; ok
// false if one does not. It appends the ready ones' events.
func (p *Proc) pollInline(s *kernel.SIP, subs []byte, socks []uint32, events []byte) ([]byte, int, bool) {
	p.poller.Reset()
	for _, i := range socks {
		sub := subs[i*subscriptionSize:]
		e := p.fd(s, binary.LittleEndian.Uint32(sub[16:]))
		fd, ok := e.hostFd()
		if !ok {
			return events, 0, false
		}
		ev := uint16(1)
		if sub[8] == eventFdWrite {
			ev = 2
		}
		p.poller.Add(fd, ev)
	}
	if !p.poller.Now() {
		return events, 0, false
	}
	got := 0
	for k, i := range socks {
		if ev := p.poller.Events(k); ev != 0 {
			events = appendSockEvent(events, subs[i*subscriptionSize:], ev)
			got++
		}
	}
	return events, got, true
}

// appendSockEvent appends a ready socket subscription's event (ev as
// NetPoll reports it).
func appendSockEvent(events, sub []byte, ev uint16) []byte {
	events = appendEvent(events, sub, sub[8], ESUCCESS, 1)
	if ev&4 != 0 {
		binary.LittleEndian.PutUint16(events[len(events)-eventSize+24:], eventrwflagsHangup)
	}
	return events
}

// pathStatInline answers path_filestat_get on the core when directory fd
// is lent, lies on a local file system, and the host resolves the path
// from its dentry cache alone (service.PathStatNow); ok false: the worker
// answers, as before (also every error but ENOENT and ENOTDIR, and every
// path with a symlink before its end or a "..").
func (p *Proc) pathStatInline(c *sandbox.Call, s *kernel.SIP, fd, ptr, n uint32, follow bool, st *[wasip1.FilestatSize]byte) (Errno, bool) {
	e := p.fd(s, fd)
	if e == nil || !e.isDir() || !e.localStat || p.noPathInline || p.inFlight() {
		return ESUCCESS, false // writes behind in flight: a size seen now could be stale
	}
	dfd, ok := e.hostFd()
	if !ok {
		return ESUCCESS, false
	}
	path, errno := pathArg(c.Memory(), ptr, n)
	if errno != ESUCCESS || !service.PathInline(path) {
		return ESUCCESS, false
	}
	eno, how := service.PathStatNow(dfd, path, follow, st)
	switch how {
	case service.Done:
		return Errno(eno), true
	case service.Never:
		p.noPathInline = true
	}
	return ESUCCESS, false
}

// openInline opens a regular file or a directory for reading on the core
// (path_open with no oflags but O_DIRECTORY, no fdflags, no write rights)
// when directory e is lent, lies on a local file system and the host
// resolves the path from its dentry cache alone (service.OpenEntryNow); ok
// false: the worker opens it, as before. The new descriptor is posted to
// the worker at once (FSAdopt), which enters it in its table and charges
// it to the SIP's quota, and which then owns it as it owns the files it
// opened (a directory's readdirs and the paths under it go to it): the SIP
// names it with service.AdoptedHandle, and its close (FSClose, FSCloseAll)
// comes after the adoption on the same ring. The machine's budget is
// charged here (a directory's two descriptors: service.AdoptedDirFDs); the
// SIP's quota is checked against the files in its own table (a close still
// in the ring may make the worker's count higher for a moment).
func (p *Proc) openInline(s *kernel.SIP, e *fdEntry, path string, oflags, fdflags uint16, follow, write bool, base, inh uint64) (*fdEntry, Errno, bool) {
	if oflags&^wasip1.OflagsDirectory != 0 || fdflags != 0 || write || !e.localStat || p.noPathInline || len(p.FS) == 0 || !service.PathInline(path) {
		return nil, ESUCCESS, false
	}
	dfd, ok := e.hostFd()
	if !ok || p.openFiles() >= service.MaxFilesPerSIP {
		return nil, ESUCCESS, false
	}
	hfd, typ, eno, how := service.OpenEntryNow(dfd, path, follow, true, oflags != 0)
	switch {
	case how == service.Never:
		p.noPathInline = true
		return nil, ESUCCESS, false
	case how != service.Done:
		return nil, ESUCCESS, false
	case eno != 0:
		return nil, Errno(eno), true
	}
	if !p.chargeOpened(typ) {
		service.CloseNow(hfd)
		return nil, ESUCCESS, false // the worker answers ENFILE
	}
	var adopt kernel.Request
	service.FSAdoptReq{HostFd: hfd, ReadOnly: e.ro, PID: s.PID()}.Put(&adopt)
	p.postFS(s.PostLazy, adopt)
	base, inh = openedRights(typ, base, inh)
	ne := &fdEntry{typ: typ, stream: -1, handle: service.AdoptedHandle(hfd, e.ro),
		base: base, inh: inh, ro: e.ro, preopen: -1, ownPos: typ == wasip1.FiletypeRegularFile, lent: hfd + 1, localStat: true}
	return ne, ESUCCESS, true
}

// chargeOpened takes from the machine's budget the host descriptors a file
// of type typ opened on the core holds once adopted; false if they are not
// left.
func (p *Proc) chargeOpened(typ uint8) bool {
	k := 1
	if typ == wasip1.FiletypeDirectory {
		k = service.AdoptedDirFDs
	}
	for i := range k {
		if p.HostFDs != nil && !p.HostFDs.TakeOne() {
			for range i {
				p.HostFDs.GiveOne()
			}
			return false
		}
	}
	return true
}

// openFiles counts the files and directories the SIP holds in its worker.
func (p *Proc) openFiles() int {
	n := 0
	for _, e := range p.fds {
		if e != nil && !e.notFile() && e.preopen < 0 {
			n++
		}
	}
	return n
}
