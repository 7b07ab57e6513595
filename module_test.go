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
	out, err := goTool(t, "list", "-deps", "isle")
	if err != nil {
		t.Fatalf("go list -deps isle: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(out) {
		if strings.HasPrefix(p, "gonum.org/") || p == "isle/bench" || strings.HasPrefix(p, "isle/bench/") {
			t.Errorf("package isle depends on %s", p)
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
