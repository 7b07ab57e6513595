package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"isle"
)

// The self-load's shape: the requests each run makes (examples/httpd/go's
// HTTPD_SELFLOAD), and the runs per runtime, the best of which is kept.
const (
	selfLoadRequests = 2000
	selfLoadRounds   = 3
)

// selfLoadRun runs the Go server's self-load once and returns what it
// printed.
type selfLoadRun struct {
	name string
	run  func() (string, error)
}

// goSelfLoadRows times examples/httpd/go serving n requests
// of the small page to itself over in-memory pipes (no sockets, no
// poll_oneoff), as one module built for wasip1, under wazero's command line
// and on a one-core isle machine, and built natively and pinned to one CPU
// with GOMAXPROCS=1 (a wasip1 program has one thread), in the same run, the
// three interleaved round by round, rounds times (the best is kept). The rows say how far isle is from its
// runtime and the runtime from native; wazero v1.12 cannot serve the module
// from a socket (docs/web.md), hence pipes.
func goSelfLoadRows(log io.Writer, dir, wasm, native, site string, cpu, n, rounds int) []Row {
	env := []string{"HTTPD_SELFLOAD=" + strconv.Itoa(n)}
	runs := []selfLoadRun{{"native", func() (string, error) {
		args := []string{native, site}
		if ts, err := exec.LookPath("taskset"); err == nil {
			args = append([]string{ts, "-c", strconv.Itoa(cpu)}, args...)
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), append(env, "GOMAXPROCS=1")...)
		return commandOutput(cmd)
	}}}
	if wz, err := wazeroBinary(dir); err == nil {
		cache := filepath.Join(dir, "wazero-cache")
		runs = append(runs, selfLoadRun{"wazero", func() (string, error) {
			return commandOutput(exec.Command(wz, "run", "-cachedir", cache, "-env", env[0], "-mount", site+":/www", wasm, "/www"))
		}})
	} else {
		logf(log, "web: no go_selfload_wazero rows: %v", err)
	}
	cache := filepath.Join(dir, "isle-cache")
	runs = append(runs, selfLoadRun{"isle", func() (string, error) {
		var out, errb bytes.Buffer
		cfg := isle.NewConfig().WithCores(1).WithOversubscribe(true).WithCacheDir(cache).WithEnv(env[0]).
			WithDir(isle.Dir{Host: site, Guest: "/www"}).WithStdio(nil, &out, &errb)
		if err := os.MkdirAll(cache, 0o755); err != nil {
			return "", err
		}
		st, _, err := isle.Run(context.Background(), cfg, wasm, []string{"/www"})
		if err == nil && st.Status() != 0 {
			err = fmt.Errorf("exit %d: %s", st.Status(), lastLine(errb.Bytes()))
		}
		return out.String(), err
	}})

	best := map[string]time.Duration{}
	for round := 0; round < rounds; round++ {
		for _, r := range runs {
			out, err := r.run()
			var d time.Duration
			if err == nil {
				d, err = parseSelfLoad(out, n)
			}
			if err != nil {
				logf(log, "web: go_selfload_%s: %v (no go_selfload_%s rows)", r.name, err, r.name)
				return nil
			}
			if b, ok := best[r.name]; !ok || d < b {
				best[r.name] = d
			}
		}
	}
	rate := func(name string) float64 { return float64(n) / best[name].Seconds() }
	var rows []Row
	for _, r := range runs {
		logf(log, "web: go_selfload_%-8s %8.0f req/s", r.name, rate(r.name))
		rows = append(rows, Row{"go_selfload_" + r.name + "_req_per_s", round3(rate(r.name)),
			fmt.Sprintf("req/s (%d requests over pipes, 8 clients, 1 CPU; best of %d)", n, rounds)})
	}
	if _, ok := best["wazero"]; ok {
		rows = append(rows,
			Row{"go_selfload_wazero_over_native", round3(rate("wazero") / rate("native")), "x (the runtime's cost)"},
			Row{"go_selfload_isle_over_wazero", round3(rate("isle") / rate("wazero")), "x (isle's cost over its runtime)"})
	}
	return append(rows, Row{"go_selfload_isle_over_native", round3(rate("isle") / rate("native")), "x"})
}

// commandOutput runs cmd and returns its stdout, or an error with its stderr's
// last line.
func commandOutput(cmd *exec.Cmd) (string, error) {
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, lastLine(errb.Bytes()))
	}
	return string(out), nil
}

var selfLoadLine = regexp.MustCompile(`(?m)^selfload: (\d+) requests in (\d+) ns$`)

// parseSelfLoad reads the self-load's line, which must count n requests.
func parseSelfLoad(out string, n int) (time.Duration, error) {
	m := selfLoadLine.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no selfload line in %q", out)
	}
	if got, _ := strconv.Atoi(m[1]); got != n {
		return 0, fmt.Errorf("self-load made %d requests, want %d", got, n)
	}
	ns, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil || ns <= 0 {
		return 0, fmt.Errorf("bad selfload line %q", m[0])
	}
	return time.Duration(ns), nil
}
