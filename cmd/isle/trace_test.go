package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"isle/internal/testprog"
	"isle/internal/trace"
)

func yieldProg(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", "trace", "yield.c"))
	if err != nil {
		t.Fatal(err)
	}
	return testprog.C(t, string(src))
}

func TestRunTraceThenReport(t *testing.T) {
	file := filepath.Join(t.TempDir(), "run.pftrace")
	st, out, errs := isleCmd(t, "run", "--cache-dir", testCache, "--cores", "1", "--trace", file, yieldProg(t))
	if st != 3 || out != "traced\n" || errs != "" {
		t.Fatalf("isle run --trace: status %d, stdout %q, stderr %q", st, out, errs)
	}
	st, out, errs = isleCmd(t, "trace", file)
	if st != 0 || errs != "" {
		t.Fatalf("isle trace: status %d, stderr %q", st, errs)
	}
	// The SIP's row: two switches in (a console write, the exit), no
	// migration on one core. Its three yields switch nothing: alone on its
	// core, a yielding SIP keeps running (docs/kernel.md, "A yield is
	// served on the yielder's coroutine").
	var row string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, ":1 ") {
			row = l
		}
	}
	cols := strings.Split(row, "|")
	if len(cols) < 4 || strings.TrimSpace(cols[2]) != "2" || strings.TrimSpace(cols[3]) != "0" {
		t.Errorf("SIP row %q, want 2 switches and 0 migrations; report:\n%s", row, out)
	}
	for _, want := range []string{"Runtime ms", "Avg delay ms", "Max delay ms", "busy ms", "sleeping ms"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestTraceBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pftrace")
	if st, _, errs := isleCmd(t, "run", "--cache-dir", testCache, "--cores", "1", "--trace", good, yieldProg(t)); st != 3 {
		t.Fatalf("isle run --trace: status %d, stderr %q", st, errs)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.pftrace")
	os.WriteFile(truncated, b[:len(b)/2], 0o644)
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("these are not the events you are looking for\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--trace", filepath.Join(dir, "no", "such", "dir", "t.pftrace"), yieldProg(t)}, "isle run: --trace "},
		{[]string{"run", "--trace", "x", "--trace-events", "0", yieldProg(t)}, "isle run: --trace-events 0"},
		{[]string{"trace", text}, "isle trace: " + text + ": not a Perfetto trace"},
		{[]string{"trace", truncated}, "isle trace: " + truncated + ": truncated trace"},
		{[]string{"trace", filepath.Join(dir, "missing")}, "isle trace: "},
		{[]string{"trace"}, "isle trace: want one trace file"},
	} {
		st, out, errs := isleCmd(t, c.args...)
		if st == 0 || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, c.want) {
			t.Errorf("isle %s: status %d, stdout %q, stderr %q; want one line starting %q", strings.Join(c.args, " "), st, out, errs, c.want)
		}
	}
}

// TestSignalWritesTrace: a machine stopped by SIGINT still writes its trace.
func TestSignalWritesTrace(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "isle")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	spin := testprog.C(t, `#include <stdio.h>
int main(void) { puts("ready"); fflush(stdout); for (volatile int i = 0;; i++) ; }`)
	file := filepath.Join(dir, "spin.pftrace")
	cmd := exec.Command(bin, "run", "--cache-dir", testCache, "--cores", "1", "--trace", file, spin)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		cmd.Process.Kill()
		t.Fatalf("first line %q (%v)", line, err)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v, want status 130 (stderr %q)", err, stderr.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	d, err := trace.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	s := trace.Summarise(d)
	if len(s.Tasks) != 1 || s.Tasks[0].Switches < 1 || s.Tasks[0].Runtime <= 0 {
		t.Errorf("trace of the stopped machine: %+v", s.Tasks)
	}
}
