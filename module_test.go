package isle_test

import (
	"os/exec"
	"strings"
	"testing"
)

// goTool runs the go command in the module's root and returns its output.
func goTool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	var out, errb strings.Builder
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

// TestRootPackageLinksNoPlotting: the embedding API links no plotting
// library; gonum's plot belongs to `isle bench` only (package bench).
func TestRootPackageLinksNoPlotting(t *testing.T) {
	// Neither the embedding API nor the isle command links the benchmark
	// harness or its plotting library, whose package initialisation would
	// run in every `isle run` (docs/startup.md); `isle bench` runs the
	// harness as a command of its own.
	for _, pkg := range []string{"isle", "isle/cmd/isle"} {
		out, err := goTool(t, "list", "-deps", pkg)
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, p := range strings.Fields(out) {
			if strings.HasPrefix(p, "gonum.org/") || p == "isle/bench" || strings.HasPrefix(p, "isle/bench/") {
				t.Errorf("package %s depends on %s", pkg, p)
			}
		}
	}
}

// TestModTidy: `go mod tidy` would change neither go.mod nor go.sum.
func TestModTidy(t *testing.T) {
	if testing.Short() {
		t.Skip("reads every module's go.mod")
	}
	out, err := goTool(t, "mod", "tidy", "-diff")
	if err != nil || out != "" {
		t.Fatalf("go mod tidy -diff: %v; go mod tidy would change:\n%s", err, out)
	}
}
