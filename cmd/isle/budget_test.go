package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"isle/internal/testprog"
)

// TestBudgetFlags: --memory-limit reaches the SIP (memhog gets 3 chunks of
// 64 MiB under 256M), and a bad --memory-limit, --machine-memory or
// --max-procs is one line and exit 2.
func TestBudgetFlags(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", "hostile", "memhog.c"))
	if err != nil {
		t.Fatal(err)
	}
	hog := testprog.C(t, string(src))
	st, out, errs := isleCmd(t, "run", "--cache-dir", testCache, "--cores", "1", "--memory-limit", "256M", "--machine-memory", "2G", "--max-procs", "10", hog)
	if st != 0 || !strings.HasPrefix(out, "memhog: 3 chunks of 64 MiB") {
		t.Errorf("memhog under --memory-limit 256M: status %d, stdout %q, stderr %q", st, out, errs)
	}
	for _, args := range [][]string{
		{"--memory-limit", "5G"}, {"--memory-limit", "lots"}, {"--memory-limit", "1K"},
		{"--machine-memory", "1Q"}, {"--machine-memory", "0"}, {"--max-procs", "0"},
	} {
		st, _, errs := isleCmd(t, append(append([]string{"run"}, args...), hog)...)
		if st != exitUsage || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "isle run: "+args[0]) {
			t.Errorf("%v: status %d, stderr %q: want one line and %d", args, st, errs, exitUsage)
		}
	}
}
