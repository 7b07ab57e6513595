package main

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"isle/internal/testprog"
)

// spinAfterSaying says "spinning" on stdout, then spins without system
// calls until it is killed.
const spinAfterSaying = `#include <stdio.h>
int main(void) {
	puts("spinning");
	fflush(stdout);
	volatile unsigned long x = 0;
	for (;;)
		x++;
}
`

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
	forever := testprog.C(t, spinAfterSaying)
	for _, c := range []struct {
		sig    syscall.Signal
		status int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		cmd := exec.Command(bin, "run", "--cache-dir", "", "--cores", "2", "--oversubscribe", forever)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Signal once the program runs: isle has booted and handles
		// signals by then (it installs its handler before booting).
		if !awaitStdout(stdout, "spinning", 30*time.Second) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%v: the program did not say it runs within 30 s (stderr %q)", c.sig, stderr.String())
		}
		sent := time.Now()
		cmd.Process.Signal(c.sig)
		err = cmd.Wait()
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

// awaitStdout reports whether r yields a line equal to want within d; it
// goes on draining r in the background, so the program never blocks on a
// full pipe.
func awaitStdout(r io.Reader, want string, d time.Duration) bool {
	seen := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(r)
		said := false
		for sc.Scan() {
			if !said && sc.Text() == want {
				said = true
				close(seen)
			}
		}
	}()
	select {
	case <-seen:
		return true
	case <-time.After(d):
		return false
	}
}
