package bench

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// The startup suite's programs: the C hello (examples/hello-c, built with
// clang and wasi-libc, committed so the suite needs no C compiler) and the
// source of the Go hello, built at benchmark time.
var (
	//go:embed startup/hello-c.wasm
	helloCWasm []byte
	//go:embed startup/hello/main.go
	helloGoSource []byte
)

// The shape of the startup suite's run.
const (
	startupRounds  = 21               // interleaved runs of each command; the median is the figure
	startupTimeout = 30 * time.Second // for any one command
	// startupSettle is how old the programs are when the first run fills
	// the caches: older than the 2 s after which isle finds a file's
	// rewrite by its identity without reading it (internal/sandbox/fileid.go),
	// as a program built a while before it is run is.
	startupSettle = 3 * time.Second
)

// Startup measures whole-process start-up: a warm `isle run` of a C and a
// Go hello world beside a warm `wazero run -cachedir` of the same modules,
// interleaved round by round so that the machine's noise falls on both.
// "Warm": both caches hold the compiled (and, for isle, rewritten) module,
// from a run before the first round, made once the programs' files are
// startupSettle old. The figure is the median wall time
// from fork to exit as the parent sees it; the fastest run is given too
// (_min_ms), which other jobs on the host disturb least.
//
// isle is this binary when it is isle (`isle bench startup`), else isle in
// PATH; wazero is wazero in PATH, else built with `go install` at the
// version isle links. The Go hello needs the go command.
func Startup(log io.Writer) ([]Row, error) {
	dir, err := os.MkdirTemp("", "isle-bench-startup-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	isleBin, err := isleBinary()
	if err != nil {
		return nil, err
	}
	progs := []struct{ name, path string }{{"c", filepath.Join(dir, "hello-c.wasm")}}
	if err := os.WriteFile(progs[0].path, helloCWasm, 0o644); err != nil {
		return nil, err
	}
	if p, err := buildGoHello(dir); err != nil {
		fmt.Fprintf(log, "bench startup: no Go hello rows: %v\n", err)
	} else {
		progs = append(progs, struct{ name, path string }{"go", p})
	}
	written := time.Now()
	runners := []struct {
		name string
		argv func(prog string) []string
	}{{"isle", func(prog string) []string {
		return []string{isleBin, "run", "--cache-dir", filepath.Join(dir, "isle-cache"), prog}
	}}}
	if wz, err := wazeroBinary(dir); err != nil {
		fmt.Fprintf(log, "bench startup: no wazero rows: %v\n", err)
	} else {
		runners = append(runners, struct {
			name string
			argv func(prog string) []string
		}{"wazero", func(prog string) []string {
			return []string{wz, "run", "-cachedir", filepath.Join(dir, "wazero-cache"), prog}
		}})
	}
	time.Sleep(time.Until(written.Add(startupSettle)))
	times := map[string][]float64{}
	want := map[string]string{}
	for round := -1; round < startupRounds; round++ { // round -1 fills the caches
		for _, p := range progs {
			for _, r := range runners {
				ms, out, err := timeProcess(r.argv(p.path))
				if err != nil {
					return nil, fmt.Errorf("%s run %s hello: %v", r.name, p.name, err)
				}
				if w, ok := want[p.name]; !ok {
					want[p.name] = out
				} else if out != w {
					return nil, fmt.Errorf("%s run %s hello printed %q, not %q", r.name, p.name, out, w)
				}
				if round >= 0 {
					key := r.name + "_run_" + p.name + "_hello_ms"
					times[key] = append(times[key], ms)
				}
			}
		}
	}
	var rows []Row
	for _, p := range progs {
		for _, r := range runners {
			key := r.name + "_run_" + p.name + "_hello_ms"
			rows = append(rows, Row{key, median(times[key]), "ms"},
				Row{r.name + "_run_" + p.name + "_hello_min_ms", slices.Min(times[key]), "ms"})
		}
		if len(runners) == 2 {
			i, w := median(times["isle_run_"+p.name+"_hello_ms"]), median(times["wazero_run_"+p.name+"_hello_ms"])
			rows = append(rows, Row{"isle_over_wazero_" + p.name + "_hello", i / w, "×"})
		}
	}
	return rows, nil
}

// timeProcess runs argv to its exit and returns its wall time in ms and
// its standard output.
func timeProcess(argv []string) (float64, string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = startupTimeout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, "", err
	}
	timer := time.AfterFunc(startupTimeout, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	d := time.Since(start)
	timer.Stop()
	if err != nil {
		return 0, "", fmt.Errorf("%v: %s", err, strings.TrimSpace(errb.String()))
	}
	return float64(d.Nanoseconds()) / 1e6, out.String(), nil
}

// isleBinary is the isle command to measure: this process's binary when it
// is isle, else isle in PATH.
func isleBinary() (string, error) {
	if exe, err := os.Executable(); err == nil && strings.HasPrefix(filepath.Base(exe), "isle") {
		return exe, nil
	}
	if p, err := exec.LookPath("isle"); err == nil {
		return p, nil
	}
	return "", errors.New("needs the isle command: run it as `isle bench startup`, or put isle in PATH")
}

// wazeroBinary is wazero's command line: wazero in PATH, else built into
// dir with `go install` at the version of wazero that isle links.
func wazeroBinary(dir string) (string, error) {
	if p, err := exec.LookPath("wazero"); err == nil {
		return p, nil
	}
	version := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/tetratelabs/wazero" {
				version = m.Version
			}
		}
	}
	if version == "" {
		return "", errors.New("wazero not in PATH, and this binary does not say which wazero it links")
	}
	cmd := exec.Command("go", "install", "github.com/tetratelabs/wazero/cmd/wazero@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+dir)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("wazero not in PATH; go install wazero@%s: %v: %s", version, err, strings.TrimSpace(string(b)))
	}
	return filepath.Join(dir, "wazero"), nil
}

// buildGoHello builds the suite's Go hello for wasip1 into dir.
func buildGoHello(dir string) (string, error) {
	src := filepath.Join(dir, "gohello")
	if err := os.Mkdir(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), helloGoSource, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module gohello\n\ngo 1.21\n"), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "hello-go.wasm")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=-mod=mod", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, strings.TrimSpace(string(b)))
	}
	return out, nil
}
