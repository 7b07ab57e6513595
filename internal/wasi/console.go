package wasi

// Console output, held in the SIP (docs/wasi.md, "Console output").
//
// A write to stdout or stderr goes into a buffer of the SIP's own instead
// of a request to the console service each; the buffer is sent, in one
// request, when it is full, when the next write is for the other stream
// (so the order between stdout and stderr is the order of the writes, as
// wasmtime, which writes each fd_write straight to the host's descriptor,
// keeps it), and whenever the SIP stops running: before any call that
// waits (a service request, stdin, poll_oneoff, a sleep, a block on a
// channel), when its slice ends (so output is never held longer than a
// slice, 3 ms, while the SIP computes), and when it ends (the kernel's
// Holder and AtEnd hooks). A write the console fails (EPIPE, EIO) is
// reported by the next write to that stream, as C's stdio reports a
// failed flush. When stdout or stderr is a host file (a pipe, a file),
// what is sent is first written on the core with RWF_NOWAIT, and only what
// would wait (a full pipe) goes to the console service.

import (
	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/service"
)

// consoleOut is a SIP's held console output. Owned by the SIP's coroutine;
// req is lent to the console service while a flush waits for its reply.
type consoleOut struct {
	req    kernel.Request // Buf: the bytes held, written by a ConsoleWriteReq
	stream int32          // the stream of the bytes held (1 or 2)
	failed [3]Errno       // a flush's error, for the next write to that stream
	noWait [3]bool        // the stream's host file refused RWF_NOWAIT (a terminal)
	one    [1][]byte      // the single buffer of an inline flush
	// lent is set while req is with the console service (a flush waiting
	// for its reply). A SIP killed then leaves req to the service, which
	// writes those bytes; Release must neither read req nor send them again.
	lent bool
}

// writeNow writes bufs to stream's host file on the core if it is one and
// takes them without waiting (service.PwriteNowait); it returns what was
// written, and whether the call is answered (an error, or all of total).
func (p *Proc) writeNow(stream int32, bufs [][]byte, total int) (int, Errno, bool) {
	o := &p.out
	fd := p.ConsoleFds[stream] - 1
	if fd < 0 || o.noWait[stream] || total > service.InlineIOMax {
		return 0, ESUCCESS, false
	}
	n, errno, how := service.PwriteNowait(fd, bufs, -1)
	switch how {
	case service.Never:
		o.noWait[stream] = true
	case service.Done:
		return n, Errno(errno), errno != 0 || n >= total
	}
	return 0, ESUCCESS, false
}

// ReleaseHeld implements kernel.Holder: the SIP is about to stop running,
// so what it holds goes to the console.
// Writes behind in flight are applied first (fdbehind.go), unless the
// suspension is a call to the SIP's worker, which is served after them.
func (p *Proc) ReleaseHeld(s *kernel.SIP) {
	if !p.fsCalling {
		p.settle(s)
	}
	p.flush(s)
}

// Holding implements kernel.Holder: console output, or writes behind in
// flight.
func (p *Proc) Holding() bool { return len(p.out.req.Buf) > 0 || p.inFlight() }

// flush sends the held output, if any, and waits for the console.
func (p *Proc) flush(s *kernel.SIP) {
	o := &p.out
	if len(o.req.Buf) > 0 {
		p.settle(s) // the files the SIP wrote behind before its output
		o.one[0] = o.req.Buf
		n, errno, done := p.writeNow(o.stream, o.one[:], len(o.req.Buf))
		o.one[0] = nil
		if done {
			if errno != ESUCCESS {
				o.failed[o.stream] = errno
			}
			o.req.Buf = o.req.Buf[:0]
			return
		}
		o.req.Buf = o.req.Buf[:copy(o.req.Buf, o.req.Buf[n:])]
	}
	for len(o.req.Buf) > 0 {
		service.ConsoleWriteReq{Stream: o.stream}.Put(&o.req)
		o.req.N, o.req.Errno = 0, 0
		o.lent = true
		rep := s.CallWith(p.Console, &o.req)
		o.lent = false
		if rep.Errno != 0 || rep.N <= 0 {
			if rep.Errno != 0 {
				o.failed[o.stream] = Errno(rep.Errno)
			} else {
				o.failed[o.stream] = EIO
			}
			break
		}
		o.req.Buf = o.req.Buf[:copy(o.req.Buf, o.req.Buf[min(int(rep.N), len(o.req.Buf)):])]
	}
	o.req.Buf = o.req.Buf[:0]
}

// consoleWrite is fd_write on stdout (1) or stderr (2).
func (p *Proc) consoleWrite(m sandbox.Memory, s *kernel.SIP, stream int32, iovs, niovs, nwritten uint32) Errno {
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
	o := &p.out
	if e := o.failed[stream]; e != ESUCCESS {
		o.failed[stream] = ESUCCESS
		return e
	}
	if len(o.req.Buf) > 0 && (o.stream != stream || len(o.req.Buf)+total > consoleHold) {
		p.flush(s)
		if e := o.failed[stream]; e != ESUCCESS {
			o.failed[stream] = ESUCCESS
			return e
		}
	}
	if total > consoleHold {
		// Too large to hold: to the host file on the core if it takes it
		// at once, else (or the rest) to the console, as before.
		done, k := false, 0
		p.settle(s)
		if p.inlineViews(m, iovs, niovs, total) {
			var errno Errno
			if k, errno, done = p.writeNow(stream, p.views, total); errno != ESUCCESS {
				return errno
			}
		}
		if !done {
			req := s.Request()
			service.ConsoleWriteReq{Stream: stream}.Put(req)
			if errno := gather(m, req, iovs, niovs); errno != ESUCCESS {
				return errno
			}
			req.Buf = req.Buf[:copy(req.Buf, req.Buf[k:])]
			rep := s.CallWith(p.Console, req)
			if rep.Errno != 0 && k == 0 {
				return Errno(rep.Errno)
			}
			k += int(rep.N)
		}
		m.WriteUint32(nwritten, uint32(k))
		return ESUCCESS
	}
	if o.req.Buf == nil {
		o.req.Buf = make([]byte, 0, consoleHold)
	}
	o.stream = stream
	left := total
	iovecs(m, iovs, niovs, func(b []byte) bool {
		b = b[:min(len(b), left)]
		o.req.Buf = append(o.req.Buf, b...)
		left -= len(b)
		return left > 0
	})
	m.WriteUint32(nwritten, uint32(total))
	return ESUCCESS
}

// stdinNow reads stdin on the core when the console is idle and the host
// has input at hand (service.ConsoleIn.ReadNow); done false: send the read
// to the console as before.
func (p *Proc) stdinNow(m sandbox.Memory, e *fdEntry, iovs, niovs uint32, want int) (int, Errno, bool) {
	if e.stream != 0 || p.StdinNow == nil || want > service.InlineIOMax || !p.inlineViews(m, iovs, niovs, want) {
		return 0, ESUCCESS, false
	}
	n, errno, how := p.StdinNow.ReadNow(p.views)
	return n, Errno(errno), how == service.Done
}
