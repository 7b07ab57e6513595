package service

// Writes behind (docs/wasi.md, "Writes behind").
//
// A SIP's write of a regular file that cannot be made on its core is
// copied into a buffer of the SIP's own (Behind) and posted to its
// file-system worker; the SIP does not wait. The rules:
//
//   - Once a SIP has a Behind (FSBehind registers it, by a call, before its
//     first write behind), every request it posts to its worker (writes,
//     closes, adoptions, the exit's FSCloseAll) is sequenced: it carries
//     the next number of the SIP's sequence, and the worker applies them in
//     that order. The rings alone do not give it: a SIP that moves to
//     another core posts on that core's ring, which the worker may read
//     first. A post that comes before its turn waits in the worker
//     (behindQueue) until the ones before it have been applied.
//   - A call (any request the SIP waits for) is served only once every post
//     the SIP sent before it has been applied: until then it waits in the
//     worker too. The SIP is suspended during the call, so the count of its
//     posts, read when the call comes, is what it had sent.
//   - A posted write that fails is recorded in the Behind by handle, and
//     reported, then forgotten, by the next call on that fd: on the core
//     (Take) or by the worker, for a call that reached it first. A close or
//     fsync reports it and still closes or syncs.
//   - The buffer is bounded (BehindBytes, BehindWrites): a write that finds
//     no room is made as before, by a call, which waits for every post
//     before it, so the buffer is empty again after it.

import (
	"sync"
	"sync/atomic"

	"isle/internal/kernel"
	"isle/internal/wasip1"
)

// File-system operations of writes behind (kernel.Request.Op), beside the
// others (fs.go).
const (
	FSBehind    uint32 = iota + 150 // call: Ref is the SIP's *Behind, which the worker records for its pid
	FSSettle                        // call: answered once the SIP's posts before it are applied
	FSBehindEnd                     // posted, sequenced, last: the SIP has ended; the worker forgets its Behind
)

// FSBehindReq registers SIP's Behind B with its worker: a call, once,
// before the SIP's first write behind.
type FSBehindReq struct{ B *Behind }

// Put makes r this request.
func (a FSBehindReq) Put(r *kernel.Request) { r.Op, r.Ref = FSBehind, a.B }

// FSSettleReq is answered once the SIP's posts before it are applied.
type FSSettleReq struct{}

// Put makes r this request.
func (FSSettleReq) Put(r *kernel.Request) { r.Op = FSSettle }

// FSBehindEndReq, posted last in an ended SIP's sequence, has the worker
// forget its Behind.
type FSBehindEndReq struct{}

// Put makes r this request.
func (FSBehindEndReq) Put(r *kernel.Request) { r.Op = FSBehindEnd }

// Limits in one place.
const (
	// BehindBytes is the most bytes of writes one SIP may have in flight:
	// the most its buffer grows to. It starts at BehindMaxWrite and doubles
	// when a write finds it full and nothing in flight (after the call
	// that write became), so a SIP that writes little holds 64 KiB.
	BehindBytes = 1 << 20
	// BehindWrites is the most posts one SIP may have in flight.
	BehindWrites = 1024
	// BehindMaxWrite is the largest write that goes behind; larger ones
	// move from the guest's memory to the host with no copy, by a call.
	BehindMaxWrite = InlineIOMax
)

// Behind is a SIP's writes behind, shared by the SIP and its file-system
// worker. Ownership: pid is immutable; buf's bytes in [freed, head) belong
// to posts in flight (written by the SIP before it posts, read by the
// worker, which then advances freed); buf itself (it grows), head and
// full are the SIP's (its coroutine, then its exit hook on the core it
// ended on);
// posted is written by the SIP and read by the worker; applied and freed
// are written by the worker and read by the SIP; errs is guarded by mu, and
// failed says, without the lock, whether it holds anything.
type Behind struct {
	pid     int64
	buf     []byte
	head    int64 // bytes of buf used so far, wrap-around padding included
	full    bool  // a write found buf full: it grows when nothing is in flight
	posted  atomic.Int64
	applied atomic.Int64
	freed   atomic.Int64
	failed  atomic.Bool
	mu      sync.Mutex
	errs    map[int32]wasip1.Errno // a failed write's errno, by handle, until reported
}

// NewBehind returns the write-behind state of SIP pid, with its buffer.
func NewBehind(pid int64) *Behind {
	return &Behind{pid: pid, buf: make([]byte, BehindMaxWrite)}
}

// posted is a sequenced post: the request and its place in the sequence.
// The request's Ref is the posted itself, so that the worker finds both.
type postedReq struct {
	req kernel.Request
	b   *Behind
	seq int64
	end int64 // for a write: b.freed once it is applied; 0 otherwise
}

// InFlight reports whether posts of the SIP's are not applied yet.
func (b *Behind) InFlight() bool { return b.posted.Load() > b.applied.Load() }

// Applied reports whether post seq (a Seq result) has been applied.
func (b *Behind) Applied(seq int64) bool { return b.applied.Load() >= seq }

// Seq is the number of the SIP's latest post.
func (b *Behind) Seq() int64 { return b.posted.Load() }

// Sequence returns a request record for a post to the worker (FSClose,
// FSCloseAll, FSAdopt), filled in from r and numbered next in the SIP's
// sequence. Post it at once, before any other.
func (b *Behind) Sequence(r kernel.Request) *kernel.Request {
	p := &postedReq{req: r, b: b, seq: b.posted.Load() + 1}
	p.req.Ref = p
	b.posted.Store(p.seq)
	return &p.req
}

// Write returns a posted write of n bytes at offset off of handle h (an
// FSPwrite), numbered next in the SIP's sequence, and its buffer, which
// the caller fills before it posts it; false if the SIP has not that much
// room in flight (the write is then made by a call).
func (b *Behind) Write(h int32, off int64, n int) (*kernel.Request, []byte, bool) {
	if b.full && len(b.buf) < BehindBytes && b.freed.Load() == b.head {
		b.buf = make([]byte, 2*len(b.buf)) // nothing in flight holds the old one
		b.full = false
	}
	size := int64(len(b.buf))
	at := b.head
	if at%size+int64(n) > size {
		at += size - at%size // from the start of the buffer: a post's bytes are contiguous
	}
	if int64(n) > size || at+int64(n)-b.freed.Load() > size || b.posted.Load()-b.applied.Load() >= BehindWrites {
		b.full = true
		return nil, nil, false
	}
	b.head = at + int64(n)
	var w kernel.Request
	FSWriteReq{Handle: h, At: off}.Put(&w) // off >= 0: an FSPwrite
	req := b.Sequence(w)
	p := req.Ref.(*postedReq)
	p.end = b.head
	s := at % size
	req.Buf = b.buf[s : s+int64(n) : s+int64(n)]
	return req, req.Buf, true
}

// Failed reports whether a write behind failed and has not been reported.
func (b *Behind) Failed() bool { return b.failed.Load() }

// Take returns, and forgets, the errno of a failed write behind on handle
// h (0: none).
func (b *Behind) Take(h int32) wasip1.Errno {
	if !b.failed.Load() {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.errs[h]
	if e != 0 {
		delete(b.errs, h)
		b.failed.Store(len(b.errs) > 0)
	}
	return e
}

// fail records that a write on handle h failed with errno e; the first
// error stands until it is reported. On the worker's goroutine.
func (b *Behind) fail(h int32, e wasip1.Errno) {
	b.mu.Lock()
	if b.errs == nil {
		b.errs = map[int32]wasip1.Errno{}
	}
	if b.errs[h] == 0 {
		b.errs[h] = e
	}
	b.failed.Store(true)
	b.mu.Unlock()
}

// forget drops what was recorded for handle h, which is closed.
func (b *Behind) forget(h int32) {
	if b.failed.Load() {
		b.mu.Lock()
		delete(b.errs, h)
		b.failed.Store(len(b.errs) > 0)
		b.mu.Unlock()
	}
}
