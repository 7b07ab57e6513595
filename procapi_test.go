package isle_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"isle"
	"isle/internal/testprog"
)

// TestProcessAPI runs a C parent that spawns, waits for and kills children
// through module "isle", and checks the errors it gets.
func TestProcessAPI(t *testing.T) {
	root := testprog.Root(t)
	bin := t.TempDir()
	link := func(src, name string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(bin, name), b, 0o644)
	}
	link(filepath.Join(root, "examples", "hello-c", "hello-c.wasm"), "child.wasm")
	link(testdataC(t, "forever"), "forever.wasm")
	os.WriteFile(filepath.Join(bin, "notwasm.wasm"), []byte("#!/bin/sh\n"), 0o644)
	src, _ := os.ReadFile(filepath.Join(root, "testdata", "procs.c"))
	parent := testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c"))
	for _, cores := range []int{1, 3} {
		cfg := config().WithCores(cores).WithOversubscribe(true).WithDir(isle.Dir{Host: bin, Guest: "/bin"})
		st, out, errs := run(t, cfg, parent, "", "/bin/child.wasm", "/bin/notwasm.wasm", "/bin/forever.wasm")
		if st.Status() != 0 || strings.Contains(out, "FAIL") || strings.Count(out, "ok ") != 13 {
			t.Errorf("%d cores: status %d\n%s%s", cores, st.Status(), out, errs)
		}
	}
}
