package service

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"isle/internal/kernel"
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
			off := int64(0)
			if follow {
				off = 1
			}
			w := do(f, kernel.Request{Op: FSPathStat, Fd: 0, Str: name, Off: off})
			if !PathInline(name) {
				continue
			}
			var st [FilestatSize]byte
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
			if w.Errno == errnoPerm {
				t.Errorf("stat %q (follow %v): an escape answered on the core", name, follow)
			}
		}
	}
	t.Logf("%d of the stats answered on the core", onCore)
	if onCore < 10 {
		t.Errorf("only %d stats answered on the core", onCore)
	}
}
