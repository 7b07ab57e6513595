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

// TestFSReqsRoundTrip: what each file-system request's Put writes, the
// worker's accessor reads back, whatever the record held before.
func TestFSReqsRoundTrip(t *testing.T) {
	t.Run("files", fsFileReqsRoundTrip)
	t.Run("paths", fsPathReqsRoundTrip)
	t.Run("handles", fsHandleReqsRoundTrip)
}

// checkReq fails t unless r has op and what was read back is what was put.
func checkReq(t *testing.T, name string, op uint32, r *kernel.Request, got, want any) {
	t.Helper()
	if r.Op != op || got != want {
		t.Errorf("%s: op %d (want %d), put %+v, read %+v", name, r.Op, op, want, got)
	}
}

// fsTimes is a set-times argument with every field set.
func fsTimes() FSTimes { return FSTimes{Atim: 1<<63 + 5, Mtim: 7, Fst: 0xf} }

func fsFileReqsRoundTrip(t *testing.T) {
	for _, a := range []FSOpenReq{
		{Dir: 3, Path: "a/b", Oflags: 0xf, Fdflags: 0x1f, Follow: true, Read: true, Write: true},
		{Dir: 0, Path: "x"},
	} {
		r := dirty()
		a.Put(r)
		checkReq(t, "open", FSOpen, r, fsOpenOf(r), a)
	}
	for _, o := range []FSOpened{{Handle: 7, Type: 4, ReadOnly: true, Lend: lend(99) | FSLocal}, {Handle: 8, Type: 3}} {
		r := dirty()
		o.put(r)
		if got := FSOpenedOf(r); got != o {
			t.Errorf("opened: put %+v, read %+v", o, got)
		}
	}
	for _, a := range []FSReadReq{{Handle: 4, Max: 10, At: -1}, {Handle: 4, Max: 10, At: 0}, {Handle: 5, Max: 1, At: 1 << 40}} {
		r := dirty()
		a.Put(r)
		op := FSPread
		if a.At < 0 {
			op = FSRead
		}
		checkReq(t, "read", op, r, fsReadOf(r), a)
	}
	for _, a := range []FSWriteReq{{Handle: 4, At: -1}, {Handle: 4, At: 9}} {
		r := dirty()
		a.Put(r)
		op := FSPwrite
		if a.At < 0 {
			op = FSWrite
		}
		checkReq(t, "write", op, r, fsWriteOf(r), a)
		if string(r.Buf) != "left" {
			t.Errorf("write: Put changed the data to %q", r.Buf)
		}
	}
	r := dirty()
	FSSeekReq{Handle: 2, Offset: -3, Whence: 2}.Put(r)
	checkReq(t, "seek", FSSeek, r, fsSeekOf(r), FSSeekReq{Handle: 2, Offset: -3, Whence: 2})
}

func fsPathReqsRoundTrip(t *testing.T) {
	var r *kernel.Request
	for _, a := range []FSPathReq{{Op: FSPathStat, Dir: 1, Path: "p", Follow: true}, {Op: FSMkdir, Dir: 2, Path: "q"}} {
		r := dirty()
		a.Put(r)
		checkReq(t, "path", a.Op, r, fsPathOf(r), a)
	}
	r = dirty()
	FSSetSizeReq{Handle: 2, Size: 1 << 33}.Put(r)
	checkReq(t, "set size", FSSetSize, r, fsSetSizeOf(r), FSSetSizeReq{Handle: 2, Size: 1 << 33})
	r = dirty()
	FSSetTimesReq{Handle: 6, Times: fsTimes()}.Put(r)
	checkReq(t, "set times", FSSetTimes, r, fsSetTimesOf(r), FSSetTimesReq{Handle: 6, Times: fsTimes()})
	for _, follow := range []bool{false, true} {
		a := FSPathSetTimesReq{Dir: 1, Path: "t", Follow: follow, Times: fsTimes()}
		r := dirty()
		a.Put(r)
		checkReq(t, "path set times", FSPathSetTimes, r, fsPathSetTimesOf(r), a)
	}
	r = dirty()
	FSRenameReq{Dir: 1, Old: "a\x00b", NewDir: 7, New: "c"}.Put(r)
	checkReq(t, "rename", FSRename, r, fsRenameOf(r), FSRenameReq{Dir: 1, Old: "a\x00b", NewDir: 7, New: "c"})
	for _, follow := range []bool{false, true} {
		a := FSLinkReq{Dir: 1, Old: "o", Follow: follow, NewDir: 2, New: "n"}
		r := dirty()
		a.Put(r)
		checkReq(t, "link", FSLink, r, fsLinkOf(r), a)
	}
	r = dirty()
	FSSymlinkReq{Target: "../t", Dir: 3, Path: "l"}.Put(r)
	checkReq(t, "symlink", FSSymlink, r, fsSymlinkOf(r), FSSymlinkReq{Target: "../t", Dir: 3, Path: "l"})
}

func fsHandleReqsRoundTrip(t *testing.T) {
	var r *kernel.Request
	r = dirty()
	FSReaddirReq{Handle: 3, Cookie: 9, Max: 4096}.Put(r)
	checkReq(t, "readdir", FSReaddir, r, fsReaddirOf(r), FSReaddirReq{Handle: 3, Cookie: 9, Max: 4096})
	for _, on := range []bool{false, true} {
		r := dirty()
		FSSetFlagsReq{Handle: 3, Append: on}.Put(r)
		checkReq(t, "set flags", FSSetFlags, r, fsSetFlagsOf(r), FSSetFlagsReq{Handle: 3, Append: on})
		r = dirty()
		FSAdoptReq{HostFd: 1<<29 - 1, ReadOnly: on, PID: 12}.Put(r)
		checkReq(t, "adopt", FSAdopt, r, fsAdoptOf(r), FSAdoptReq{HostFd: 1<<29 - 1, ReadOnly: on, PID: 12})
		r = dirty()
		FSSyncReq{Handle: 3, DataOnly: on}.Put(r)
		op := FSSync
		if on {
			op = FSDatasync
		}
		checkReq(t, "sync", op, r, r.Fd, int32(3))
	}
	r = dirty()
	FSAllocateReq{Handle: 3, Off: 5, Len: 6}.Put(r)
	checkReq(t, "allocate", FSAllocate, r, fsAllocateOf(r), FSAllocateReq{Handle: 3, Off: 5, Len: 6})
	r = dirty()
	FSCloseAllReq{}.Put(r)
	AppendHandle(r, 5)
	AppendHandle(r, -1)
	checkReq(t, "close all", FSCloseAll, r, len(r.Buf), 8)
}

// TestNetReqsRoundTrip: the same for the network service's requests.
func TestNetReqsRoundTrip(t *testing.T) {
	for _, nw := range []bool{false, true} {
		r := dirty()
		NetAcceptReq{Listener: 1, NoWait: nw}.Put(r)
		if r.Op != NetAccept || netAcceptOf(r) != (NetAcceptReq{Listener: 1, NoWait: nw}) {
			t.Errorf("accept: %+v", netAcceptOf(r))
		}
		for _, peek := range []bool{false, true} {
			a := NetRecvReq{Conn: 9, Max: 100, Peek: peek, NoWait: nw}
			r := dirty()
			a.Put(r)
			if r.Op != NetRecv || netRecvOf(r) != a {
				t.Errorf("recv: put %+v, read %+v", a, netRecvOf(r))
			}
		}
		r = dirty()
		NetSendReq{Conn: 9, NoWait: nw}.Put(r)
		if r.Op != NetSend || netSendOf(r) != (NetSendReq{Conn: 9, NoWait: nw}) || string(r.Buf) != "left" {
			t.Errorf("send: %+v, %q", netSendOf(r), r.Buf)
		}
		for _, wr := range []bool{false, true} {
			a := NetShutdownReq{Conn: 9, Read: nw, Write: wr}
			r := dirty()
			a.Put(r)
			if r.Op != NetShutdown || netShutdownOf(r) != a {
				t.Errorf("shutdown: put %+v, read %+v", a, netShutdownOf(r))
			}
		}
	}
	r := dirty()
	NetPollReq{Timeout: 5e6}.Put(r)
	AppendNetPoll(r, 3, NetPollRead)
	AppendNetPoll(r, 4, NetPollWrite)
	if r.Op != NetPoll || netPollOf(r) != (NetPollReq{Timeout: 5e6}) || len(r.Buf) != 16 {
		t.Errorf("poll: %+v, %d bytes", netPollOf(r), len(r.Buf))
	}
	r.Buf = []byte{1, 0, 0xff, 0xff}
	if ev, ok := NetPollEvent(r, 1); !ok || ev != NetPollNotOne {
		t.Errorf("poll event 1: %d, %v", ev, ok)
	}
	if _, ok := NetPollEvent(r, 2); ok {
		t.Error("poll event past the end")
	}
	r = dirty()
	r.N, r.Off = 17, lend(33)
	if a := NetAcceptedOf(r); a != (NetAccepted{Handle: 17, Lent: 33, HasLent: true}) {
		t.Errorf("accepted: %+v", a)
	}
}

// TestSmallReadAllocatesNothing: a one-byte read as a SIP's fd_read sends
// it to the worker (the typed request put on the SIP's reused record, then
// served) allocates nothing, and neither does putting any request whose
// arguments are strings (a rename's two paths once went as one
// concatenated string).
func TestSmallReadAllocatesNothing(t *testing.T) {
	f, _ := newFS(t, false)
	o := open(f, 0, "f", 0, true, false)
	if o.Errno != 0 {
		t.Fatal(o.Errno)
	}
	h := FSOpenedOf(&o).Handle
	r := &kernel.Request{Buf: make([]byte, 0, 16)}
	at := int64(0)
	if n := testing.AllocsPerRun(1000, func() {
		FSReadReq{Handle: h, Max: 1, At: at}.Put(r)
		f.Serve(r)
		if r.Errno != 0 || r.N != 1 {
			t.Fatalf("read: errno %d, n %d", r.Errno, r.N)
		}
		at = (at + 1) % 5
	}); n != 0 {
		t.Errorf("a one-byte read allocates %v times", n)
	}
	old, nw := string([]byte("a/old")), string([]byte("b/new"))
	if n := testing.AllocsPerRun(1000, func() {
		FSRenameReq{Dir: 3, Old: old, NewDir: 4, New: nw}.Put(r)
		FSLinkReq{Dir: 3, Old: old, NewDir: 4, New: nw, Follow: true}.Put(r)
		FSSymlinkReq{Target: old, Dir: 4, Path: nw}.Put(r)
		FSOpenReq{Dir: 3, Path: old, Read: true}.Put(r)
	}); n != 0 {
		t.Errorf("putting path requests allocates %v times", n)
	}
}

// BenchmarkFSPread1 is a one-byte pread through the worker's Serve, the
// request put as wasi puts it.
func BenchmarkFSPread1(b *testing.B) {
	f, _ := newFS(b, false)
	o := open(f, 0, "f", 0, true, false)
	h := FSOpenedOf(&o).Handle
	r := &kernel.Request{Buf: make([]byte, 0, 16)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		FSReadReq{Handle: h, Max: 1, At: int64(i % 5)}.Put(r)
		f.Serve(r)
	}
}

// BenchmarkPutFSRead is a read request put on a reused record and read back
// by the worker's accessor, without the host call.
func BenchmarkPutFSRead(b *testing.B) {
	r := &kernel.Request{}
	var sink int64
	for i := 0; b.Loop(); i++ {
		*r = kernel.Request{Buf: r.Buf} // as kernel.SIP.Request resets it
		FSReadReq{Handle: 3, Max: 1, At: int64(i & 7)}.Put(r)
		a := fsReadOf(r)
		sink += a.At + a.Max + int64(a.Handle)
	}
	if sink == 0 {
		b.Fatal("no reads")
	}
}
