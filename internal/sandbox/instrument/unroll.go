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
)

// loopPlan is what the analysis decided for one loop instruction.
type loopPlan struct {
	bounded bool // no check at all (bounded.go)
	unroll  int  // copies of the body, 2 or more; 0: not unrolled
	tail    int  // unrolled: offset in the body's code of the final br_if 0
	inBody  bool // its iterations make calls: the check calls the hook from the body, no wrapper
}

// planUnroll decides whether the loop whose body starts at code[pos] (just
// after its block type bt) is unrolled: it returns the number of copies and
// the offset of its final br_if 0, or 0 copies.
func planUnroll(code []byte, pos int, bt blockType) (copies, tail int) {
	if len(bt.raw) != 1 || bt.raw[0] != blockEmpty {
		return 0, 0
	}
	r := &reader{b: code, pos: pos}
	var in instr
	depth := 0
	var last instr // the previous instruction directly in the loop
	for n := 0; n <= maxUnrolledInstrs/2; n++ {
		if next(r, &in) != nil {
			return 0, 0
		}
		switch in.op {
		case opLoop, opCall, opReturnCall, 0x11, 0x13, 0x14, 0x15: // nested loops and calls
			return 0, 0
		case opBlock, opIf:
			depth++
		case opEnd:
			if depth == 0 {
				if last.op != opBrIf || last.idx != 0 || n < 2 {
					return 0, 0
				}
				return min(maxUnroll, maxUnrolledInstrs/n), last.start
			}
			depth--
		}
		last.op, last.idx, last.start = in.op, in.idx, in.start
	}
	return 0, 0
}

// unrolled emits the copies of an unrolled loop's body but the last, after
// the check that loop has emitted; r is at the body's first instruction,
// and stays there: the last copy is the body itself, which the caller
// copies with the loop's tail and end. Each copy but the last runs in a
// block of its own, and its br_if 0 goes on
// to the next copy, past the br to $done:
//
//	block  body  cond  br_if 0  br $done  end
//
// (negating cond with i32.eqz instead would cost three instructions more
// a copy: wazevo materialises the comparison before testing it).
func (w *bodyWriter) unrolled(dst, code []byte, r *reader, plan loopPlan) ([]byte, error) {
	level := len(w.frames) // the loop's frame is on top
	loop := &w.frames[level-1]
	for k := 0; k < plan.unroll-1; k++ {
		dst = append(dst, opBlock, blockEmpty)
		loop.inside = 1
		sub := &reader{b: code[:plan.tail], pos: r.pos}
		for !sub.done() {
			if err := next(sub, &w.in); err != nil {
				return nil, err
			}
			var err error
			if dst, err = w.instr(dst, code, sub); err != nil {
				return nil, err
			}
			loop = &w.frames[level-1] // instr may grow the slice
		}
		if len(w.frames) != level {
			return nil, errors.New("unbalanced loop body")
		}
		loop.inside = 0
		dst = append(dst, opBrIf, 0, opBr, loopLabels+1, opEnd) // on, or to $done
	}
	return dst, nil // the last copy is the loop's own body, which the caller copies
}
