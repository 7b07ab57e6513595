package instrument

import "errors"

// Small loops are unrolled, so that one check covers several iterations.
//
// In a loop of a few instructions the check (decrement, compare, branch:
// three machine instructions) is a large part of each iteration: a third
// of wasi-libc's strlen-like loops, of a quicksort's partition scans, of
// gcd's. A loop with no parameters or results, no nested loop and no call,
// whose last instruction is its only exit to the next iteration that
// falls through, `br_if 0`, and whose body is short, becomes
//
//	loop $L
//	  $c -= k; br_if $slow ($c < 0)    ;; the check, for k iterations
//	  body  cond' br_if $done          ;; copy 1: leave when the original would
//	  body  cond' br_if $done          ;; ...
//	  body  cond  br_if $L             ;; copy k: the original tail
//	end
//
// where cond is the instruction that computes the original br_if's
// condition and cond' its negation: the inverse comparison for an integer
// comparison (ne for eq, ge_u for lt_u, ...), nothing for i32.eqz, and an
// added i32.eqz otherwise. A branch to $L from within a copy (a continue)
// restarts the loop at its check, which is what the original did. Each
// check spends k units of fuel, so that a unit of fuel still pays for one
// iteration at most and the latency bound of docs/preemption.md holds.

// Limits of unrolling.
const (
	// maxUnroll is the most copies of a loop's body; it must stay below
	// 64, since a check's decrement is one byte of signed LEB128.
	maxUnroll = 8
	// maxUnrolledInstrs is the most instructions of all the copies of an
	// unrolled loop's body together: a loop of more than half of it is not
	// unrolled, one of n instructions gets maxUnrolledInstrs/n copies (at
	// most maxUnroll).
	maxUnrolledInstrs = 256
)

// loopPlan is what the analysis decided for one loop instruction.
type loopPlan struct {
	bounded bool // no check at all (bounded.go)
	unroll  int  // copies of the body, 2 or more; 0: not unrolled
	tail    int  // unrolled: offset in the body's code of the final br_if 0
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

// inverse returns the instructions that negate the condition computed by
// op, if it is an integer comparison or i32.eqz.
func inverse(op byte) ([]byte, bool) {
	switch {
	case op == 0x45: // i32.eqz: branch on the operand itself
		return nil, true
	case op == 0x46 || op == 0x51: // eq -> ne
		return []byte{op + 1}, true
	case op == 0x47 || op == 0x52: // ne -> eq
		return []byte{op - 1}, true
	}
	var base byte
	switch {
	case op >= 0x48 && op <= 0x4f: // i32 lt_s .. ge_u
		base = 0x48
	case op >= 0x53 && op <= 0x5a: // i64 lt_s .. ge_u
		base = 0x53
	default:
		return nil, false
	}
	// lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u: each pairs with the one
	// four further on the other side (lt with ge, gt with le).
	inv := [8]byte{6, 7, 4, 5, 2, 3, 0, 1}
	return []byte{base + inv[op-base]}, true
}

// unrolled emits the copies of an unrolled loop's body, after the check
// that loop has emitted; r is at the body's first instruction. It leaves r
// at the final br_if 0, which the caller copies with the loop's end.
func (w *bodyWriter) unrolled(dst, code []byte, r *reader, plan loopPlan) ([]byte, error) {
	level := len(w.frames) // the loop's frame is on top
	for k := 0; k < plan.unroll; k++ {
		last := k == plan.unroll-1
		sub := &reader{b: code[:plan.tail], pos: r.pos}
		negated := false
		for !sub.done() {
			if err := next(sub, &w.in); err != nil {
				return nil, err
			}
			if !last && w.in.end == plan.tail && len(w.frames) == level {
				if inv, ok := inverse(w.in.op); ok {
					dst, negated = append(dst, inv...), true
					continue
				}
			}
			var err error
			if dst, err = w.instr(dst, code, sub); err != nil {
				return nil, err
			}
		}
		if len(w.frames) != level {
			return nil, errors.New("unbalanced loop body")
		}
		if last {
			break
		}
		if !negated {
			dst = append(dst, 0x45) // i32.eqz
		}
		dst = append(dst, opBrIf, loopLabels) // to $done: the loop is over
	}
	r.pos = plan.tail
	return dst, nil
}
