package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"isle"
)

// cmdDemo builds the Go example from source (it needs only Go), takes the C
// example as committed (a test keeps it current with its source), boots a
// machine and runs both at once, on different cores.
func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	cores := fs.Int("cores", 0, "number of cores (default: one per CPU, at least 2)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: isle demo [--cores N]\n\nbuilds examples/hello for GOOS=wasip1 and runs it beside examples/hello-c\n(run it from the isle source tree)\n\nflags:")
		fs.PrintDefaults()
	}
	if st, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return st
	}
	root, err := sourceRoot()
	if err != nil {
		fmt.Fprintf(stderr, "isle demo: %v\n", err)
		return exitError
	}
	work, err := os.MkdirTemp("", "isle-demo-")
	if err != nil {
		fmt.Fprintf(stderr, "isle demo: %v\n", err)
		return exitError
	}
	defer os.RemoveAll(work)

	goWasm := filepath.Join(work, "hello.wasm")
	fmt.Fprintf(stdout, "== building examples/hello with GOOS=wasip1 GOARCH=wasm\n")
	build := exec.Command("go", "build", "-o", goWasm, "./examples/hello")
	build.Dir = root
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(stderr, "isle demo: go build ./examples/hello: %v\n%s", err, out)
		return exitError
	}
	cWasm := filepath.Join(root, "examples", "hello-c", "hello-c.wasm")

	n := *cores
	if n == 0 {
		n = max(2, isle.HostCPUs())
	}
	cfg := isle.NewConfig().WithCores(n).WithOversubscribe(n > isle.HostCPUs()).
		WithEnv("GREETING=hello from isle").WithCacheDir(defaultCacheDir())
	ctx := context.Background()
	m, err := isle.Boot(ctx, cfg.WithStdio(nil, stdout, stdout))
	if err != nil {
		fmt.Fprintf(stderr, "isle demo: %v\n", err)
		return exitError
	}
	type run struct {
		title string
		path  string
		args  []string
		core  int
		proc  *isle.Process
	}
	runs := []*run{
		{title: "Go", path: goWasm, args: []string{"hello.wasm", "from", "a", "Go", "SIP", "--exit", "0"}, core: 0},
		{title: "C", path: cWasm, args: []string{"hello-c.wasm", "from", "a", "C", "SIP", "--exit", "7"}, core: 1 % n},
	}
	fmt.Fprintf(stdout, "== booting a %d-core machine; the Go program runs on core %d and the C program on core %d, at once\n",
		n, runs[0].core, runs[1].core)
	start := time.Now()
	progs := make([]*isle.Program, len(runs))
	for i, r := range runs {
		progs[i], err = m.Load(ctx, r.path)
		if err != nil {
			m.Stop(ctx)
			fmt.Fprintf(stderr, "isle demo: %v\n", err)
			return exitError
		}
	}
	loaded := time.Since(start)
	for i, r := range runs {
		r.proc, err = m.SpawnOn(progs[i], r.args, r.core)
		if err != nil {
			m.Stop(ctx)
			fmt.Fprintf(stderr, "isle demo: %v\n", err)
			return exitError
		}
	}
	for _, r := range runs {
		st := r.proc.Wait()
		fmt.Fprintf(stdout, "== the %s program (pid %d) exited with status %d\n", r.title, r.proc.PID(), st.Status())
	}
	ran := time.Since(start) - loaded
	m.Stop(ctx)
	fmt.Fprintf(stdout, "== validating and compiling both took %v (compiled code is cached in %s), running both %v\n== per-core counters:\n",
		loaded.Round(time.Millisecond), defaultCacheDir(), ran.Round(time.Millisecond))
	printStats(stdout, m.Stats())
	fmt.Fprintln(stdout, "\nnext: isle run --stats --env GREETING=hi examples/hello-c/hello-c.wasm a b --exit 3")
	return 0
}

// sourceRoot finds the isle source tree: the working directory or one above
// it holding go.mod of module isle.
func sourceRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module isle\n")) {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("run the demo from the isle source tree (it builds examples/hello)")
		}
		dir = up
	}
}
