package bench

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"isle"
	"isle/internal/trace"
	"isle/internal/wasmbin"
)

//go:embed linux/yield_pingpong.c
var yieldPingPongC []byte

//go:embed linux/fork_exec_wait.c
var forkExecWaitC []byte

//go:embed testdata/true.wasm
var trueWasm []byte

// Sched measures what scheduling costs, beside Linux doing the same:
// preemption's rewriting against the original modules, a yield between two
// SIPs on one core against sched_yield between two threads on one CPU, and
// spawning a SIP to its exit against fork+exec+wait.
func Sched(log io.Writer) ([]Row, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "isle-bench-sched-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rows, goRatios, err := preemptKernelRows(ctx, dir, log)
	if err != nil {
		return nil, err
	}
	more, err := preemptRows(ctx, dir, log, goRatios)
	if err != nil {
		return nil, err
	}
	rows = append(rows, more...)
	sipYield, linuxYield, err := yieldRoundTrips(ctx, dir)
	if err != nil {
		return nil, err
	}
	rows = append(rows,
		Row{Name: "sip_yield_roundtrip_ns", Value: round3(sipYield), Unit: "ns"},
		Row{Name: "linux_sched_yield_roundtrip_ns", Value: linuxYield, Unit: "ns"})

	// Spawn a small C program, run it to its exit and reap it.
	spawnUS, err := spawnExit(ctx, 200)
	if err != nil {
		return nil, err
	}
	rows = append(rows, Row{Name: "sip_spawn_exit_us", Value: round3(spawnUS), Unit: "us"})
	forkUS, err := runC(dir, "fork_exec_wait", forkExecWaitC, nil, "200")
	if err != nil {
		return nil, err
	}
	rows = append(rows, Row{Name: "linux_fork_exec_wait_us", Value: forkUS, Unit: "us"})

	rows = append(rows,
		Row{Name: "linux_yield_vs_sip_yield_ratio", Value: round3(linuxYield / sipYield), Unit: "x"},
		Row{Name: "linux_spawn_vs_sip_spawn_ratio", Value: round3(forkUS / spawnUS), Unit: "x"},
	)
	wasted, err := spinnersTimeline(ctx, dir, log)
	if err != nil {
		return nil, err
	}
	rows = append(rows, Row{Name: "demo_spinners_wasted_intervals", Value: float64(wasted), Unit: "intervals (target 0)"})
	return rows, nil
}

// preemptKernelRows measures preemption's overhead: the same Go compute
// kernels (bench/kernels) with and without the rewriting, alternating,
// best of several runs each. It returns a ratio row per kernel, their
// geometric mean as a percentage, and the ratios.
func preemptKernelRows(ctx context.Context, dir string, log io.Writer) ([]Row, []float64, error) {
	kernels := filepath.Join(dir, "kernels.wasm")
	build := exec.Command("go", "build", "-o", kernels, "isle/bench/kernels")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("go build bench/kernels: %v: %s", err, strings.TrimSpace(string(out)))
	}
	logf(log, "sched: preemption overhead on compute kernels")
	logSum := 0.0
	names := []string{"sort", "sha", "matmul", "fib", "sieve"}
	var rows []Row
	var goRatios []float64
	for _, k := range names {
		var best [2]time.Duration
		for rep := 0; rep < 3; rep++ {
			for mode, preempt := range []bool{false, true} {
				d, err := runOnce(ctx, isle.NewConfig().WithCores(1).WithPreemption(preempt).WithCacheDir(filepath.Join(dir, "cache")), kernels, k)
				if err != nil {
					return nil, nil, err
				}
				if best[mode] == 0 || d < best[mode] {
					best[mode] = d
				}
			}
		}
		ratio := float64(best[1]) / float64(best[0])
		logf(log, "  %-7s original %v, preemptible %v: ×%.3f", k, best[0].Round(time.Millisecond), best[1].Round(time.Millisecond), ratio)
		logSum += math.Log(ratio)
		goRatios = append(goRatios, ratio)
		rows = append(rows, Row{Name: "preempt_ratio_" + k, Value: round3(ratio), Unit: "x"})
	}
	rows = append(rows, Row{Name: "preempt_overhead_pct", Value: round3(100 * (math.Exp(logSum/float64(len(names))) - 1)), Unit: "%"})
	return rows, goRatios, nil
}

// yieldRoundTrips measures a yield round trip between two SIPs on one
// core (best of three) and between two threads on one Linux CPU, in ns.
func yieldRoundTrips(ctx context.Context, dir string) (sip, linux float64, err error) {
	yielder := filepath.Join(dir, "yield.wasm")
	const yields = 200_000
	if err := os.WriteFile(yielder, yieldModule(), 0o644); err != nil {
		return 0, 0, err
	}
	var sipYield time.Duration
	for rep := 0; rep < 3; rep++ {
		d, err := yieldPair(ctx, yielder, yields)
		if err != nil {
			return 0, 0, err
		}
		if sipYield == 0 || d < sipYield {
			sipYield = d
		}
	}
	linux, err = runC(dir, "yield_pingpong", yieldPingPongC, []string{"-pthread"}, strconv.Itoa(yields), "0")
	if err != nil {
		return 0, 0, err
	}
	return float64(sipYield.Nanoseconds()) / yields, linux, nil
}

// The demo's spinners (isle demo): four CPU-bound SIPs started on core 0,
// which preemption and balancing spread over the cores.
const (
	demoSpinners = 4
	demoSpinFor  = "300ms"
)

// spinnersTimeline runs the demo's spinners on a machine of every host CPU
// (two at least) with tracing on, draws from the trace which one ran on
// which core when (sched-timeline.png), and returns the wasted-core
// intervals the machine counted meanwhile.
func spinnersTimeline(ctx context.Context, dir string, log io.Writer) (uint64, error) {
	spin := filepath.Join(dir, "spin.wasm")
	build := exec.Command("go", "build", "-o", spin, "isle/examples/spin")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build examples/spin: %v: %s", err, strings.TrimSpace(string(out)))
	}
	var tr, out bytes.Buffer
	cores := max(isle.HostCPUs(), 2)
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(cores).WithOversubscribe(true).WithCacheDir(filepath.Join(dir, "cache")).
		WithStdio(strings.NewReader(""), &out, &out).WithTrace(&tr, 0))
	if err != nil {
		return 0, err
	}
	prog, err := m.Load(ctx, spin)
	if err != nil {
		m.Stop(ctx)
		return 0, err
	}
	names := map[int64]string{}
	var ps []*isle.Process
	for i := range demoSpinners {
		p, err := m.SpawnOn(prog, []string{"spin.wasm", demoSpinFor, fmt.Sprintf("spinner %d", i)}, 0)
		if err != nil {
			m.Stop(ctx)
			return 0, err
		}
		names[p.PID()] = fmt.Sprintf("spinner %d", i)
		ps = append(ps, p)
	}
	for _, p := range ps {
		if st := p.Wait(); st.Status() != 0 {
			m.Stop(ctx)
			return 0, fmt.Errorf("a spinner exited with %d: %s", st.Status(), out.String())
		}
	}
	m.Stop(ctx)
	if err := m.TraceErr(); err != nil {
		return 0, err
	}
	var wasted uint64
	for _, c := range m.Stats() {
		wasted += c.WastedIntervals
	}
	d, err := trace.Decode(tr.Bytes())
	if err != nil {
		return 0, err
	}
	title := fmt.Sprintf("isle bench sched: %d spinners started on core 0 of %d, who ran where", demoSpinners, cores)
	return wasted, timelinePlot(log, d, title, names)
}

// runOnce boots a machine, runs one program to its end and returns the time
// from spawn to exit (compilation excluded).
func runOnce(ctx context.Context, cfg isle.Config, path string, args ...string) (time.Duration, error) {
	m, err := isle.Boot(ctx, cfg.WithStdio(nil, io.Discard, io.Discard))
	if err != nil {
		return 0, err
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, path)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	p, err := m.SpawnOn(prog, append([]string{filepath.Base(path)}, args...), 0)
	if err != nil {
		return 0, err
	}
	if st := p.Wait(); st.Status() != 0 {
		return 0, fmt.Errorf("%s %v: exit status %d", path, args, st.Status())
	}
	return time.Since(start), nil
}

// yieldPair runs two yielders on one core and returns the time both took.
func yieldPair(ctx context.Context, path string, n int) (time.Duration, error) {
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithStdio(nil, io.Discard, io.Discard))
	if err != nil {
		return 0, err
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, path)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	var procs []*isle.Process
	for i := 0; i < 2; i++ {
		p, err := m.SpawnOn(prog, []string{"yield", strconv.Itoa(n)}, 0)
		if err != nil {
			return 0, err
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		if st := p.Wait(); st.Status() != 0 {
			return 0, fmt.Errorf("yielder: exit status %d", st.Status())
		}
	}
	return time.Since(start), nil
}

// spawnExit spawns bench/testdata/true.c n times on a booted machine, each run to
// its exit and reaped before the next, and returns the mean in µs.
func spawnExit(ctx context.Context, n int) (float64, error) {
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithStdio(nil, io.Discard, io.Discard))
	if err != nil {
		return 0, err
	}
	defer m.Stop(ctx)
	prog, err := m.LoadBytes(ctx, "true.wasm", trueWasm)
	if err != nil {
		return 0, err
	}
	best := time.Duration(0)
	for rep := 0; rep < 3; rep++ {
		start := time.Now()
		for i := 0; i < n; i++ {
			p, err := m.SpawnOn(prog, []string{"true"}, 0)
			if err != nil {
				return 0, err
			}
			p.Wait()
		}
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
	}
	return float64(best.Microseconds()) / float64(n), nil
}

// runC compiles a C baseline with the system's cc and returns the number it
// prints.
func runC(dir, name string, src []byte, flags []string, args ...string) (float64, error) {
	cfile := filepath.Join(dir, name+".c")
	bin := filepath.Join(dir, name)
	if err := os.WriteFile(cfile, src, 0o644); err != nil {
		return 0, err
	}
	cc := append(append([]string{"-O2"}, flags...), "-o", bin, cfile)
	if out, err := exec.Command("cc", cc...).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("cc %s.c: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	best := 0.0
	for rep := 0; rep < 3; rep++ {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			return 0, fmt.Errorf("%s: %v", name, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		if err != nil {
			return 0, fmt.Errorf("%s printed %q", name, out)
		}
		if rep == 0 || v < best {
			best = v
		}
	}
	return best, nil
}

// yieldModule assembles a WASI command that calls sched_yield 200,000 times
// (Sched's yields) and exits.
func yieldModule() []byte {
	m := []byte(wasmbin.Header)
	// types: 0 () -> i32 (sched_yield), 1 () -> ()
	m = wasmbin.Section(m, 1, []byte{2, 0x60, 0, 1, wasmbin.I32, 0x60, 0, 0})
	imp := wasmbin.Name(wasmbin.Name([]byte{1}, "wasi_snapshot_preview1"), "sched_yield")
	m = wasmbin.Section(m, 2, append(imp, 0, 0))
	m = wasmbin.Section(m, 3, []byte{1, 1})
	m = wasmbin.Section(m, 5, []byte{1, 0, 1})
	exp := append(wasmbin.Name([]byte{2}, "_start"), 0, 1)
	m = wasmbin.Section(m, 7, append(wasmbin.Name(exp, "memory"), 2, 0))
	// _start: local i32; loop { call yield; drop; local += 1; br_if local < 200000 }
	body := []byte{1, 1, wasmbin.I32,
		0x03, 0x40,
		0x10, 0x00, 0x1A,
		0x20, 0x00, 0x41, 0x01, 0x6A, 0x22, 0x00,
		0x41}
	body = wasmbin.SLEB(body, 200_000)
	body = append(body, 0x48, 0x0D, 0x00, 0x0B, 0x0B)
	return wasmbin.Section(m, 10, append(wasmbin.ULEB([]byte{1}, uint64(len(body))), body...))
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
