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
// failed flush.

import (
	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/service"
)

// consoleHold is the most bytes of console output a SIP holds: a write that
// would pass it sends what is held first, and a write larger than it goes
// to the console at once.
const consoleHold = 32 << 10

// consoleOut is a SIP's held console output. Owned by the SIP's coroutine;
// req is lent to the console service while a flush waits for its reply.
type consoleOut struct {
	req    kernel.Request // Buf: the bytes held; Fd: their stream (1 or 2)
	failed [3]Errno       // a flush's error, for the next write to that stream
}

// ReleaseHeld implements kernel.Holder: the SIP is about to stop running,
// so what it holds goes to the console.
func (p *Proc) ReleaseHeld(s *kernel.SIP) { p.flush(s) }

// flush sends the held output, if any, and waits for the console.
func (p *Proc) flush(s *kernel.SIP) {
	o := &p.out
	for len(o.req.Buf) > 0 {
		o.req.Op = service.OpWrite
		o.req.N, o.req.Errno = 0, 0
		rep := s.CallWith(p.Console, &o.req)
		if rep.Errno != 0 || rep.N <= 0 {
			if rep.Errno != 0 {
				o.failed[o.req.Fd] = Errno(rep.Errno)
			} else {
				o.failed[o.req.Fd] = EIO
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
	if len(o.req.Buf) > 0 && (o.req.Fd != stream || len(o.req.Buf)+total > consoleHold) {
		p.flush(s)
		if e := o.failed[stream]; e != ESUCCESS {
			o.failed[stream] = ESUCCESS
			return e
		}
	}
	if total > consoleHold {
		// Too large to hold: straight to the console, as before.
		req := s.Request()
		req.Op = service.OpWrite
		req.Fd = stream
		if errno := gather(m, req, iovs, niovs); errno != ESUCCESS {
			return errno
		}
		rep := s.CallWith(p.Console, req)
		if rep.Errno != 0 {
			return Errno(rep.Errno)
		}
		m.WriteUint32(nwritten, uint32(rep.N))
		return ESUCCESS
	}
	if o.req.Buf == nil {
		o.req.Buf = make([]byte, 0, consoleHold)
	}
	o.req.Fd = stream
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
