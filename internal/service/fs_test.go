package service

import (
	"os"
	"path/filepath"
	"testing"

	"isle/internal/kernel"
	"isle/internal/wasip1"
)

func newFS(t testing.TB, ro bool) (*FS, string) {
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

// put is the request p puts into a fresh record.
func put(p interface{ Put(*kernel.Request) }) kernel.Request {
	var r kernel.Request
	p.Put(&r)
	return r
}

// closeAll closes handles hs with one FSCloseAll.
func closeAll(f *FS, hs ...int32) {
	r := put(FSCloseAllReq{})
	for _, h := range hs {
		AppendHandle(&r, h)
	}
	do(f, r)
}

func open(f *FS, dir int32, name string, oflags uint16, follow, write bool) kernel.Request {
	return do(f, put(FSOpenReq{Dir: dir, Path: name, Oflags: oflags, Follow: follow, Read: true, Write: write}))
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
	if r := do(f, put(FSRenameReq{Dir: 0, Old: "f", NewDir: 0, New: "../stolen"})); r.Errno != wasip1.ErrnoPerm {
		t.Errorf("rename out: errno %d, want EPERM", r.Errno)
	}
	if r := do(f, put(FSSymlinkReq{Target: "/etc/passwd", Dir: 0, Path: "abs"})); r.Errno != wasip1.ErrnoPerm {
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
	do(f, put(FSCloseReq{Handle: int32(a.N)}))
	c := open(f, 0, "f", 0, true, false)
	if c.N != a.N {
		t.Errorf("handle %d not reused (got %d)", a.N, c.N)
	}
	do(f, put(FSCloseReq{Handle: 0}))
	if r := open(f, 0, "f", 0, true, false); r.Errno != 0 {
		t.Errorf("the preopen was closed: errno %d", r.Errno)
	}
	for _, h := range []int32{-1, 99, int32(a.N) + 100} {
		if r := do(f, put(FSReadReq{Handle: h, Max: 10, At: -1})); r.Errno != wasip1.ErrnoBadf {
			t.Errorf("read handle %d: errno %d, want EBADF", h, r.Errno)
		}
	}
	closeAll(f, int32(b.N), int32(c.N), -1)
	if r := do(f, put(FSReadReq{Handle: int32(b.N), Max: 10, At: -1})); r.Errno != wasip1.ErrnoBadf {
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
		if r := do(f, put(FSPathReq{Op: op, Dir: 0, Path: "sub"})); r.Errno != wasip1.ErrnoAcces {
			t.Errorf("op %d: errno %d", op, r.Errno)
		}
	}
	r := open(f, 0, "f", 0, true, false)
	if r := do(f, put(FSReadReq{Handle: int32(r.N), Max: 10, At: -1})); r.Errno != 0 || string(r.Buf[:r.N]) != "hello" {
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
	if r := do(f, put(FSRenameReq{Dir: 0, Old: "f", NewDir: int32(h), New: "g"})); r.Errno != 0 {
		t.Fatalf("rename f to sub/g: errno %d", r.Errno)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", "g")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "sub"), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	if r := do(f, put(FSLinkReq{Dir: int32(h), Old: "g", NewDir: 0, New: "back"})); r.Errno != 0 {
		t.Fatalf("link moved/g to back: errno %d", r.Errno)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "back")); err != nil || string(b) != "hello" {
		t.Errorf("back: %q, %v", b, err)
	}
	for _, s := range [][2]string{{"g", ".."}, {"..", "x"}, {"g", "../../x"}, {"../secret", "x"}} {
		if r := do(f, put(FSRenameReq{Dir: int32(h), Old: s[0], NewDir: 0, New: s[1]})); r.Errno == 0 {
			t.Errorf("rename %q was allowed", s)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "x")); err == nil {
		t.Error("a file was renamed out of the root")
	}
	if r := do(f, put(FSRenameReq{Dir: 0, Old: "moved", NewDir: 0, New: "back"})); r.Errno != wasip1.ErrnoNotdir {
		t.Errorf("rename a directory over a file: errno %d, want ENOTDIR", r.Errno)
	}
}

// TestFSPathSetTimes: following a symlink sets its target's times; without
// following, the link's own; OMIT leaves a time as it is.
func TestFSPathSetTimes(t *testing.T) {
	f, dir := newFS(t, false)
	st := func(path string, follow bool, a, m uint64, fl uint16) kernel.Request {
		return put(FSPathSetTimesReq{Dir: 0, Path: path, Follow: follow, Times: FSTimes{Atim: a, Mtim: m, Fst: fl}})
	}
	if r := do(f, st("in", true, 1e9, 2e9, wasip1.FstflagsAtim|wasip1.FstflagsMtim)); r.Errno != 0 {
		t.Fatalf("follow: errno %d", r.Errno)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "f")); fi.ModTime().UnixNano() != 2e9 {
		t.Errorf("target mtime %v", fi.ModTime())
	}
	if r := do(f, st("in", false, 0, 3e9, wasip1.FstflagsMtim)); r.Errno != 0 {
		t.Fatalf("nofollow: errno %d", r.Errno)
	}
	if fi, _ := os.Lstat(filepath.Join(dir, "in")); fi.ModTime().UnixNano() != 3e9 {
		t.Errorf("link mtime %v", fi.ModTime())
	}
	if fi, _ := os.Stat(filepath.Join(dir, "f")); fi.ModTime().UnixNano() != 2e9 {
		t.Errorf("target mtime changed to %v", fi.ModTime())
	}
	if r := do(f, st("out", true, 0, 3e9, wasip1.FstflagsMtim)); r.Errno != wasip1.ErrnoPerm {
		t.Errorf("through a symlink out: errno %d, want EPERM", r.Errno)
	}
	if r := do(f, st("f", true, 0, 0, wasip1.FstflagsAtim|wasip1.FstflagsAtimNow)); r.Errno != wasip1.ErrnoInval {
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
		do(f, put(FSCloseReq{Handle: int32(r.N)}))
	}
	if used := f.fds.used.Load(); used != 0 {
		t.Errorf("%d host descriptors still charged to the budget", used)
	}
}
