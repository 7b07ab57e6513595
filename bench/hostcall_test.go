package bench

import (
	"os/exec"
	"testing"
)

// TestWazeroCallBaseline builds the table1 suite's wazero baseline program
// and the two modules it runs, and checks that each mode prints a mean call.
func TestWazeroCallBaseline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	if _, err := exec.LookPath("clang"); err != nil {
		t.Skip("no clang")
	}
	dir := t.TempDir()
	progs := map[string]string{}
	if err := buildTable1Programs(dir, progs); err != nil {
		t.Fatal(err)
	}
	if err := buildNoop(dir, progs); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ mode, wasm string }{{"noop", progs["noop"]}, {"wasi", progs["call"]}} {
		ns, err := wazeroCall(progs["wazero_call"], c.mode, c.wasm, 1000)
		if err != nil || ns <= 0 {
			t.Errorf("%s: %v ns, %v", c.mode, ns, err)
		}
	}
	if _, err := wazeroCall(progs["wazero_call"], "nonsense", progs["noop"], 1); err == nil {
		t.Error("an unknown mode was taken")
	}
}
