package instrument

// Where a recursive function's check goes.
//
// A function on a cycle of the call graph needs a check only on the way
// to its calls along the cycle: an activation that makes no such call ends
// (its loops have checks of their own), and an endless recursion is an
// endless chain of activations each of which makes one. So the check need
// not sit at the entry, where every activation pays it, the leaves of a
// recursion (fib(1), a walk reaching a null child) included; it goes at
// the latest point of the body that every cycle call passes:
//
//   - the cycle calls are the direct calls (call, return_call) to a
//     function of the same strongly connected component, and every
//     indirect call;
//   - the frame chosen is the innermost block, if arm or loop that holds
//     them all, and the point is the last statement boundary directly in
//     that frame before the first cycle call's own statement: the frame's
//     start, or just after a br_if, a local.set, global.set, drop, store,
//     a call without results, or the end of a nested construct. Structured
//     control cannot reach code after such a point in that frame without
//     passing it: branches leave frames (or restart a loop from its start),
//     they never jump into the middle of one;
//   - if one of the frames holding all the cycle calls is a loop, the
//     loop's own check, at its header, already comes before each of them,
//     and the function needs no other: clang turns fib's second recursive
//     call into a loop around the first, so fib has none.
//
// A boundary leaves the operand stack as it was at the frame's start in
// the code compilers emit, so the check's slow path carries nothing on it
// across the hook call (if it did, the rewriting would still be valid,
// only slower).

// placement is where a recursive function's check goes.
type placement struct {
	at      int  // offset in the body of the instruction the check precedes
	covered bool // a loop's check comes before every cycle call: no check needed
}

// placeFrame is a control frame open during placeCheck's scan.
type placeFrame struct {
	loop     bool
	boundary int // the last statement boundary directly in this frame
}

// placeCheck scans a body whose first instruction is at code[pos] and
// places its check; cycle reports whether an instruction is a cycle call.
// A body it cannot read gets its check at the entry (the rewriting
// reports the error).
func (m *module) placeCheck(code []byte, pos int, cycle func(*instr) bool) placement {
	frames := []placeFrame{{boundary: pos}}
	var snap []placeFrame // the frames open at the first cycle call
	open, deepest := 0, 0 // snap's frames still open; the innermost frame holding every cycle call so far
	r := &reader{b: code, pos: pos}
	var in instr
	for len(frames) > 0 {
		if next(r, &in) != nil {
			return placement{at: pos}
		}
		top := len(frames) - 1
		switch in.op {
		case opBlock, opLoop, opIf:
			frames = append(frames, placeFrame{loop: in.op == opLoop, boundary: r.pos})
			continue
		case opElse, opEnd:
			if snap != nil && open == len(frames) {
				open-- // a frame that held the first cycle call is over
			}
			if in.op == opElse {
				frames[top] = placeFrame{boundary: r.pos}
				continue
			}
			frames = frames[:top]
			if top > 0 {
				frames[top-1].boundary = r.pos
			}
			continue
		}
		if cycle(&in) {
			if snap == nil {
				snap = append(snap, frames...)
				open, deepest = len(frames), len(frames)-1
			} else {
				deepest = min(deepest, open-1)
			}
			continue
		}
		if m.statementEnd(&in) {
			frames[top].boundary = r.pos
		}
	}
	if snap == nil {
		return placement{at: pos}
	}
	for _, f := range snap[1 : deepest+1] {
		if f.loop {
			return placement{covered: true}
		}
	}
	return placement{at: snap[deepest].boundary}
}

// statementEnd reports whether the instruction ends a statement: it leaves
// on the operand stack no value of its own.
func (m *module) statementEnd(in *instr) bool {
	switch {
	case in.op == opBrIf, in.op == opLocalSet, in.op == opGlobalSet, in.op == 0x1a: // drop
		return true
	case in.op >= 0x36 && in.op <= 0x3e: // stores
		return true
	case in.op == opCall:
		if in.idx < m.funcImports {
			return false // an import's type is not at hand; not worth it
		}
		d := uint64(in.idx - m.funcImports)
		if d >= uint64(len(m.funcTypes)) || m.funcTypes[d] >= uint32(len(m.types)) {
			return false
		}
		return len(m.types[m.funcTypes[d]].results) == 0
	}
	return false
}
