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
	"strconv"
	"time"

	"isle"
	"isle/internal/toolchain"
)

// cmdDemo builds the Go examples from source (it needs only Go), takes the C
// example as committed (a test keeps it current with its source), builds the
// Rust one if a rustc for wasm32-wasi is there (else takes it as committed), boots a
// machine and runs the hellos at once on different cores, then spinners that
// balancing spreads, then a ping-pong over a channel across two cores.
func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	cores := fs.Int("cores", 0, "number of cores (default: one per CPU, at least 2)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: isle demo [--cores N]\n\nbuilds examples/hello, examples/spin and examples/pingpong for GOOS=wasip1 (and\nexamples/hello-rust when a rustc for wasm32-wasi is installed) and runs them beside\nexamples/hello-c (run it from the isle source tree)\n\nflags:")
		fs.PrintDefaults()
	}
	if st, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return st
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "isle demo: %s\n", flagError(err))
		return exitError
	}
	root, err := sourceRoot()
	if err != nil {
		return fail(err)
	}
	work, err := os.MkdirTemp("", "isle-demo-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(work)
	w, err := buildDemo(root, work, stdout)
	if err != nil {
		return fail(err)
	}
	rust, ok := buildHelloRust(root, work, stdout, stderr)
	if !ok {
		return exitError
	}
	w.rust = rust

	n := *cores
	if n == 0 {
		n = max(2, isle.HostCPUs())
	}
	cfg := isle.NewConfig().WithCores(n).WithOversubscribe(n > isle.HostCPUs()).
		WithEnv("GREETING=hello from isle").WithCacheDir(defaultCacheDir())
	ctx := context.Background()
	m, err := isle.Boot(ctx, cfg.WithStdio(nil, stdout, stdout))
	if err != nil {
		return fail(err)
	}
	for _, part := range []func(context.Context, *isle.Machine, demoWasm, int, io.Writer) error{demoHellos, demoSpinners, demoPingPong} {
		if err := part(ctx, m, w, n, stdout); err != nil {
			m.Stop(ctx)
			return fail(err)
		}
	}
	sw, msgs, maxErr := m.Totals()
	fmt.Fprintf(stdout, "== machine totals, read while it runs from per-core sloppy counters (each may be short by up to %d): %d switches, %d messages\n", maxErr, sw, msgs)
	m.Stop(ctx)
	fmt.Fprintf(stdout, "== per-core counters:\n")
	printStats(stdout, m.Stats())
	fmt.Fprintln(stdout, "\n(migrated-in/out: spinners moved by messages between cores; wasted: intervals over 10 ms in which a")
	fmt.Fprintln(stdout, " core idled while SIPs waited elsewhere; preempted: slices ended by isle, not by the program)")
	fmt.Fprintln(stdout, "\nnext: isle run --stats --env GREETING=hi examples/hello-c/hello-c.wasm a b --exit 3")
	return 0
}

// demoWasm are the demo's programs, built (or found) before the machine boots.
type demoWasm struct {
	hello, c, rust, spin, ppServer, ppClient string
}

// buildDemo builds the demo's Go programs for wasip1 into work.
func buildDemo(root, work string, stdout io.Writer) (demoWasm, error) {
	w := demoWasm{
		hello:    filepath.Join(work, "hello.wasm"),
		spin:     filepath.Join(work, "spin.wasm"),
		ppServer: filepath.Join(work, "pingpong-server.wasm"),
		ppClient: filepath.Join(work, "pingpong-client.wasm"),
		c:        filepath.Join(root, "examples", "hello-c", "hello-c.wasm"),
	}
	for _, b := range [][2]string{
		{"./examples/hello", w.hello}, {"./examples/spin", w.spin},
		{"./examples/pingpong/server", w.ppServer}, {"./examples/pingpong/client", w.ppClient},
	} {
		fmt.Fprintf(stdout, "== building %s with GOOS=wasip1 GOARCH=wasm\n", b[0])
		build := exec.Command("go", "build", "-o", b[1], b[0])
		build.Dir = root
		build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, err := build.CombinedOutput(); err != nil {
			return w, fmt.Errorf("go build %s: %v\n%s", b[0], err, out)
		}
	}
	return w, nil
}

// demoHellos runs the Go, C and Rust hellos at once, on three cores.
func demoHellos(ctx context.Context, m *isle.Machine, w demoWasm, n int, stdout io.Writer) error {
	runs := []struct {
		title, path string
		args        []string
		core        int
	}{
		{"Go", w.hello, []string{"hello.wasm", "from", "a", "Go", "SIP", "--exit", "0"}, 0},
		{"C", w.c, []string{"hello-c.wasm", "from", "a", "C", "SIP", "--exit", "7"}, 1 % n},
		{"Rust", w.rust, []string{"hello-rust.wasm", "from", "a", "Rust", "SIP", "--exit", "5"}, 2 % n},
	}
	fmt.Fprintf(stdout, "== booting a %d-core machine; the Go program runs on core %d, the C program on core %d and the Rust program on core %d, at once\n",
		n, runs[0].core, runs[1].core, runs[2].core)
	start := time.Now()
	progs := make([]*isle.Program, len(runs))
	for i, r := range runs {
		var err error
		if progs[i], err = m.Load(ctx, r.path); err != nil {
			return err
		}
	}
	loaded := time.Since(start)
	procs := make([]*isle.Process, len(runs))
	for i, r := range runs {
		var err error
		if procs[i], err = m.SpawnOn(progs[i], r.args, r.core); err != nil {
			return err
		}
	}
	for i, p := range procs {
		st := p.Wait()
		fmt.Fprintf(stdout, "== the %s program (pid %d) exited with status %d\n", runs[i].title, p.PID(), st.Status())
	}
	ran := time.Since(start) - loaded
	fmt.Fprintf(stdout, "== validating and compiling the three took %v (compiled code is cached in %s), running them %v\n",
		loaded.Round(time.Millisecond), defaultCacheDir(), ran.Round(time.Millisecond))
	return nil
}

// demoSpinners runs four spinners that never make a system call, all
// started on core 0: preemption shares each core, balancing spreads them
// over the cores.
func demoSpinners(ctx context.Context, m *isle.Machine, w demoWasm, n int, stdout io.Writer) error {
	spin, err := m.Load(ctx, w.spin)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "== four CPU-bound spinners, all started on core 0, for 1s each:\n")
	var spinners []*isle.Process
	for i := 0; i < 4; i++ {
		p, err := m.SpawnOn(spin, []string{"spin.wasm", "1s", fmt.Sprintf("spinner %d", i)}, 0)
		if err != nil {
			return err
		}
		spinners = append(spinners, p)
	}
	for _, p := range spinners {
		p.Wait()
	}
	for i, p := range spinners {
		fmt.Fprintf(stdout, "   spinner %d had %v of CPU\n", i, p.CPUTime().Round(time.Millisecond))
	}
	return nil
}

// demoPingPong: two SIPs on two cores talk over a channel, every message
// checked against the contract, each waiting SIP polling its core's rings.
func demoPingPong(ctx context.Context, m *isle.Machine, w demoWasm, n int, stdout io.Writer) error {
	other := 1 % n
	fmt.Fprintf(stdout, "== a Go SIP on core %d pings one on core %d %d times over a PingPong channel (examples/pingpong):\n", other, 0, demoPings)
	var pp [2]*isle.Process
	for i, b := range []struct {
		path string
		args []string
		core int
	}{
		{w.ppServer, []string{"pingpong-server.wasm", "1"}, 0},
		{w.ppClient, []string{"pingpong-client.wasm", strconv.Itoa(demoPings)}, other},
	} {
		prog, err := m.Load(ctx, b.path)
		if err == nil {
			pp[i], err = m.SpawnOn(prog, b.args, b.core)
		}
		if err != nil {
			return err
		}
	}
	for _, p := range pp {
		if st := p.Wait(); st.Status() != 0 {
			fmt.Fprintf(stdout, "   (pid %d exited with status %d)\n", p.PID(), st.Status())
		}
	}
	fmt.Fprintf(stdout, "   (isle bench ipc measures this, in C, beside a Linux pipe between two processes)\n")
	return nil
}

// buildHelloRust builds examples/hello-rust with a rustc that has the
// wasm32-wasi standard library (Debian's), or, without one, takes the
// committed hello-rust.wasm (a test keeps it current with its source).
func buildHelloRust(root, work string, stdout, stderr io.Writer) (string, bool) {
	rustc, target, ok := toolchain.RustC()
	if !ok {
		fmt.Fprintf(stdout, "== no rustc with wasm32-wasi (%s): taking the committed examples/hello-rust/hello-rust.wasm\n", toolchain.RustInstall)
		return filepath.Join(root, "examples", "hello-rust", "hello-rust.wasm"), true
	}
	out := filepath.Join(work, "hello-rust.wasm")
	fmt.Fprintf(stdout, "== building examples/hello-rust with %s --target %s\n", rustc, target)
	build := exec.Command(rustc, toolchain.RustArgs(target, filepath.Join("examples", "hello-rust", "hello.rs"), out)...)
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(stderr, "isle demo: %s: %v\n%s", rustc, err, b)
		return "", false
	}
	return out, true
}

// demoPings is how many round trips the demo's ping-pong makes.
const demoPings = 20000

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
