package sandbox_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tetratelabs/wazero"
	wasip1 "github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"isle/internal/wasi"
)

// TestWasiTableIsComplete keeps isle's WASI table complete and its
// signatures right, against wazero's own definition of the same module
// (which isle does not use to run programs).
func TestWasiTableIsComplete(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := wasip1.NewBuilder(rt).Compile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ref := mod.ExportedFunctions()
	table := wasi.Table()
	seen := map[string]bool{}
	for _, sc := range table {
		if seen[sc.Name] {
			t.Errorf("%s is in the table twice", sc.Name)
		}
		seen[sc.Name] = true
		def, ok := ref[sc.Name]
		if !ok {
			t.Errorf("%s is not a wasi_snapshot_preview1 function", sc.Name)
			continue
		}
		if !slices.Equal(def.ParamTypes(), sc.Params) {
			t.Errorf("%s: params %v, want %v", sc.Name, sc.Params, def.ParamTypes())
		}
		results := 1
		if sc.NoErrno {
			results = 0
		}
		if len(def.ResultTypes()) != results {
			t.Errorf("%s: %d results, want %d", sc.Name, results, len(def.ResultTypes()))
		}
		if sc.Support != wasi.None && !sc.Implemented() {
			t.Errorf("%s claims support %v but has no handler", sc.Name, sc.Support)
		}
		if sc.Support == wasi.None && sc.Implemented() {
			t.Errorf("%s has a handler but claims no support", sc.Name)
		}
	}
	for name := range ref {
		if !seen[name] {
			t.Errorf("the table lacks %s", name)
		}
	}
}
