package service

// The worker's side of writes behind (fsbehind.go): each SIP's sequence
// applied in order, and its calls served after the posts they follow.

import (
	"encoding/binary"

	"isle/internal/kernel"
	"isle/internal/wasip1"
)

// behindQueue is what came of one SIP's sequence before its turn: posts
// whose predecessors have not come yet, and calls that wait for posts.
// Owned by the worker's goroutine. Its methods only decide; the worker
// serves.
type behindQueue struct {
	early map[int64]held // posts, by their number
	calls []held         // calls, in the order they came
}

// held is a request the worker keeps back: after is a post's own number,
// or the number of the last post a call waits for. d is its deferral when
// a service host serves it (lent); a service's tests call Serve directly.
type held struct {
	req   *kernel.Request
	d     kernel.Deferred
	lent  bool
	after int64
}

// next returns the post that comes after applied, if it is held.
func (q *behindQueue) next(applied int64) (held, bool) {
	h, ok := q.early[applied+1]
	if ok {
		delete(q.early, applied+1)
	}
	return h, ok
}

// ready returns the first held call whose posts have all been applied.
// Calls are answered in the order they came (a SIP has one at a time; a
// second comes only from its exit hook's posts, which are not calls).
func (q *behindQueue) ready(applied int64) (held, bool) {
	if len(q.calls) == 0 || q.calls[0].after > applied {
		return held{}, false
	}
	h := q.calls[0]
	q.calls = q.calls[1:]
	return h, true
}

func (q *behindQueue) empty() bool { return len(q.early) == 0 && len(q.calls) == 0 }

// sequenced serves what writes behind decide for req, and reports whether
// it did; false: req is a call of a SIP without writes behind, served as
// before.
func (f *FS) sequenced(req *kernel.Request) bool {
	if req.Op == FSBehind {
		if b, ok := req.Ref.(*Behind); ok && req.PID() == b.pid {
			if f.behinds == nil {
				f.behinds = map[int64]*Behind{}
			}
			f.behinds[b.pid] = b
		}
		req.Ref, req.Errno = nil, 0
		return true
	}
	if p, ok := req.Ref.(*postedReq); ok {
		if p.seq != p.b.applied.Load()+1 {
			f.hold(p.b, req, p.seq, true)
			return true
		}
		f.apply(p)
		f.catchUp(p.b)
		return true
	}
	b := f.behinds[req.PID()]
	if b == nil {
		return false
	}
	if after := b.posted.Load(); after > b.applied.Load() {
		f.hold(b, req, after, false)
		return true
	}
	req.Errno = f.serveAfter(b, req)
	return true
}

// hold keeps req back in b's queue.
func (f *FS) hold(b *Behind, req *kernel.Request, after int64, post bool) {
	if f.queues == nil {
		f.queues = map[*Behind]*behindQueue{}
	}
	q := f.queues[b]
	if q == nil {
		q = &behindQueue{early: map[int64]held{}}
		f.queues[b] = q
	}
	h := held{req: req, after: after}
	if req.Deferrable() {
		h.d, h.lent = req.Defer(), true
	}
	if post {
		q.early[after] = h
	} else {
		q.calls = append(q.calls, h)
	}
}

// catchUp serves, in order, what b's queue held that may now be served.
func (f *FS) catchUp(b *Behind) {
	q := f.queues[b]
	if q == nil {
		return
	}
	for {
		if h, ok := q.next(b.applied.Load()); ok {
			f.apply(h.req.Ref.(*postedReq))
			if h.lent {
				h.d.Finish(nil)
			}
			continue
		}
		h, ok := q.ready(b.applied.Load())
		if !ok {
			break
		}
		if h.lent {
			f.again = &h.d // an open may take the deferral over (fsopen.go)
		}
		h.req.Errno = f.serveAfter(b, h.req)
		if h.lent && f.again != nil {
			f.again = nil
			h.d.Finish(nil)
		}
	}
	if q.empty() {
		delete(f.queues, b)
	}
}

// apply serves post p, in its turn.
func (f *FS) apply(p *postedReq) {
	b, req := p.b, &p.req
	switch req.Op {
	case FSPwrite:
		if e := f.writeBehind(b, req); e != 0 {
			b.fail(req.Fd, e)
		}
	case FSBehindEnd:
		if f.behinds[b.pid] == b {
			delete(f.behinds, b.pid)
		}
	default: // FSClose, FSCloseAll, FSAdopt
		req.Errno = f.serve(req)
		f.forgetClosed(b, req)
	}
	if p.end > 0 {
		b.freed.Store(p.end)
	}
	b.applied.Store(p.seq)
}

// serveAfter serves a call of a SIP with writes behind, all of whose
// posts before it have been applied: a failed write on the fd it names is
// its answer (a close still closes, a sync still syncs).
func (f *FS) serveAfter(b *Behind, req *kernel.Request) wasip1.Errno {
	if req.Op == FSSettle {
		return 0
	}
	failed := b.Take(req.Fd)
	if failed == 0 || req.Op == FSClose || req.Op == FSSync || req.Op == FSDatasync || req.Op == FSCloseAll {
		e := f.serve(req)
		f.forgetClosed(b, req)
		if failed == 0 {
			return e
		}
	}
	return failed
}

// forgetClosed drops the failed writes recorded for the handles req
// closed: nobody is left to tell.
func (f *FS) forgetClosed(b *Behind, req *kernel.Request) {
	switch req.Op {
	case FSClose:
		b.forget(req.Fd)
	case FSCloseAll:
		for p := req.Buf; len(p) >= 4; p = p[4:] {
			b.forget(int32(binary.LittleEndian.Uint32(p)))
		}
	}
}

// writeBehind makes a posted write: all its bytes, or an errno. The handle
// must be the SIP's own regular file, as a call's would be.
func (f *FS) writeBehind(b *Behind, req *kernel.Request) wasip1.Errno {
	n := f.node(req.Fd)
	switch {
	case n == nil || (req.Fd >= 0 && int(req.Fd) < f.npre) || n.owner != b.pid:
		return wasip1.ErrnoBadf
	case n.root != nil:
		return wasip1.ErrnoIsdir
	case n.ro:
		return wasip1.ErrnoAcces
	case req.Off < 0:
		return wasip1.ErrnoInval
	}
	buf, off := req.Buf, req.Off
	for len(buf) > 0 {
		k, err := pwrite(n.file, buf, off)
		if err != nil {
			return fsErrno(err)
		}
		if k <= 0 {
			return wasip1.ErrnoIo
		}
		buf, off = buf[k:], off+int64(k)
	}
	return 0
}

// closeBehind ends the queues when the machine stops: the rings are
// drained, so a post still held lost one before it (a core that ended
// with it unsent). The writes after such a gap are dropped, so a file
// holds a prefix of what the SIP wrote; closes and adoptions are applied,
// so that no host descriptor is left open; held calls are answered EIO.
func (f *FS) closeBehind() {
	for b, q := range f.queues {
		for len(q.early) > 0 {
			first := int64(-1)
			for n := range q.early {
				if first < 0 || n < first {
					first = n
				}
			}
			h := q.early[first]
			delete(q.early, first)
			if p := h.req.Ref.(*postedReq); p.req.Op != FSPwrite {
				f.apply(p)
			}
			if h.lent {
				h.d.Finish(nil)
			}
		}
		for _, h := range q.calls {
			h.req.Errno = wasip1.ErrnoIo
			if h.lent {
				h.d.Finish(nil)
			}
		}
		delete(f.queues, b)
	}
}
