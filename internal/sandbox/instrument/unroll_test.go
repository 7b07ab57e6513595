package instrument

import (
	"testing"
)

// countOp counts the instructions with opcode op in a module's code
// section.
func countOp(t *testing.T, wasm []byte, op byte) int {
	t.Helper()
	r := &reader{b: codeOf(t, wasm)}
	n, _ := r.u32()
	count := 0
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
			if in.op == op {
				count++
			}
		}
	}
	return count
}

// countdown is a do-while loop that adds i to a sum and decrements i,
// going on while cond (the code after local.tee 1, which leaves i on the
// stack) holds.
func countdown(cond string) testModule {
	return testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{{typ: 0, locals: "i32 i32", export: "run", body: `
		local.get 0 local.set 1
		loop
		  local.get 2 local.get 1 i32.add local.set 2
		  local.get 1 i32.const 1 i32.sub local.tee 1 ` + cond + ` br_if 0
		end
		local.get 2`}}}
}

// TestSmallLoopsUnrolled: a small loop's body is copied (the countdown's
// 9 instructions maxUnrolledInstrs/9 = 7 times), one check covers all the
// copies, and the loop computes what the original does for every trip
// count, whatever the comparison on its back-edge, with the hook running
// often.
func TestSmallLoopsUnrolled(t *testing.T) {
	tm := countdown("")
	out := mustInstrument(t, tm.bytes(), DefaultOptions())
	if got, want := countOp(t, out, 0x6b), min(maxUnroll, maxUnrolledInstrs/9); got != want { // i32.sub
		t.Errorf("%d copies of the body, want %d", got, want)
	}
	if got := countOp(t, out, 0x7d); got != 1 { // i64.sub: the checks
		t.Errorf("%d checks, want 1", got)
	}
	for _, cond := range []string{
		"", "i32.eqz i32.eqz", "i32.const 0 i32.ne", "i32.const 0 i32.gt_s", "i32.const 3 i32.ge_u",
		"i32.const 2 i32.gt_u", "i32.const 5 i32.le_u i32.eqz", "i32.const 4 i32.ge_s",
		"i64.extend_i32_u i64.const 0 i64.ne", "i64.extend_i32_u i64.const 1 i64.ge_u",
		"i64.extend_i32_u i64.const 0 i64.eq i32.eqz", "i32.const 0 i32.eq i32.eqz",
	} {
		orig := countdown(cond).bytes()
		h := newHarness(t, 0, 0)
		mod := h.instantiate(t, orig)
		for _, fuel := range []int64{1, 3, 1000} {
			h.refill, h.calls = fuel, 0
			inst := h.instantiate(t, mustInstrument(t, orig, testOptions(fuel)))
			for n := uint64(1); n <= 20; n++ {
				want, err := mod.ExportedFunction("run").Call(h.ctx, n)
				if err != nil {
					t.Fatal(err)
				}
				got, err := inst.ExportedFunction("run").Call(h.ctx, n)
				if err != nil || got[0] != want[0] {
					t.Errorf("%q, fuel %d: run(%d) = %v, %v; want %d", cond, fuel, n, got, err, want[0])
				}
			}
			if fuel == 1 && h.calls == 0 {
				t.Errorf("%q, fuel 1: the hook was never called", cond)
			}
		}
	}
}

// TestUnrolledLoopAfterLowRefill: a check that spends several units lets
// its loop go on when the hook refills less than that (one unit, the
// least its contract allows), instead of calling the hook again forever.
func TestUnrolledLoopAfterLowRefill(t *testing.T) {
	orig := countdown("").bytes()
	h := newHarness(t, 1000, 1)
	res, err := h.instantiate(t, mustInstrument(t, orig, testOptions(0))).ExportedFunction("run").Call(h.ctx, 100)
	if err != nil || res[0] != 5050 {
		t.Fatalf("run(100) = %v, %v after %d hook calls; want 5050", res, err, h.calls)
	}
}

// TestLoopsNotUnrolled: a loop that makes a call, holds a loop, has a
// result or is long keeps a single copy of its body.
func TestLoopsNotUnrolled(t *testing.T) {
	long := ""
	for range maxUnrolledInstrs / 2 {
		long += "local.get 1 drop "
	}
	for name, body := range map[string]string{
		"call":   "loop local.get 1 call 1 drop local.get 1 i32.const 1 i32.sub local.tee 1 br_if 0 end local.get 1",
		"nested": "loop loop local.get 0 br_if 0 end local.get 1 i32.const 1 i32.sub local.tee 1 br_if 0 end local.get 1",
		"result": "loop:i32 local.get 1 i32.const 1 i32.sub local.tee 1 local.get 1 br_if 0 end",
		"long":   "loop " + long + "local.get 1 i32.const 1 i32.sub local.tee 1 br_if 0 end local.get 1",
	} {
		tm := testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{
			{typ: 0, locals: "i32", export: "run", body: body},
			{typ: 0, body: "local.get 0"},
		}}
		if got := countOp(t, mustInstrument(t, tm.bytes(), DefaultOptions()), 0x6b); got != 1 {
			t.Errorf("%s: %d copies of the body, want 1", name, got)
		}
	}
}

// dispatch is an interpreter-like loop: a br_table picks one of three
// cases, two of which branch back to the loop; the third falls off the
// loop's end with its result unless it goes on.
func dispatch(pad string) testModule {
	return testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{{typ: 0, locals: "i32 i32", export: "run", body: `
		loop:i32
		  local.get 1 i32.const 1 i32.add local.set 1
		  block block block
		    local.get 1 i32.const 3 i32.rem_u
		    br_table 3 0 1 2 2
		  end
		  local.get 2 local.get 1 i32.add local.set 2 br 2
		  end
		  local.get 2 i32.const 3 i32.mul local.get 1 i32.xor local.set 2 ` + pad + `br 1
		  end
		  local.get 2 i32.const 7 i32.add local.set 2
		  local.get 1 local.get 0 i32.lt_u br_if 0
		  local.get 2
		end`}}}
}

// TestDispatchLoopUnrolled: a loop around a br_table gets two copies
// under one check, the cases of the first going on to the second's
// dispatch, and computes what the original does with the hook running
// often; one longer than maxDispatchInstrs, or whose iterations call,
// keeps one copy.
func TestDispatchLoopUnrolled(t *testing.T) {
	out := mustInstrument(t, dispatch("").bytes(), DefaultOptions())
	if got := countOp(t, out, opBrTable); got != 2 {
		t.Errorf("%d copies of the body, want 2", got)
	}
	if got := countOp(t, out, 0x7d); got != 1 { // i64.sub: the checks
		t.Errorf("%d checks, want 1", got)
	}
	orig := dispatch("").bytes()
	h := newHarness(t, 0, 0)
	mod := h.instantiate(t, orig)
	for _, fuel := range []int64{1, 2, 3, 1000} {
		h.refill, h.calls = fuel, 0
		inst := h.instantiate(t, mustInstrument(t, orig, testOptions(fuel)))
		for n := uint64(0); n <= 30; n++ {
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
	long := ""
	for range maxDispatchInstrs / 2 {
		long += "local.get 1 drop "
	}
	if got := countOp(t, mustInstrument(t, dispatch(long).bytes(), DefaultOptions()), opBrTable); got != 1 {
		t.Errorf("long dispatch loop: %d copies of the body, want 1", got)
	}
	// A case that calls a module function: one copy (each Go function's
	// loop is such a dispatch loop); one that calls on its way out of the
	// loop (a return after the call): two.
	for pad, want := range map[string]int{"i32.const 0 call 1 drop ": 1, "i32.const 0 call 1 return ": 2} {
		tm := dispatch(pad)
		tm.funcs = append(tm.funcs, testFunc{typ: 0, body: "local.get 0"})
		if got := countOp(t, mustInstrument(t, tm.bytes(), DefaultOptions()), opBrTable); got != want {
			t.Errorf("dispatch loop with %q: %d copies of the body, want %d", pad, got, want)
		}
	}
}
