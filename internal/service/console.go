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

	"isle/internal/kernel"
)

// Console operations (kernel.Request.Op).
const (
	OpWrite uint32 = iota + 1 // Fd 1 or 2: write Buf; N = bytes written
	OpRead                    // Fd 0: read at most Off bytes into Buf; N = bytes read, 0 at end of input
)

// WASI errno values the console returns.
const (
	errnoBadf  = 8
	errnoInval = 28
	errnoIO    = 29
	errnoPipe  = 64
)

// ConsoleOut serves writes to the machine's standard output and error.
type ConsoleOut struct {
	Stdout io.Writer
	Stderr io.Writer
}

// Serve implements kernel.Service.
func (c *ConsoleOut) Serve(req *kernel.Request) {
	if req.Op != OpWrite {
		req.Errno = errnoInval
		return
	}
	var w io.Writer
	switch req.Fd {
	case 1:
		w = c.Stdout
	case 2:
		w = c.Stderr
	default:
		req.Errno = errnoBadf
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
// Ownership: Stdin is set before Boot; the other fields are guarded by mu
// (the worker and the read goroutine share them).
type ConsoleIn struct {
	Stdin io.Reader

	mu      sync.Mutex
	reading bool          // a read goroutine is running
	waiters []stdinWaiter // deferred reads, oldest first
	left    []byte        // read with no reader left to take it: the next reads get it first
	end     error         // an end of input or error that no reader has seen yet
	rbuf    []byte        // the read goroutine's buffer (one goroutine at a time)
}

type stdinWaiter struct {
	req *kernel.Request
	d   kernel.Deferred
}

// Serve implements kernel.Service.
func (c *ConsoleIn) Serve(req *kernel.Request) {
	if req.Op != OpRead || req.Fd != 0 {
		req.Errno = errnoBadf
		return
	}
	n := int(req.Off)
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
		return
	}
	c.waiters = append(c.waiters, stdinWaiter{req: req, d: req.Defer()})
	if !c.reading {
		c.reading = true
		go c.read(n)
	}
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
		more := len(c.waiters) > 0
		if more {
			n = int(c.waiters[0].req.Off)
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

// Cancel implements kernel.Canceler: the reading SIP was killed.
func (c *ConsoleIn) Cancel(req *kernel.Request) {
	c.mu.Lock()
	for i, w := range c.waiters {
		if w.req == req {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			c.mu.Unlock()
			req.Errno = errnoIntr
			w.d.Finish(nil)
			return
		}
	}
	c.mu.Unlock()
}

// readErrno is the errno of a read of stdin that got got bytes and err: an
// end of input is a read of 0 bytes.
func readErrno(got int, err error) uint16 {
	if err != nil && got == 0 && !errors.Is(err, io.EOF) {
		return hostErrno(err)
	}
	return 0
}

func hostErrno(err error) uint16 {
	switch {
	case errors.Is(err, syscall.EPIPE):
		return errnoPipe
	case errors.Is(err, os.ErrClosed):
		return errnoBadf
	}
	return errnoIO
}
