package service

// The console's requests, typed: each operation's arguments are named
// fields; Put fills a kernel.Request's slots with them, and the console
// reads them back with the matching accessor. Results are read from the
// request as each operation says.

import "isle/internal/kernel"

// ConsoleWriteReq writes the request's Buf to Stream (1 stdout, 2 stderr);
// the reply's N is the bytes written.
type ConsoleWriteReq struct {
	Stream int32
}

// Put makes r this request; r.Buf, the bytes to write, is left as it is.
func (a ConsoleWriteReq) Put(r *kernel.Request) {
	r.Op, r.Fd = OpWrite, a.Stream
}

func consoleWriteOf(r *kernel.Request) ConsoleWriteReq {
	return ConsoleWriteReq{Stream: r.Fd}
}

// ConsoleReadReq reads at most Max bytes of stdin into the request's Buf;
// the reply's N is the bytes read, 0 at the end of input. NoWait: EAGAIN
// when nothing is buffered, instead of waiting.
type ConsoleReadReq struct {
	Max    int64
	NoWait bool
}

// consoleNoWait is ConsoleReadReq.NoWait in Flags.
const consoleNoWait = 1

// Put makes r this request.
func (a ConsoleReadReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.Off, r.Flags = OpRead, 0, a.Max, 0
	if a.NoWait {
		r.Flags = consoleNoWait
	}
}

func consoleReadOf(r *kernel.Request) ConsoleReadReq {
	return ConsoleReadReq{Max: r.Off, NoWait: r.Flags&consoleNoWait != 0}
}

// ConsoleReadyReq waits at most Timeout ns (< 0: no limit; 0: not at all)
// for stdin to have input; the reply's N is the bytes buffered, -1 at the
// end of input, 0 if none came in time.
type ConsoleReadyReq struct {
	Timeout int64
}

// Put makes r this request.
func (a ConsoleReadyReq) Put(r *kernel.Request) {
	r.Op, r.Fd, r.Off = OpReady, 0, a.Timeout
}

func consoleReadyOf(r *kernel.Request) ConsoleReadyReq {
	return ConsoleReadyReq{Timeout: r.Off}
}
