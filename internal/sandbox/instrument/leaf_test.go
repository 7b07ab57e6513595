package instrument

import (
	"errors"
	"testing"
)

// leafCaller is a loop that calls a leaf, a function whose own loop sums
// 1 .. x.
var leafCaller = testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{
	{typ: 0, locals: "i32", export: "run", body: `
		loop
		  local.get 1 local.get 0 call 1 i32.add local.set 1
		  local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0
		end
		local.get 1`},
	{typ: 0, locals: "i32", body: `
		loop
		  local.get 1 local.get 0 i32.add local.set 1
		  local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0
		end
		local.get 1`},
}}

// fuelAccesses counts the global.get and global.set of the fuel global
// (index fuel) in body f of a module.
func fuelAccesses(t *testing.T, wasm []byte, f int, fuel uint32) (gets, sets int) {
	t.Helper()
	r := &reader{b: codeOf(t, wasm)}
	n, _ := r.u32()
	var in instr
	for j := 0; j < int(n); j++ {
		size, _ := r.u32()
		code, err := r.bytes(size)
		if err != nil {
			t.Fatal(err)
		}
		if j != f {
			continue
		}
		br := &reader{b: code}
		if err := skipLocals(br); err != nil {
			t.Fatal(err)
		}
		for !br.done() {
			if err := next(br, &in); err != nil {
				t.Fatal(err)
			}
			switch {
			case in.op == opGlobalGet && in.idx == fuel:
				gets++
			case in.op == opGlobalSet && in.idx == fuel:
				sets++
			}
		}
	}
	return gets, sets
}

// TestLeafSpendsItsOwnBudget: a leaf touches the fuel global only in its
// slow path (one load, one store: no load at entry, no store at its
// return), and computes what the original does with the slow path
// running at every check.
func TestLeafSpendsItsOwnBudget(t *testing.T) {
	out := mustInstrument(t, leafCaller.bytes(), DefaultOptions())
	if gets, sets := fuelAccesses(t, out, 1, 0); gets != 1 || sets != 1 {
		t.Errorf("the leaf loads the fuel %d times and stores it %d times, want 1 and 1", gets, sets)
	}
	h := newHarness(t, 0, 0)
	mod := h.instantiate(t, leafCaller.bytes())
	for _, fuel := range []int64{1, 3, 1000} {
		h.refill, h.calls = fuel, 0
		inst := h.instantiate(t, mustInstrument(t, leafCaller.bytes(), testOptions(fuel)))
		for n := uint64(1); n <= 30; n++ {
			want, err := mod.ExportedFunction("run").Call(h.ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			got, err := inst.ExportedFunction("run").Call(h.ctx, n)
			if err != nil || got[0] != want[0] {
				t.Errorf("fuel %d: run(%d) = %v, %v; want %d", fuel, n, got, err, want[0])
			}
		}
		if fuel == 1 && h.calls == 0 {
			t.Error("fuel 1: the hook was never called")
		}
	}
}

// TestEndlessLeafCallsCallHook: an endless loop whose iterations call a
// leaf that runs within its budget (so that the leaf never spends from
// the global) is still stopped, by the caller's own check; so is an
// endless loop in a leaf, with the real budget.
func TestEndlessLeafCallsCallHook(t *testing.T) {
	for name, tm := range map[string]testModule{
		"caller": {types: []string{"->", "i32 -> i32"}, funcs: []testFunc{
			{typ: 0, export: "spin", body: "loop i32.const 3 call 1 drop br 0 end"},
			leafCaller.funcs[1],
		}},
		"leaf": {types: []string{"->"}, funcs: []testFunc{
			{typ: 0, export: "spin", body: "loop nop nop nop i32.const 1 br_if 0 end"},
		}},
	} {
		if name == "caller" {
			tm.funcs[1].typ = 1
		}
		h := newHarness(t, 3, 1000)
		opts := DefaultOptions()
		opts.InitialFuel = 1000
		mod := h.instantiate(t, mustInstrument(t, tm.bytes(), opts))
		if _, err := mod.ExportedFunction("spin").Call(h.ctx); !errors.Is(err, errStop) {
			t.Errorf("%s: spin returned %v, want the hook's error", name, err)
		}
	}
}
