package instrument

// Small recursions are checked every cloneCopies levels.
//
// A recursive function's check bounds recursion; a loop's check bounds
// its iterations. In a small recursive function either runs about once an
// activation: clang turns the Ackermann function's tail call into a loop
// around the other call, which runs once in most activations, and that
// loop's check (a load, a subtraction, a store, a compare and a branch on
// the fuel global) was most of recursion.c's 15 % over the original. So
// every function of a small strongly connected component of the call
// graph (at most maxCloneFuncs functions of maxCloneBytes bytes in all, no
// indirect call) gets cloneCopies-1 clones, and a cycle call of version v
// of a function goes to version v+1 of the callee (mod cloneCopies, the
// original being version 0). A chain of recursive calls goes round the
// versions, and only the original checks, as before (place.go), spending
// cloneCopies units. A clone has no recursion check, and a loop of a
// clone whose only branch to its own label is its last instruction,
// br_if 0, checks on that branch when it is taken, not at its header, so
// a loop left after one iteration (Ackermann's, fib's for n = 2 or 3)
// runs no check there; a clone's other loops keep their checks.
//
// Every endless run still passes checks: an endless recursion goes around
// the component and through an original at least every cloneCopies calls,
// and the original checks before its cycle calls (or its loop does, at
// its header); an endless loop takes its back-edge endlessly.
const (
	maxCloneFuncs = 4
	maxCloneBytes = 4096
	// cloneCopies is how many versions of each such function there are,
	// the original included: a recursion runs a check every cloneCopies
	// levels.
	cloneCopies = 4
)

// planClones picks the components that get clones, marks their functions
// and their back-edge loops, and lists the clones in m.clones.
func (m *module) planClones(out []funcInfo, comp []int32, onCycle, indirect []bool) {
	m.cloneOf = make([]int32, len(out))
	if m.opts.checkAll {
		for f := range m.cloneOf {
			m.cloneOf[f] = -1
		}
		return
	}
	size := map[int32]int{}  // bytes by component
	funcs := map[int32]int{} // functions by component
	bad := map[int32]bool{}  // components with an indirect call, or not on a cycle
	for f := range out {
		c := comp[f]
		size[c] += len(out[f].code)
		funcs[c]++
		bad[c] = bad[c] || indirect[f] || !onCycle[f]
	}
	for f := range out {
		c := comp[f]
		m.cloneOf[f] = -1
		if bad[c] || funcs[c] > maxCloneFuncs || size[c] > maxCloneBytes {
			continue
		}
		m.cloneOf[f] = int32(len(m.clones))
		for range cloneCopies - 1 {
			m.clones = append(m.clones, int32(f))
		}
		info := &out[f]
		for i := range info.plans {
			p := &info.plans[i]
			if !p.bounded && p.unroll < 2 && !p.inBody {
				p.back = planBackEdge(info.code, p.pos, p.bt)
			}
		}
	}
}

// planBackEdge returns the offset of a loop's last instruction if it is
// br_if 0 and the loop's only branch to its own label, and the loop has no
// parameters; otherwise 0. The loop's body starts at code[pos].
func planBackEdge(code []byte, pos int, bt blockType) int {
	if bt.typeIdx >= 0 {
		return 0
	}
	r := &reader{b: code, pos: pos}
	var in instr
	depth, back := 0, 0
	for n := 0; n < maxBoundedScan; n++ {
		if next(r, &in) != nil {
			return 0
		}
		if back != 0 && !(in.op == opEnd && depth == 0) {
			return 0 // the br_if to the loop was not its last instruction
		}
		switch in.op {
		case opBlock, opLoop, opIf:
			depth++
		case opEnd:
			if depth == 0 {
				return back
			}
			depth--
		case opBrIf:
			if in.idx == uint32(depth) {
				if depth != 0 {
					return 0
				}
				back = in.start
			}
		case opBr, 0xd5, 0xd6: // br, br_on_null, br_on_non_null
			if in.idx == uint32(depth) {
				return 0
			}
		case opBrTable:
			for _, l := range in.labels {
				if l == uint32(depth) {
					return 0
				}
			}
		}
	}
	return 0
}

// callee maps the function a call names (an index of the original
// module) to the output: a cycle call of a cloned function goes from an
// original to the clone and from a clone to the original.
func (w *bodyWriter) callee(f uint32) uint32 {
	m := w.m
	g := uint64(f) - uint64(m.funcImports)
	if f < m.funcImports || g >= uint64(len(m.cloneOf)) || w.fn < 0 || m.cloneOf[w.fn] < 0 ||
		m.cloneOf[g] < 0 || m.comp[g] != m.comp[w.fn] {
		return m.funcIndex(f)
	}
	next := (w.copy + 1) % cloneCopies
	if next == 0 {
		return m.funcIndex(f)
	}
	return m.funcIndex(m.funcImports + uint32(len(m.funcTypes)) + uint32(int(m.cloneOf[g])+next-1))
}

// cycleAt reports whether the recursion check goes before the instruction
// at offset start of the body.
func (w *bodyWriter) cycleAt(start int) bool {
	return w.info.recursive && w.copy == 0 && start == w.info.entryAt
}

// cycleUnits is what a recursion check spends: two in a cloned function,
// whose check runs every other level.
func (w *bodyWriter) cycleUnits() int {
	if w.fn >= 0 && w.m.cloneOf[w.fn] >= 0 {
		return cloneCopies
	}
	return 1
}

// backEdge rewrites a back-edge loop's final br_if 0 (the loop's frame is
// on top): when it is taken, the check runs, and the slow path re-enters
// the loop at its header.
//
//	if  $c -= 1; br_if $slow ($c < 0)  br $L  end
func (w *bodyWriter) backEdge(dst []byte) []byte {
	dst = append(dst, opIf, blockEmpty)
	dst = w.decrement(dst, 1)
	return append(dst, opBrIf, 2, opBr, 1, opEnd)
}

// functionSection is the function section with the clones' types
// appended, or nil when there are no clones.
func (m *module) functionSection() []byte {
	if len(m.clones) == 0 {
		return nil
	}
	out := appendU32(nil, uint32(len(m.funcTypes)+len(m.clones)))
	for _, t := range m.funcTypes {
		out = appendU32(out, t)
	}
	for _, f := range m.clones {
		out = appendU32(out, m.funcTypes[f])
	}
	return out
}
