package instrument

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// goLoop is a function shaped as Go's wasm is (backedge.go): one dispatch
// loop on local 1 with four cases: A (pc 0, the entry) zeroes i (local 2)
// and s (local 3), calls, and jumps forward to C; B (pc 1) adds i to s and
// increments i, and falls into C; C (pc 2) takes the back-edge to B while
// i < n (local 0), else jumps forward to D; D (pc 3) returns s + 1 through
// a call. %s is C's back-edge: conditional, or not (an endless loop).
const goLoop = `
	loop
	  block
	    block
	      block
	        block
	          local.get 1 br_table 4 0 1 2 3 3
	        end
	        i32.const 0 local.set 2  i32.const 0 local.set 3
	        local.get 2 call 1 drop
	        i32.const 2 local.set 1  br 3
	      end
	      local.get 3 local.get 2 i32.add local.set 3
	      local.get 2 i32.const 1 i32.add local.set 2
	    end
	    %s
	    i32.const 3 local.set 1  br 1
	  end
	  local.get 3 call 1 return
	end
	unreachable`

const (
	goLoopBackEdge = "local.get 2 local.get 0 i32.lt_s  if  i32.const 1 local.set 1  br 2  end"
	goLoopEndless  = "i32.const 1 local.set 1  br 1"
)

func goLoopModule(backEdge string) testModule {
	return testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{
		{typ: 0, locals: "i32 i32 i32", export: "run", body: fmt.Sprintf(goLoop, backEdge)},
		{typ: 0, body: "local.get 0 i32.const 1 i32.add"},
	}}
}

// TestGoBackEdgeCopiesCase: the back-edge runs a copy of case B and C
// before it dispatches, so a loop of n iterations checks n/2 times, with
// the same result, however often the hook runs.
func TestGoBackEdgeCopiesCase(t *testing.T) {
	tm := goLoopModule(goLoopBackEdge)
	orig := countOp(t, tm.bytes(), 0x6a)
	if got := countOp(t, mustInstrument(t, tm.bytes(), DefaultOptions()), 0x6a); got != orig+2 {
		t.Errorf("%d i32.add in the rewritten module, want %d: the original's and a copy of B's two", got, orig+2)
	}
	for _, fuel := range []int64{1, 2, 1000} {
		for n := range 12 {
			h := newHarness(t, 0, fuel)
			got, err := h.instantiate(t, mustInstrument(t, tm.bytes(), testOptions(fuel))).ExportedFunction("run").Call(h.ctx, uint64(n))
			if want := uint64(n*(n-1)/2 + 1); err != nil || got[0] != want {
				t.Errorf("fuel %d: run(%d) = %v, %v; want %d", fuel, n, got, err, want)
			}
		}
	}
	// With fuel 1 and a refill of 1, every check but the first calls the
	// hook (and the restarted loop's check passes): the checks are the
	// entry's, the two forward jumps' (a function with a loop keeps them)
	// and one at every second back-edge, the copy's.
	const n = 100
	h := newHarness(t, 0, 1)
	if _, err := h.instantiate(t, mustInstrument(t, tm.bytes(), testOptions(1))).ExportedFunction("run").Call(h.ctx, n); err != nil {
		t.Fatal(err)
	}
	if want := n/2 + 2; h.calls != want {
		t.Errorf("the hook ran %d times in %d iterations, want %d (one check every second iteration)", h.calls, n, want)
	}
	// Without the copies, every dispatch checks: the entry, A's and C's
	// forward jumps and n back-edges.
	o := testOptions(1)
	o.noCaseCopies = true
	h = newHarness(t, 0, 1)
	if _, err := h.instantiate(t, mustInstrument(t, tm.bytes(), o)).ExportedFunction("run").Call(h.ctx, n); err != nil {
		t.Fatal(err)
	}
	if want := n + 2; h.calls != want {
		t.Errorf("noCaseCopies: the hook ran %d times in %d iterations, want %d", h.calls, n, want)
	}
}

// TestGoEndlessLoopCallsHook: an endless Go loop, whose back-edge is
// copied, still reaches the hook.
func TestGoEndlessLoopCallsHook(t *testing.T) {
	tm := goLoopModule(goLoopEndless)
	for _, fuel := range []int64{1, 10, 1000} {
		h := newHarness(t, 3, fuel)
		if _, err := h.instantiate(t, mustInstrument(t, tm.bytes(), testOptions(fuel))).ExportedFunction("run").Call(h.ctx, 1); !errors.Is(err, errStop) {
			t.Errorf("fuel %d: run returned %v, want the hook's error", fuel, err)
		}
	}
}

// TestGoForwardJumpsSkipHeader: in a Go-shaped function without
// back-edges (A jumps forward to B, which calls and jumps forward to C,
// which returns), the forward jumps branch to their cases, so a call
// checks once, at its entry.
func TestGoForwardJumpsSkipHeader(t *testing.T) {
	tm := testModule{types: []string{"i32 -> i32"}, funcs: []testFunc{
		{typ: 0, locals: "i32 i32", export: "run", body: `
			loop
			  block
			    block
			      block
			        local.get 1 br_table 3 0 1 2 2
			      end
			      i32.const 1 local.set 1  br 2
			    end
			    local.get 0 call 1 local.set 2
			    i32.const 2 local.set 1  br 1
			  end
			  local.get 2 return
			end
			unreachable`},
		{typ: 0, body: "local.get 0 i32.const 1 i32.add"},
	}}
	for _, tc := range []struct {
		name  string
		opts  func(*Options)
		calls int
	}{
		{"forward", func(*Options) {}, 0},                               // one check: fuel 1 covers it
		{"noCaseCopies", func(o *Options) { o.noCaseCopies = true }, 2}, // three
	} {
		o := testOptions(1)
		tc.opts(&o)
		h := newHarness(t, 0, 1)
		got, err := h.instantiate(t, mustInstrument(t, tm.bytes(), o)).ExportedFunction("run").Call(h.ctx, 41)
		if err != nil || got[0] != 42 {
			t.Errorf("%s: run(41) = %v, %v; want 42", tc.name, got, err)
		}
		if h.calls != tc.calls {
			t.Errorf("%s: the hook ran %d times, want %d", tc.name, h.calls, tc.calls)
		}
	}
}

// TestGoShapedRewritePreservesResults (rapid): random functions of Go's
// shape (one dispatch loop on $pc, local 1, over n cases; case 0, the
// entry, calls) whose cases compute on $acc (local 2), branch forward or
// back to random cases by `i32.const K local.set $pc br $L`, some under an
// if, or only forward, and return when a step budget ($k, local 3) runs
// out, give the
// original's results with a fuel so small that the hook runs all the time.
func TestGoShapedRewritePreservesResults(t *testing.T) {
	h := newHarness(t, 0, 2)
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 6).Draw(t, "cases")
		forward := rapid.Bool().Draw(t, "forward") // no back-edge: forward dispatches branch to their case
		var b strings.Builder
		emit := func(format string, args ...any) { fmt.Fprintf(&b, format+" ", args...) }
		emit("local.get 0 local.set 2 i32.const 60 local.set 3 loop")
		for range n {
			emit("block")
		}
		emit("local.get 1 br_table %d", n)
		for k := range n {
			emit("%d", k)
		}
		emit("%d end", n-1)
		for k := range n {
			depth := n - 1 - k // frames between case k's code and the loop
			site := func(depth int) {
				if !forward {
					emit("i32.const %d local.set 1 br %d", rapid.IntRange(0, n-1).Draw(t, "target"), depth)
				} else if k < n-1 {
					emit("i32.const %d local.set 1 br %d", rapid.IntRange(k+1, n-1).Draw(t, "target"), depth)
				} else {
					emit("local.get 2 return")
				}
			}
			emit("local.get 3 i32.const 1 i32.sub local.tee 3 i32.eqz if local.get 2 return end")
			if k == 0 {
				emit("local.get 2 call 1 local.set 2")
			}
			for range rapid.IntRange(0, 3).Draw(t, "stmts") {
				switch rapid.IntRange(0, 2).Draw(t, "stmt") {
				case 0:
					emit("local.get 2 i32.const %d i32.mul i32.const %d i32.add local.set 2", rapid.IntRange(1, 7).Draw(t, "m"), k)
				case 1:
					emit("local.get 2 i32.const %d i32.and if", 1<<rapid.IntRange(0, 4).Draw(t, "bit"))
					site(depth + 1)
					emit("end")
				case 2:
					emit("local.get 2 i32.const 1 i32.shr_u local.get 2 i32.xor local.set 2")
				}
			}
			switch {
			case k == n-1 || rapid.Bool().Draw(t, "exit"):
				site(depth)
			default: // fall into case k+1
			}
			if k < n-1 {
				emit("end")
			}
		}
		emit("end unreachable")
		tm := testModule{
			types: []string{"i32 -> i32"},
			funcs: []testFunc{
				{typ: 0, locals: "i32 i32 i32", export: "run", body: b.String()},
				{typ: 0, body: "local.get 0 i32.const 3 i32.mul i32.const 1 i32.add"},
			},
		}
		orig := tm.bytes()
		args := [][]uint64{{0}, {1}, {12345}}
		want, _ := runKernel(t, h, orig, args)
		inst, err := Instrument(orig, testOptions(2))
		if err != nil {
			t.Fatalf("Instrument: %v\n%s", err, b.String())
		}
		got, _ := runKernel(t, h, inst, args)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("results differ (-original +instrumented):\n%s\n%s", diff, b.String())
		}
	})
}
