package main

import (
	"path/filepath"
	"strings"
	"testing"

	"isle/internal/cluster/link"
)

// TestClusterCerts: `isle cluster certs DIR --nodes N` writes certificates
// that link.LoadTLS reads, each naming its node; bad --nodes values get one
// line and exit 2.
func TestClusterCerts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	st, out, errOut := isleCmd(t, "cluster", "certs", dir, "--nodes", "3")
	if st != 0 || !strings.Contains(out, "3 nodes") {
		t.Fatalf("status %d, out %q, err %q", st, out, errOut)
	}
	for id := uint64(1); id <= 3; id++ {
		if _, err := link.LoadTLS(dir, id); err != nil {
			t.Fatalf("node %d: %v", id, err)
		}
	}
	dir2 := t.TempDir()
	if st, _, errOut := isleCmd(t, "cluster", "certs", "--nodes", "4,9", dir2); st != 0 {
		t.Fatalf("ids list: status %d: %s", st, errOut)
	}
	if _, err := link.LoadTLS(dir2, 9); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{
		{"cluster", "certs", dir},
		{"cluster", "certs", dir, "--nodes", "0"},
		{"cluster", "certs", dir, "--nodes", "2,2"},
		{"cluster", "certs", dir, "--nodes", "x,1"},
		{"cluster", "certs", "--nodes", "2"},
		{"cluster", "frob"},
		{"cluster"},
	} {
		st, _, errOut := isleCmd(t, bad...)
		if st != exitUsage || strings.Count(errOut, "\n") < 1 || strings.Contains(errOut, "panic") {
			t.Errorf("%q: status %d, stderr %q", bad, st, errOut)
		}
	}
}
