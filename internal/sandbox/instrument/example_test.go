package instrument

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// How a runtime uses Instrument with wazero: it instruments the module,
// implements the hook as a Go module function that (here) only counts and
// refills the fuel, and compiles the result once.
func ExampleInstrument() {
	// (func (export "run") (param $n i32) (loop ... $n -= 1; br_if $n != 0))
	wasm := testModule{types: []string{"i32 ->"}, funcs: []testFunc{{typ: 0, export: "run", body: `
		loop local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0 end`}}}.bytes()

	opts := DefaultOptions()
	opts.InitialFuel = 100
	out, err := Instrument(wasm, opts)
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	calls := 0
	_, err = rt.NewHostModuleBuilder(opts.HookModule).NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, _ []uint64) {
			calls++ // a real hook checks the time slice and may yield here
			mod.ExportedGlobal(opts.FuelExport).(api.MutableGlobal).Set(100)
		}), nil, nil).Export(opts.HookName).Instantiate(ctx)
	if err != nil {
		panic(err)
	}
	mod, err := rt.Instantiate(ctx, out)
	if err != nil {
		panic(err)
	}
	if _, err := mod.ExportedFunction("run").Call(ctx, 1000); err != nil {
		panic(err)
	}
	// 1000 loop headers ("run" does not recurse, so its entry has no
	// check) = 1000 checks that must pass: the first 100 on the initial
	// fuel, then 100 per refill (the check that called the hook is repeated
	// when the loop is re-entered), so 9 refills.
	fmt.Println("hook calls:", calls)
	// Output: hook calls: 9
}
