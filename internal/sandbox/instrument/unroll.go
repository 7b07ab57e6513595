package instrument

import "errors"

// Small loops are unrolled, so that one check covers several iterations.
//
// In a loop of a few instructions the check (decrement, compare, branch:
// three machine instructions) is a large part of each iteration: a third
// of wasi-libc's strlen-like loops, of a quicksort's partition scans, of
// gcd's. A loop with no parameters or results, no nested loop and no call,
// whose last instruction is `br_if 0` and whose body is short, becomes
//
//	loop $L
//	  $c -= k; br_if $slow ($c < 0)             ;; the check, for k iterations
//	  block  body  cond br_if 0  br $done  end  ;; copy 1: on to copy 2, or out
//	  ...                                        ;; copies 2 .. k-1 the same
//	  body  cond  br_if $L                       ;; copy k: the original body
//	end
//
// where cond is the code that computes the original br_if's condition. A
// branch to $L from within a copy (a continue) restarts the loop at its
// check, which is what the original did. Each check spends k units of
// fuel, so that a unit of fuel still pays for one iteration at most and
// the latency bound of docs/preemption.md holds; after the hook the slow
// path lends k-1 units, so that a refill of one unit (the least the hook's
// contract allows) still lets the loop go on.

// Limits of unrolling.
const (
	// maxUnroll is the most copies of a loop's body; it must stay below
	// 64, since a check's decrement is one byte of signed LEB128.
	maxUnroll = 8
	// maxUnrolledInstrs is the most instructions of all the copies of an
	// unrolled loop's body together: a loop of more than half of it is not
	// unrolled, one of n instructions gets maxUnrolledInstrs/n copies (at
	// most maxUnroll).
	maxUnrolledInstrs = 128
	// maxDispatchInstrs is the longest dispatch loop (one holding a
	// br_table) that gets two copies: each iteration runs one of its
	// cases, so the check is a large part of an iteration however long the
	// body is (interp's is 10 cases of about 20 instructions).
	maxDispatchInstrs = 512
)

// loopPlan is what the analysis decided for one loop instruction.
type loopPlan struct {
	bounded  bool // no check at all (bounded.go)
	unroll   int  // copies of the body, 2 or more; 0: not unrolled
	end      int  // unrolled: offset in the body's code of the loop's end
	inBody   bool // its iterations make calls: the check calls the hook from the body, no wrapper
	dispatch bool // inBody, and it opens with a br_table (opensWithTable): the hook's call restarts the loop
	back     int  // the offset of its final br_if 0, where it checks instead of at its header (clone.go); 0: none

	pos int       // offset in the body's code of its first instruction
	bt  blockType // its block type
}

// planUnroll decides whether the loop whose body starts at code[pos] (just
// after its block type bt) is unrolled: it returns the number of copies and
// the offset of the loop's end, or 0 copies. Two kinds are: a small loop
// (no result, no call, ending in br_if 0, at most maxUnrolledInstrs/2
// instructions) and a dispatch loop (a br_table in it, at most
// maxDispatchInstrs instructions; a result allowed, and calls that the
// loop's iterations do not make, such as interp's printf on the way out:
// the scan, analysis.go, drops the plan of a loop whose iterations call, as
// the loop around each Go function's body does); neither may have
// parameters or a nested loop.
func planUnroll(code []byte, pos int, bt blockType) (copies, end int) {
	if bt.typeIdx >= 0 || len(bt.raw) != 1 {
		return 0, 0 // a type index: parameters, or several results
	}
	r := &reader{b: code, pos: pos}
	var in instr
	depth := 0
	var last instr // the previous instruction directly in the loop
	calls, table := false, false
	for n := 0; n <= maxDispatchInstrs; n++ {
		if next(r, &in) != nil {
			return 0, 0
		}
		switch in.op {
		case opLoop:
			return 0, 0
		case opCall, opReturnCall, 0x11, 0x13, 0x14, 0x15:
			calls = true
		case opBrTable:
			table = true
		case opBlock, opIf:
			depth++
		case opEnd:
			if depth > 0 {
				depth--
				break
			}
			switch {
			case table && n >= 2:
				return 2, in.start
			case calls || n < 2 || n > maxUnrolledInstrs/2 || bt.raw[0] != blockEmpty:
				return 0, 0
			case last.op != opBrIf || last.idx != 0:
				return 0, 0
			}
			return min(maxUnroll, maxUnrolledInstrs/n), in.start
		}
		last.op, last.idx = in.op, in.idx
	}
	return 0, 0
}

// unrolled emits the copies of an unrolled loop's body but the last, after
// the check that loop has emitted; r is at the body's first instruction,
// and stays there: the last copy is the body itself, which the caller
// copies with the loop's end. Each copy but the last runs in a block of
// its own, where a branch to the loop goes on to the next copy, and
// falling off the end leaves the loop:
//
//	block  body  br $done  end
//
// so a small loop's final br_if 0 goes on to the next copy, past the br to
// $done (negating its condition with i32.eqz and leaving by br_if $done
// instead would cost three instructions more a copy: wazevo materialises
// the comparison before testing it), and a dispatch loop's cases branch
// to the next copy's dispatch.
func (w *bodyWriter) unrolled(dst, code []byte, r *reader, plan loopPlan) ([]byte, error) {
	level := len(w.frames) // the loop's frame is on top
	loop := &w.frames[level-1]
	for k := 0; k < plan.unroll-1; k++ {
		dst = append(dst, opBlock, blockEmpty)
		loop.inside, loop.toCopy = 1, true
		sub := &reader{b: code[:plan.end], pos: r.pos}
		for !sub.done() {
			if err := next(sub, &w.in); err != nil {
				return nil, err
			}
			var err error
			if dst, err = w.instr(dst, code, sub); err != nil {
				return nil, err
			}
			loop = &w.frames[level-1] // instr may grow the slice
			if len(w.frames) < level {
				return nil, errors.New("unbalanced loop body")
			}
		}
		if len(w.frames) != level {
			return nil, errors.New("unbalanced loop body")
		}
		loop.inside, loop.toCopy = 0, false
		dst = append(dst, opBr, loopLabels+1, opEnd) // to $done
	}
	return dst, nil // the last copy is the loop's own body, which the caller copies
}
