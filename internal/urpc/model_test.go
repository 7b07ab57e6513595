package urpc

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSpinModel checks models/urpc.pml, the SPIN model of the ring and of
// the doorbell handshake (read its header for what it covers): exhaustively,
// with SPIN, then with each mutation that must break it, so that a model
// that has stopped checking anything fails too.
func TestSpinModel(t *testing.T) {
	if _, err := exec.LookPath("spin"); err != nil {
		t.Fatal("spin not installed: run scripts/test.sh")
	}
	if _, err := exec.LookPath("cc"); err != nil {
		t.Fatal("cc not installed: run scripts/test.sh")
	}
	model, err := filepath.Abs("../../models/urpc.pml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		defines []string
		fails   bool
	}{
		{"as built", nil, false},
		{"membarrier instead of a fence", []string{"-DMEMBARRIER"}, false},
		{"smallest ring", []string{"-DSIZE=2", "-DN=5"}, false},
		{"sleep without publishing the read position", []string{"-DNO_RELEASE"}, false},
		{"sleep without re-checking", []string{"-DNO_RECHECK"}, true},
		{"membarrier, sleep without re-checking", []string{"-DMEMBARRIER", "-DNO_RECHECK"}, true},
		{"no doorbell after the last message", []string{"-DNO_LAST_NOTIFY"}, true},
		{"doorbell without a barrier", []string{"-DNO_FENCE"}, true},
		{"read position never published", []string{"-DNO_RELEASE", "-DHALF=SIZE+1"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if testing.Short() && c.fails {
				t.Skip("mutations are checked without -short")
			}
			errs, out := runSpin(t, model, c.defines)
			switch {
			case !c.fails && errs != 0:
				t.Errorf("spin %s found %d errors:\n%s", strings.Join(c.defines, " "), errs, out)
			case c.fails && errs == 0:
				t.Errorf("spin %s found no error in a broken protocol: the model no longer checks it:\n%s", strings.Join(c.defines, " "), out)
			}
		})
	}
}

var spinErrors = regexp.MustCompile(`errors: (\d+)`)

// runSpin generates, compiles and runs the verifier of model in a temporary
// directory and returns the number of errors it reports and its output.
func runSpin(t *testing.T, model string, defines []string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "urpc.pml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("spin", append(append([]string{"-a"}, defines...), "urpc.pml")...)
	run("cc", "-o", "pan", "pan.c")
	out := run("./pan", "-w20") // 2^20 hash slots: ~10^5 states, little memory
	m := spinErrors.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("pan printed no error count:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	if n == 0 && strings.Contains(out, "Search not completed") {
		t.Fatalf("pan did not complete its search:\n%s", out)
	}
	return n, out
}
