package isle_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// TestKillUnderDirectSwitch: on one core, a child's send to its parent,
// blocked in recv, runs the parent inside the child's host call (the
// kernel's direct switch, docs/kernel.md); the parent kills the child
// there. The kill cannot end the child's coroutine, which is under the
// parent's run: the child ends as soon as the parent suspends, without
// returning from its send, and the parent's wait sees status 137.
func TestKillUnderDirectSwitch(t *testing.T) {
	root := testprog.Root(t)
	prog := filepath.Join(t.TempDir(), "killunder.wasm")
	testprog.CFile(t, filepath.Join(root, "testdata", "killunder.c"), prog, "-I", filepath.Join(root, "guest", "c"))
	bin := procBin(t, map[string]string{"killunder": prog})
	ctx := context.Background()
	out := newWatch()
	m, err := isle.Boot(ctx, config().WithCores(1).WithDir(isle.Dir{Host: bin, Guest: "/bin"}).WithStdio(nil, out, out))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	p, err := m.Load(ctx, prog)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := m.Spawn(p, []string{"killunder", "parent"})
	if err != nil {
		t.Fatal(err)
	}
	if st := waitDone(t, parent, time.Now().Add(20*time.Second), "parent"); st.Status() != 0 {
		t.Fatalf("parent: %+v; output:\n%s", st, out.String())
	}
	m.Stop(ctx)
	if got := out.String(); got != "killed: status 137\n" {
		t.Errorf("output %q, want the child killed in its send", got)
	}
	if st := m.Stats(); st[0].DirectSwitches == 0 {
		t.Errorf("no direct switch: the test did not test what it says")
	}
}
