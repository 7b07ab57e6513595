package wasi

import (
	"testing"

	"isle/internal/wasip1"
)

// TestOpenRights checks the pure rights decisions of path_open against
// wasmtime's model: requests are upper bounds reduced to what the object
// supports, and nothing past the directory's inheriting rights is granted.
func TestOpenRights(t *testing.T) {
	for _, tc := range []struct {
		name             string
		base, inh        uint64 // the directory fd's
		wantBase, wantIn uint64 // asked for
		oflags           uint16
		errno            Errno
		gotBase, gotInh  uint64 // after the check
	}{
		{"everything from a preopen", preopenBase, preopenInh, allRights, allRights, 0, ESUCCESS, preopenInh, preopenInh},
		{"rights no object has are dropped", preopenBase, preopenInh, rightFdRead | 1<<19 | 1<<28, 0, 0, ESUCCESS, rightFdRead, 0},
		{"past the inheriting rights", preopenBase, rightFdRead | rightPathOpen, rightFdWrite, 0, 0, ENOTCAPABLE, 0, 0},
		{"inheriting past the inheriting rights", preopenBase, rightFdRead, rightFdRead, rightFdWrite, 0, ENOTCAPABLE, 0, 0},
		{"no path_open", rightFdReaddir, preopenInh, rightFdRead, 0, 0, ENOTCAPABLE, 0, 0},
		{"O_CREAT without path_create_file", rightPathOpen, preopenInh, rightFdRead, 0, wasip1.OflagsCreat, ENOTCAPABLE, 0, 0},
		{"O_CREAT with it", rightPathOpen | rightPathCreateFile, preopenInh, rightFdRead, 0, wasip1.OflagsCreat, ESUCCESS, rightFdRead, 0},
	} {
		b, i, errno := openRights(tc.base, tc.inh, tc.wantBase, tc.wantIn, tc.oflags)
		if errno != tc.errno || b != tc.gotBase || i != tc.gotInh {
			t.Errorf("%s: got %#x %#x %v, want %#x %#x %v", tc.name, b, i, errno, tc.gotBase, tc.gotInh, tc.errno)
		}
	}
	if b, i := openedRights(wasip1.FiletypeDirectory, preopenInh, preopenInh); b != dirRights || i != preopenInh {
		t.Errorf("a directory got %#x %#x", b, i)
	}
	if b, i := openedRights(wasip1.FiletypeRegularFile, preopenInh, preopenInh); b != fileRights || i != 0 {
		t.Errorf("a file got %#x %#x", b, i)
	}
	if dirRights&fileRights != rightFdFilestatGet|rightFdFilestatSetTimes {
		t.Errorf("directory and file rights share %#x", dirRights&fileRights)
	}
	if dirRights&(rightFdWrite|rightFdRead|rightFdSeek|rightFdFilestatSetSize) != 0 {
		t.Error("a directory can hold a file-only right")
	}
}

// TestSetRights checks that fd_fdstat_set_rights only ever shrinks.
func TestSetRights(t *testing.T) {
	e := &fdEntry{typ: wasip1.FiletypeRegularFile, stream: -1, preopen: -1}
	bm, im := e.rightsMasks()
	if _, _, errno := setRights(rightFdRead, 0, bm, im, rightFdRead|rightFdWrite, 0); errno != ENOTCAPABLE {
		t.Errorf("growing: %v", errno)
	}
	b, i, errno := setRights(rightFdRead|rightFdWrite, 0, bm, im, rightFdRead|rightPathOpen, allRights)
	if errno != ESUCCESS || b != rightFdRead || i != 0 {
		t.Errorf("shrinking a file, asking for rights it cannot hold: %#x %#x %v", b, i, errno)
	}
	d := &fdEntry{typ: wasip1.FiletypeDirectory, stream: -1, preopen: 0}
	bm, im = d.rightsMasks()
	if _, _, errno := setRights(preopenBase, rightFdRead, bm, im, preopenBase, rightFdRead|rightFdWrite); errno != ENOTCAPABLE {
		t.Errorf("growing a directory's inheriting rights: %v", errno)
	}
}
