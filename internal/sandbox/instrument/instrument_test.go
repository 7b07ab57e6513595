package instrument

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// harness runs modules under wazero with an "isle"."preempt" hook that
// counts its calls, refills the fuel, and stops the guest after limit calls.
type harness struct {
	ctx    context.Context
	rt     wazero.Runtime
	calls  int
	limit  int   // stop the guest at this many calls; 0 for never
	refill int64 // fuel the hook puts back
}

var errStop = errors.New("stopped by the test hook")

func newHarness(t testing.TB, limit int, refill int64) *harness {
	t.Helper()
	h := &harness{ctx: context.Background(), limit: limit, refill: refill}
	h.rt = wazero.NewRuntime(h.ctx)
	t.Cleanup(func() { h.rt.Close(h.ctx) })
	_, err := h.rt.NewHostModuleBuilder(DefaultHookModule).NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, _ []uint64) {
			h.calls++
			if h.limit > 0 && h.calls >= h.limit {
				panic(errStop)
			}
			g, ok := mod.ExportedGlobal(DefaultFuelExport).(api.MutableGlobal)
			if !ok {
				panic("no fuel global")
			}
			g.Set(uint64(h.refill))
		}), nil, nil).Export(DefaultHookName).Instantiate(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.rt.NewHostModuleBuilder("env").NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {}), nil, nil).
		Export("dummy").Instantiate(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// fatalT is what the helpers need of a *testing.T, a *testing.B or a
// *rapid.T.
type fatalT interface {
	Helper()
	Fatalf(format string, args ...any)
}

func (h *harness) instantiate(t fatalT, wasm []byte) api.Module {
	t.Helper()
	cm, err := h.rt.CompileModule(h.ctx, wasm)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	mod, err := h.rt.InstantiateModule(h.ctx, cm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	return mod
}

func testOptions(fuel int64) Options {
	o := DefaultOptions()
	o.InitialFuel = fuel
	o.leafBudget = 1 // a leaf's slow path runs at each of its checks
	return o
}

func mustInstrument(t testing.TB, wasm []byte, opts Options) []byte {
	t.Helper()
	out, err := Instrument(wasm, opts)
	if err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	return out
}

func TestInfiniteLoopCallsHook(t *testing.T) {
	tm := testModule{
		types: []string{"->"},
		funcs: []testFunc{{typ: 0, body: "loop br 0 end", export: "spin"}},
	}
	for _, fuel32 := range []bool{false, true} {
		t.Run(fmt.Sprintf("fuel32=%v", fuel32), func(t *testing.T) {
			opts := testOptions(1000)
			opts.Fuel32 = fuel32
			h := newHarness(t, 5, 1000)
			if fuel32 {
				// The hook refills with Set(uint64), which is fine for an i32 too.
				h.refill = 1000
			}
			mod := h.instantiate(t, mustInstrument(t, tm.bytes(), opts))
			_, err := mod.ExportedFunction("spin").Call(h.ctx)
			if !errors.Is(err, errStop) {
				t.Fatalf("spin returned %v, want the hook's error", err)
			}
			if h.calls != 5 {
				t.Fatalf("hook called %d times, want 5", h.calls)
			}
		})
	}
}

func TestInfiniteRecursionCallsHook(t *testing.T) {
	// Without loops, only the entry check can stop it; the depth stays low
	// because the fuel is small.
	tm := testModule{
		types: []string{"->"},
		funcs: []testFunc{{typ: 0, body: "call 0", export: "rec"}},
	}
	h := newHarness(t, 3, 10)
	mod := h.instantiate(t, mustInstrument(t, tm.bytes(), testOptions(10)))
	if _, err := mod.ExportedFunction("rec").Call(h.ctx); !errors.Is(err, errStop) {
		t.Fatalf("rec returned %v, want the hook's error", err)
	}
}

// kernel is a compute kernel for the differential test: a module and the
// arguments to call its "run" export with.
type kernel struct {
	name string
	mod  testModule
	args [][]uint64
}

var kernels = []kernel{
	{
		name: "fib_iter",
		mod: testModule{types: []string{"i32 -> i64"}, funcs: []testFunc{{typ: 0, locals: "i64 i64 i64", export: "run", body: `
			i64.const 0 local.set 1
			i64.const 1 local.set 2
			block
			  loop
			    local.get 0 i32.eqz br_if 1
			    local.get 1 local.get 2 i64.add local.set 3
			    local.get 2 local.set 1
			    local.get 3 local.set 2
			    local.get 0 i32.const 1 i32.sub local.set 0
			    br 0
			  end
			end
			local.get 1`}}},
		args: [][]uint64{{0}, {1}, {2}, {50}, {90}, {10000}},
	},
	{
		name: "fib_rec",
		mod: testModule{
			types:   []string{"i32 -> i32", "->"},
			imports: []testImport{{"env", "dummy", 1}},
			funcs: []testFunc{{typ: 0, export: "run", body: `
				local.get 0 i32.const 2 i32.lt_s
				if:i32 local.get 0
				else
				  call 0
				  local.get 0 i32.const 1 i32.sub call 1
				  local.get 0 i32.const 2 i32.sub call 1
				  i32.add
				end`}},
			names: true,
		},
		args: [][]uint64{{0}, {1}, {10}, {20}},
	},
	{
		name: "nested_br_table",
		mod: testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{{typ: 0, locals: "i32 i32 i32", export: "run", body: `
			block
			  i32.const 0 local.set 1
			  loop
			    i32.const 0 local.set 2
			    loop
			      block block block
			        local.get 1 i32.const 13 i32.eq local.get 2 i32.const 5 i32.eq i32.and br_if 5
			        local.get 2 i32.const 4 i32.rem_u
			        br_table 3 0 1 2 2
			      end
			      local.get 3 local.get 2 i32.add local.set 3 br 1
			      end
			      local.get 3 local.get 1 local.get 2 i32.mul i32.xor local.set 3 br 0
			      end
			      local.get 3 i32.const 5 i32.rotl i32.const 1 i32.add local.set 3
			      local.get 3 i32.const 100000000 i32.gt_u br_if 2
			      local.get 2 i32.const 1 i32.add local.tee 2 local.get 0 i32.lt_s br_if 0
			    end
			    local.get 1 i32.const 1 i32.add local.tee 1 local.get 0 i32.lt_s br_if 0
			  end
			end
			local.get 3`}}},
		args: [][]uint64{{0}, {3}, {12}, {14}, {300}},
	},
	{
		name: "loop_params",
		mod: testModule{
			types: []string{"i32 -> i32", "i32 i32 -> i32 i32", "-> i32 i32"},
			funcs: []testFunc{{typ: 0, locals: "i32 i32", export: "run", body: `
				local.get 0 i32.const 0
				loop:t1
				  local.set 2 local.set 1
				  local.get 1 i32.const 1 i32.sub
				  local.get 2 local.get 1 i32.add local.get 2 i32.const 7 i32.shl i32.xor
				  local.get 1 i32.const 1 i32.gt_u
				  br_if 0
				end
				block:t2
				  i32.const 3 i32.const 4
				  local.get 0 i32.const 3 i32.gt_u br_if 0
				  drop drop i32.const 1 i32.const 2
				end
				i32.mul i32.add i32.add`}},
		},
		args: [][]uint64{{0}, {1}, {2}, {3}, {4}, {1000}, {123457}},
	},
	{
		name: "loop_params_br_out",
		// A loop with parameters, nested in another one, leaving both with a
		// br_table that carries a value.
		mod: testModule{
			types: []string{"i32 -> i32", "i32 -> i32"},
			funcs: []testFunc{{typ: 0, locals: "i32", export: "run", body: `
				block:i32
				  i32.const 0
				  loop:t1
				    local.set 1
				    local.get 1 i32.const 3 i32.add
				    loop:t1
				      i32.const 1 i32.add
				      local.tee 1
				      local.get 1 local.get 0 i32.gt_u
				      br_table 1 0 2
				    end
				    drop
				    unreachable
				  end
				end`}},
		},
		args: [][]uint64{{0}, {10}, {1000}},
	},
	{
		name: "loop_result",
		mod: testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{{typ: 0, locals: "i32", export: "run", body: `
			loop:i32
			  local.get 1 local.get 0 i32.add local.set 1
			  local.get 0 i32.const 1 i32.sub local.tee 0
			  br_if 0
			  local.get 1
			end`}}},
		args: [][]uint64{{1}, {2}, {100000}},
	},
	{
		name: "memory_simd",
		mod: testModule{types: []string{"i32 -> i32"}, memory: 1, funcs: []testFunc{{typ: 0, locals: "i32 v128", export: "run", body: `
			block
			  loop
			    local.get 1 local.get 0 i32.ge_u br_if 1
			    local.get 1 local.get 1 i32.const 7 i32.mul i32.store8 0 0
			    local.get 1 i32.const 1 i32.add local.set 1
			    br 0
			  end
			end
			i32.const 0 local.set 1
			loop
			  local.get 2 local.get 1 v128.load 0 0 i32x4.add local.set 2
			  local.get 1 i32.const 16 i32.add local.tee 1
			  local.get 0 i32.lt_u br_if 0
			end
			local.get 2 i32x4.extract_lane 0 local.get 2 i32x4.extract_lane 3 i32.add`}}},
		args: [][]uint64{{16}, {1000}, {40000}},
	},
	{
		name: "call_indirect_start",
		// A table of functions, a start function and a global set by it: the
		// indices in the element segment, the start section and the calls
		// all move when the hook import is added.
		mod: testModule{
			types:   []string{"i32 -> i32", "->"},
			imports: []testImport{{"env", "dummy", 1}},
			globals: []string{"i32 mut 0"},
			table:   true,
			elems:   []uint32{2, 3},
			start:   1 + 4,
			funcs: []testFunc{
				{typ: 0, locals: "i32", export: "run", body: `
					loop
					  local.get 1 local.get 0 i32.const 1 i32.and call_indirect 0 0 global.get 0 i32.add local.set 1
					  local.get 0 i32.const 1 i32.sub local.tee 0
					  i32.const 0 i32.gt_s br_if 0
					end
					local.get 1`},
				{typ: 0, body: `local.get 0 i32.const 3 i32.mul i32.const 1 i32.add`},
				{typ: 0, body: `local.get 0 i32.const 1 i32.shr_u`},
				{typ: 1, body: `i32.const 17 global.set 0 call 0`},
			},
		},
		args: [][]uint64{{1}, {27}, {1000}},
	},
}

// run calls "run" with each argument list and returns the results and the
// memory after each call.
func runKernel(t fatalT, h *harness, wasm []byte, args [][]uint64) (results [][]uint64, mems [][]byte) {
	return runExport(t, h, wasm, "run", args)
}

// runExport calls the export fn with each argument list and returns the
// results and the memory ("mem" or "memory") after each call.
func runExport(t fatalT, h *harness, wasm []byte, fn string, args [][]uint64) (results [][]uint64, mems [][]byte) {
	t.Helper()
	mod := h.instantiate(t, wasm)
	defer mod.Close(h.ctx)
	for _, a := range args {
		res, err := mod.ExportedFunction(fn).Call(h.ctx, a...)
		if err != nil {
			t.Fatalf("run%v: %v", a, err)
		}
		results = append(results, res)
		mem := mod.ExportedMemory("mem")
		if mem == nil {
			mem = mod.ExportedMemory("memory")
		}
		if mem != nil {
			b, _ := mem.Read(0, mem.Size())
			mems = append(mems, append([]byte(nil), b...))
		}
	}
	return results, mems
}

func TestDifferentialKernels(t *testing.T) {
	for _, k := range kernels {
		t.Run(k.name, func(t *testing.T) {
			orig := k.mod.bytes()
			h := newHarness(t, 0, 0)
			want, wantMem := runKernel(t, h, orig, k.args)
			for _, fuel := range []int64{1, 3, 1000} {
				h.refill = fuel
				h.calls = 0
				got, gotMem := runKernel(t, h, mustInstrument(t, orig, testOptions(fuel)), k.args)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("fuel %d: results differ (-original +instrumented):\n%s", fuel, diff)
				}
				if len(wantMem) != len(gotMem) {
					t.Errorf("fuel %d: memory snapshots %d, want %d", fuel, len(gotMem), len(wantMem))
				}
				for i := range wantMem {
					if i < len(gotMem) && !bytes.Equal(wantMem[i], gotMem[i]) {
						t.Errorf("fuel %d: memory differs after call %d", fuel, i)
					}
				}
				if fuel == 1 && h.calls == 0 {
					t.Errorf("fuel 1: the hook was never called")
				}
			}
			// An i32 fuel global: the same code with i32 arithmetic.
			opts := testOptions(3)
			opts.Fuel32 = true
			h.refill = 3
			got, _ := runKernel(t, h, mustInstrument(t, orig, opts), k.args)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("i32 fuel: results differ (-original +instrumented):\n%s", diff)
			}
		})
	}
}

// TestPadGlobals: padding globals come after every other global, so the
// module's own globals and the fuel keep their indices and the program
// computes the same; they add five bytes each.
func TestPadGlobals(t *testing.T) {
	tm := testModule{
		types:   []string{"-> i32"},
		globals: []string{"i32 mut 40"},
		funcs:   []testFunc{{typ: 0, body: "global.get 0 i32.const 1 i32.add global.set 0 global.get 0", export: "inc"}},
	}
	plain := mustInstrument(t, tm.bytes(), testOptions(1000))
	opts := testOptions(1000)
	opts.PadGlobals = 64
	padded := mustInstrument(t, tm.bytes(), opts)
	if d := len(padded) - len(plain); d < 64*5 || d > 64*5+2 {
		t.Errorf("padding added %d bytes, want 64×5 (and up to 2 for the counts)", d)
	}
	for name, wasm := range map[string][]byte{"plain": plain, "padded": padded} {
		h := newHarness(t, 0, 1000)
		mod := h.instantiate(t, wasm)
		for want := uint64(41); want <= 43; want++ {
			got, err := mod.ExportedFunction("inc").Call(h.ctx)
			if err != nil || got[0] != want {
				t.Fatalf("%s: inc = %v, %v; want %d", name, got, err, want)
			}
		}
		if mod.ExportedGlobal(DefaultFuelExport) == nil {
			t.Fatalf("%s: the fuel global is not exported", name)
		}
	}
}
