package instrument

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// C compute kernels (testdata/kernels.c) built by clang without libc, once
// plain and once with SIMD auto-vectorization, for the differential test
// and the overhead benchmark.

// cKernel names an export of kernels.c and the arguments to call it with.
type cKernel struct {
	name  string
	test  uint64 // argument for the differential test
	bench uint64 // argument for the benchmark
}

var cKernels = []cKernel{
	{"sieve", 100_000, 1 << 20},
	{"crc32", 10_000, 200_000},
	{"matmul", 40, 64},
	{"quicksort", 20_000, 1 << 16},
	{"collatz", 3_000, 30_000},
	{"dispatch", 100_000, 1_000_000},
	{"memops", 20_000, 1 << 16},
}

// buildCKernels compiles testdata/kernels.c with the given extra flags, or
// skips the test when clang cannot target wasm32 here.
func buildCKernels(t testing.TB, flags ...string) []byte {
	t.Helper()
	clang, err := exec.LookPath("clang")
	if err != nil {
		t.Skip("clang is not installed: skipping the C kernels")
	}
	out := filepath.Join(t.TempDir(), "kernels.wasm")
	args := append([]string{"--target=wasm32", "-O2", "-mbulk-memory", "-nostdlib",
		"-Wl,--no-entry", "-Wl,--export-all", "-o", out, "testdata/kernels.c"}, flags...)
	if msg, err := exec.Command(clang, args...).CombinedOutput(); err != nil {
		t.Skipf("clang cannot build for wasm32 here (%v): skipping the C kernels\n%s", err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

func TestDifferentialCKernels(t *testing.T) {
	for _, variant := range []struct {
		name  string
		flags []string
	}{{"plain", nil}, {"simd", []string{"-msimd128"}}} {
		t.Run(variant.name, func(t *testing.T) {
			orig := buildCKernels(t, variant.flags...)
			for _, k := range cKernels {
				t.Run(k.name, func(t *testing.T) {
					args := [][]uint64{{0}, {1}, {k.test}}
					h := newHarness(t, 0, 0)
					want, wantMem := runExport(t, h, orig, k.name, args)
					for _, fuel := range []int64{2, 1000} {
						h.refill, h.calls = fuel, 0
						got, gotMem := runExport(t, h, mustInstrument(t, orig, testOptions(fuel)), k.name, args)
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("fuel %d: results differ (-original +instrumented):\n%s", fuel, diff)
						}
						for i := range wantMem {
							if i >= len(gotMem) || !bytes.Equal(wantMem[i], gotMem[i]) {
								t.Errorf("fuel %d: memory differs after call %d", fuel, i)
							}
						}
						if h.calls == 0 {
							t.Errorf("fuel %d: the hook was never called", fuel)
						}
					}
				})
			}
		})
	}
}
