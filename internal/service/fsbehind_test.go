package service

import (
	"os"
	"path/filepath"
	"testing"

	"isle/internal/kernel"
	"isle/internal/wasip1"
)

// behindFile opens a new file "w" for writing in a worker of its own and
// registers a Behind for the tests' SIP (pid 0: their requests come from
// no SIP).
func behindFile(t *testing.T, ro bool) (*FS, *Behind, int32, string) {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "w"), nil, 0o644)
	f, err := NewFS([]FSDir{{Host: dir, ReadOnly: ro}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	r := open(f, 0, "w", 0, false, !ro)
	if r.Errno != 0 {
		t.Fatalf("open: %d", r.Errno)
	}
	b := NewBehind(0)
	if do(f, kernel.Request{Op: FSBehind, Ref: b}).Errno != 0 || f.behinds[0] != b {
		t.Fatal("FSBehind did not register the Behind")
	}
	return f, b, int32(r.N), filepath.Join(dir, "w")
}

func postWrite(t *testing.T, b *Behind, h int32, off int64, data string) *kernel.Request {
	t.Helper()
	req, buf, ok := b.Write(h, off, len(data))
	if !ok {
		t.Fatal("no room behind")
	}
	copy(buf, data)
	return req
}

// TestBehindAppliedInSequence: a SIP's posts that reach the worker out of
// order (a SIP that moved to another core posts on that core's ring) are
// applied in the SIP's order, and a call that overtakes them is answered
// only after them: two overlapping writes end as the second left them, and
// the read sees both.
func TestBehindAppliedInSequence(t *testing.T) {
	f, b, h, host := behindFile(t, false)
	w1 := postWrite(t, b, h, 0, "AAAA")
	w2 := postWrite(t, b, h, 2, "BBBB")
	f.Serve(w2) // before its turn
	read := kernel.Request{Op: FSPread, Fd: h, N: 16, Errno: 999}
	f.Serve(&read) // a call: waits for both
	if got, _ := os.ReadFile(host); len(got) != 0 || read.Errno != 999 || b.Applied(2) {
		t.Fatalf("served before its turn: file %q, read errno %d", got, read.Errno)
	}
	f.Serve(w1)
	if got, _ := os.ReadFile(host); string(got) != "AABBBB" {
		t.Fatalf("file %q, want AABBBB", got)
	}
	if read.Errno != 0 || string(read.Buf[:read.N]) != "AABBBB" {
		t.Fatalf("read after the writes: errno %d, %q", read.Errno, read.Buf[:read.N])
	}
	if !b.Applied(2) || b.InFlight() || len(f.queues) != 0 {
		t.Fatalf("applied %d, in flight %v, %d queues left", b.applied.Load(), b.InFlight(), len(f.queues))
	}
	// The buffer's bytes are free again, and a post after the SIP's end
	// makes the worker forget it.
	if b.freed.Load() != b.head {
		t.Fatalf("freed %d of %d", b.freed.Load(), b.head)
	}
	f.Serve(b.Sequence(kernel.Request{Op: FSBehindEnd}))
	if f.behinds[0] != nil {
		t.Fatal("the worker kept the Behind of an ended SIP")
	}
}

// TestBehindCloseAfterWrites: a close posted after writes, which reaches
// the worker before them, closes the file only after they are written.
func TestBehindCloseAfterWrites(t *testing.T) {
	f, b, h, host := behindFile(t, false)
	w := postWrite(t, b, h, 0, "data")
	c := b.Sequence(kernel.Request{Op: FSClose, Fd: h})
	f.Serve(c)
	if f.node(h) == nil {
		t.Fatal("closed before the write before it")
	}
	f.Serve(w)
	if got, _ := os.ReadFile(host); string(got) != "data" || f.node(h) != nil {
		t.Fatalf("file %q, node %v", got, f.node(h))
	}
}

// TestBehindErrorsReported: a posted write that fails is recorded, the
// next call on its handle answers its errno (a sync still syncs), and then
// it is forgotten; a write on a handle the SIP does not own is EBADF, not
// a write to someone else's file.
func TestBehindErrorsReported(t *testing.T) {
	f, b, h, host := behindFile(t, true) // a read-only preopen: every write is EACCES
	f.Serve(postWrite(t, b, h, 0, "x"))
	if !b.Failed() {
		t.Fatal("a failed write was not recorded")
	}
	if e := do(f, kernel.Request{Op: FSSync, Fd: h}).Errno; e != wasip1.ErrnoAcces {
		t.Fatalf("fsync after a failed write: %d, want EACCES (%d)", e, wasip1.ErrnoAcces)
	}
	if b.Failed() || do(f, kernel.Request{Op: FSSync, Fd: h}).Errno != 0 {
		t.Fatal("the error was reported twice")
	}
	// On the core: Take.
	f.Serve(postWrite(t, b, h, 0, "y"))
	if e := b.Take(h); e != wasip1.ErrnoAcces || b.Take(h) != 0 {
		t.Fatalf("Take: %d, want EACCES once", e)
	}
	// Another SIP's handle.
	other := NewBehind(5)
	f.Serve(postWrite(t, other, h, 0, "z"))
	if e := other.Take(h); e != wasip1.ErrnoBadf {
		t.Fatalf("write on a handle of another SIP: %d, want EBADF", e)
	}
	if got, _ := os.ReadFile(host); len(got) != 0 {
		t.Fatalf("file %q: a refused write was made", got)
	}
}

// TestBehindBounded: a SIP's buffer starts at one largest write and
// doubles, each time a write found it full and then nothing was in flight,
// up to BehindBytes, never past it; a write that finds no room is refused
// (the SIP then writes by a call, which waits for what was posted), and
// room comes back as the worker applies what was posted.
func TestBehindBounded(t *testing.T) {
	f, b, h, _ := behindFile(t, false)
	most := 0
	var posted []*kernel.Request
	for range 8 {
		posted = posted[:0]
		for off := int64(0); ; off += BehindMaxWrite {
			req, _, ok := b.Write(h, off, BehindMaxWrite)
			if !ok {
				break
			}
			posted = append(posted, req)
		}
		most = max(most, len(posted))
		for _, r := range posted {
			f.Serve(r)
		}
	}
	if most != BehindBytes/BehindMaxWrite || len(b.buf) != BehindBytes {
		t.Fatalf("at most %d writes of %d bytes in flight, a buffer of %d; want %d, %d", most, BehindMaxWrite, len(b.buf), BehindBytes/BehindMaxWrite, BehindBytes)
	}
	posted = posted[:0]
	for {
		req, _, ok := b.Write(h, 0, BehindMaxWrite)
		if !ok {
			break
		}
		posted = append(posted, req)
	}
	f.Serve(posted[0])
	if _, _, ok := b.Write(h, 0, BehindMaxWrite); !ok {
		t.Fatal("no room after a write was applied")
	}
	if _, _, ok := b.Write(h, 0, 1); ok {
		t.Fatal("room past the buffer")
	}
}

func TestBehindQueueOrder(t *testing.T) {
	q := &behindQueue{early: map[int64]held{}}
	q.early[3] = held{after: 3}
	q.calls = append(q.calls, held{after: 3})
	if _, ok := q.next(1); ok {
		t.Fatal("post 3 is not next after 1")
	}
	if _, ok := q.ready(2); ok {
		t.Fatal("a call waiting for post 3 is ready after 2")
	}
	if h, ok := q.next(2); !ok || h.after != 3 {
		t.Fatal("post 3 is next after 2")
	}
	if _, ok := q.ready(3); !ok || !q.empty() {
		t.Fatal("the call is ready after 3, and the queue empty")
	}
}
