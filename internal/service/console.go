// Package service holds isle's user-level services: each runs in its own
// worker goroutine, is reached only by messages from cores, and may block on
// the host (a core never does).
package service

import (
	"errors"
	"io"
	"os"
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
type ConsoleIn struct {
	Stdin io.Reader
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
	if c.Stdin == nil {
		req.N = 0
		return
	}
	got, err := c.Stdin.Read(req.Buf)
	req.N = int64(got)
	if err != nil && got == 0 && !errors.Is(err, io.EOF) {
		req.Errno = hostErrno(err)
	}
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
