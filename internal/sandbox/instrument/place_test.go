package instrument

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// usesLocal reports whether a module's first function names local l.
func usesLocal(t *testing.T, wasm []byte, l uint32) bool {
	t.Helper()
	r := &reader{b: codeOf(t, wasm)}
	r.u32()
	size, _ := r.u32()
	code, err := r.bytes(size)
	if err != nil {
		t.Fatal(err)
	}
	br := &reader{b: code}
	if err := skipLocals(br); err != nil {
		t.Fatal(err)
	}
	var in instr
	for !br.done() {
		if err := next(br, &in); err != nil {
			t.Fatal(err)
		}
		if (in.op == opLocalGet || in.op == opLocalSet || in.op == opLocalTee) && in.idx == l {
			return true
		}
	}
	return false
}

// TestCycleCheckAfterEarlyReturn: the check of a recursive function goes
// after its early return, so that a leaf activation (depth(0)) runs none,
// while every activation that recurses does (depth(5) with no fuel calls
// the hook).
func TestCycleCheckAfterEarlyReturn(t *testing.T) {
	tm := testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{{typ: 0, export: "depth", body: `
		block local.get 0 br_if 0 i32.const 0 return end
		local.get 0 i32.const 1 i32.sub call 0 i32.const 1 i32.add`}}}
	if calls := hookCalls(t, tm, "depth", 0); calls != 0 {
		t.Errorf("depth(0) called the hook %d times with no fuel; want 0 (no check before the early return)", calls)
	}
	if calls := hookCalls(t, tm, "depth", 5); calls == 0 {
		t.Error("depth(5) never called the hook with no fuel")
	}
}

// fib is clang's shape of fib: the second recursive call turned into a
// loop around the first.
var fibBody = `
	block
	  local.get 0 i32.const 2 i32.lt_u br_if 0
	  loop
	    local.get 0 i32.const 1 i32.sub call 0 local.get 1 i32.add local.set 1
	    local.get 0 i32.const 2 i32.sub local.tee 0 i32.const 1 i32.gt_u br_if 0
	  end
	end
	local.get 0 local.get 1 i32.add`

// TestCycleCheckCoveredByLoop: when every recursive call sits in a loop,
// the loop's check is the only one (fib(1) runs no check), and the
// function, whose only loop makes calls, keeps the fuel in the global (no
// $c, local 2). It still computes fib with the hook running often, and an
// endless recursion from inside a loop is stopped.
func TestCycleCheckCoveredByLoop(t *testing.T) {
	tm := testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{{typ: 0, locals: "i32", export: "fib", body: fibBody}}}
	if calls := hookCalls(t, tm, "fib", 1); calls != 0 {
		t.Errorf("fib(1) called the hook %d times with no fuel; want 0", calls)
	}
	if usesLocal(t, mustInstrument(t, tm.bytes(), DefaultOptions()), 2) {
		t.Error("the fuel is cached in a local in a function whose loop makes calls")
	}
	for _, fuel := range []int64{1, 3, 1000} {
		h := newHarness(t, 0, fuel)
		res, err := h.instantiate(t, mustInstrument(t, tm.bytes(), testOptions(fuel))).ExportedFunction("fib").Call(h.ctx, 15)
		if err != nil || res[0] != 610 || (fuel < 100 && h.calls == 0) {
			t.Errorf("fuel %d: fib(15) = %v, %v with %d hook calls; want 610 and some calls", fuel, res, err, h.calls)
		}
	}
	endless := testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{{typ: 0, export: "rec", body: `
		loop local.get 0 call 0 drop br 0 end i32.const 0`}}}
	h := newHarness(t, 3, 10)
	if _, err := h.instantiate(t, mustInstrument(t, endless.bytes(), testOptions(10))).ExportedFunction("rec").Call(h.ctx, 1); !errors.Is(err, errStop) {
		t.Errorf("rec returned %v, want the hook's error", err)
	}
}

// TestQuietLoopKeepsLocalFuel: a loop whose only call is on its way out
// (followed by a return) is a loop without calls: its function keeps the
// fuel in $c (local 1), not in the global.
func TestQuietLoopKeepsLocalFuel(t *testing.T) {
	tm := testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{
		{typ: 0, export: "run", body: `
			loop
			  block local.get 0 br_if 0 local.get 0 call 1 return end
			  local.get 0 i32.const 1 i32.sub local.set 0 br 0
			end
			i32.const 0`},
		{typ: 0, body: "loop local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0 end local.get 0"},
	}}
	if !usesLocal(t, mustInstrument(t, tm.bytes(), DefaultOptions()), 1) {
		t.Error("the fuel is not cached in a local in a loop that makes no call on its way round")
	}
}

// TestCallingLoopChecksInBody: in a large function (minInBodyCheck bytes
// or more), a loop that calls a module function on its way round gets its
// check, and the hook's call, in its body: no wrapper (whose second loop
// header cost printf_core's loop 50 instructions an iteration), so the
// output has one loop, not two. It is still stopped when it never ends. In
// a small function the same loop keeps the wrapper.
func TestCallingLoopChecksInBody(t *testing.T) {
	pad := strings.Repeat("local.get 0 drop ", minInBodyCheck/3+1) // 3 bytes each
	for _, tc := range []struct {
		name  string
		pad   string
		loops int
	}{{"large", pad, 1}, {"small", "", 2}} {
		tm := testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{
			{typ: 0, export: "spin", body: tc.pad + "loop local.get 0 call 1 drop br 0 end i32.const 0"},
			{typ: 0, body: "local.get 0 i32.const 1 i32.add"},
		}}
		if got := countOp(t, mustInstrument(t, tm.bytes(), DefaultOptions()), opLoop); got != tc.loops {
			t.Errorf("%s: %d loop instructions, want %d", tc.name, got, tc.loops)
		}
		h := newHarness(t, 3, 10)
		if _, err := h.instantiate(t, mustInstrument(t, tm.bytes(), testOptions(10))).ExportedFunction("spin").Call(h.ctx, 1); !errors.Is(err, errStop) {
			t.Errorf("%s: spin returned %v, want the hook's error", tc.name, err)
		}
	}
}

// TestCallingDispatchLoopChecksInBody: a dispatch loop (one holding a
// br_table, as every Go function's loop does) whose iterations call gets
// its check in its body even in a small function, the hook's call in a
// block of its own that restarts the loop: one loop instruction, no
// wrapper. It computes what the original does with the hook called at
// every other check, and is stopped when it never ends, in a small
// function and in a large one.
func TestCallingDispatchLoopChecksInBody(t *testing.T) {
	const dispatch = `
		loop
		  block
		    block
		      local.get 1 br_table 1 0 1
		    end
		    local.get 2 call 1 local.set 2
		    i32.const 1 local.set 1
		    br 1
		  end
		  %s
		  local.get 0 i32.const 1 i32.sub local.set 0
		  i32.const 0 local.set 1
		  br 0
		end
		i32.const 0`
	const counted = "local.get 0 i32.eqz if local.get 2 return end"
	pad := strings.Repeat("local.get 0 drop ", minInBodyCheck/3+1) // a large function: only the dispatch local is saved
	for _, tc := range []struct {
		name, pad, exit string
		endless         bool
	}{{"counted", "", counted, false}, {"endless", "", "", true}, {"large", pad, counted, false}, {"large endless", pad, "", true}} {
		tm := testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{
			{typ: 0, locals: "i32 i32", export: "run", body: tc.pad + fmt.Sprintf(dispatch, tc.exit)},
			{typ: 0, body: "local.get 0 i32.const 1 i32.add"},
		}}
		if got := countOp(t, mustInstrument(t, tm.bytes(), DefaultOptions()), opLoop); got != 1 {
			t.Errorf("%s: %d loop instructions, want 1", tc.name, got)
		}
		if tc.endless {
			h := newHarness(t, 3, 10)
			if _, err := h.instantiate(t, mustInstrument(t, tm.bytes(), testOptions(10))).ExportedFunction("run").Call(h.ctx, 1); !errors.Is(err, errStop) {
				t.Errorf("%s: run returned %v, want the hook's error", tc.name, err)
			}
			continue
		}
		h := newHarness(t, 0, 2)
		got, err := h.instantiate(t, mustInstrument(t, tm.bytes(), testOptions(2))).ExportedFunction("run").Call(h.ctx, 50)
		if err != nil || got[0] != 51 {
			t.Errorf("%s: run(50) = %v, %v; want 51", tc.name, got, err)
		}
		if h.calls < 20 {
			t.Errorf("%s: the hook ran %d times in 101 iterations with a refill of 2", tc.name, h.calls)
		}
	}
}
