package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"isle"
	"isle/internal/testprog"
)

// testCache is a compilation cache shared by the tests of this binary.
var testCache string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "isle-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCache = d
	st := m.Run()
	os.RemoveAll(d)
	os.Exit(st)
}

// isle runs the command in-process and returns its exit status and output.
func isleCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	st := dispatch(args, &out, &errb)
	return st, out.String(), errb.String()
}

// coreCounts are the machine sizes every example runs on: one core, all
// host CPUs, and 4 and 8 cores on an oversubscribed host.
func coreCounts() [][]string {
	all := fmt.Sprint(isle.HostCPUs())
	return [][]string{
		{"--cores", "1"},
		{"--cores", all},
		{"--cores", "4", "--oversubscribe"},
		{"--cores", "8", "--oversubscribe"},
	}
}

func TestExamplesRunOnEveryMachineSize(t *testing.T) {
	progs := []struct {
		lang, path, hello string
	}{
		{"go", testprog.Go(t, "./examples/hello"), "hello from Go"},
		{"c", filepath.Join(testprog.Root(t), "examples", "hello-c", "hello-c.wasm"), "hello from C"},
	}
	for _, p := range progs {
		for _, cores := range coreCounts() {
			for _, status := range []string{"0", "3", "42"} {
				name := fmt.Sprintf("%s/%s/exit%s", p.lang, strings.Join(cores, ""), status)
				t.Run(name, func(t *testing.T) {
					args := append([]string{"run", "--cache-dir", testCache}, cores...)
					args = append(args, "--env", "GREETING=hi there", "--env", "OTHER=x", p.path, "a b", "--exit", status)
					st, out, errs := isleCmd(t, args...)
					want := p.hello + "\n" +
						"argv[0] = " + filepath.Base(p.path) + "\n" +
						"argv[1] = a b\n" +
						"argv[2] = --exit\n" +
						"argv[3] = " + status + "\n" +
						"GREETING = hi there\n"
					if out != want {
						t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
					}
					if fmt.Sprint(st) != status {
						t.Errorf("exit status %d, want %s (stderr %q)", st, status, errs)
					}
					if errs != "" {
						t.Errorf("stderr %q, want nothing", errs)
					}
				})
			}
		}
	}
}

func TestStatsLinePerCore(t *testing.T) {
	c := filepath.Join(testprog.Root(t), "examples", "hello-c", "hello-c.wasm")
	st, _, errs := isleCmd(t, "run", "--cache-dir", "", "--cores", "4", "--oversubscribe", "--stats", c)
	if st != 0 {
		t.Fatalf("exit %d: %s", st, errs)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	var cores []string
	for _, l := range lines {
		if strings.HasPrefix(l, "core ") {
			cores = append(cores, l)
		}
	}
	if len(cores) != 4 {
		t.Fatalf("want 4 core lines, got:\n%s", errs)
	}
	if isle.HostCPUs() < 4 && !strings.Contains(errs, "oversubscribed") {
		t.Errorf("stats do not say the machine is oversubscribed:\n%s", errs)
	}
	for i, l := range cores {
		for _, field := range []string{fmt.Sprintf("core %d:", i), "cpus=", "moves=", "sips=", "switches=", "sent=", "recv="} {
			if !strings.Contains(l, field) {
				t.Errorf("core line %q lacks %q", l, field)
			}
		}
	}
	// The program ran somewhere: some core ran one SIP with switches.
	if !strings.Contains(errs, "sips=1 ") {
		t.Errorf("no core reports running the SIP:\n%s", errs)
	}
}

// TestBadInput: each bad input gives one clear line on stderr and a non-zero
// exit, never a Go panic trace.
func TestBadInput(t *testing.T) {
	f := makeBadInputs(t)
	dir, hello, file, inUse := f.dir, f.hello, f.file, f.inUse
	cases := []struct {
		name   string
		args   []string
		status int
		want   string // in the one stderr line
	}{
		{"missing file", []string{"run", "nope.wasm"}, 1, "nope.wasm: no such file"},
		{"not wasm", []string{"run", f.notWasm}, 1, "not a WebAssembly module"},
		{"fails validation", []string{"run", f.invalid}, 1, "invalid module"},
		{"a device", []string{"run", "/dev/zero"}, 1, "/dev/zero: not a WebAssembly module"},
		{"a directory", []string{"run", dir}, 1, "is a directory"},
		{"larger than 256 MiB", []string{"run", f.huge}, 1, "huge.wasm: larger than 256 MiB, the most isle loads"},
		{"unknown import", []string{"run", f.badImport}, 1, "env.launch_missiles, which isle does not provide"},
		{"zero cores", []string{"run", "--cores", "0", hello}, 2, "--cores 0"},
		{"negative cores", []string{"run", "--cores", "-3", hello}, 2, "--cores -3"},
		{"more cores than CPUs", []string{"run", "--cores", "1024", hello}, 1, "(add --oversubscribe to run more cores than CPUs)"},
		{"more than MaxCores", []string{"run", "--cores", "5000", "--oversubscribe", hello}, 2, "--cores 5000: at most 1024 cores"},
		{"far more than MaxCores", []string{"run", "--cores", "100000", "--oversubscribe", hello}, 2, "--cores 100000: at most 1024 cores"},
		{"missing dir", []string{"run", "--dir", filepath.Join(dir, "nodir"), hello}, 1, "--dir " + filepath.Join(dir, "nodir") + ": no such directory"},
		{"dir is a file", []string{"run", "--dir", file, hello}, 1, "--dir " + file + ": not a directory"},
		{"cache dir is a file", []string{"run", "--cache-dir", file, hello}, 1, "--cache-dir " + file + ": not a directory"},
		{"listen in use", []string{"run", "--listen", inUse, hello}, 1, "--listen " + inUse + ": bind: address already in use"},
		{"unknown flag", []string{"run", "--bogus", hello}, 2, "flag provided but not defined: -bogus"},
		{"bad flag value", []string{"run", "--cores", "many", hello}, 2, "invalid value"},
		{"bad env", []string{"run", "--env", "NOEQUALS", hello}, 2, "KEY=VALUE"},
		{"no program", []string{"run"}, 2, "no program given"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"trap unreachable", []string{"run", f.unreachable}, 134, "trap: unreachable"},
		{"trap out of bounds", []string{"run", f.oob}, 134, "trap: out of bounds memory access"},
		{"trap stack overflow", []string{"run", f.overflow}, 134, "trap: stack overflow"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, _, errs := isleCmd(t, append([]string{c.args[0], "--cache-dir", ""}, c.args[1:]...)...)
			if c.args[0] != "run" {
				st, _, errs = isleCmd(t, c.args...)
			}
			if st != c.status {
				t.Errorf("exit status %d, want %d (stderr %q)", st, c.status, errs)
			}
			checkBadInputStderr(t, c.status, c.want, errs)
		})
	}
}

// badInputs are the files of TestBadInput: modules that are not modules,
// fail validation, import what isle lacks or trap; hello-c; a plain file;
// an address in use (until the test ends); a file past the size limit.
type badInputs struct {
	dir, notWasm, invalid, badImport, unreachable, oob, overflow string
	hello, file, inUse, huge                                     string
}

func makeBadInputs(t *testing.T) badInputs {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f := badInputs{
		dir:         dir,
		notWasm:     write("notwasm.wasm", []byte("#!/bin/sh\necho hello\n")),
		invalid:     write("invalid.wasm", []byte("\x00asm\x01\x00\x00\x00\x03\x02\x01\x07")),
		badImport:   write("import.wasm", testprog.Module([][2]string{{"env", "launch_missiles"}}, []byte{})),
		unreachable: write("unreachable.wasm", testprog.Module(nil, testprog.Unreachable())),
		oob:         write("oob.wasm", testprog.Module(nil, testprog.OutOfBounds())),
		overflow:    write("overflow.wasm", testprog.Module(nil, testprog.CallSelf(0))),
		hello:       filepath.Join(testprog.Root(t), "examples", "hello-c", "hello-c.wasm"),
		file:        write("plainfile", []byte("x")),
		huge:        write("huge.wasm", []byte("\x00asm\x01\x00\x00\x00")),
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	f.inUse = busy.Addr().String()
	if err := os.Truncate(f.huge, 257<<20); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	return f
}

// checkBadInputStderr: the command printed one line containing want (a
// trap: its line, then the guest's stack), and no Go panic trace.
func checkBadInputStderr(t *testing.T, status int, want, errs string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
	if status == 134 && !strings.Contains(want, "stack overflow") {
		// A trap: its line, then the guest's stack (TestTrapPrintsGuestStack);
		// these hand-made modules name no function, so their one
		// function is called by its index, as loaded: $0. (wazero
		// records no stack for a stack overflow: one line.)
		if len(lines) < 3 || !strings.Contains(lines[0], want) || lines[1] != "wasm stack trace:" || lines[2] != "\t$0()" {
			t.Errorf("stderr %q: want a line containing %q, then the stack", errs, want)
		}
	} else if len(lines) != 1 || !strings.Contains(errs, want) {
		t.Errorf("stderr %q: want one line containing %q", errs, want)
	}
	if strings.Contains(errs, "goroutine ") || strings.Contains(errs, "panic") {
		t.Errorf("stderr has a Go panic trace: %q", errs)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"run", "--help"}, {"wasi", "--help"}, {"demo", "--help"}, {"contract", "--help"}} {
		st, out, errs := isleCmd(t, args...)
		if st != 0 || !strings.Contains(out, "usage") || errs != "" {
			t.Errorf("isle %v: status %d, stdout %q, stderr %q", args, st, out, errs)
		}
	}
}

func TestWasiTablePrinted(t *testing.T) {
	st, out, _ := isleCmd(t, "wasi")
	if st != 0 {
		t.Fatalf("isle wasi exited %d", st)
	}
	for _, want := range []string{"fd_write", "partial", "proc_exit", "full", "path_open", "ENOSYS", "46 functions"} {
		if !strings.Contains(out, want) {
			t.Errorf("isle wasi output lacks %q", want)
		}
	}
}

func TestContractCheck(t *testing.T) {
	root := testprog.Root(t)
	st, out, errs := isleCmd(t, "contract", "check", filepath.Join(root, "examples", "contracts", "kv.contract"))
	if st != 0 || out != "" || errs != "" {
		t.Errorf("clean contract: status %d, stdout %q, stderr %q", st, out, errs)
	}
	bad := filepath.Join(t.TempDir(), "bad.contract")
	os.WriteFile(bad, []byte("contract C {\n  msg A(x u16)\n  initial state S { imp A -> S }\n}\n"), 0o644)
	st, out, _ = isleCmd(t, "contract", "check", bad)
	if st != 1 || !strings.HasPrefix(out, bad+":2:") {
		t.Errorf("bad contract: status %d, stdout %q", st, out)
	}
}

// TestContractGenDiagnostics: gen prints a bad contract's diagnostics on
// stderr, never on stdout where the stubs go, and exits with 1.
func TestContractGenDiagnostics(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.contract")
	os.WriteFile(bad, []byte("contract C {\n  msg A(x u16)\n  initial state S { imp A -> S }\n}\n"), 0o644)
	for _, lang := range []string{"go", "c"} {
		st, out, errs := isleCmd(t, "contract", "gen", "--lang", lang, bad)
		if st != 1 || out != "" || !strings.HasPrefix(errs, bad+":2:") {
			t.Errorf("gen --lang %s of a bad contract: status %d, stdout %q, stderr %q", lang, st, out, errs)
		}
	}
	good := filepath.Join(testprog.Root(t), "examples", "contracts", "kv.contract")
	if st, out, errs := isleCmd(t, "contract", "gen", "--lang", "go", good); st != 0 || !strings.Contains(out, "package kv") || errs != "" {
		t.Errorf("gen of a good contract: status %d, stderr %q, stdout begins %.80q", st, errs, out)
	}
}

// TestDemo runs the demo as a new user would and checks that each part did
// what it says.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four Go programs")
	}
	st, out, errs := isleCmd(t, "demo")
	if st != 0 {
		t.Fatalf("isle demo exited %d: %s\n%s", st, errs, out)
	}
	for _, want := range []string{
		"hello from Go",
		"the Go program (pid 1) exited with status 0",
		"the C program (pid 2) exited with status 7",
		"hello from Rust",
		"the Rust program (pid 3) exited with status 5",
		"spinner 3 had",
		"server: 20000 pings from 1 clients",
		"client: 20000 rounds of 0 bytes",
		"core 1: capacity=1024",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo did not say %q:\n%s", want, out)
		}
	}
}

// TestAbiTablePrinted checks `isle abi` against the C headers a guest
// compiles with: every import they declare and every code they name is in
// the table it prints.
func TestAbiTablePrinted(t *testing.T) {
	st, out, errs := isleCmd(t, "abi")
	if st != 0 || errs != "" {
		t.Fatalf("isle abi: status %d, stderr %q", st, errs)
	}
	root := testprog.Root(t)
	imports := regexp.MustCompile(`(?:import_name|ISLE_IMPORT)\("([a-z_]+)"\)`)
	codes := regexp.MustCompile(`\b(ISLE_E[A-Z]+) = `)
	n := 0
	for _, h := range []string{"isle.h", "isle_proc.h"} {
		b, err := os.ReadFile(filepath.Join(root, "guest", "c", h))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range append(imports.FindAllStringSubmatch(string(b), -1), codes.FindAllStringSubmatch(string(b), -1)...) {
			n++
			if !strings.Contains(out, m[1]) {
				t.Errorf("%s declares %s; isle abi does not print it", h, m[1])
			}
		}
	}
	if n < 30 {
		t.Errorf("found only %d imports and codes in the headers", n)
	}
	if st, _, _ := isleCmd(t, "abi", "extra"); st != exitUsage {
		t.Errorf("isle abi extra: status %d, want %d", st, exitUsage)
	}
}
