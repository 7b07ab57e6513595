package bench

import (
	"bytes"
	"context"
	"os/exec"
	"testing"

	"isle"
)

// TestPreemptProgramsAgree: every program of the preemption rows builds,
// exits 0 and prints the same, non-empty, result with and without the
// rewriting.
func TestPreemptProgramsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs six C programs")
	}
	if _, err := exec.LookPath("clang"); err != nil {
		t.Skip("no clang")
	}
	progs, err := buildPreemptC(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, p := range progs {
		var out [2]bytes.Buffer
		for mode, preempt := range []bool{false, true} {
			m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithPreemption(preempt).WithStdio(nil, &out[mode], &out[mode]))
			if err != nil {
				t.Fatal(err)
			}
			prog, err := m.Load(ctx, p.path)
			if err != nil {
				t.Fatal(err)
			}
			proc, err := m.SpawnOn(prog, []string{p.name}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if st := proc.Wait(); st.Status() != 0 {
				t.Errorf("%s (preemption %v): %+v", p.name, preempt, st)
			}
			m.Stop(ctx)
		}
		if out[0].Len() == 0 || out[0].String() != out[1].String() {
			t.Errorf("%s: printed %q as built, %q rewritten", p.name, out[0].String(), out[1].String())
		}
	}
}
