package instrument

// A Go loop's back-edge runs one more iteration before it dispatches, and
// in a function without loops a forward jump skips the dispatch.
//
// Go's wasm has no loops of its own: every function is one dispatch loop
// (blocks, then `local.get $pc  br_table`, a case per resume point and per
// jump target), and every jump that is not a fall-through, forward or
// back, is `i32.const K  local.set $pc  br $L`: round the dispatch loop's
// header, and so through its check. A Go `for` is a jump back to an
// earlier case: sieve's inner loop (`composite[j] = true; j += i`) is
// about 20 machine instructions an iteration, the check 5 more and the
// dispatch about as many.
//
// So a back-edge whose target case is short code without calls gets, just
// before its `br $L`, a copy of that case from its start to its first
// unconditional branch at its own level, which must come at or after the
// back-edge (so the copy holds the back-edge again):
//
//	i32.const K  local.set $pc        ;; the original site, as it was
//	<case K's code, again>            ;; its own back-edges dispatch (and check)
//	br $L                             ;; the original branch, now dead code
//
// The copy is one more iteration, run without going round the header: one
// check and one dispatch for two iterations. It is made only where
// nothing in it needs the dispatch, or would need more rewriting than a
// copy: no call (copies with calls were tried: no Go kernel ran faster,
// and start-up was slower), no read of $pc, no nested loop,
// no br_table, no branch to a label of the dispatch (the start of a
// case), no block or if with a type, and at
// most maxCopyInstrs instructions; its branches to the loop, or out of
// the function, keep their targets. Every way out of the copy is a branch,
// to the checked header or out of the function, so an endless Go loop
// still checks at least every second iteration: a unit of fuel pays for
// two of its iterations where it paid for one.
//
// A forward jump (to a case that starts after it, so that the case's
// dispatch block is open around it) becomes a `br` to that block: no
// check, no dispatch, and forward branches make no cycle. Only in a
// function without back-edges, though (fib's closure, which jumps from
// its entry to its body at every call): in one with loops, the new join
// points in the middle of the cases cost the loops more than the checks
// they skip (docs/preemption.md).

// maxCopyInstrs is the most instructions of a case that a back-edge
// copies: sha256's rounds need more than 128 (docs/preemption.md).
const maxCopyInstrs = 256

// caseCopy is the copy one back-edge gets: the case code at [from, to),
// whose first instruction is depth frames inside the dispatch loop.
type caseCopy struct {
	from, to int
	depth    int
}

// dispatchPlan is what a dispatch loop's branches to it get.
type dispatchPlan struct {
	copies  map[int]caseCopy // back-edges that copy their case, by the offset of their br
	forward map[int]int      // forward dispatches, by the offset of their br: the dispatch block whose end their case starts at
	starts  []int            // by dispatch block: the offset just after its end
}

// planDispatch finds the dispatches of the dispatch loop whose body
// starts at code[pos], on local pc: the forward ones, which branch to
// their case's start directly, and the back-edges that get a copy of
// their target case.
func planDispatch(code []byte, pos int, pc uint32) dispatchPlan {
	starts, sites, ok := scanDispatch(code, pos, pc)
	if !ok {
		return dispatchPlan{}
	}
	p := dispatchPlan{starts: starts}
	// Forward dispatches branch to their case only in a function without
	// back-edges (above).
	loops := false
	for _, s := range sites {
		if s.block > 0 && starts[s.block] <= s.br {
			loops = true
		}
	}
	for _, s := range sites {
		switch {
		case s.block == 0: // to the loop itself, or out of it
		case starts[s.block] > s.br:
			if loops {
				continue
			}
			if p.forward == nil {
				p.forward = map[int]int{}
			}
			p.forward[s.br] = s.block
		default:
			c := caseCopy{from: starts[s.block], depth: s.block - 1}
			var ok bool
			if c.to, ok = copyEnd(code, c, pc, s.br); !ok {
				continue
			}
			if p.copies == nil {
				p.copies = map[int]caseCopy{}
			}
			p.copies[s.br] = c
		}
	}
	return p
}

// dispatchSite is one `i32.const K  local.set $pc  br $L` of a dispatch
// loop.
type dispatchSite struct {
	br    int // the offset of its br
	block int // the dispatch block whose end case K starts at (1 the outermost), or 0
}

// scanDispatch reads the dispatch loop whose body starts at code[pos], on
// local pc: the offset just after the end of each dispatch block (by its
// number, 1 the outermost), where the cases it is the label of begin, and
// the loop's dispatches.
func scanDispatch(code []byte, pos int, pc uint32) (starts []int, sites []dispatchSite, ok bool) {
	r := &reader{b: code, pos: pos}
	var in instr
	n := 0 // the dispatch's blocks
	for next(r, &in) == nil && in.op == opBlock {
		n++
	} // then local.get $pc (dispatchLocal checked the form)
	if next(r, &in) != nil || in.op != opBrTable {
		return nil, nil, false
	}
	labels := append([]uint32(nil), in.labels...)
	block := func(k int) int { // the block case k starts after, or 0
		l := labels[len(labels)-1]
		if k < len(labels)-1 {
			l = labels[k]
		}
		if int(l) >= n {
			return 0 // the loop itself, or out of it
		}
		return n - int(l)
	}
	starts = make([]int, n+1)
	// kinds holds the frames open inside the loop: a dispatch block's
	// number, or 0 for one of the cases' own.
	kinds := make([]int, n)
	for i := range kinds {
		kinds[i] = i + 1
	}
	var prev, prev2 instr
	for {
		if next(r, &in) != nil {
			return nil, nil, false
		}
		switch in.op {
		case opBlock, opIf, opLoop, 0x06, 0x1f: // and try, try_table
			kinds = append(kinds, 0)
		case opEnd:
			if len(kinds) == 0 {
				return starts, sites, true // the loop's own end
			}
			if b := kinds[len(kinds)-1]; b > 0 {
				starts[b] = r.pos
			}
			kinds = kinds[:len(kinds)-1]
		case opBr:
			if int(in.idx) == len(kinds) && prev.op == opLocalSet && prev.idx == pc && prev2.op == opI32Const {
				sites = append(sites, dispatchSite{br: in.start, block: block(int(uint32(prev2.val)))})
			}
		}
		prev2, prev = prev, in
		prev.labels = nil
	}
}

// copyEnd checks the case code that starts at c.from, c.depth frames
// inside the dispatch loop, and returns the end of what a copy of it
// holds: up to and with its first unconditional branch at its own level,
// which must come at or after the back-edge at offset br.
func copyEnd(code []byte, c caseCopy, pc uint32, br int) (int, bool) {
	r := &reader{b: code, pos: c.from}
	var in instr
	opened, depth := 0, c.depth // frames the copy opened; frames inside the loop
	for count := 0; count < maxCopyInstrs; count++ {
		if next(r, &in) != nil {
			return 0, false
		}
		switch in.op {
		case opBlock, opIf:
			if len(in.bt.raw) != 1 || in.bt.raw[0] != blockEmpty {
				return 0, false
			}
			opened++
			depth++
		case opElse:
			if opened == 0 {
				return 0, false
			}
		case opEnd:
			if depth == 0 {
				return 0, false // the loop's end
			}
			depth--
			if opened > 0 {
				opened--
			}
		case opBr, opBrIf:
			if d := int(in.idx); d >= opened && d < depth {
				return 0, false // to a dispatch block: the start of a case
			}
			if in.op == opBr && opened == 0 {
				return r.pos, in.start >= br
			}
		case 0x0f, opUnreachable: // return
			if opened == 0 {
				return r.pos, in.start >= br
			}
		case opLocalGet, opLocalTee:
			if in.idx == pc {
				return 0, false
			}
		case opLocalSet, opI32Const, opI64Const, opGlobalGet, opGlobalSet, 0x1a, 0x1b, 0x1c: // drop, select
		default:
			if !plainOp(&in) {
				return 0, false
			}
		}
	}
	return 0, false
}

// plainOp reports whether in neither branches, calls nor opens a frame:
// what a case's copy may hold besides the instructions copyEnd names.
func plainOp(in *instr) bool {
	switch in.op {
	case opLoop, opBrTable, opCall, opReturnCall, 0x11, 0x13, 0x14, 0x15, // call_indirect, return_call_indirect, call_ref, return_call_ref
		0x06, 0x07, 0x08, 0x09, 0x18, 0x19, 0x1f, // try, catch, throw, rethrow, delegate, catch_all, try_table
		0xd5, 0xd6, 0xfb, 0xfe: // br_on_null, br_on_non_null, GC, atomics
		return false
	}
	return true
}

// copyCase writes, at the back-edge c is planned for, the copy of its
// target case: the instructions of [c.from, c.to), less the ends of the
// dispatch's blocks, each branch that leaves the copy aimed at the same
// frame from where the copy is. site is the back-edge's br, which w.in
// holds again on return.
func (w *bodyWriter) copyCase(dst, code []byte, c caseCopy) ([]byte, error) {
	site := w.in
	// Frames between the site and the loop: the copy's own are pushed on
	// w.frames as it opens them.
	siteDepth := int(site.idx)
	r := &reader{b: code, pos: c.from}
	opened, depth := 0, c.depth
	w.copySite = site.start
	defer func() { w.copySite = 0 }()
	for r.pos < c.to {
		if err := next(r, &w.in); err != nil {
			return nil, err
		}
		in := &w.in
		switch in.op {
		case opBlock, opIf:
			opened++
			depth++
		case opEnd:
			depth--
			if opened == 0 {
				continue // a dispatch block's end: a case's start, fallen into
			}
			opened--
		case opBr, opBrIf:
			if d := int(in.idx); d >= opened {
				in.idx = uint32(d - depth + siteDepth + opened)
			}
		}
		var err error
		if dst, err = w.instr(dst, code, r); err != nil {
			return nil, err
		}
	}
	w.in = site
	return dst, nil
}
