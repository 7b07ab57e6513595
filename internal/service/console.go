// Package service holds isle's user-level services: each runs in its own
// worker goroutine, is reached only by messages from cores, and may block on
// the host (a core never does).
package service

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"isle/internal/kernel"
	"isle/internal/wasip1"
)

// Console operations (kernel.Request.Op).
const (
	OpWrite uint32 = iota + 1 // ConsoleWriteReq
	OpRead                    // ConsoleReadReq
	OpReady                   // ConsoleReadyReq
)

// stdinChunk is how much a read of stdin that no blocking reader sized
// (one started by OpReady or a non-blocking OpRead) asks the host for.
const stdinChunk = 64 << 10

// stdinAhead bounds what the console reads ahead of a non-blocking reader
// (Go's runtime reads stdin so): reading on while the reader copies out
// what came keeps a non-blocking read from meeting EAGAIN, and a wait in
// poll_oneoff, at every chunk.
const stdinAhead = 4 * stdinChunk

// ConsoleOut serves writes to the machine's standard output and error.
type ConsoleOut struct {
	Stdout io.Writer
	Stderr io.Writer
}

// Serve implements kernel.Service.
func (c *ConsoleOut) Serve(req *kernel.Request) {
	if req.Op != OpWrite {
		req.Errno = wasip1.ErrnoInval
		return
	}
	var w io.Writer
	switch consoleWriteOf(req).Stream {
	case 1:
		w = c.Stdout
	case 2:
		w = c.Stderr
	default:
		req.Errno = wasip1.ErrnoBadf
		return
	}
	n, err := w.Write(req.Buf)
	req.N = int64(n)
	if err != nil && n == 0 {
		req.Errno = hostErrno(err)
	}
}

// ConsoleIn serves reads from the machine's standard input. It is a service
// of its own so that a read waiting for input never holds up output.
//
// A read that would wait runs on a goroutine of its own (the request is
// deferred), so that a kill of the reading SIP answers its request at once
// (Cancel): an io.Reader cannot be interrupted, so the goroutine's read goes
// on, and what it brings goes to the next reader. Readers are answered in
// the order they came; at most one read goroutine runs at a time. The
// machine does not wait for it at stop.
//
// Readiness (poll_oneoff on stdin): OpReady answers at once when input is
// buffered or its end has come; otherwise it starts the read goroutine and
// is deferred until that brings something, or until its wait runs out (a
// timer), whichever is first. A non-blocking read that finds nothing
// buffered answers EAGAIN and starts the read goroutine too, so that what
// it brings makes stdin ready. Readiness is level-triggered and shared: a
// SIP told that input is ready may find that another SIP read it first.
//
// Inline reads (ReadNow): a core may read stdin itself, on a SIP's
// coroutine, when the console is idle: nothing buffered for others, no
// reader waiting, no read goroutine running (which might be inside
// Stdin.Read). It takes mu only with TryLock, so it never waits for it,
// and reads the host file only with RWF_NOWAIT.
//
// Ownership: Stdin is set before Boot; the other fields are guarded by mu
// (the worker, the read goroutine, the readiness timers and cores' inline
// reads share them); fd and noWait are set once, before Boot (Inline).
type ConsoleIn struct {
	Stdin io.Reader

	fd     int32 // Stdin's host descriptor plus one, when it is a host file (Inline); 0: none
	noWait bool  // the host file refused RWF_NOWAIT: no inline reads

	mu      sync.Mutex
	reading bool          // a read goroutine is running
	waiters []stdinWaiter // deferred reads, oldest first
	ready   []readyWaiter // deferred readiness requests
	nextID  uint64        // names the next readiness request (see readyWaiter.id)
	ahead   bool          // a non-blocking reader came: read ahead, up to stdinAhead buffered
	left    []byte        // read with no reader left to take it: the next reads get it first
	end     error         // an end of input or error that no reader has seen yet
	rbuf    []byte        // the read goroutine's buffer (one goroutine at a time)
}

type stdinWaiter struct {
	req *kernel.Request
	d   kernel.Deferred
}

// readyWaiter is a deferred OpReady. id names it for its timer: a SIP's
// request record is reused, so a timer that fires late must not take a
// later request in the same record for its own.
type readyWaiter struct {
	req   *kernel.Request
	d     kernel.Deferred
	id    uint64
	timer *time.Timer // nil: no limit
}

// Serve implements kernel.Service.
func (c *ConsoleIn) Serve(req *kernel.Request) {
	switch {
	case req.Fd != 0:
		req.Errno = wasip1.ErrnoBadf
	case req.Op == OpRead:
		c.serveRead(req)
	case req.Op == OpReady:
		c.serveReady(req)
	default:
		req.Errno = wasip1.ErrnoInval
	}
}

func (c *ConsoleIn) serveRead(req *kernel.Request) {
	a := consoleReadOf(req)
	nonblock := a.NoWait
	n := int(a.Max)
	if cap(req.Buf) < n {
		req.Buf = make([]byte, n)
	}
	req.Buf = req.Buf[:n]
	req.N = 0
	if c.Stdin == nil || n == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiters) == 0 && c.take(req) {
		if nonblock {
			c.ahead = true
			if c.end == nil && len(c.left) < stdinAhead {
				c.startRead(stdinChunk)
			}
		}
		return
	}
	if nonblock {
		c.ahead = true
		req.Errno = wasip1.ErrnoAgain
		c.startRead(n)
		return
	}
	c.waiters = append(c.waiters, stdinWaiter{req: req, d: req.Defer()})
	c.startRead(n)
}

func (c *ConsoleIn) serveReady(req *kernel.Request) {
	wait := consoleReadyOf(req).Timeout
	req.N = 0
	if c.Stdin == nil {
		req.N = -1 // no input: its end has come
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readiness(req) {
		return
	}
	c.startRead(stdinChunk)
	if wait == 0 {
		return
	}
	w := readyWaiter{req: req, d: req.Defer(), id: c.nextID}
	c.nextID++
	if wait > 0 {
		id := w.id
		w.timer = time.AfterFunc(time.Duration(wait), func() { c.expire(id) })
	}
	c.ready = append(c.ready, w)
}

// startRead starts the read goroutine, reading n bytes, unless it runs.
// Called with mu held.
func (c *ConsoleIn) startRead(n int) {
	if !c.reading {
		c.reading = true
		go c.read(n)
	}
}

// readiness fills in req's answer to OpReady, if stdin is ready. Called
// with mu held.
func (c *ConsoleIn) readiness(req *kernel.Request) bool {
	switch {
	case len(c.left) > 0:
		req.N = int64(len(c.left))
	case c.end != nil:
		req.N = -1
	default:
		return false
	}
	return true
}

// expire answers the readiness request named id, if it still waits: its
// wait ran out. It runs on the timer's goroutine.
func (c *ConsoleIn) expire(id uint64) {
	c.mu.Lock()
	for i, w := range c.ready {
		if w.id == id {
			c.ready = append(c.ready[:i], c.ready[i+1:]...)
			c.mu.Unlock()
			w.req.N = 0
			w.d.Finish(nil)
			return
		}
	}
	c.mu.Unlock()
}

// take answers req from what was read before, if anything was. Called
// with mu held.
func (c *ConsoleIn) take(req *kernel.Request) bool {
	switch {
	case len(c.left) > 0:
		k := copy(req.Buf, c.left)
		c.left = c.left[k:]
		req.N = int64(k)
		return true
	case c.end != nil:
		req.Errno = readErrno(0, c.end)
		c.end = nil
		return true
	}
	return false
}

// read reads once from Stdin, on its own goroutine, and answers the readers
// waiting by then as far as what it got goes; if some still wait, it reads
// again.
func (c *ConsoleIn) read(n int) {
	for {
		if cap(c.rbuf) < n {
			c.rbuf = make([]byte, n)
		}
		buf := c.rbuf[:n]
		got, err := c.Stdin.Read(buf)
		c.mu.Lock()
		c.left = append(c.left, buf[:got]...)
		if got == 0 && err != nil {
			c.end = err
		}
		var done []kernel.Deferred
		for len(c.waiters) > 0 && c.take(c.waiters[0].req) {
			done = append(done, c.waiters[0].d)
			c.waiters = c.waiters[1:]
		}
		done = c.answerReady(done)
		more := len(c.waiters) > 0 || len(c.ready) > 0 || (c.ahead && c.end == nil && len(c.left) < stdinAhead)
		n = stdinChunk
		if len(c.waiters) > 0 {
			n = int(consoleReadOf(c.waiters[0].req).Max)
		}
		c.reading = more
		c.mu.Unlock()
		for _, d := range done {
			d.Finish(nil)
		}
		if !more {
			return
		}
	}
}

// answerReady answers every readiness request if stdin is ready, adding
// them to done. Called with mu held.
func (c *ConsoleIn) answerReady(done []kernel.Deferred) []kernel.Deferred {
	if len(c.ready) == 0 || !c.readiness(c.ready[0].req) {
		return done
	}
	for _, w := range c.ready {
		c.readiness(w.req)
		if w.timer != nil {
			w.timer.Stop() // one that fired already finds its request gone
		}
		done = append(done, w.d)
	}
	c.ready = c.ready[:0]
	return done
}

// Cancel implements kernel.Canceler: the reading (or waiting) SIP was
// killed.
func (c *ConsoleIn) Cancel(req *kernel.Request) {
	c.mu.Lock()
	for i, w := range c.ready {
		if w.req == req {
			c.ready = append(c.ready[:i], c.ready[i+1:]...)
			c.mu.Unlock()
			if w.timer != nil {
				w.timer.Stop()
			}
			req.Errno = wasip1.ErrnoIntr
			w.d.Finish(nil)
			return
		}
	}
	for i, w := range c.waiters {
		if w.req == req {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			c.mu.Unlock()
			req.Errno = wasip1.ErrnoIntr
			w.d.Finish(nil)
			return
		}
	}
	c.mu.Unlock()
}

// readErrno is the errno of a read of stdin that got got bytes and err: an
// end of input is a read of 0 bytes.
func readErrno(got int, err error) wasip1.Errno {
	if err != nil && got == 0 && !errors.Is(err, io.EOF) {
		return hostErrno(err)
	}
	return 0
}

func hostErrno(err error) wasip1.Errno {
	switch {
	case errors.Is(err, syscall.EPIPE):
		return wasip1.ErrnoPipe
	case errors.Is(err, os.ErrClosed):
		return wasip1.ErrnoBadf
	}
	return wasip1.ErrnoIo
}

// Inline lets cores read Stdin themselves when it is a host file (ReadNow).
// Call it before Boot.
func (c *ConsoleIn) Inline() {
	c.fd = WriterFdOf(c.Stdin) + 1
}

// ReadNow reads stdin into bufs (InlineIOMax bytes at most, cut by the
// caller) on the calling core, without waiting: from what was read ahead,
// or from the host file with RWF_NOWAIT. Again: the console is busy, or
// nothing is there; send an OpRead.
func (c *ConsoleIn) ReadNow(bufs [][]byte) (int, wasip1.Errno, Inline) {
	if c.fd == 0 || !c.mu.TryLock() {
		return 0, 0, Again
	}
	defer c.mu.Unlock()
	if c.reading || len(c.waiters) > 0 || len(c.ready) > 0 {
		return 0, 0, Again
	}
	if len(c.left) > 0 || c.end != nil {
		n := 0
		for _, b := range bufs {
			k := copy(b, c.left)
			c.left = c.left[k:]
			n += k
		}
		if n == 0 && c.end != nil {
			errno := readErrno(0, c.end)
			c.end = nil
			return 0, errno, Done
		}
		return n, 0, Done
	}
	if c.noWait {
		return 0, 0, Again
	}
	n, errno, how := rwNowait(unix.SYS_PREADV2, c.fd-1, bufs, -1)
	if how == Never {
		c.noWait = true
		how = Again
	}
	return n, errno, how
}
