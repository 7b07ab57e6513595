package isle_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// TestKillLoop runs testdata/hostile/killloop.c: a parent that spawns a
// spinning child, kills it and waits for it, 1,000 times on two cores,
// where the balancer moves parent and child between the spawn and the kill.
// Every kill must reach the child wherever it is (a lost one leaves the
// parent waiting forever: the test's deadline ends the machine).
func TestKillLoop(t *testing.T) {
	root := testprog.Root(t)
	bin := t.TempDir()
	spin, err := os.ReadFile(testdataC(t, "forever"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bin, "spin.wasm"), spin, 0o644)
	src, _ := os.ReadFile(filepath.Join(root, "testdata", "hostile", "killloop.c"))
	parent := testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c"))
	rounds := "1000"
	if testing.Short() {
		rounds = "200"
	}
	cfg := config().WithCores(2).WithOversubscribe(true).WithDir(isle.Dir{Host: bin, Guest: "/bin"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb strings.Builder
	cfg = cfg.WithStdio(nil, &out, &errb)
	st, stats, err := isle.Run(ctx, cfg, parent, []string{"/bin/spin.wasm", rounds})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range stats {
		t.Logf("core %d: %d migrated out, %d forwarded", c.Core, c.MigratedOut, c.Forwarded)
	}
	if st.Status() != 0 || out.String() != "killloop: "+rounds+" rounds\n" {
		t.Fatalf("status %d (a kill was lost if the deadline ended it)\n%s%s", st.Status(), out.String(), errb.String())
	}
}
