package service

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"isle/internal/kernel"
	"isle/internal/wasip1"
)

func newFS(t *testing.T, ro bool) (*FS, string) {
	t.Helper()
	top := t.TempDir()
	dir := filepath.Join(top, "pre")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(top, "secret"), []byte("s"), 0o644)
	os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644)
	os.Symlink("../secret", filepath.Join(dir, "out"))
	os.Symlink("f", filepath.Join(dir, "in"))
	f, err := NewFS([]FSDir{{Host: dir, ReadOnly: ro}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f, dir
}

func do(f *FS, r kernel.Request) kernel.Request {
	f.Serve(&r)
	return r
}

func open(f *FS, dir int32, name string, oflags uint16, follow, write bool) kernel.Request {
	return do(f, kernel.Request{Op: FSOpen, Fd: dir, Str: name, Off: OpenFlags(oflags, 0, follow, true, write)})
}

// TestFSEscapes: every path out of the root is EPERM, from the preopen and
// from a directory opened under it.
func TestFSEscapes(t *testing.T) {
	f, _ := newFS(t, false)
	for _, name := range []string{"../secret", "sub/../../secret", "/etc/passwd", "out", "sub/../out"} {
		if r := open(f, 0, name, 0, true, false); r.Errno != wasip1.ErrnoPerm {
			t.Errorf("open %q: errno %d, want EPERM (%d)", name, r.Errno, wasip1.ErrnoPerm)
		}
	}
	sub := open(f, 0, "sub", wasip1.OflagsDirectory, true, false)
	if sub.Errno != 0 {
		t.Fatalf("open sub: errno %d", sub.Errno)
	}
	if r := open(f, int32(sub.N), "../f", 0, true, false); r.Errno != wasip1.ErrnoPerm {
		t.Errorf("open ../f from sub: errno %d, want EPERM", r.Errno)
	}
	if r := open(f, 0, "in", 0, true, false); r.Errno != 0 {
		t.Errorf("open a symlink inside: errno %d", r.Errno)
	}
	if r := open(f, 0, "in", 0, false, false); r.Errno != wasip1.ErrnoLoop {
		t.Errorf("open a symlink without following: errno %d, want ELOOP", r.Errno)
	}
	if r := do(f, kernel.Request{Op: FSRename, Fd: 0, Off: 0, Str: "f\x00../stolen"}); r.Errno != wasip1.ErrnoPerm {
		t.Errorf("rename out: errno %d, want EPERM", r.Errno)
	}
	if r := do(f, kernel.Request{Op: FSSymlink, Fd: 0, Str: "/etc/passwd\x00abs"}); r.Errno != wasip1.ErrnoPerm {
		t.Errorf("absolute symlink: errno %d, want EPERM", r.Errno)
	}
}

// TestFSHandles: handles are reused after close, preopens survive a close,
// bad handles are EBADF, and FSCloseAll closes a list.
func TestFSHandles(t *testing.T) {
	f, _ := newFS(t, false)
	a := open(f, 0, "f", 0, true, false)
	b := open(f, 0, "f", 0, true, false)
	if a.Errno != 0 || b.Errno != 0 || a.N == b.N || a.N == 0 {
		t.Fatalf("opens: %+v %+v", a, b)
	}
	do(f, kernel.Request{Op: FSClose, Fd: int32(a.N)})
	c := open(f, 0, "f", 0, true, false)
	if c.N != a.N {
		t.Errorf("handle %d not reused (got %d)", a.N, c.N)
	}
	do(f, kernel.Request{Op: FSClose, Fd: 0})
	if r := open(f, 0, "f", 0, true, false); r.Errno != 0 {
		t.Errorf("the preopen was closed: errno %d", r.Errno)
	}
	for _, h := range []int32{-1, 99, int32(a.N) + 100} {
		if r := do(f, kernel.Request{Op: FSRead, Fd: h, N: 10}); r.Errno != wasip1.ErrnoBadf {
			t.Errorf("read handle %d: errno %d, want EBADF", h, r.Errno)
		}
	}
	var list []byte
	list = binary.LittleEndian.AppendUint32(list, uint32(b.N))
	list = binary.LittleEndian.AppendUint32(list, uint32(c.N))
	list = binary.LittleEndian.AppendUint32(list, 0xffffffff)
	do(f, kernel.Request{Op: FSCloseAll, Buf: list})
	if r := do(f, kernel.Request{Op: FSRead, Fd: int32(b.N), N: 10}); r.Errno != wasip1.ErrnoBadf {
		t.Errorf("read after FSCloseAll: errno %d, want EBADF", r.Errno)
	}
}

// TestFSReadOnly: a read-only root refuses changes with EACCES.
func TestFSReadOnly(t *testing.T) {
	f, dir := newFS(t, true)
	if r := open(f, 0, "f", 0, true, true); r.Errno != wasip1.ErrnoAcces {
		t.Errorf("open for writing: errno %d", r.Errno)
	}
	if r := open(f, 0, "new", wasip1.OflagsCreat, true, false); r.Errno != wasip1.ErrnoAcces {
		t.Errorf("create: errno %d", r.Errno)
	}
	for _, op := range []uint32{FSMkdir, FSUnlink, FSRmdir} {
		if r := do(f, kernel.Request{Op: op, Fd: 0, Str: "sub"}); r.Errno != wasip1.ErrnoAcces {
			t.Errorf("op %d: errno %d", op, r.Errno)
		}
	}
	r := open(f, 0, "f", 0, true, false)
	if r := do(f, kernel.Request{Op: FSRead, Fd: int32(r.N), N: 10}); r.Errno != 0 || string(r.Buf[:r.N]) != "hello" {
		t.Errorf("read: %+v", r)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 4 {
		t.Errorf("the directory changed: %d entries", len(ents))
	}
}

// TestFSRenameBetweenDirs: rename and link between two directory handles,
// also after one of them was moved on the host; a last component of ".." and
// a path out of either root are refused.
func TestFSRenameBetweenDirs(t *testing.T) {
	f, dir := newFS(t, false)
	sub := open(f, 0, "sub", wasip1.OflagsDirectory, true, false)
	if sub.Errno != 0 {
		t.Fatal(sub.Errno)
	}
	h := sub.N
	if r := do(f, kernel.Request{Op: FSRename, Fd: 0, Off: h, Str: "f\x00g"}); r.Errno != 0 {
		t.Fatalf("rename f to sub/g: errno %d", r.Errno)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", "g")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "sub"), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	if r := do(f, kernel.Request{Op: FSLink, Fd: int32(h), Off: 0, Str: "g\x00back"}); r.Errno != 0 {
		t.Fatalf("link moved/g to back: errno %d", r.Errno)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "back")); err != nil || string(b) != "hello" {
		t.Errorf("back: %q, %v", b, err)
	}
	for _, s := range []string{"g\x00..", "..\x00x", "g\x00../../x", "../secret\x00x"} {
		if r := do(f, kernel.Request{Op: FSRename, Fd: int32(h), Off: 0, Str: s}); r.Errno == 0 {
			t.Errorf("rename %q was allowed", s)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "x")); err == nil {
		t.Error("a file was renamed out of the root")
	}
	if r := do(f, kernel.Request{Op: FSRename, Fd: 0, Off: 0, Str: "moved\x00back"}); r.Errno != wasip1.ErrnoNotdir {
		t.Errorf("rename a directory over a file: errno %d, want ENOTDIR", r.Errno)
	}
}

// TestFSPathSetTimes: following a symlink sets its target's times; without
// following, the link's own; OMIT leaves a time as it is.
func TestFSPathSetTimes(t *testing.T) {
	f, dir := newFS(t, false)
	tb := func(a, m int64, fl uint16) []byte {
		b := binary.LittleEndian.AppendUint64(nil, uint64(a))
		b = binary.LittleEndian.AppendUint64(b, uint64(m))
		return binary.LittleEndian.AppendUint16(b, fl)
	}
	if r := do(f, kernel.Request{Op: FSPathSetTimes, Fd: 0, Str: "in", Off: 1, Buf: tb(1e9, 2e9, wasip1.FstflagsAtim|wasip1.FstflagsMtim)}); r.Errno != 0 {
		t.Fatalf("follow: errno %d", r.Errno)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "f")); fi.ModTime().UnixNano() != 2e9 {
		t.Errorf("target mtime %v", fi.ModTime())
	}
	if r := do(f, kernel.Request{Op: FSPathSetTimes, Fd: 0, Str: "in", Off: 0, Buf: tb(0, 3e9, wasip1.FstflagsMtim)}); r.Errno != 0 {
		t.Fatalf("nofollow: errno %d", r.Errno)
	}
	if fi, _ := os.Lstat(filepath.Join(dir, "in")); fi.ModTime().UnixNano() != 3e9 {
		t.Errorf("link mtime %v", fi.ModTime())
	}
	if fi, _ := os.Stat(filepath.Join(dir, "f")); fi.ModTime().UnixNano() != 2e9 {
		t.Errorf("target mtime changed to %v", fi.ModTime())
	}
	if r := do(f, kernel.Request{Op: FSPathSetTimes, Fd: 0, Str: "out", Off: 1, Buf: tb(0, 3e9, wasip1.FstflagsMtim)}); r.Errno != wasip1.ErrnoPerm {
		t.Errorf("through a symlink out: errno %d, want EPERM", r.Errno)
	}
	if r := do(f, kernel.Request{Op: FSPathSetTimes, Fd: 0, Str: "f", Off: 1, Buf: tb(0, 0, wasip1.FstflagsAtim|wasip1.FstflagsAtimNow)}); r.Errno != wasip1.ErrnoInval {
		t.Errorf("ATIM with ATIM_NOW: errno %d, want EINVAL", r.Errno)
	}
}

// TestFSDirectoryOpensGiveBackTheirQuota: a directory is one handle of the
// SIP's quota with two host descriptors (its file and its root); opening
// and closing one twice as many times as the quota allows must never run
// out, and leaves the machine's budget as it was. (Charging the root as a
// second handle, released once, left Go's http.FileServer answering 500
// after 1,023 requests of "/".)
func TestFSDirectoryOpensGiveBackTheirQuota(t *testing.T) {
	f, _ := newFS(t, false)
	f.fds = NewHostFDs(64)
	for i := 0; i < 2*MaxFilesPerSIP; i++ {
		r := open(f, 0, "sub", wasip1.OflagsDirectory, false, false)
		if r.Errno != 0 {
			t.Fatalf("open %d of a directory: errno %d", i, r.Errno)
		}
		do(f, kernel.Request{Op: FSClose, Fd: int32(r.N)})
	}
	if used := f.fds.used.Load(); used != 0 {
		t.Errorf("%d host descriptors still charged to the budget", used)
	}
}
