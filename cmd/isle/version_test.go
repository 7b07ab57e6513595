package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestVersion: `isle version`, from a built binary (a test binary's build
// information lists no dependencies), prints isle's version and the
// version of wazero that go.mod requires.
func TestVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "isle")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	want, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/tetratelabs/wazero").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("isle version: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("isle version printed %q, want three lines", out)
	}
	if !strings.HasPrefix(lines[0], "isle v") {
		t.Errorf("line 1 = %q, want isle's version", lines[0])
	}
	if w := "wazero " + strings.TrimSpace(string(want)); lines[1] != w {
		t.Errorf("line 2 = %q, want %q", lines[1], w)
	}
	if w := "go " + runtime.Version(); lines[2] != w {
		t.Errorf("line 3 = %q, want %q", lines[2], w)
	}
	if st, _, errOut := isleCmd(t, "version", "extra"); st != exitUsage || !strings.Contains(errOut, `unexpected argument "extra"`) {
		t.Errorf("isle version extra: status %d, stderr %q", st, errOut)
	}
}
