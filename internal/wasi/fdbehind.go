package wasi

// Writes behind (docs/wasi.md, "Writes behind"; service/fsbehind.go).
//
// A write of a regular file at an offset the SIP knows (fd_write at the
// fd's offset, fd_pwrite; never an APPEND fd) that cannot be made on the
// core is copied into the SIP's write-behind buffer and posted to its
// file-system worker, and the SIP gets the byte count at once. The rules
// on this side:
//
//   - While posts are in flight, a read made on the core lays the writes
//     in flight on the same host file over what it read (overlay), and
//     SEEK_END counts them in the size; fstat of such a file,
//     path_filestat_get and writes on the core go to the worker instead,
//     which serves them after the posts (every call of the SIP is ordered
//     behind them there).
//   - Before the SIP stops running (any suspension but a call to its own
//     worker, which is ordered anyway), before console output or a socket
//     send leaves it, and before it ends, its posts are applied (settle):
//     what it wrote is then seen by other SIPs and by the host.
//   - A failed write is reported by the next call on its fd (behindErr on
//     the core, or the worker), and by fd_close, which then waits for the
//     fd's writes.

import (
	"encoding/binary"
	"math"

	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/service"
	"isle/internal/wasip1"
)

// writeBehind posts the guest's buffers, less their first skip bytes (of
// total), to be written at offset o+skip of regular file e, if they may
// go behind; false: the caller writes them as before.
func (p *Proc) writeBehind(m sandbox.Memory, s *kernel.SIP, e *fdEntry, iovs, niovs uint32, o int64, skip, total int) bool {
	n := total - skip
	if o < 0 || e.flags&wasip1.FdflagsAppend != 0 || n <= 0 || n > service.BehindMaxWrite ||
		len(p.FS) == 0 || o > math.MaxInt64-int64(total) {
		return false
	}
	b := p.behindOf(s)
	req, buf, ok := b.Write(e.handle, o+int64(skip), n)
	if !ok {
		return false
	}
	gatherInto(m, iovs, niovs, skip, buf)
	s.PostLazy(p.fs, req)
	p.identify(e)
	e.behind = b.Seq()
	p.pend = append(p.pend, pendWrite{e: e, off: o + int64(skip), data: buf, seq: e.behind})
	return true
}

// pendWrite is a write behind in flight, as the SIP sent it: data is its
// bytes in the SIP's buffer, which stay there until the worker applied it.
type pendWrite struct {
	e    *fdEntry
	off  int64
	data []byte
	seq  int64
}

// identify records which host file e is (device and inode, by fstat on the
// core), once, if it lies on a local file system.
func (p *Proc) identify(e *fdEntry) bool {
	if e.ino == 0 {
		var st [wasip1.FilestatSize]byte
		if fd, ok := e.hostFd(); ok && e.localStat && service.StatNow(fd, &st) {
			e.dev = binary.LittleEndian.Uint64(st[0:])
			e.ino = binary.LittleEndian.Uint64(st[8:]) | 1<<63 // never 0
		}
	}
	return e.ino != 0
}

// pending returns the writes behind still in flight, in their order,
// having dropped those the worker applied.
func (p *Proc) pending() []pendWrite {
	if p.behind == nil {
		return nil
	}
	k := 0
	for k < len(p.pend) && p.behind.Applied(p.pend[k].seq) {
		k++
	}
	if k > 0 {
		n := copy(p.pend, p.pend[k:])
		clear(p.pend[n:])
		p.pend = p.pend[:n]
	}
	return p.pend
}

// Whether a write on fd d shows in file e.
const (
	otherFile = iota
	sameFile
	maybeFile // one of them is not known (not on a local file system)
)

func fileOf(d, e *fdEntry) int {
	switch {
	case d == e || (d.ino != 0 && d.ino == e.ino && d.dev == e.dev):
		return sameFile
	case d.ino == 0 || e.ino == 0:
		return maybeFile
	}
	return otherFile
}

// inFlightOn reports whether writes behind in flight may show in file e.
func (p *Proc) inFlightOn(e *fdEntry) bool {
	if !p.inFlight() {
		return false
	}
	p.identify(e)
	for _, w := range p.pending() {
		if fileOf(w.e, e) != otherFile {
			return true
		}
	}
	return false
}

// pendingEnd returns where the writes in flight on e's file end (0: none
// there), so that its size is the larger of the host's and this; false if
// a write in flight may be on it and is not known to be.
func (p *Proc) pendingEnd(e *fdEntry) (int64, bool) {
	if !p.inFlight() {
		return 0, true
	}
	end := int64(0)
	p.identify(e)
	for _, w := range p.pending() {
		switch fileOf(w.e, e) {
		case sameFile:
			end = max(end, w.off+int64(len(w.data)))
		case maybeFile:
			return 0, false
		}
	}
	return end, true
}

// overlay lays writes behind on e's file (pend: those in flight before
// the read began, from pending) over the n bytes read on the core at
// offset o into the guest's buffers (want asked), in their order, so that
// the read sees them as if applied: the host's bytes there may be old, or
// half written by the worker meanwhile, and are replaced. (A write applied
// since still has its bytes in the buffer: only the SIP reuses it.) A
// read cut short by the end of the file (fstat on the core) goes on to
// the end the writes give it, holes read as zeros. It returns the bytes
// the read now holds; false when it cannot answer so (overlaySpans), or
// the read was short for another reason, with writes past it.
func (p *Proc) overlay(m sandbox.Memory, e *fdEntry, fd int32, pend []pendWrite, iovs, niovs uint32, o int64, n, want int) (int, bool) {
	p.identify(e)
	if n < want {
		end := int64(0)
		for _, w := range pend {
			switch fileOf(w.e, e) {
			case sameFile:
				end = max(end, w.off+int64(len(w.data)))
			case maybeFile:
				return n, false
			}
		}
		if end > o+int64(n) {
			var st [wasip1.FilestatSize]byte
			if !e.localStat || !service.StatNow(fd, &st) {
				return n, false
			}
			size := int64(binary.LittleEndian.Uint64(st[32:]))
			if o+int64(n) < size {
				return n, false // not at the end: pages not at hand; the worker reads
			}
			k := int(min(o+int64(want), end) - o)
			var zeros [512]byte
			for at := n; at < k; at += len(zeros) {
				scatter(m, iovs, niovs, at, zeros[:min(len(zeros), k-at)])
			}
			n = k
		}
	}
	spans, ok := overlaySpans(pend, e, o, n, n, p.spans[:0])
	for _, sp := range spans {
		scatter(m, iovs, niovs, sp.at, sp.data)
	}
	clear(spans)
	p.spans = spans[:0]
	return n, ok
}

// span is bytes to lay at a place in a read's result.
type span struct {
	at   int
	data []byte
}

// overlaySpans decides overlay: it appends to spans, in order, the parts
// of the writes in pend on e's file that lie over a read of n bytes at
// offset o (want asked). False when they cannot make the answer: the read
// was short and a write lies past its end (the file may be longer than the
// host says), or a write may be on e's file and is not known to be.
func overlaySpans(pend []pendWrite, e *fdEntry, o int64, n, want int, spans []span) ([]span, bool) {
	end := o + int64(n)
	for _, w := range pend {
		switch fileOf(w.e, e) {
		case otherFile:
			continue
		case maybeFile:
			return spans, false
		}
		wend := w.off + int64(len(w.data))
		if n < want && wend > end {
			return spans, false
		}
		if wend <= o || w.off >= end {
			continue
		}
		from, to := max(w.off, o), min(wend, end)
		spans = append(spans, span{at: int(from - o), data: w.data[from-w.off : to-w.off]})
	}
	return spans, true
}

// gatherInto copies the bytes of an iovec array, less their first skip,
// into dst until it is full.
func gatherInto(m sandbox.Memory, iovs, niovs uint32, skip int, dst []byte) {
	n := 0
	iovecs(m, iovs, niovs, func(b []byte) bool {
		if skip >= len(b) {
			skip -= len(b)
			return true
		}
		n += copy(dst[n:], b[skip:])
		skip = 0
		return n < len(dst)
	})
}

// behindOf returns the SIP's write-behind state, making it, and
// registering it with the worker (a call, once), at the first write.
func (p *Proc) behindOf(s *kernel.SIP) *service.Behind {
	if p.behind == nil {
		b := service.NewBehind(s.PID())
		p.behindReq = kernel.Request{}
		service.FSBehindReq{B: b}.Put(&p.behindReq)
		s.CallWith(p.fs, &p.behindReq)
		p.behindReq.Ref = nil
		p.behind = b
	}
	return p.behind
}

// inFlight reports whether writes behind (or posts after them) of the SIP
// have not been applied yet.
func (p *Proc) inFlight() bool { return p.behind != nil && p.behind.InFlight() }

// settle waits until the SIP's posts have been applied. It is called on
// the SIP's coroutine, also from ReleaseHeld, so it uses a record of its
// own (never the SIP's, which may hold a call being made).
func (p *Proc) settle(s *kernel.SIP) {
	if !p.inFlight() {
		return
	}
	p.behindReq = kernel.Request{}
	service.FSSettleReq{}.Put(&p.behindReq)
	s.CallWith(p.fs, &p.behindReq)
}

// behindErr returns, and forgets, the error of a failed write behind on
// file e, if one is recorded.
func (p *Proc) behindErr(e *fdEntry) Errno {
	if p.behind == nil || e.behind == 0 || !p.behind.Failed() {
		return ESUCCESS
	}
	return Errno(p.behind.Take(e.handle))
}

// postFS posts r to the SIP's worker: numbered in the SIP's sequence once
// it writes behind, so the worker applies it after the writes before it.
// On the SIP's coroutine, or on the core it ended on (Release).
func (p *Proc) postFS(post func(kernel.ServiceID, *kernel.Request), r kernel.Request) {
	if p.behind != nil {
		post(p.fs, p.behind.Sequence(r))
		return
	}
	post(p.fs, &r)
}

// closeFile closes file e, whose fd is already forgotten. With writes
// behind on it still in flight, or one failed, the close waits for them
// and reports the error, as close(2) reports a writeback error; else it is
// posted, as before.
func (p *Proc) closeFile(s *kernel.SIP, e *fdEntry) Errno {
	if p.behind == nil || e.behind == 0 || (p.behind.Applied(e.behind) && !p.behind.Failed()) {
		p.release(s, e)
		return ESUCCESS
	}
	service.FSCloseReq{Handle: e.handle}.Put(s.Request())
	return Errno(p.fsCall(s).Errno)
}
