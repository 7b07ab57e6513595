// driver runs a WASI command under wazero, as it is or rewritten for
// preemption, for isle bench sched's instruction counts: the suite runs it
// under valgrind --tool=cachegrind, once with -startonly (compile and
// instantiate, no _start) and once in full, and subtracts.
//
//	driver [-rewrite] [-startonly] prog.wasm [args...]
//
// With -rewrite the module is rewritten with isle's options and a hook that
// refills the fuel, as isle's sandbox does (sandbox.DefaultFuel); the
// program's output is discarded, and a non-zero exit status is an error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"isle/internal/sandbox"
	"isle/internal/sandbox/instrument"
)

func main() {
	rewrite := flag.Bool("rewrite", false, "rewrite the module for preemption first")
	startOnly := flag.Bool("startonly", false, "compile and instantiate only; do not run _start")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: driver [-rewrite] [-startonly] prog.wasm [args...]")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Args()[1:], *rewrite, *startOnly); err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		os.Exit(1)
	}
}

func run(path string, args []string, rewrite, startOnly bool) error {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	opts := instrument.DefaultOptions()
	opts.InitialFuel = sandbox.DefaultFuel
	if rewrite {
		if wasm, err = instrument.Instrument(wasm, opts); err != nil {
			return err
		}
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	_, err = rt.NewHostModuleBuilder(opts.HookModule).NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, _ []uint64) {
			mod.ExportedGlobal(opts.FuelExport).(api.MutableGlobal).Set(uint64(opts.InitialFuel))
		}), nil, nil).Export(opts.HookName).Instantiate(ctx)
	if err != nil {
		return err
	}
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return err
	}
	cfg := wazero.NewModuleConfig().WithStdout(io.Discard).WithStderr(os.Stderr).
		WithArgs(append([]string{path}, args...)...).WithStartFunctions()
	mod, err := rt.InstantiateModule(ctx, cm, cfg)
	if err != nil {
		return err
	}
	if startOnly {
		return nil
	}
	_, err = mod.ExportedFunction("_start").Call(ctx)
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		if exit.ExitCode() != 0 {
			return fmt.Errorf("exit status %d", exit.ExitCode())
		}
		return nil
	}
	return err
}
