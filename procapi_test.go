package isle_test

import (
	"context"
	"fmt"
	"io"
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
	parent := guestC(t, "testdata", "procs.c")
	for _, cores := range []int{1, 3} {
		cfg := config().WithCores(cores).WithOversubscribe(true).WithDir(isle.Dir{Host: bin, Guest: "/bin"})
		st, out, errs := run(t, cfg, parent, "", "/bin/child.wasm", "/bin/notwasm.wasm", "/bin/forever.wasm")
		if st.Status() != 0 || strings.Contains(out, "FAIL") || strings.Count(out, "ok ") != 13 {
			t.Errorf("%d cores: status %d\n%s%s", cores, st.Status(), out, errs)
		}
	}
}

// TestSpinParent runs examples/spin-parent: a C parent spawns spinners with
// nice -5, 0 and 5, which sleep until a common start and spin for a second;
// it prints their shares, which must fall in the order of their nice values
// (the weight-exact shares are checked in sched_test.go). The children are
// C: Go spinners (examples/spin) get shares off their weights in some runs,
// which is not understood yet (see the issue notes).
func TestSpinParent(t *testing.T) {
	bin := t.TempDir()
	spin, err := os.ReadFile(testdataC(t, "spinchild"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bin, "spin.wasm"), spin, 0o644)
	parent := guestC(t, "examples", "spin-parent", "parent.c")
	cfg := config().WithCores(1).WithDir(isle.Dir{Host: bin, Guest: "/bin"})
	st, out, errs := run(t, cfg, parent, "", "/bin/spin.wasm", "1000", "-5", "0", "5")
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

// TestProcessTableRecordsChildren: with the process table on, children
// spawned through module "isle" are listed with their parent.
func TestProcessTableRecordsChildren(t *testing.T) {
	root := testprog.Root(t)
	bin := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(root, "bench", "testdata", "true.wasm"))
	os.WriteFile(filepath.Join(bin, "true.wasm"), b, 0o644)
	parent := testprog.C(t, `#include <string.h>
#include "isle_proc.h"
int main(void) {
	for (int i = 0; i < 3; i++) {
		uint32_t pid, st; uint64_t cpu;
		if (isle_proc_spawn("/bin/true.wasm", 14, "true", 5, 0, &pid)) return 1;
		if (isle_proc_wait(pid, &st, &cpu) || st) return 2;
	}
	return 0;
}
`, "-I", filepath.Join(root, "guest", "c"))
	for _, mode := range []string{"procs=replicated", "procs=shared"} {
		tc, err := isle.ParseTables(mode)
		if err != nil {
			t.Fatal(err)
		}
		cfg := config().WithCores(2).WithOversubscribe(true).WithTables(tc).
			WithDir(isle.Dir{Host: bin, Guest: "/bin"}).WithStdio(nil, io.Discard, io.Discard)
		st, _, procs, err := isle.RunListing(context.Background(), cfg, parent, nil)
		if err != nil || st.Status() != 0 {
			t.Fatalf("%s: %v %+v", mode, err, st)
		}
		children := 0
		for _, p := range procs {
			if p.Parent == 1 {
				children++
			}
		}
		if len(procs) != 4 || children != 3 {
			t.Errorf("%s: process table %+v: want the parent and its 3 children", mode, procs)
		}
	}
}
