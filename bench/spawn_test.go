package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"isle/internal/testprog"
)

// TestSpawnWasmIsCurrent proves the committed spawner.wasm and idle.wasm
// are built from their C files with the flags their comments give.
func TestSpawnWasmIsCurrent(t *testing.T) {
	guest := filepath.Join(testprog.Root(t), "guest", "c")
	for _, c := range []struct {
		name string
		wasm []byte
	}{{"spawner", spawnerWasm}, {"idle", idleWasm}} {
		out := filepath.Join(t.TempDir(), c.name+".wasm")
		testprog.CFile(t, filepath.Join("testdata", c.name+".c"), out, "-I"+guest)
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, c.wasm) {
			t.Errorf("bench/testdata/%s.wasm is stale: rebuild it as bench/testdata/%s.c says", c.name, c.name)
		}
	}
}

// TestSpawnPieces runs the suite's isle-side measurements once, small.
func TestSpawnPieces(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "true.wasm"), trueWasm, 0o644)
	for _, cores := range []int{1, 2} {
		if us, err := spawnFromSIP(ctx, dir, cores, 5); err != nil || us <= 0 {
			t.Fatalf("%d cores: spawn from a SIP: %v %v", cores, us, err)
		}
	}
	pss, rss, err := idleMemory(ctx, 20)
	if err != nil || rss <= 0 {
		t.Fatalf("idle memory: Pss %v RSS %v KiB, %v", pss, rss, err)
	}
}
