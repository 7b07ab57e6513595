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

// selfLoadRun runs the Go server's self-load once, with env added to its
// environment, and returns what it printed.
type selfLoadRun struct {
	name string
	run  func(env []string) (string, error)
}

// selfLoadPaths are what the self-load asks for: the small page as wrk asks
// for it ("/": the file server opens the directory, then index.html), and
// the same bytes as a file of its own (docs/web.md: a directory open is a
// round trip to isle's file-system worker, a file's is not).
var selfLoadPaths = []struct{ suffix, path string }{{"", "/"}, {"_file", "/page.html"}}

// goSelfLoadRows times examples/httpd/go serving n requests of the small
// page to itself over in-memory pipes (no sockets, no poll_oneoff), as one
// module built for wasip1, under wazero's command line and on a one-core
// isle machine, and built natively and pinned to one CPU with GOMAXPROCS=1
// (a wasip1 program has one thread), in the same run, interleaved round by
// round, rounds times (the best is kept); once for each of selfLoadPaths.
// The rows say how far isle is from its runtime and the runtime from
// native; wazero v1.12 cannot serve the module from a socket (docs/web.md),
// hence pipes.
func goSelfLoadRows(log io.Writer, dir, wasm, native, site string, cpu, n, rounds int) []Row {
	runs := selfLoadRuns(log, dir, wasm, native, site, cpu)
	best := map[string]time.Duration{}
	for round := 0; round < rounds; round++ {
		for _, p := range selfLoadPaths {
			for _, r := range runs {
				out, err := r.run([]string{"HTTPD_SELFLOAD=" + strconv.Itoa(n), "HTTPD_SELFLOAD_PATH=" + p.path})
				var d time.Duration
				if err == nil {
					d, err = parseSelfLoad(out, n)
				}
				if err != nil {
					logf(log, "web: go_selfload_%s %s: %v (no go_selfload_ rows)", r.name, p.path, err)
					return nil
				}
				if b, ok := best[r.name+p.suffix]; !ok || d < b {
					best[r.name+p.suffix] = d
				}
			}
		}
	}
	rate := func(name string) float64 { return float64(n) / best[name].Seconds() }
	var rows []Row
	for _, p := range selfLoadPaths {
		for _, r := range runs {
			name := r.name + p.suffix
			logf(log, "web: go_selfload_%-12s %8.0f req/s", name, rate(name))
			rows = append(rows, Row{"go_selfload_" + name + "_req_per_s", round3(rate(name)),
				fmt.Sprintf("req/s (GET %s, %d requests over pipes, 8 clients, 1 CPU; best of %d)", p.path, n, rounds)})
		}
	}
	if _, ok := best["wazero"]; ok {
		rows = append(rows,
			Row{"go_selfload_wazero_over_native", round3(rate("wazero") / rate("native")), "x (the runtime's cost)"},
			Row{"go_selfload_isle_over_wazero", round3(rate("isle") / rate("wazero")), "x (isle's cost over its runtime)"},
			Row{"go_selfload_isle_over_wazero_file", round3(rate("isle_file") / rate("wazero_file")), "x (the same, no directory opened)"})
	}
	return append(rows, Row{"go_selfload_isle_over_native", round3(rate("isle") / rate("native")), "x"})
}

// selfLoadRuns returns the runtimes the self-load runs under: native,
// wazero's command line when it is in PATH or can be installed, and isle.
func selfLoadRuns(log io.Writer, dir, wasm, native, site string, cpu int) []selfLoadRun {
	runs := []selfLoadRun{{"native", func(env []string) (string, error) {
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
		runs = append(runs, selfLoadRun{"wazero", func(env []string) (string, error) {
			args := []string{"run", "-cachedir", cache, "-mount", site + ":/www"}
			for _, kv := range env {
				args = append(args, "-env", kv)
			}
			return commandOutput(exec.Command(wz, append(args, wasm, "/www")...))
		}})
	} else {
		logf(log, "web: no go_selfload_wazero rows: %v", err)
	}
	cache := filepath.Join(dir, "isle-cache")
	return append(runs, selfLoadRun{"isle", func(env []string) (string, error) {
		var out, errb bytes.Buffer
		cfg := isle.NewConfig().WithCores(1).WithOversubscribe(true).WithCacheDir(cache).
			WithDir(isle.Dir{Host: site, Guest: "/www"}).WithStdio(nil, &out, &errb)
		for _, kv := range env {
			cfg = cfg.WithEnv(kv)
		}
		if err := os.MkdirAll(cache, 0o755); err != nil {
			return "", err
		}
		st, _, err := isle.Run(context.Background(), cfg, wasm, []string{"/www"})
		if err == nil && st.Status() != 0 {
			err = fmt.Errorf("exit %d: %s", st.Status(), lastLine(errb.Bytes()))
		}
		return out.String(), err
	}})
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
