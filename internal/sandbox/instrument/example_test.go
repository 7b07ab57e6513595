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
	// "run" calls no function, so it is a leaf (leaf.go): its loop spends
	// a budget of its own, and charges the fuel 64 units at a time when
	// that runs out, about every 70 iterations (its 8 copies of the body
	// under one check lend themselves 7 units after each charge): 14
	// charges in 1000 iterations, and every second one leaves the fuel
	// below zero (100 - 64 - 64), so 7 refills.
	fmt.Println("hook calls:", calls)
	// Output: hook calls: 7
}
