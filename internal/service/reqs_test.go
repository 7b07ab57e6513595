package service

import (
	"testing"

	"isle/internal/kernel"
)

// TestConsoleReqsRoundTrip: what a console request's Put writes, the
// console's accessor reads back, field by field, into a record holding
// another request's leftovers.
func TestConsoleReqsRoundTrip(t *testing.T) {
	r := dirty()
	ConsoleWriteReq{Stream: 2}.Put(r)
	if r.Op != OpWrite || consoleWriteOf(r) != (ConsoleWriteReq{Stream: 2}) || string(r.Buf) != "left" {
		t.Errorf("write: %+v", consoleWriteOf(r))
	}
	for _, want := range []ConsoleReadReq{{Max: 7}, {Max: 1 << 20, NoWait: true}} {
		r := dirty()
		want.Put(r)
		if got := consoleReadOf(r); r.Op != OpRead || r.Fd != 0 || got != want {
			t.Errorf("read: put %+v, got %+v", want, got)
		}
	}
	for _, want := range []ConsoleReadyReq{{Timeout: -1}, {Timeout: 0}, {Timeout: 5e6}} {
		r := dirty()
		want.Put(r)
		if got := consoleReadyOf(r); r.Op != OpReady || r.Fd != 0 || got != want {
			t.Errorf("ready: put %+v, got %+v", want, got)
		}
	}
}

// dirty is a request record that another request has used: a Put must
// leave none of it behind that its operation reads.
func dirty() *kernel.Request {
	return &kernel.Request{Op: 99, Fd: 42, Off: 43, N: 44, Flags: ^uint64(0), Buf: []byte("left"), Str: "old", Str2: "new"}
}
