package isle_test

import (
	"fmt"
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

// TestSpinParent runs examples/spin-parent: a C parent spawns Go spinners
// with nice -5, 0 and 5, which sleep until a common start and spin for a
// second; it prints their shares, which must fall in the order of their nice
// values (the weight-exact shares are checked in sched_test.go).
func TestSpinParent(t *testing.T) {
	root := testprog.Root(t)
	bin := t.TempDir()
	spin, err := os.ReadFile(testprog.Go(t, "./examples/spin"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bin, "spin.wasm"), spin, 0o644)
	src, _ := os.ReadFile(filepath.Join(root, "examples", "spin-parent", "parent.c"))
	parent := testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c"))
	cfg := config().WithCores(1).WithDir(isle.Dir{Host: bin, Guest: "/bin"})
	st, out, errs := run(t, cfg, parent, "", "/bin/spin.wasm", "1s", "-5", "0", "5")
	t.Logf("\n%s", out)
	if st.Status() != 0 {
		t.Fatalf("status %d: %s", st.Status(), errs)
	}
	var shares []float64
	for _, line := range strings.Split(out, "\n") {
		var i, pid, nice int
		var share float64
		if n, _ := fmt.Sscanf(line, "child %d (pid %d, nice %d): %f%% of the CPU", &i, &pid, &nice, &share); n == 4 {
			shares = append(shares, share)
		}
	}
	if len(shares) != 3 || !(shares[0] > shares[1] && shares[1] > shares[2]) {
		t.Errorf("shares %v: want three, decreasing with nice", shares)
	}
}
