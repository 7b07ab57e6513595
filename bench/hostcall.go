package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// The floor under Table 1's call row: what a host call costs in wazero
// itself, in this process, with nothing of isle's around it. isle's call is
// a wazero host call plus isle's dispatch (the SIP's record, its memory
// view, the WASI handler), so no isle call can be cheaper than
// wazero_noop_call_ns; wazero_wasi_call_ns is the same args_sizes_get
// through wazero's own WASI, the like-for-like runtime beside isle's.

// noopC loops over an imported no-op: env.f, which the suite defines as a
// Go function that writes its result and returns (wazero's fastest kind of
// host function, api.GoModuleFunc).
const noopC = `__attribute__((import_module("env"), import_name("f"))) int f(int, int);
__attribute__((export_name("run"))) void run(long long n) {
	for (long long i = 0; i < n; i++) f(0, 4);
}
`

// buildNoop compiles noopC into dir and adds it to progs as "noop".
func buildNoop(dir string, progs map[string]string) error {
	src := filepath.Join(dir, "noop.c")
	if err := os.WriteFile(src, []byte(noopC), 0o644); err != nil {
		return err
	}
	progs["noop"] = filepath.Join(dir, "noop.wasm")
	if b, err := exec.Command("clang", "--target=wasm32", "-O2", "-nostdlib", "-Wl,--no-entry", "-Wl,--strip-all", "-o", progs["noop"], src).CombinedOutput(); err != nil {
		return fmt.Errorf("clang noop.c: %v: %s", err, strings.TrimSpace(string(b)))
	}
	return nil
}

// wazeroNoopCall returns the mean ns of n calls from wasm to a no-op Go
// host function, in a wazero runtime (its compiler) of this process.
func wazeroNoopCall(ctx context.Context, wasmPath string, n int) (float64, error) {
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return 0, err
	}
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer r.Close(ctx)
	_, err = r.NewHostModuleBuilder("env").NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, s []uint64) { s[0] = 0 }),
			[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}).
		Export("f").Instantiate(ctx)
	if err != nil {
		return 0, err
	}
	m, err := r.Instantiate(ctx, wasm)
	if err != nil {
		return 0, err
	}
	run := m.ExportedFunction("run")
	if run == nil {
		return 0, fmt.Errorf("noop.wasm exports no run")
	}
	start := time.Now()
	if _, err := run.Call(ctx, uint64(n)); err != nil {
		return 0, err
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n), nil
}

// wazeroWASICall runs callC (progs["call"]) under wazero's own WASI in this
// process and returns the mean call it prints, in ns.
func wazeroWASICall(ctx context.Context, wasmPath string, n int) (float64, error) {
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return 0, err
	}
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	var out, errb bytes.Buffer
	cfg := wazero.NewModuleConfig().WithArgs("call", strconv.Itoa(n)).WithStdout(&out).WithStderr(&errb).
		WithSysNanotime().WithSysWalltime()
	if _, err := r.InstantiateWithConfig(ctx, wasm, cfg); err != nil {
		return 0, fmt.Errorf("%v: %s", err, strings.TrimSpace(errb.String()))
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(out.String()), 64)
	if err != nil {
		return 0, fmt.Errorf("call under wazero printed %q", out.String())
	}
	return v, nil
}
