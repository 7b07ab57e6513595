package wasi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// langCase is one Rust or C++ test program: testdata/rust/NAME.rs or
// testdata/cpp/NAME.cpp, its expected standard output in NAME.out beside it.
type langCase struct {
	name   string
	cxx    bool
	args   []string
	env    []string
	stdin  string
	dir    bool   // preopen an empty host directory (holding "keep") as /d and pass /d first
	status int    // exit status
	stderr string // standard error holds this (empty: standard error is empty)
}

var langCases = []langCase{
	{name: "fs", dir: true},
	{name: "dirall", dir: true},
	{name: "env", args: []string{"7", "two words", ""}, env: []string{"GREETING=hi", "B=2"}, status: 7},
	{name: "stdin", stdin: "abc\n12\n\n30\nlast"},
	{name: "time"},
	{name: "panic", args: []string{"1", "2"}, status: 134,
		stderr: "panicked at 'index 4 is out of range for 2 arguments'"},
	{name: "streams", cxx: true, dir: true, stdin: "the cat and the dog\nand the end\n", status: 3},
}

// TestRustAndCXX builds each Rust program with Debian's rustc (wasm32-wasi)
// and each C++ program with clang++ and libc++, runs it on one core and on
// all cores, and checks its output, standard error and exit status exactly.
// Unless -short, it also runs each under wazero's command line in the same
// run, and fails if a program passes there and not on isle.
func TestRustAndCXX(t *testing.T) {
	cores := []int{1, max(2, isle.HostCPUs())}
	for _, tc := range langCases {
		t.Run(tc.name, func(t *testing.T) {
			src, dir := filepath.Join("testdata", "rust", tc.name+".rs"), "rust"
			if tc.cxx {
				src, dir = filepath.Join("testdata", "cpp", tc.name+".cpp"), "cpp"
			}
			var wasm string
			if tc.cxx {
				wasm = testprog.CXX(t, src)
			} else {
				wasm = testprog.Rust(t, src)
			}
			want, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", dir, tc.name+".out"))
			if err != nil {
				t.Fatal(err)
			}
			isleOK := true
			for _, n := range cores {
				out, errOut, st := runLang(t, wasm, n, tc)
				if msg := tc.check(out, errOut, st.Status(), string(want)); msg != "" {
					t.Errorf("on %d cores: %s", n, msg)
					isleOK = false
				}
				if tc.status != 134 && st.Trap != "" {
					t.Errorf("on %d cores: trap %s", n, st.Trap)
				}
			}
			if testing.Short() {
				return
			}
			out, errOut, status := runWazero(t, wasm, tc)
			msg := tc.check(out, errOut, status, string(want))
			switch {
			case msg != "" && isleOK:
				t.Logf("wazero differs (isle passes): %s", msg)
			case msg == "" && !isleOK:
				t.Errorf("passes on wazero, not on isle")
			}
		})
	}
}

// check compares a run with what the case expects and says how it differs.
func (tc langCase) check(out, errOut string, status int, want string) string {
	switch {
	case out != want:
		return fmt.Sprintf("standard output differs\ngot:\n%s\nwant:\n%s", out, want)
	case status != tc.status:
		return fmt.Sprintf("exit status %d, want %d (stderr %q)", status, tc.status, errOut)
	case tc.stderr == "" && errOut != "":
		return fmt.Sprintf("unexpected standard error %q", errOut)
	case !strings.Contains(errOut, tc.stderr):
		return fmt.Sprintf("standard error %q does not hold %q", errOut, tc.stderr)
	}
	return ""
}

// hostDir makes the directory a case preopens: it holds only "keep".
func hostDir(t *testing.T) string {
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "keep"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// runLang runs one case on a fresh machine of n cores.
func runLang(t *testing.T, wasm string, n int, tc langCase) (string, string, isle.ExitStatus) {
	t.Helper()
	ctx := context.Background()
	var out, errb bytes.Buffer
	cfg := isle.NewConfig().WithCores(n).WithOversubscribe(true).WithCacheDir("").
		WithStdio(strings.NewReader(tc.stdin), &out, &errb)
	for _, kv := range tc.env {
		cfg = cfg.WithEnv(kv)
	}
	args := append([]string{filepath.Base(wasm)}, tc.args...)
	var host string
	if tc.dir {
		host = hostDir(t)
		cfg = cfg.WithDir(isle.Dir{Host: host, Guest: "/d"})
		args = append([]string{args[0], "/d"}, tc.args...)
	}
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, args)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan isle.ExitStatus, 1)
	go func() { done <- p.Wait() }()
	var st isle.ExitStatus
	select {
	case st = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("program did not finish")
	}
	if tc.dir && !tc.cxx {
		// The Rust fs program removes all it made: the host directory is
		// left as it was.
		if names := listDir(t, host); strings.Join(names, ",") != "keep" {
			t.Errorf("on %d cores: the host directory now holds %v", n, names)
		}
	}
	return out.String(), errb.String(), st
}

func listDir(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// runWazero runs one case under wazero's command line (built from the
// module's own wazero), given what isle is given.
func runWazero(t *testing.T, wasm string, tc langCase) (string, string, int) {
	t.Helper()
	args := []string{"run"}
	for _, kv := range tc.env {
		args = append(args, "-env", kv)
	}
	var rest []string
	if tc.dir {
		args = append(args, "-mount", hostDir(t)+":/d")
		rest = append(rest, "/d")
	}
	args = append(append(append(args, wasm), rest...), tc.args...)
	cmd := exec.Command(testprog.Wazero(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(tc.stdin), &out, &errb
	err := cmd.Run()
	status := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		status = ee.ExitCode()
		if strings.Contains(errb.String(), "wasm error:") {
			status = 134 // wazero exits 1 after a trap; isle (as wasmtime) 134
		}
	case err != nil:
		t.Fatal(err)
	}
	// wazero adds its own report of a trap (and a stack) after the guest's
	// standard error; keep only the guest's.
	e := errb.String()
	if i := strings.Index(e, "error instantiating wasm binary"); i >= 0 {
		e = e[:i]
	}
	return out.String(), e, status
}
