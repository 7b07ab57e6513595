package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"isle/internal/testprog"
)

// TestSignalsStopTheMachine: SIGINT and SIGTERM stop a machine whose every
// core runs a SIP that spins without system calls; isle exits with 130 or
// 143. The time from the signal to the exit is logged (a benchmark, not a
// test, judges speed on this shared machine).
func TestSignalsStopTheMachine(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "isle")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	forever := filepath.Join(dir, "forever.wasm")
	os.WriteFile(forever, testprog.Module(nil, testprog.InfiniteLoop), 0o644)
	for _, c := range []struct {
		sig    syscall.Signal
		status int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		cmd := exec.Command(bin, "run", "--cache-dir", "", "--cores", "2", "--oversubscribe", forever)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		sent := time.Now()
		cmd.Process.Signal(c.sig)
		err := cmd.Wait()
		took := time.Since(sent)
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		t.Logf("%v: exit %d %v after the signal; stderr %q", c.sig, code, took, stderr.String())
		if code != c.status {
			t.Errorf("%v: exit status %d, want %d (stderr %q)", c.sig, code, c.status, stderr.String())
		}
	}
}
