package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"isle/internal/testprog"
)

// TestClosedStdoutIsEPIPE runs `isle run closed-stdout.wasm | head -1`: the
// program writes lines until a write fails; once the reader has read one line
// and gone, isle must give the program EPIPE (it reports it and exits 3)
// instead of dying of SIGPIPE (exit 141).
func TestClosedStdoutIsEPIPE(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "isle")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", "hostile", "closed-stdout.c"))
	if err != nil {
		t.Fatal(err)
	}
	prog := testprog.C(t, string(src))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--cache-dir", "", "--cores", "1", prog)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close() // head -1 is done
	if err != nil || line != strings.Repeat("y", 1023)+"\n" {
		t.Errorf("first line %q, %v", line, err)
	}
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode() // -1 when killed by a signal
	}
	if code != 3 || stderr.String() != "write failed: EPIPE\n" {
		t.Errorf("exit %d (%v), stderr %q: want 3 and the program's EPIPE line", code, err, stderr.String())
	}
}
