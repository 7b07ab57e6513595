package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"isle/internal/testprog"
)

// buildWrapper builds isle-go-exec as a user's go install would.
func buildWrapper(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "isle-go-exec")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return bin
}

// goTest runs `GOOS=wasip1 GOARCH=wasm go test -exec WRAPPER args...` in
// the source tree, with extra environment.
func goTest(t *testing.T, wrapper string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"test", "-count=1", "-exec", wrapper}, args...)...)
	cmd.Dir = testprog.Root(t)
	// isle's compilation cache goes to a directory of this test (through
	// XDG_CACHE_HOME), the go command's build cache stays where it was.
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	cmd.Env = append(append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "XDG_CACHE_HOME="+cacheHome(t),
		"GOCACHE="+strings.TrimSpace(string(gocache))), env...)
	b, err := cmd.CombinedOutput()
	return string(b), err
}

var cacheHomeDir string

// cacheHome is a compilation cache shared by this test binary's runs.
func cacheHome(t *testing.T) string {
	if cacheHomeDir == "" {
		cacheHomeDir = t.TempDir()
	}
	return cacheHomeDir
}

// TestGoTestExec runs a package's tests on isle through go test -exec: each
// test needs what go_wasip1_wasm_exec gives a runtime (files by absolute and
// relative paths, the environment, a deep stack), and a failing test makes
// go test fail.
func TestGoTestExec(t *testing.T) {
	defer func() { cacheHomeDir = "" }()
	w := buildWrapper(t)
	out, err := goTest(t, w, []string{"ISLE_GOEXEC_MARK=passed through"}, "-v", "./testdata/goexec")
	if err != nil {
		t.Fatalf("go test: %v\n%s", err, out)
	}
	for _, name := range []string{"TestReadsItsTestdata", "TestTempDir", "TestEnvironment", "TestArgs", "TestDeepRecursion", "TestFailsWhenAsked"} {
		if !strings.Contains(out, "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "ok  \tisle/testdata/goexec") {
		t.Errorf("go test did not report the package ok:\n%s", out)
	}
	out, err = goTest(t, w, []string{"ISLE_GOEXEC_MARK=passed through", "ISLE_GOEXEC_FAIL=1"}, "./testdata/goexec")
	if err == nil || !strings.Contains(out, "--- FAIL: TestFailsWhenAsked") || !strings.Contains(out, "failing as asked") {
		t.Errorf("a failing test: err %v, output:\n%s", err, out)
	}
}

// TestGoTestExecStd runs a few standard-library packages' tests (-short)
// through the wrapper; each passes on wazero too (docs/wasi.md, Conformance).
func TestGoTestExecStd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs six standard-library test packages")
	}
	defer func() { cacheHomeDir = "" }()
	w := buildWrapper(t)
	for _, pkg := range []string{"strings", "bytes", "sort", "encoding/json", "path/filepath", "os"} {
		out, err := goTest(t, w, nil, "-short", pkg)
		if err != nil || !strings.HasPrefix(out, "ok  \t"+pkg+"\t") {
			t.Errorf("%s: %v\n%s", pkg, err, out)
		}
	}
}

// TestNotWebAssembly: go test -exec on a binary that is not WebAssembly (a
// test built for the host by mistake, a script) gives one clear line.
func TestNotWebAssembly(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	script := filepath.Join(dir, "pkg.test")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	elf, err := os.Executable() // this test binary: an ELF file
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, prog, want string
		status           int
	}{
		{"script", script, "not a WebAssembly module (bad magic number) (build it with GOOS=wasip1 GOARCH=wasm)", 1},
		{"host binary", elf, "not a WebAssembly module (bad magic number) (build it with GOOS=wasip1 GOARCH=wasm)", 1},
		{"missing", filepath.Join(dir, "nope.test"), "nope.test: no such file", 1},
		{"no program", "", "no program given", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			var args []string
			if c.prog != "" {
				args = []string{c.prog, "-test.v"}
			}
			var out, errb bytes.Buffer
			st := goExec(args, strings.NewReader(""), &out, &errb)
			lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
			if st != c.status || len(lines) != 1 || !strings.Contains(lines[0], c.want) || !strings.HasPrefix(lines[0], "isle-go-exec: ") {
				t.Errorf("status %d, stderr %q: want %d and one line containing %q", st, errb.String(), c.status, c.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q", out.String())
			}
		})
	}
}

// TestTrap: a program that traps exits 134 with the trap and the guest's
// stack, as isle run reports it.
func TestTrap(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	prog := testprog.Go(t, "./testdata/gotrap")
	var out, errb bytes.Buffer
	st := goExec([]string{prog}, strings.NewReader(""), &out, &errb)
	want := "isle-go-exec: " + prog + ": trap: out of bounds memory access\nwasm stack trace:\n\tmain.inner(i32) i32\n\tmain.outer(i32) i32\n"
	if st != 134 || !strings.HasPrefix(errb.String(), want) || out.String() != "about to trap\n" {
		t.Errorf("status %d, stdout %q, stderr %q; want 134 and stderr starting %q", st, out.String(), errb.String(), want)
	}
}
