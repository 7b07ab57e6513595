package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"isle/internal/testprog"
)

// TestListenBadInput: a --listen address that is taken, malformed or empty,
// and an --instances count out of range, each get one line and no machine.
func TestListenBadInput(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	hello := filepath.Join(testprog.Root(t), "examples", "hello-c", "hello-c.wasm")
	for _, c := range []struct {
		name   string
		args   []string
		status int
		want   string
	}{
		{"taken", []string{"--listen", taken.Addr().String()}, 1, "address already in use"},
		{"no port", []string{"--listen", "nonsense"}, 2, `--listen "nonsense": want HOST:PORT`},
		{"empty", []string{"--listen", ""}, 2, `--listen "": want HOST:PORT`},
		{"empty port", []string{"--listen", "127.0.0.1:"}, 2, `--listen "127.0.0.1:": want HOST:PORT`},
		{"bad port", []string{"--listen", "127.0.0.1:99999"}, 1, "invalid port"},
		{"zero instances", []string{"--instances", "0"}, 2, "--instances 0: want 1 to 1024"},
		{"too many instances", []string{"--instances", "5000"}, 2, "--instances 5000: want 1 to 1024"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{"run", "--cache-dir", ""}, c.args...), hello)
			st, out, errs := isleCmd(t, args...)
			lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
			if st != c.status || len(lines) != 1 || !strings.Contains(errs, c.want) || out != "" {
				t.Errorf("status %d, stdout %q, stderr %q: want status %d and one line with %q", st, out, errs, c.status, c.want)
			}
		})
	}
}

// TestInstancesRunsEach: --instances 3 runs the program three times, and
// isle exits with 0 once all have ended.
func TestInstancesRunsEach(t *testing.T) {
	hello := filepath.Join(testprog.Root(t), "examples", "hello-c", "hello-c.wasm")
	st, out, errs := isleCmd(t, "run", "--cache-dir", "", "--cores", "2", "--instances", "3", hello)
	if st != 0 || strings.Count(out, "hello from C\n") != 3 || errs != "" {
		t.Errorf("status %d, stdout %q, stderr %q: want three greetings", st, out, errs)
	}
}

// TestInstancesFirstFailure: one instance of three fails; the others run to
// their end and isle exits with the failure's status.
func TestInstancesFirstFailure(t *testing.T) {
	prog := testprog.C(t, `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
	const char *i = getenv("ISLE_INSTANCE"), *n = getenv("ISLE_INSTANCES");
	printf("instance %s of %s\n", i ? i : "?", n ? n : "?");
	return i && strcmp(i, "1") == 0 ? 3 : 0;
}
`)
	st, out, errs := isleCmd(t, "run", "--cache-dir", "", "--cores", "2", "--instances", "3", prog)
	for _, want := range []string{"instance 0 of 3\n", "instance 1 of 3\n", "instance 2 of 3\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout %q: no %q", out, want)
		}
	}
	if st != 3 || errs != "" {
		t.Errorf("status %d, stderr %q: want 3", st, errs)
	}
}
