package service

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"isle/internal/wasip1"
)

// TestPathStatNowMatchesWorker: for every path, a stat made on the core
// (PathStatNow) either gives the worker's answer (FSPathStat) byte for byte
// or leaves the call to the worker; an escape is never answered on the
// core, so it keeps the worker's EPERM.
func TestPathStatNowMatchesWorker(t *testing.T) {
	f, dir := newFS(t, false)
	os.WriteFile(filepath.Join(dir, "sub", "g"), []byte("gg"), 0o600)
	os.Symlink("sub", filepath.Join(dir, "dirlink"))
	os.Symlink("/etc", filepath.Join(dir, "abs"))
	lends := f.PreopenLends()
	dfd, ok := LentFd(lends[0])
	if !ok {
		t.Fatal("the preopen lends no descriptor")
	}
	if lends[0]&FSLocal == 0 {
		t.Skip("the test directory is not on a local file system")
	}
	names := []string{"f", "sub", "sub/g", "./sub/./g", "sub//g", "in", "out", "abs", "abs/passwd", "dirlink/g",
		"missing", "sub/missing", "f/x", "f/", "sub/", "..", "../secret", "sub/../f", "sub/../../secret", "/etc/passwd", "", "a\x00b", "."}
	onCore := 0
	for _, follow := range []bool{false, true} {
		for _, name := range names {
			w := do(f, put(FSPathReq{Op: FSPathStat, Dir: 0, Path: name, Follow: follow}))
			if !PathInline(name) {
				continue
			}
			var st [wasip1.FilestatSize]byte
			// Twice: the first lookup may not be in the dentry cache (the
			// worker's just put it there).
			PathStatNow(dfd, name, follow, &st)
			errno, how := PathStatNow(dfd, name, follow, &st)
			switch {
			case how == Never:
				t.Skip("no openat2 with RESOLVE_CACHED here")
			case how != Done:
				if w.Errno == 0 && (name == "f" || name == "sub/g") {
					t.Errorf("stat %q (follow %v): left to the worker though cached", name, follow)
				}
				continue
			}
			onCore++
			if errno != w.Errno {
				t.Errorf("stat %q (follow %v) on the core: errno %d, the worker's %d", name, follow, errno, w.Errno)
			} else if errno == 0 && !bytes.Equal(st[:], w.Buf) {
				t.Errorf("stat %q (follow %v) on the core:\n% x\nthe worker's:\n% x", name, follow, st[:], w.Buf)
			}
			if w.Errno == wasip1.ErrnoPerm {
				t.Errorf("stat %q (follow %v): an escape answered on the core", name, follow)
			}
		}
	}
	if openNowMatchesWorker(t, f, dfd, names) == 0 {
		t.Error("no file opened on the core")
	}
	t.Logf("%d of the stats answered on the core", onCore)
	if onCore < 10 {
		t.Errorf("only %d stats answered on the core", onCore)
	}
}

// openNowMatchesWorker: an open made on the core (OpenNow) of each name
// gives the worker's errno, and opens only regular files; it returns how
// many it opened.
func openNowMatchesWorker(t *testing.T, f *FS, dfd int32, names []string) int {
	t.Helper()
	opened := 0
	for _, follow := range []bool{false, true} {
		for _, name := range names {
			w := open(f, 0, name, 0, follow, false)
			if w.Errno == 0 {
				do(f, put(FSCloseReq{Handle: int32(w.N)}))
			}
			if !PathInline(name) {
				continue
			}
			fd, errno, how := OpenNow(dfd, name, follow)
			if how != Done {
				continue
			}
			if errno == 0 {
				CloseNow(fd)
				opened++
			}
			if errno != w.Errno || (errno == 0 && uint8(w.Off) != wasip1.FiletypeRegularFile) {
				t.Errorf("open %q (follow %v) on the core: errno %d, the worker's %d (type %d)", name, follow, errno, w.Errno, uint8(w.Off))
			}
		}
	}
	return opened
}

// TestAdoptedFilesAreCharged: a file opened on a core (OpenNow) and posted
// to the worker (FSAdopt) is charged to the SIP's quota, served by its
// adopted handle, closed by FSClose and by FSCloseAll, and every
// descriptor it took from the machine's budget comes back.
func TestAdoptedFilesAreCharged(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644)
	budget := NewHostFDs(100)
	f, err := NewFS([]FSDir{{Host: dir}}, budget)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dfd, _ := LentFd(f.PreopenLends()[0])
	const pid = 7
	var hs []int32
	for range 3 {
		PathStatNow(dfd, "f", true, new([wasip1.FilestatSize]byte)) // into the dentry cache
		fd, errno, how := OpenNow(dfd, "f", true)
		if how != Done || errno != 0 {
			t.Skipf("not opened on the core here: %d %d", errno, how)
		}
		if !budget.TakeOne() {
			t.Fatal("budget")
		}
		do(f, put(FSAdoptReq{HostFd: fd, PID: pid}))
		hs = append(hs, AdoptedHandle(fd, false))
	}
	if f.quota[pid] != 3 || budget.used.Load() != 3 {
		t.Fatalf("after 3 adoptions: quota %d, budget used %d", f.quota[pid], budget.used.Load())
	}
	r := do(f, put(FSReadReq{Handle: hs[0], Max: 16, At: 0}))
	if r.Errno != 0 || string(r.Buf[:r.N]) != "hello" {
		t.Fatalf("pread of an adopted file: errno %d, %q", r.Errno, r.Buf)
	}
	do(f, put(FSCloseReq{Handle: hs[0]}))
	closeAll(f, hs[1:]...)
	if f.quota[pid] != 0 || budget.used.Load() != 0 || len(f.adopted) != 0 {
		t.Errorf("after the closes: quota %d, budget used %d, %d adopted", f.quota[pid], budget.used.Load(), len(f.adopted))
	}
}

// TestAdoptionOvertaken: a SIP that moved to another core after it posted
// FSAdopt may have its next requests reach the worker first. A read that
// overtakes the adoption is served (the file is adopted for the SIP that
// asked, once); a close that overtakes it leaves the descriptor open until
// the adoption comes, which closes it; the quota and the budget come back
// either way.
func TestAdoptionOvertaken(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644)
	budget := NewHostFDs(100)
	f, err := NewFS([]FSDir{{Host: dir}}, budget)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dfd, _ := LentFd(f.PreopenLends()[0])
	openOne := func() int32 {
		PathStatNow(dfd, "f", true, new([wasip1.FilestatSize]byte))
		fd, errno, how := OpenNow(dfd, "f", true)
		if how != Done || errno != 0 {
			t.Skipf("not opened on the core here: %d %d", errno, how)
		}
		budget.TakeOne()
		return fd
	}
	const pid = 0 // the tests' requests come from no SIP; a call's from its SIP

	// A read first, then the adoption, then the close.
	fd := openOne()
	h := AdoptedHandle(fd, false)
	r := do(f, put(FSReadReq{Handle: h, Max: 16, At: 0}))
	if r.Errno != 0 || string(r.Buf[:r.N]) != "hello" {
		t.Fatalf("a read before the adoption: errno %d, %q", r.Errno, r.Buf)
	}
	do(f, put(FSAdoptReq{HostFd: fd, PID: pid}))
	if f.quota[pid] != 1 {
		t.Errorf("adopted by the read and by FSAdopt: quota %d, want 1", f.quota[pid])
	}
	do(f, put(FSCloseReq{Handle: h}))

	// The close first: the descriptor stays open until the adoption.
	fd = openOne()
	do(f, put(FSCloseReq{Handle: AdoptedHandle(fd, false)}))
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		t.Fatalf("closed before its adoption came: %v", err)
	}
	do(f, put(FSAdoptReq{HostFd: fd, PID: pid}))
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
		t.Errorf("still open after its late adoption")
	}
	if f.quota[pid] != 0 || budget.used.Load() != 0 || len(f.adopted) != 0 || len(f.closedEarly) != 0 {
		t.Errorf("at the end: quota %d, budget used %d, %d adopted, %d closed early", f.quota[pid], budget.used.Load(), len(f.adopted), len(f.closedEarly))
	}
}
