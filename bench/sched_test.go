package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"isle/internal/testprog"
)

// TestTrueWasmIsCurrent proves the committed bench/testdata/true.wasm is
// built from true.c with the flags its comment gives.
func TestTrueWasmIsCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "true.wasm")
	testprog.CFile(t, filepath.Join("testdata", "true.c"), out)
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, trueWasm) {
		t.Fatal("bench/testdata/true.wasm is stale: rebuild it as bench/testdata/true.c says")
	}
}

// TestSchedPieces runs the suite's isle-side measurements once, small.
func TestSchedPieces(t *testing.T) {
	ctx := context.Background()
	yielder := filepath.Join(t.TempDir(), "yield.wasm")
	os.WriteFile(yielder, yieldModule(), 0o644)
	if d, err := yieldPair(ctx, yielder, 200_000); err != nil || d <= 0 {
		t.Fatalf("yield pair: %v %v", d, err)
	}
	if us, err := spawnExit(ctx, 5); err != nil || us <= 0 {
		t.Fatalf("spawn to exit: %v %v", us, err)
	}
}
