package service

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"isle/internal/kernel"
	"isle/internal/wasip1"
)

// dirTree is a preopen with directories to open: sub (with files), an
// empty one, a symlink to sub, a symlink out of the preopen, and newFS's
// escapes.
func dirTree(t *testing.T, budget *HostFDs) (*FS, int32) {
	t.Helper()
	top := t.TempDir()
	dir := filepath.Join(top, "pre")
	for _, d := range []string{"sub/deeper", "empty"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.Mkdir(filepath.Join(top, "outside"), 0o755)
	os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "g"), []byte("gg"), 0o644)
	os.Symlink("sub", filepath.Join(dir, "dirlink"))
	os.Symlink("../outside", filepath.Join(dir, "out"))
	os.Symlink("/etc", filepath.Join(dir, "abs"))
	f, err := NewFS([]FSDir{{Host: dir}}, budget)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	lends := f.PreopenLends()
	dfd, ok := LentFd(lends[0])
	if !ok || lends[0]&FSLocal == 0 {
		t.Skip("the preopen lends no descriptor on a local file system")
	}
	return f, dfd
}

// listing is every entry readdir gives for handle h, from cookie 0.
func listing(t *testing.T, f *FS, h int32) []byte {
	t.Helper()
	r := do(f, put(FSReaddirReq{Handle: h, Cookie: 0, Max: 1 << 16}))
	if r.Errno != 0 {
		t.Fatalf("readdir of handle %d: errno %d", h, r.Errno)
	}
	return append([]byte(nil), r.Buf...)
}

// TestOpenDirNowMatchesWorker: a directory opened on the core
// (OpenEntryNow) and adopted by the worker answers as the one the worker
// opens: the same errno for every name (with O_DIRECTORY and without), the
// same file type, the same fstat, the same readdir entries, and paths
// opened under it the same way; a name that escapes the preopen (a ".."
// past it, a symlink out of it, an absolute path) is never answered on the
// core, so it keeps the worker's EPERM.
func TestOpenDirNowMatchesWorker(t *testing.T) {
	f, dfd := dirTree(t, nil)
	names := []string{"sub", "sub/deeper", "empty", ".", "./sub", "sub//deeper", "f", "sub/g", "dirlink", "out", "abs",
		"missing", "sub/missing", "f/x", "sub/", "..", "../outside", "sub/../..", "/etc", ""}
	dirsOnCore := 0
	for _, follow := range []bool{false, true} {
		for _, oflags := range []uint16{0, wasip1.OflagsDirectory} {
			for _, name := range names {
				w := open(f, 0, name, oflags, follow, false)
				if !PathInline(name) {
					if w.Errno == 0 {
						do(f, put(FSCloseReq{Handle: int32(w.N)}))
					}
					continue
				}
				var st [wasip1.FilestatSize]byte
				PathStatNow(dfd, name, follow, &st) // into the dentry cache
				fd, typ, errno, how := OpenEntryNow(dfd, name, follow, true, oflags != 0)
				switch {
				case how == Never:
					t.Skip("no openat2 with RESOLVE_CACHED here")
				case how != Done:
					if w.Errno == 0 && uint8(w.Off) == wasip1.FiletypeDirectory && (name == "sub" || name == "empty") {
						t.Errorf("open %q (oflags %d, follow %v): left to the worker though cached", name, oflags, follow)
					}
				case errno != w.Errno || (errno == 0 && typ != uint8(w.Off)):
					t.Errorf("open %q (oflags %d, follow %v) on the core: errno %d type %d, the worker's %d type %d",
						name, oflags, follow, errno, typ, w.Errno, uint8(w.Off))
				case w.Errno == wasip1.ErrnoPerm:
					t.Errorf("open %q: an escape answered on the core", name)
				case errno == 0 && typ == wasip1.FiletypeDirectory:
					dirsOnCore++
					sameDir(t, f, name, int32(w.N), fd)
				}
				if how == Done && errno == 0 && typ != wasip1.FiletypeDirectory {
					CloseNow(fd)
				}
				if w.Errno == 0 {
					do(f, put(FSCloseReq{Handle: int32(w.N)}))
				}
			}
		}
	}
	if dirsOnCore < 8 {
		t.Errorf("only %d directory opens made on the core", dirsOnCore)
	}
	if len(f.adopted) != 0 || len(f.quota) != 0 {
		t.Errorf("at the end: %d adopted, quota %v", len(f.adopted), f.quota)
	}
}

// sameDir checks directory name opened by the worker (handle wh) and on the
// core (host descriptor fd, adopted here) against each other, and closes
// the adopted one.
func sameDir(t *testing.T, f *FS, name string, wh, fd int32) {
	t.Helper()
	do(f, put(FSAdoptReq{HostFd: fd}))
	ah := AdoptedHandle(fd, false)
	if a, w := listing(t, f, ah), listing(t, f, wh); !bytes.Equal(a, w) {
		t.Errorf("readdir of %q opened on the core:\n% x\nthe worker's:\n% x", name, a, w)
	}
	a, w := do(f, put(FSStatReq{Handle: ah})), do(f, put(FSStatReq{Handle: wh}))
	if a.Errno != 0 || !bytes.Equal(a.Buf, w.Buf) {
		t.Errorf("fstat of %q opened on the core: errno %d\n% x\nthe worker's:\n% x", name, a.Errno, a.Buf, w.Buf)
	}
	for _, sub := range []string{"g", "deeper", "missing", "..", "../f", "../../outside"} {
		a, w := open(f, ah, sub, 0, true, false), open(f, wh, sub, 0, true, false)
		if a.Errno != w.Errno || (a.Errno == 0 && uint8(a.Off) != uint8(w.Off)) {
			t.Errorf("open %q under %q opened on the core: errno %d (type %d), the worker's %d (type %d)", sub, name, a.Errno, uint8(a.Off), w.Errno, uint8(w.Off))
		}
		for _, r := range []kernel.Request{a, w} {
			if r.Errno == 0 {
				do(f, put(FSCloseReq{Handle: int32(r.N)}))
			}
		}
	}
	do(f, put(FSCloseReq{Handle: ah}))
}

// TestDirAdoptionOvertaken: a readdir that overtakes the adoption of a
// directory opened on the core is served (adopted for the SIP that asked,
// once, with its root); a close that overtakes it leaves the descriptor
// open until the adoption, which closes it; a rename into it that
// overtakes it is made; the quota and both descriptors
// the core charged come back either way.
func TestDirAdoptionOvertaken(t *testing.T) {
	budget := NewHostFDs(100)
	f, dfd := dirTree(t, budget)
	openOne := func() int32 {
		PathStatNow(dfd, "sub", true, new([wasip1.FilestatSize]byte))
		fd, typ, errno, how := OpenEntryNow(dfd, "sub", true, true, true)
		if how != Done || errno != 0 || typ != wasip1.FiletypeDirectory {
			t.Skipf("not opened on the core here: %d %d %d", errno, how, typ)
		}
		for range AdoptedDirFDs {
			budget.TakeOne()
		}
		return fd
	}
	const pid = 0
	w := open(f, 0, "sub", wasip1.OflagsDirectory, true, false)
	want := listing(t, f, int32(w.N))
	do(f, put(FSCloseReq{Handle: int32(w.N)}))

	fd := openOne()
	h := AdoptedHandle(fd, false)
	if got := listing(t, f, h); !bytes.Equal(got, want) {
		t.Errorf("a readdir before the adoption:\n% x\nwant:\n% x", got, want)
	}
	do(f, put(FSAdoptReq{HostFd: fd, PID: pid}))
	if f.quota[pid] != 1 || budget.used.Load() != AdoptedDirFDs {
		t.Errorf("adopted by the readdir and by FSAdopt: quota %d, budget used %d", f.quota[pid], budget.used.Load())
	}
	do(f, put(FSCloseReq{Handle: h}))

	fd = openOne()
	do(f, put(FSCloseReq{Handle: AdoptedHandle(fd, false)}))
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		t.Fatalf("closed before its adoption came: %v", err)
	}
	do(f, put(FSAdoptReq{HostFd: fd, PID: pid}))
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
		t.Errorf("still open after its late adoption")
	}

	// A rename into it, from the preopen, before the adoption: the target
	// directory is adopted then.
	fd = openOne()
	if r := open(f, 0, "moved", wasip1.OflagsCreat, true, true); r.Errno != 0 {
		t.Fatalf("create: errno %d", r.Errno)
	} else {
		do(f, put(FSCloseReq{Handle: int32(r.N)}))
	}
	if r := do(f, put(FSRenameReq{Dir: 0, Old: "moved", NewDir: AdoptedHandle(fd, false), New: "moved"})); r.Errno != 0 {
		t.Errorf("a rename into a directory not yet adopted: errno %d", r.Errno)
	}
	if r := open(f, 0, "sub/moved", 0, true, false); r.Errno != 0 {
		t.Errorf("the renamed file: errno %d", r.Errno)
	} else {
		do(f, put(FSCloseReq{Handle: int32(r.N)}))
	}
	do(f, put(FSAdoptReq{HostFd: fd, PID: pid})) // finds it adopted
	closeAll(f, AdoptedHandle(fd, false))        // closed by FSCloseAll, as when its SIP ends
	if f.quota[pid] != 0 || budget.used.Load() != 0 || len(f.adopted) != 0 || len(f.closedEarly) != 0 {
		t.Errorf("at the end: quota %d, budget used %d, %d adopted, %d closed early", f.quota[pid], budget.used.Load(), len(f.adopted), len(f.closedEarly))
	}
}
