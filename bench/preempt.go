package bench

import (
	"context"
	"embed"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"isle"
)

// The preemption rows of the sched suite: real C programs of different
// shapes (bench/preempt/*.c: recursion, tight bit loops, an interpreter's
// dispatch loop, matrix kernels, sorting, hashing), built with clang at
// benchmark time, each run on isle with and without the rewriting.
//
// Wall time: runs alternate between the two, and each row is the ratio of
// the medians (preempt_wall_ratio_<prog>); preempt_wall_ratio_median is the
// median of those ratios and of the Go kernels' (preempt_ratio_<kernel>).
//
// Instructions, with ISLE_BENCH_CACHEGRIND=1 (valgrind needed; CI does not
// run it): bench/preempt/driver runs each module on a one-core isle
// machine, with and without the rewriting, under valgrind
// --tool=cachegrind, once in full and once with -startonly (boot and load:
// compile, and rewrite, but no spawn); the difference is the program's own
// instructions, and preempt_instr_ratio_<prog> their ratio. (Only
// internal/sandbox may import wazero, so the driver goes through isle; its
// counts match a bare wazero driver's to within 1%: bits 144.7M against
// 144.6M.) The driver runs with GOGC=off and GOMAXPROCS=2 (the core and
// one more), so that no garbage collection lands in one count and not the
// other: the counts then repeat to within 0.2%.

//go:embed preempt/*.c
var preemptC embed.FS

// Knobs and sizes of the preemption rows.
const (
	envCachegrind = "ISLE_BENCH_CACHEGRIND" // "1": also count instructions under cachegrind
	preemptRuns   = 5                       // wall-time runs of each program in each mode
)

// preemptRows builds and runs the C programs; goRatios are the Go kernels'
// wall-time ratios, measured before, for the median row.
func preemptRows(ctx context.Context, dir string, log io.Writer, goRatios []float64) ([]Row, error) {
	progs, err := buildPreemptC(dir)
	if err != nil {
		return nil, err
	}
	var rows []Row
	ratios := append([]float64(nil), goRatios...)
	logf(log, "sched: preemption on C programs (median of %d runs each)", preemptRuns)
	for _, p := range progs {
		var times [2][]time.Duration
		for rep := 0; rep < preemptRuns; rep++ {
			for mode, preempt := range []bool{false, true} {
				d, err := runOnce(ctx, isle.NewConfig().WithCores(1).WithPreemption(preempt).WithCacheDir(filepath.Join(dir, "cache")), p.path)
				if err != nil {
					return nil, err
				}
				times[mode] = append(times[mode], d)
			}
		}
		orig, pre := medianDuration(times[0]), medianDuration(times[1])
		ratio := float64(pre) / float64(orig)
		ratios = append(ratios, ratio)
		logf(log, "  %-9s original %v, preemptible %v: ×%.3f", p.name, orig.Round(time.Millisecond), pre.Round(time.Millisecond), ratio)
		rows = append(rows,
			Row{Name: "preempt_wall_ms_" + p.name + "_original", Value: round3(float64(orig.Microseconds()) / 1000), Unit: "ms"},
			Row{Name: "preempt_wall_ms_" + p.name + "_rewritten", Value: round3(float64(pre.Microseconds()) / 1000), Unit: "ms"},
			Row{Name: "preempt_wall_ratio_" + p.name, Value: round3(ratio), Unit: "x"})
	}
	rows = append(rows, Row{Name: "preempt_wall_ratio_median", Value: round3(median(ratios)), Unit: "x"})
	if os.Getenv(envCachegrind) != "1" {
		return rows, nil
	}
	more, err := preemptInstructions(dir, progs, log)
	if err != nil {
		return nil, err
	}
	return append(rows, more...), nil
}

type preemptProg struct{ name, path string }

// buildPreemptC compiles bench/preempt/*.c for wasm32-wasi.
func buildPreemptC(dir string) ([]preemptProg, error) {
	files, err := preemptC.ReadDir("preempt")
	if err != nil {
		return nil, err
	}
	var progs []preemptProg
	for _, f := range files {
		name := strings.TrimSuffix(f.Name(), ".c")
		src, err := preemptC.ReadFile("preempt/" + f.Name())
		if err != nil {
			return nil, err
		}
		c := filepath.Join(dir, f.Name())
		out := filepath.Join(dir, name+".wasm")
		if err := os.WriteFile(c, src, 0o644); err != nil {
			return nil, err
		}
		if b, err := exec.Command("clang", "--target=wasm32-wasi", "-O2", "-o", out, c).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("clang %s: %v: %s", f.Name(), err, strings.TrimSpace(string(b)))
		}
		progs = append(progs, preemptProg{name, out})
	}
	return progs, nil
}

// preemptInstructions counts each program's instructions under cachegrind,
// original and rewritten, start-up subtracted.
func preemptInstructions(dir string, progs []preemptProg, log io.Writer) ([]Row, error) {
	driver := filepath.Join(dir, "driver")
	if out, err := exec.Command("go", "build", "-o", driver, "isle/bench/preempt/driver").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build bench/preempt/driver: %v: %s", err, strings.TrimSpace(string(out)))
	}
	logf(log, "sched: instructions under cachegrind, start-up subtracted")
	var rows []Row
	var logSum float64
	for _, p := range progs {
		var n [2]float64
		for mode, flag := range []string{"", "-rewrite"} {
			full, err := cachegrind(driver, flag, "", p.path)
			if err != nil {
				return nil, err
			}
			start, err := cachegrind(driver, flag, "-startonly", p.path)
			if err != nil {
				return nil, err
			}
			n[mode] = full - start
		}
		ratio := n[1] / n[0]
		logSum += math.Log(ratio)
		logf(log, "  %-9s original %.1fM, rewritten %.1fM instructions: ×%.3f", p.name, n[0]/1e6, n[1]/1e6, ratio)
		rows = append(rows,
			Row{Name: "preempt_instr_m_" + p.name + "_original", Value: round3(n[0] / 1e6), Unit: "M"},
			Row{Name: "preempt_instr_m_" + p.name + "_rewritten", Value: round3(n[1] / 1e6), Unit: "M"},
			Row{Name: "preempt_instr_ratio_" + p.name, Value: round3(ratio), Unit: "x"})
	}
	rows = append(rows, Row{Name: "preempt_instr_ratio_geomean", Value: round3(math.Exp(logSum / float64(len(progs)))), Unit: "x"})
	return rows, nil
}

var irefs = regexp.MustCompile(`I\s+refs:\s+([\d,]+)`)

// cachegrind runs the driver under cachegrind and returns the instructions
// it executed.
func cachegrind(driver, rewrite, startOnly, wasm string) (float64, error) {
	args := []string{"--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", driver}
	for _, a := range []string{rewrite, startOnly} {
		if a != "" {
			args = append(args, a)
		}
	}
	cmd := exec.Command("valgrind", append(args, wasm)...)
	cmd.Env = append(os.Environ(), "GOGC=off", "GOMAXPROCS=2")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("valgrind %s: %v: %s", strings.Join(args, " "), err, lastLine(out))
	}
	m := irefs.FindStringSubmatch(string(out))
	if m == nil {
		return 0, fmt.Errorf("valgrind printed no instruction count: %s", lastLine(out))
	}
	return strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
}

func medianDuration(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
