package instrument

import (
	"context"
	"errors"
	"os/exec"
	"testing"

	"github.com/tetratelabs/wazero"
)

// FuzzInstrument checks that Instrument never panics, and that whenever
// wazero accepts the input, Instrument accepts it too (unless it reports a
// feature it does not support or a name conflict) and wazero accepts the
// output.
func FuzzInstrument(f *testing.F) {
	for _, k := range kernels {
		f.Add(k.mod.bytes())
	}
	f.Add(testModule{types: []string{"->"}, funcs: []testFunc{{typ: 0, body: "loop br 0 end", export: "spin"}}}.bytes())
	if _, err := exec.LookPath("clang"); err == nil {
		f.Add(buildCKernels(f))
	}
	f.Add([]byte{})
	f.Add(append([]byte(nil), magic...))
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, err := Instrument(wasm, DefaultOptions())
		if errors.Is(err, errEOF) || errors.Is(err, errTooLarge) {
			// Truncated input, or a count larger than the bytes left:
			// wazero allocates such vectors up front (800 MB for a count of
			// 100M value types), which kills the fuzzing workers, so these
			// inputs are not given to it. checkCounts is what protects
			// wazero in the sandbox too.
			return
		}
		cm, verr := rt.CompileModule(ctx, wasm)
		if verr != nil {
			return // wazero refuses the input; any error (or output) will do
		}
		cm.Close(ctx)
		if err != nil {
			if errors.Is(err, ErrUnsupported) || errors.Is(err, ErrConflict) {
				return
			}
			t.Fatalf("wazero accepts the module but Instrument fails: %v", err)
		}
		cm, err = rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("wazero refuses the instrumented module: %v", err)
		}
		cm.Close(ctx)
	})
}
