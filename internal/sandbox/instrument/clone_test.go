package instrument

import (
	"errors"
	"strings"
	"testing"
)

// ackermann is the Ackermann function as clang emits it: the tail call
// is a loop around the other recursive call.
var ackermann = testModule{types: []string{"i32 i32 -> i32"}, funcs: []testFunc{{typ: 0, export: "run", body: `
	block
	  local.get 0 i32.eqz br_if 0
	  loop
	    block block
	      local.get 1 br_if 0
	      i32.const 1 local.set 1
	      br 1
	    end
	    local.get 0 local.get 1 i32.const -1 i32.add call 0 local.set 1
	    end
	    local.get 0 i32.const -1 i32.add local.tee 0 br_if 0
	  end
	end
	local.get 1 i32.const 1 i32.add`}}}

// bodies counts the function bodies of a module.
func bodies(t *testing.T, wasm []byte) uint32 {
	t.Helper()
	n, err := (&reader{b: codeOf(t, wasm)}).u32()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRecursionClones: a small recursive function gets cloneCopies-1
// clones, and the Ackermann function, whose clones check their loop on its
// back-edge and no recursion, computes what the original does with the
// hook running often.
func TestRecursionClones(t *testing.T) {
	orig := ackermann.bytes()
	if got := bodies(t, mustInstrument(t, orig, DefaultOptions())); got != cloneCopies {
		t.Errorf("%d bodies, want %d", got, cloneCopies)
	}
	h := newHarness(t, 0, 0)
	mod := h.instantiate(t, orig)
	for _, fuel := range []int64{1, 3, 1000} {
		h.refill, h.calls = fuel, 0
		inst := h.instantiate(t, mustInstrument(t, orig, testOptions(fuel)))
		for _, args := range [][]uint64{{0, 0}, {0, 5}, {1, 0}, {1, 7}, {2, 3}, {2, 40}, {3, 3}} {
			want, err := mod.ExportedFunction("run").Call(h.ctx, args...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := inst.ExportedFunction("run").Call(h.ctx, args...)
			if err != nil || got[0] != want[0] {
				t.Errorf("fuel %d: ack%v = %v, %v; want %d", fuel, args, got, err, want[0])
			}
		}
		if fuel == 1 && h.calls == 0 {
			t.Error("fuel 1: the hook was never called")
		}
	}
}

// TestCloneLoopCallsHook: an endless loop in a clone (entered a few
// recursion levels down, where no recursion check runs) still reaches
// the hook through its back-edge check.
func TestCloneLoopCallsHook(t *testing.T) {
	tm := testModule{types: []string{"i32 ->"}, funcs: []testFunc{{typ: 0, export: "run", body: `
		block
		  local.get 0 i32.eqz br_if 0
		  local.get 0 i32.const 1 i32.sub call 0
		  return
		end
		loop ` + strings.Repeat("nop ", maxUnrolledInstrs) + `i32.const 1 br_if 0 end`}}} // too long to unroll
	out := mustInstrument(t, tm.bytes(), testOptions(10))
	if got := bodies(t, out); got != cloneCopies {
		t.Fatalf("%d bodies, want %d", got, cloneCopies)
	}
	for depth := uint64(0); depth < 2*cloneCopies; depth++ {
		h := newHarness(t, 3, 10)
		if _, err := h.instantiate(t, out).ExportedFunction("run").Call(h.ctx, depth); !errors.Is(err, errStop) {
			t.Errorf("run(%d) returned %v, want the hook's error", depth, err)
		}
	}
}

// TestNoClonesOfLargeComponents: a function that makes an indirect call,
// or whose component is larger than maxCloneBytes, is not cloned.
func TestNoClonesOfLargeComponents(t *testing.T) {
	long := ""
	for range maxCloneBytes {
		long += "nop "
	}
	for name, body := range map[string]string{
		"long":     long + "local.get 0 i32.eqz br_if 0 local.get 0 i32.const 1 i32.sub call 0",
		"indirect": "local.get 0 i32.eqz br_if 0 local.get 0 i32.const 1 i32.sub call 0 local.get 0 i32.const 0 call_indirect 0 0",
	} {
		tm := testModule{types: []string{"i32 ->"}, funcs: []testFunc{{typ: 0, export: "run", body: "block " + body + " end"}}}
		if name == "indirect" {
			tm.table = true
		}
		if got := bodies(t, mustInstrument(t, tm.bytes(), DefaultOptions())); got != 1 {
			t.Errorf("%s: %d bodies, want 1", name, got)
		}
	}
}
