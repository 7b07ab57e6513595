package instrument

import (
	"bytes"
	"errors"
	"testing"
)

// codeOf returns the code section of a module.
func codeOf(t *testing.T, wasm []byte) []byte {
	t.Helper()
	secs, err := splitSections(wasm)
	if err != nil {
		t.Fatal(err)
	}
	i := find(secs, secCode)
	if i < 0 {
		t.Fatal("no code section")
	}
	return secs[i].data
}

// hookCalls instruments tm with no initial fuel, so that the first check
// calls the hook, and a hook that refills 1000, runs export with args, and
// returns how often the hook ran.
func hookCalls(t *testing.T, tm testModule, export string, args ...uint64) int {
	t.Helper()
	h := newHarness(t, 0, 1000)
	mod := h.instantiate(t, mustInstrument(t, tm.bytes(), testOptions(0)))
	if _, err := mod.ExportedFunction(export).Call(h.ctx, args...); err != nil {
		t.Fatalf("%s: %v", export, err)
	}
	return h.calls
}

// TestLeafFunctionsUntouched: a function with no loop that is on no cycle of
// the call graph is copied as it is (only call indices move), and a call to
// it writes nothing back.
func TestLeafFunctionsUntouched(t *testing.T) {
	tm := testModule{
		types: []string{"i32 -> i32"},
		funcs: []testFunc{
			{typ: 0, export: "run", body: "local.get 0 call 1 i32.const 1 i32.add"},
			{typ: 0, body: "local.get 0 i32.const 3 i32.mul"},
		},
	}
	orig, out := codeOf(t, tm.bytes()), codeOf(t, mustInstrument(t, tm.bytes(), DefaultOptions()))
	// The only difference: call 1 becomes call 2 (the hook import comes first).
	want := bytes.Replace(orig, []byte{opCall, 1}, []byte{opCall, 2}, 1)
	if !bytes.Equal(out, want) {
		t.Errorf("code section\n got %x\nwant %x", out, want)
	}
}

// TestRecursionThroughCycles: mutual recursion (f calls g calls f) and
// recursion through call_indirect are stopped by entry checks, though no
// function calls itself directly.
func TestRecursionThroughCycles(t *testing.T) {
	mutual := testModule{
		types: []string{"->"},
		funcs: []testFunc{{typ: 0, export: "rec", body: "call 1"}, {typ: 0, body: "call 0"}},
	}
	indirect := testModule{
		types: []string{"->"},
		table: true, elems: []uint32{0},
		funcs: []testFunc{{typ: 0, export: "rec", body: "i32.const 0 call_indirect 0 0"}},
	}
	for name, tm := range map[string]testModule{"mutual": mutual, "indirect": indirect} {
		h := newHarness(t, 3, 10)
		mod := h.instantiate(t, mustInstrument(t, tm.bytes(), testOptions(10)))
		if _, err := mod.ExportedFunction("rec").Call(h.ctx); !errors.Is(err, errStop) {
			t.Errorf("%s: rec returned %v, want the hook's error", name, err)
		}
	}
}

// TestBoundedLoops: counted loops with constant bounds get no check (the
// hook never runs with a fuel of zero); loops whose bound is not a
// constant, is too large, or that could skip their increment keep theirs.
func TestBoundedLoops(t *testing.T) {
	loop := func(pre, cond string) testModule {
		return testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{{typ: 0, locals: "i32 i32", export: "run", body: pre + `
			loop
			  local.get 2 local.get 1 i32.add local.set 2
			  local.get 1 i32.const 1 i32.add local.tee 1 ` + cond + ` br_if 0
			end
			local.get 2`}}}
	}
	for _, tc := range []struct {
		name    string
		tm      testModule
		checked bool
	}{
		{"lt_u 100", loop("", "i32.const 100 i32.lt_u"), false},
		{"ne 100 from 0", loop("i32.const 0 local.set 1", "i32.const 100 i32.ne"), false},
		{"ne 0 by the tee from -32", loop("i32.const -32 local.set 1", ""), false},
		{"ne 0 by the tee from an unknown start", loop("local.get 0 i32.const -10 i32.add local.set 1", ""), true},
		{"lt_s 100 from 5", loop("i32.const 5 local.set 1", "i32.const 100 i32.lt_s"), false},
		{"ne 100 from an unknown start", loop("local.get 0 local.set 1", "i32.const 100 i32.ne"), true},
		{"ne 100 from 1 past a join", loop("i32.const 1 local.set 1 block end", "i32.const 100 i32.ne"), true},
		{"lt_s from an unknown start", loop("", "i32.const 100 i32.lt_s"), true},
		{"lt_u a parameter", loop("", "local.get 0 i32.lt_u"), true},
		{"lt_u too many", loop("", "i32.const 1000000 i32.lt_u"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if calls := hookCalls(t, tc.tm, "run", 7); (calls > 0) != tc.checked {
				t.Errorf("hook called %d times with no fuel; want a check: %v", calls, tc.checked)
			}
		})
	}
	// A second back-edge that skips the increment would loop forever.
	skip := testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{{typ: 0, locals: "i32", export: "run", body: `
		loop
		  local.get 0 br_if 0
		  local.get 1 i32.const 1 i32.add local.tee 1 i32.const 100 i32.lt_u br_if 0
		end
		local.get 1`}}}
	if calls := hookCalls(t, skip, "run", 0); calls == 0 {
		t.Error("a loop with a second back-edge has no check")
	}
	// An increment inside an if may not run on every iteration.
	cond := testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{{typ: 0, locals: "i32", export: "run", body: `
		loop
		  local.get 0 if local.get 1 i32.const 1 i32.add local.set 1 end
		  local.get 1 i32.const 1 i32.add local.tee 1 i32.const 100 i32.lt_u br_if 0
		end
		local.get 1`}}}
	if calls := hookCalls(t, cond, "run", 1); calls == 0 {
		t.Error("a loop that writes its counter twice has no check")
	}
}

// scratchSaves counts the global.set instructions in a module's code that
// write a global other than the fuel (index fuel): the slow paths' saves.
func scratchSaves(t *testing.T, wasm []byte, fuel uint32) int {
	t.Helper()
	r := &reader{b: codeOf(t, wasm)}
	n, _ := r.u32()
	saves := 0
	var in instr
	for f := uint32(0); f < n; f++ {
		size, _ := r.u32()
		code, err := r.bytes(size)
		if err != nil {
			t.Fatal(err)
		}
		br := &reader{b: code}
		if err := skipLocals(br); err != nil {
			t.Fatal(err)
		}
		for !br.done() {
			if err := next(br, &in); err != nil {
				t.Fatal(err)
			}
			if in.op == opGlobalSet && in.idx != fuel {
				saves++
			}
		}
	}
	return saves
}

// TestLoopSavesOnlyWhatItUses: a loop's slow path saves the locals the loop
// reads, not one it never touches (local 1, used only after the loop) nor
// one each iteration writes before reading it (local 2), so that neither
// becomes live at the loop's header.
func TestLoopSavesOnlyWhatItUses(t *testing.T) {
	tm := testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{{typ: 0, locals: "i32 i32", export: "run", body: `
		local.get 0 i32.const 3 i32.mul local.set 1
		loop
		  local.get 0 i32.const 7 i32.and local.set 2
		  local.get 2 local.get 0 i32.add drop
		  local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0
		end
		local.get 1`}}}
	out := mustInstrument(t, tm.bytes(), DefaultOptions())
	// The fuel global is the first after the module's (none).
	if got := scratchSaves(t, out, 0); got != 1 {
		t.Errorf("%d saves in the slow path, want 1 (local 0)", got)
	}
	h := newHarness(t, 0, 2)
	res, err := h.instantiate(t, mustInstrument(t, tm.bytes(), testOptions(2))).ExportedFunction("run").Call(h.ctx, 100)
	if err != nil || res[0] != 300 || h.calls == 0 {
		t.Fatalf("run(100) = %v, %v with %d hook calls; want 300 and some calls", res, err, h.calls)
	}
}

// TestHostCallLoopCallsHook: a loop that only calls a host function (which
// spends no fuel and is no edge of the call graph) is still stopped by its
// own check.
func TestHostCallLoopCallsHook(t *testing.T) {
	tm := testModule{
		types:   []string{"->"},
		imports: []testImport{{"env", "dummy", 0}},
		funcs:   []testFunc{{typ: 0, export: "spin", body: "loop call 0 br 0 end"}},
	}
	h := newHarness(t, 3, 1000)
	mod := h.instantiate(t, mustInstrument(t, tm.bytes(), testOptions(1000)))
	if _, err := mod.ExportedFunction("spin").Call(h.ctx); !errors.Is(err, errStop) {
		t.Fatalf("spin returned %v, want the hook's error", err)
	}
}
