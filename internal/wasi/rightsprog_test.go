package wasi_test

import (
	"os"
	"path/filepath"
	"testing"

	"isle"
)

// TestRights runs testdata/wasi/rights.c: a preopen reports wasmtime's
// directory rights; requested rights are an upper bound reduced to what the
// object supports; ENOTCAPABLE past a directory's inheriting rights; rights
// only shrink; path_link with and without SYMLINK_FOLLOW.
func TestRights(t *testing.T) {
	dir := t.TempDir()
	out, st := runProg(t, cProg(t, "rights.c"), []isle.Dir{{Host: dir, Guest: "/d"}})
	if st != 0 {
		t.Errorf("exit status %d", st)
	}
	golden(t, "rights.out", out)
	if fi, err := os.Stat(filepath.Join(dir, "l2")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("l2 (linked through a symlink) is not the regular file: %v %v", fi, err)
	}
}
