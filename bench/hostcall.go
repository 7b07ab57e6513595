package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// buildNoop compiles noopC into dir and adds it to progs as "noop", and
// builds wazeroCallGo as progs["wazero_call"].
func buildNoop(dir string, progs map[string]string) error {
	src := filepath.Join(dir, "noop.c")
	if err := os.WriteFile(src, []byte(noopC), 0o644); err != nil {
		return err
	}
	progs["noop"] = filepath.Join(dir, "noop.wasm")
	if b, err := exec.Command("clang", "--target=wasm32", "-O2", "-nostdlib", "-Wl,--no-entry", "-Wl,--strip-all", "-o", progs["noop"], src).CombinedOutput(); err != nil {
		return fmt.Errorf("clang noop.c: %v: %s", err, strings.TrimSpace(string(b)))
	}
	bin, err := buildWazeroCall(dir)
	if err != nil {
		return fmt.Errorf("the wazero baseline program: %w", err)
	}
	progs["wazero_call"] = bin
	return nil
}

// buildWazeroCall builds wazeroCallGo as a program of its own: only
// internal/sandbox imports wazero in isle's module (docs/design.md), so the
// baseline is built beside it, as the Linux baselines are, in a module of
// its own that requires the wazero isle's go.mod names, from the module
// cache (no network: GOPROXY=off).
func buildWazeroCall(dir string) (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	// wazero's own go.mod asks for an older golang.org/x/sys than isle's;
	// requiring isle's as well keeps the build to the versions a fresh
	// module cache holds after isle's own build.
	var require strings.Builder
	for _, m := range []string{"github.com/tetratelabs/wazero", "golang.org/x/sys"} {
		version, err := exec.Command("go", "list", "-C", root, "-m", "-f", "{{.Version}}", m).Output()
		if err != nil {
			return "", fmt.Errorf("go list -m %s: %v", m, err)
		}
		fmt.Fprintf(&require, "require %s %s\n", m, strings.TrimSpace(string(version)))
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return "", err
	}
	src := filepath.Join(dir, "wazerocall")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	files := map[string]string{
		"go.mod":  "module wazerocall\n\ngo 1.24\n\n" + require.String(),
		"go.sum":  string(sum),
		"main.go": wazeroCallGo,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(text), 0o644); err != nil {
			return "", err
		}
	}
	bin := filepath.Join(dir, "wazero_call")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, strings.TrimSpace(string(b)))
	}
	return bin, nil
}

// wazeroCall runs the baseline program: "noop" mode times n calls of
// noop.wasm's import, "wasi" runs callC under wazero's WASI. It returns the
// mean call in ns.
func wazeroCall(bin, mode, wasm string, n int) (float64, error) {
	return first(runNs(bin, mode, wasm, strconv.Itoa(n)))
}

// wazeroCallGo is the baseline program. noop: n calls from wasm to a Go
// host function that writes its result and returns (api.GoModuleFunc,
// wazero's fastest kind). wasi: callC under wazero's own WASI, which
// prints its mean call.
const wazeroCallGo = `package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

func main() {
	if len(os.Args) != 4 {
		fail(fmt.Errorf("usage: wazero_call noop|wasi MODULE N"))
	}
	wasm, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail(err)
	}
	n, err := strconv.Atoi(os.Args[3])
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer r.Close(ctx)
	switch os.Args[1] {
	case "noop":
		_, err = r.NewHostModuleBuilder("env").NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, s []uint64) { s[0] = 0 }),
				[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}).
			Export("f").Instantiate(ctx)
		if err != nil {
			fail(err)
		}
		m, err := r.Instantiate(ctx, wasm)
		if err != nil {
			fail(err)
		}
		start := time.Now()
		if _, err := m.ExportedFunction("run").Call(ctx, uint64(n)); err != nil {
			fail(err)
		}
		fmt.Printf("%.1f\n", float64(time.Since(start).Nanoseconds())/float64(n))
	case "wasi":
		wasi_snapshot_preview1.MustInstantiate(ctx, r)
		var out, errb bytes.Buffer
		cfg := wazero.NewModuleConfig().WithArgs("call", strconv.Itoa(n)).WithStdout(&out).WithStderr(&errb).
			WithSysNanotime().WithSysWalltime()
		if _, err := r.InstantiateWithConfig(ctx, wasm, cfg); err != nil {
			fail(fmt.Errorf("%v: %s", err, strings.TrimSpace(errb.String())))
		}
		fmt.Print(out.String())
	default:
		fail(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "wazero_call:", err)
	os.Exit(1)
}
`
