// driver runs a WASI command on a one-core isle machine, rewritten for
// preemption or not, for isle bench sched's instruction counts: the suite
// runs it under valgrind --tool=cachegrind, once with -startonly (boot and
// load: compile and, with -rewrite, rewrite; no spawn) and once in full,
// and subtracts.
//
//	driver [-rewrite] [-startonly] [-cache DIR] prog.wasm [args...]
//
// With -cache, the load reads the compiled (and rewritten) module from DIR
// when an earlier run left it there, so that a large module's start-up
// (a Go program's: 7.7G instructions to compile, against 0.5G from the
// cache) does not swamp the count.
//
// The program's output is discarded; a non-zero exit status is an error.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"isle"
)

func main() {
	rewrite := flag.Bool("rewrite", false, "rewrite the module for preemption (isle's default)")
	startOnly := flag.Bool("startonly", false, "boot and load only; do not run the program")
	cache := flag.String("cache", "", "compilation cache directory (none: compile at every run)")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: driver [-rewrite] [-startonly] [-cache DIR] prog.wasm [args...]")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Args()[1:], *rewrite, *startOnly, *cache); err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		os.Exit(1)
	}
}

func run(path string, args []string, rewrite, startOnly bool, cache string) error {
	ctx := context.Background()
	cfg := isle.NewConfig().WithCores(1).WithPreemption(rewrite).WithStdio(nil, io.Discard, os.Stderr)
	if cache != "" {
		cfg = cfg.WithCacheDir(cache)
	}
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		return err
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, path)
	if err != nil {
		return err
	}
	if startOnly {
		return nil
	}
	p, err := m.SpawnOn(prog, append([]string{filepath.Base(path)}, args...), 0)
	if err != nil {
		return err
	}
	if st := p.Wait(); st.Status() != 0 {
		return fmt.Errorf("exit status %d", st.Status())
	}
	return nil
}
