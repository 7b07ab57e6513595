package replica

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// spinConfig is one bounded instance of models/twopc.pml: the participants
// and the fault budgets (see the comment at the top of the model).
type spinConfig struct {
	np, maxLoss, maxCrash, maxEarly int
	liveness                        bool // also check the LTL claim "ends" (pan -a)
}

func (c spinConfig) defines() []string {
	return []string{
		"-DNP=" + strconv.Itoa(c.np),
		"-DMAXLOSS=" + strconv.Itoa(c.maxLoss),
		"-DMAXCRASH=" + strconv.Itoa(c.maxCrash),
		"-DMAXEARLY=" + strconv.Itoa(c.maxEarly),
	}
}

func (c spinConfig) String() string {
	return strings.Join(c.defines(), ",")
}

// TestSpinModel model-checks models/twopc.pml with SPIN: agreement and
// visibility (assertions), no invalid end states (every round ends), and
// the LTL property "ends" (<>[] round over) for acceptance cycles.
func TestSpinModel(t *testing.T) {
	spin, err := exec.LookPath("spin")
	if err != nil {
		t.Fatal("spin not installed: run scripts/test.sh (or apt-get install spin)")
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Fatal("cc not installed: SPIN's verifier pan.c needs a C compiler")
	}
	model, err := filepath.Abs(filepath.Join("..", "..", "models", "twopc.pml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(model); err != nil {
		t.Fatal(err)
	}
	// The configurations checked by default keep each pan run to a few
	// seconds on a 2-vCPU VM; each fault (a loss, a crash at any of a
	// process's first steps, an early query) is exercised in one of them,
	// and every mutant of the protocol tried (docs/replica.md) is caught by
	// at least one. -short keeps the first; ISLE_SPIN_DEEP=1 adds larger
	// budgets (minutes, several GiB).
	configs := []spinConfig{
		{np: 2, maxLoss: 1, maxCrash: 1, maxEarly: 0, liveness: true},
		{np: 2, maxLoss: 1, maxCrash: 0, maxEarly: 1, liveness: true},
		{np: 3, maxLoss: 1, maxCrash: 0, maxEarly: 0, liveness: false},
	}
	if testing.Short() {
		configs = configs[:1]
	}
	if os.Getenv("ISLE_SPIN_DEEP") != "" {
		configs = append(configs,
			spinConfig{np: 2, maxLoss: 2, maxCrash: 1, maxEarly: 1, liveness: true},
			spinConfig{np: 3, maxLoss: 1, maxCrash: 1, maxEarly: 0, liveness: false},
		)
	}
	for _, c := range configs {
		t.Run(c.String(), func(t *testing.T) {
			dir := t.TempDir()
			run := func(name string, args ...string) string {
				t.Helper()
				start := time.Now()
				cmd := exec.Command(name, args...)
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
				}
				t.Logf("%s %s: %v", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
				return string(out)
			}
			run(spin, append(append([]string{"-a"}, c.defines()...), model)...)
			run(cc, "-DNOCLAIM", "-o", "pan_safety", "pan.c")
			checkPan(t, "safety", run(filepath.Join(dir, "pan_safety")))
			if c.liveness {
				run(cc, "-o", "pan_liveness", "pan.c")
				checkPan(t, "liveness", run(filepath.Join(dir, "pan_liveness"), "-a"))
			}
		})
	}
}

// checkPan fails the test unless pan's report says the search was complete
// and found nothing.
func checkPan(t *testing.T, what, out string) {
	t.Helper()
	for _, bad := range []string{"assertion violated", "invalid end state (", "acceptance cycle (", "depth too small", "out of memory", "aborted"} {
		if strings.Contains(out, bad) {
			t.Fatalf("%s run: %q\n%s", what, bad, out)
		}
	}
	if !strings.Contains(out, "errors: 0") {
		t.Fatalf("%s run did not report errors: 0\n%s", what, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "states, stored") {
			t.Logf("%s: %s", what, strings.TrimSpace(line))
		}
	}
}
