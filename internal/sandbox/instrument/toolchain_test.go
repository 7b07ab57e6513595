package instrument

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Real toolchain output: a Go program built with GOOS=wasip1 and a C program
// built with clang for wasm32-wasi run under wazero's own WASI (isle's
// runtime does not use it; the test only needs a host) before and after
// instrumentation, and must print the same and exit with the same status.

// wasiRun is the outcome of running a WASI command.
type wasiRun struct {
	stdout, stderr string
	exit           uint32
}

// runWASI runs wasm's _start with a preempt hook that refills refill fuel,
// and returns the outcome and how often the hook was called.
func runWASI(t *testing.T, wasm []byte, refill int64) (wasiRun, int) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	calls := 0
	_, err := rt.NewHostModuleBuilder(DefaultHookModule).NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, _ []uint64) {
			calls++
			mod.ExportedGlobal(DefaultFuelExport).(api.MutableGlobal).Set(uint64(refill))
		}), nil, nil).Export(DefaultHookName).Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	var stdout, stderr bytes.Buffer
	cfg := wazero.NewModuleConfig().WithStdout(&stdout).WithStderr(&stderr).
		WithArgs("prog", "hello").WithName("")
	var run wasiRun
	_, err = rt.InstantiateModule(ctx, cm, cfg)
	var exit *sys.ExitError
	switch {
	case errors.As(err, &exit):
		run.exit = exit.ExitCode()
	case err != nil:
		t.Fatalf("run: %v", err)
	}
	run.stdout, run.stderr = stdout.String(), stderr.String()
	return run, calls
}

func checkToolchainModule(t *testing.T, wasm []byte) {
	want, _ := runWASI(t, wasm, 0)
	if want.stdout == "" {
		t.Fatalf("the original printed nothing; stderr %q", want.stderr)
	}
	for _, fuel := range []int64{1000, 100_000} {
		out := mustInstrument(t, wasm, testOptions(fuel))
		got, calls := runWASI(t, out, fuel)
		if got != want {
			t.Errorf("fuel %d: got %+v, want %+v", fuel, got, want)
		}
		if calls == 0 {
			t.Errorf("fuel %d: the hook was never called", fuel)
		}
		t.Logf("fuel %d: %d bytes -> %d bytes, %d hook calls", fuel, len(wasm), len(out), calls)
	}
}

func TestToolchainGo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program for wasip1")
	}
	checkToolchainModule(t, buildGoProg(t))
}

// buildGoProg builds testdata/prog.go.txt with GOOS=wasip1 GOARCH=wasm.
func buildGoProg(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/prog.go.txt")
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644))
	must(os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module prog\n\ngo 1.26\n"), 0o644))
	wasmPath := filepath.Join(dir, "prog.wasm")
	cmd := exec.Command("go", "build", "-o", wasmPath, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	wasm, err := os.ReadFile(wasmPath)
	must(err)
	return wasm
}

// BenchmarkOverheadGo runs the Go program's _start, original and
// instrumented (default fuel, a hook that only refills) alternately, and
// reports the fastest run of each and their ratio, as the interleaved rows
// of BenchmarkOverhead do.
func BenchmarkOverheadGo(b *testing.B) {
	wasm := buildGoProg(b)
	inst := mustInstrument(b, wasm, DefaultOptions())
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	_, err := rt.NewHostModuleBuilder(DefaultHookModule).NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, _ []uint64) {
			mod.ExportedGlobal(DefaultFuelExport).(api.MutableGlobal).Set(DefaultFuel)
		}), nil, nil).Export(DefaultHookName).Instantiate(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var cms [2]wazero.CompiledModule
	for i, w := range [][]byte{wasm, inst} {
		if cms[i], err = rt.CompileModule(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
	best := [2]time.Duration{math.MaxInt64, math.MaxInt64}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, cm := range cms {
			start := time.Now()
			_, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStdout(io.Discard).WithStderr(io.Discard))
			var exit *sys.ExitError
			if err != nil && !errors.As(err, &exit) {
				b.Fatal(err)
			}
			best[j] = min(best[j], time.Since(start))
		}
	}
	b.ReportMetric(float64(best[0].Nanoseconds()), "min-orig-ns")
	b.ReportMetric(float64(best[1].Nanoseconds()), "min-instr-ns")
	b.ReportMetric(float64(best[1])/float64(best[0]), "min-x-orig")
}

func TestToolchainC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a C program for wasm32-wasi")
	}
	clang, err := exec.LookPath("clang")
	if err != nil {
		t.Skip("clang is not installed: skipping the C program (needs clang, lld and wasi-libc)")
	}
	wasmPath := filepath.Join(t.TempDir(), "prog.wasm")
	for _, opt := range []string{"-O0", "-O2"} {
		cmd := exec.Command(clang, "--target=wasm32-wasi", opt, "-o", wasmPath, "testdata/prog.c")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("clang cannot build for wasm32-wasi here (%v): skipping the C program\n%s", err, out)
		}
		wasm, err := os.ReadFile(wasmPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(opt, func(t *testing.T) { checkToolchainModule(t, wasm) })
	}
}

// BenchmarkInstrument measures the rewriting itself on the Go program (a
// load-time cost, paid once per module thanks to the compilation cache).
func BenchmarkInstrument(b *testing.B) {
	wasm := buildGoProg(b)
	b.SetBytes(int64(len(wasm)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Instrument(wasm, DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
}
