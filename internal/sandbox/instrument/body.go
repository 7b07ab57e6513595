package instrument

import (
	"errors"
	"fmt"
)

// The body rewriter. It copies each function body instruction by
// instruction, inserting the fuel checks, wrapping each loop (see the
// package documentation for the shape) and adjusting the immediates that
// name labels or functions.
//
// Within a function the fuel lives in a local, $c, so that the check at a
// loop header is a register decrement and a branch; a loop-carried
// decrement of a global would go through memory on every iteration (a
// store-to-load chain of several cycles). $c is loaded from the global at
// entry and written back to it at every point where another piece of code
// may look at the fuel: before each call (and reloaded after it, since the
// callee spends fuel too and the hook refills it), before return,
// return_call and branches to the function's own label, and at the body's
// final end.
//
// The analysis (analysis.go) leaves out what a function does not need: a
// function with no check of its own (no loop that needs one, not
// recursive) gets no $c and no code at all; one that is not recursive
// loads $c at its entry without a check; a call writes $c back and reloads
// it only when the callee may spend fuel (a call to an import never does:
// the hook is called only from the slow paths, which do it themselves); a
// loop whose trip count is bounded by constants has no check (bounded.go).

// loopLabels is how many labels the wrapper of a loop adds around it.
const loopLabels = 3

// rewriteCode rewrites every body of the code section. It returns nil when
// the module has no code section.
func (m *module) rewriteCode() ([]byte, error) {
	i := find(m.secs, secCode)
	if i < 0 {
		if len(m.funcTypes) > 0 {
			return nil, errors.New("functions without a code section")
		}
		return nil, nil
	}
	r := &reader{b: m.secs[i].data}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if n != uint32(len(m.funcTypes)) {
		return nil, fmt.Errorf("%d bodies for %d functions", n, len(m.funcTypes))
	}
	out := appendU32(make([]byte, 0, len(r.b)*5/4+64), n+uint32(len(m.clones)))
	w := &bodyWriter{m: m}
	for j := uint32(0); j < n; j++ {
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		code, err := r.bytes(size)
		if err != nil {
			return nil, fmt.Errorf("body %d: %w", j, err)
		}
		if out, err = w.function(out, int(j), code, 0); err != nil {
			return nil, err
		}
	}
	if !r.done() {
		return nil, errors.New("code section: trailing bytes")
	}
	for i, f := range m.clones {
		var err error
		version := i - int(m.cloneOf[f]) + 1
		if out, err = w.function(out, int(f), m.funcs[f].code, version); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// function rewrites the body code of function f (version 0) or of one of
// its clones (1 .. cloneCopies-1) and appends it to out with its size.
func (w *bodyWriter) function(out []byte, f int, code []byte, version int) ([]byte, error) {
	ti := w.m.funcTypes[f]
	if ti >= uint32(len(w.m.types)) {
		return nil, fmt.Errorf("function %d: type %d out of range", f, ti)
	}
	var err error
	w.buf = w.buf[:0]
	w.info, w.loops, w.fn, w.copy = &w.m.funcs[f], 0, f, version
	w.dispatch, w.copySite = dispatchPlan{}, 0
	w.global = w.info.global || !w.info.loops
	if !w.info.loops {
		w.buf, err = w.copyBody(w.buf, code, w.m.types[ti].params)
	} else {
		w.buf, err = w.body(w.buf, code, w.m.types[ti].params)
	}
	if err != nil {
		return nil, fmt.Errorf("body %d: %w", f, err)
	}
	out = appendU32(out, uint32(len(w.buf)))
	return append(out, w.buf...), nil
}

// frame is an open control frame of the body being rewritten.
type frame struct {
	extra  int      // labels the rewriter added just outside it
	params [][]byte // a wrapped loop's parameter types
	saves  []saved  // what a wrapped loop's slow path saves (loopSaves)
	units  int      // what a wrapped loop's check spends: 1, or its copies if unrolled
	inside int      // labels added between the frame and its body: an unrolled loop's copy block
	toCopy bool     // a branch to the frame goes to the copy block (on to the next copy), not to the loop
	tail   int      // a back-edge loop: the offset of its final br_if 0, which checks (clone.go)
}

// bodyWriter rewrites one body at a time; its slices are reused.
type bodyWriter struct {
	m   *module
	buf []byte
	in  instr
	// frames holds the open control frames, the function's own block first.
	frames []frame
	local  uint32 // index of $c, the function's cached fuel
	global bool   // no $c: the checks spend the global itself (funcInfo.global)
	info   *funcInfo
	loops  int // loop instructions seen so far in the body: the index into info.plans
	fn     int // the module-defined function being rewritten
	copy   int // which version of it is being written: 0 the original, 1 .. cloneCopies-1 a clone (clone.go)

	localTypes [][]byte       // type of each local, parameters first
	assigned   []uint32       // locals the body assigns, in order
	seen       []bool         // by local: in assigned
	saves      []saved        // what a loop's slow path saves: the assigned locals
	entrySaves []saved        // what the entry's slow path saves: the parameters
	slots      map[string]int // scratch slots the saves use, by type
	loopState  []uint8        // loopSaves's scratch, by local
	dispatch   dispatchPlan   // the dispatch loop's forward dispatches and back-edges' copies (backedge.go)
	copySite   int            // while copyCase writes a copy: the offset of the back-edge it is for; else 0
}

// body rewrites the body of a function with checked loops: $c is declared
// and loaded (with the entry check if the function is recursive), then
// every instruction is copied or rewritten by instr.
func (w *bodyWriter) body(dst, code []byte, params [][]byte) ([]byte, error) {
	r := &reader{b: code}
	dst, err := w.prologue(dst, r, params)
	if err != nil {
		return nil, err
	}
	w.frames = append(w.frames[:0], frame{})
	for len(w.frames) > 0 {
		if err := next(r, &w.in); err != nil {
			return nil, err
		}
		if w.cycleAt(w.in.start) {
			dst = w.cycleCheck(dst)
		}
		if dst, err = w.instr(dst, code, r); err != nil {
			return nil, err
		}
	}
	if !r.done() {
		return nil, errors.New("bytes after the end of the body")
	}
	return dst, nil
}

// prologue copies the local declarations, adds $c, plans the slow paths'
// saves and emits the entry: the check, or only the load of $c. r is left
// at the first instruction.
func (w *bodyWriter) prologue(dst []byte, r *reader, params [][]byte) ([]byte, error) {
	code := r.b
	groups, err := r.u32()
	if err != nil {
		return nil, err
	}
	first := r.pos // the first local group
	w.localTypes = append(w.localTypes[:0], params...)
	for g := uint32(0); g < groups; g++ {
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		t, err := readValType(r)
		if err != nil {
			return nil, err
		}
		if uint64(len(w.localTypes))+uint64(n) > MaxLocals+uint64(len(params)) {
			return nil, fmt.Errorf("%w: more than %d locals", errTooLarge, MaxLocals)
		}
		for ; n > 0; n-- {
			w.localTypes = append(w.localTypes, t)
		}
	}
	w.local = uint32(len(w.localTypes))
	if err := w.scanAssigned(code[r.pos:]); err != nil {
		return nil, err
	}
	w.planEntrySaves(params)
	w.planSaves()

	if w.global {
		return append(dst, code[:r.pos]...), nil
	}
	dst = appendU32(dst, groups+1)
	dst = append(dst, code[first:r.pos]...)
	dst = append(dst, 1, w.fuelType())
	if w.info.leaf {
		return w.leafBudget(dst), nil
	}
	return w.load(dst), nil
}

// planEntrySaves picks the scratch globals that the entry check's slow
// path saves the parameters in.
func (w *bodyWriter) planEntrySaves(params [][]byte) {
	if w.slots == nil {
		w.slots = map[string]int{}
	}
	w.entrySaves = w.entrySaves[:0]
	clear(w.slots)
	for l, t := range params {
		if g, ok := w.m.scratchGlobal(t, w.slots[string(t)]); ok {
			w.slots[string(t)]++
			w.entrySaves = append(w.entrySaves, saved{local: uint32(l), global: g})
		}
	}
}

// instr rewrites the instruction w.in, just read from code by r, of a
// function that keeps its fuel in $c.
func (w *bodyWriter) instr(dst, code []byte, r *reader) ([]byte, error) {
	in := &w.in
	switch in.op {
	case opBlock, opIf:
		w.frames = append(w.frames, frame{})
		dst = append(dst, code[in.start:in.end]...)
	case opLoop:
		return w.loop(dst, code, r)
	case opEnd:
		f := w.frames[len(w.frames)-1]
		w.frames = w.frames[:len(w.frames)-1]
		if len(w.frames) == 0 {
			dst = w.store(dst) // falling off the end returns
		}
		dst = append(dst, opEnd)
		if f.extra == loopLabels {
			dst = w.loopTail(dst, f)
		}
	case opBr, opBrIf, 0xd5, 0xd6: // br, br_if, br_on_null, br_on_non_null
		if in.op == opBr {
			if b, ok := w.dispatch.forward[in.start]; ok && (w.copySite == 0 || w.dispatch.starts[b] > w.copySite) {
				in.idx -= uint32(b) // straight to the case's start, past the header
			} else if c, ok := w.dispatch.copies[in.start]; ok && w.copySite == 0 {
				var err error
				if dst, err = w.copyCase(dst, code, c); err != nil {
					return nil, err
				}
			}
		}
		if f := &w.frames[len(w.frames)-1]; f.tail == in.start && f.tail > 0 && in.op == opBrIf {
			return w.backEdge(dst), nil
		}
		if w.returns(in.idx) {
			dst = w.store(dst)
		}
		dst = append(dst, in.op)
		dst = appendU32(dst, w.depth(in.idx))
	case opBrTable:
		dst = w.brTable(dst)
	case opCall:
		spends := w.spends(in.idx)
		if spends {
			dst = w.store(dst)
		}
		dst = append(dst, opCall)
		dst = appendU32(dst, w.callee(in.idx))
		if spends {
			dst = w.load(dst)
		}
	case 0x11, 0x14: // call_indirect, call_ref
		dst = w.store(dst)
		dst = append(dst, code[in.start:in.end]...)
		dst = w.load(dst)
	case opReturnCall:
		dst = w.store(dst)
		dst = append(dst, opReturnCall)
		dst = appendU32(dst, w.callee(in.idx))
	case 0x0f, 0x13, 0x15: // return, return_call_indirect, return_call_ref
		dst = w.store(dst)
		dst = append(dst, code[in.start:in.end]...)
	case opRefFunc:
		dst = append(dst, opRefFunc)
		dst = appendU32(dst, w.m.funcIndex(in.idx))
	default:
		dst = append(dst, code[in.start:in.end]...)
	}
	return dst, nil
}

// brTable rewrites br_table's labels, writing $c back first if one of
// them returns.
func (w *bodyWriter) brTable(dst []byte) []byte {
	for _, l := range w.in.labels {
		if w.returns(l) {
			dst = w.store(dst)
			break
		}
	}
	dst = append(dst, opBrTable)
	dst = appendU32(dst, uint32(len(w.in.labels)-1))
	for _, l := range w.in.labels {
		dst = appendU32(dst, w.depth(l))
	}
	return dst
}

// loop rewrites a loop instruction: a bounded loop is copied as it is, one
// that makes calls in a large function, and a dispatch loop that makes
// calls in any, gets its check and the hook's call in its body, a small
// one is unrolled (unroll.go), any other gets the wrapper and the check at
// its header.
func (w *bodyWriter) loop(dst, code []byte, r *reader) ([]byte, error) {
	in := &w.in
	var plan loopPlan
	if w.loops < len(w.info.plans) {
		plan = w.info.plans[w.loops]
	}
	w.loops++
	switch {
	case plan.bounded: // no check, no wrapper
		w.frames = append(w.frames, frame{})
		return append(dst, code[in.start:in.end]...), nil
	case plan.inBody || w.m.opts.loopCallInBody:
		// A loop that makes calls: wazevo already spills what is live
		// across them, so the hook's call in the body costs nothing more,
		// and the wrapper's second loop header cost printf_core's main
		// loop 50 instructions an iteration (docs/preemption.md).
		dst = append(dst, code[in.start:in.end]...)
		if in.bt.typeIdx >= 0 || !plan.dispatch || w.m.opts.loopCallInBody {
			// $c -= 1; if $c < 0 { call $hook } end: the hook's path
			// joins the body at the if's end.
			dst = w.decrement(dst, 1)
			dst = append(dst, opIf, blockEmpty)
			dst = w.callHook(dst)
			dst = append(dst, opEnd)
		} else {
			// A dispatch loop (each Go function's own):
			//
			//	block  $c -= 1; br_if 0 ($c >= 0)
			//	  <saves>  call $hook  <restores>  br $L
			//	end
			//
			// The body's only way in is the taken branch, so wazevo
			// keeps the registers it had at the header (after the if's
			// end it reloaded them from the stack: Go sha's fill loop
			// took 53 instructions an iteration against the original's
			// 33, this form 39); the hook's path restarts the loop, whose
			// check the refill passes. The saves (loopSaves: none in a
			// large function) keep the loop's values from living across
			// the hook's call (scratch.go): without them sha256's
			// blockGeneric paid four more spills an iteration, and with
			// the wrapper it paid 10 instructions an iteration more than
			// the original (docs/preemption.md).
			dst = append(dst, opBlock, blockEmpty)
			dst = w.decrement(dst, 1)
			dst[len(dst)-1] = w.geS()
			dst = append(dst, opBrIf, 0)
			saves := w.loopSaves(code, r.pos)
			if len(code) >= minInBodyCheck {
				saves = w.dispatchSave(code, r.pos)
			}
			dst = w.saveLocals(dst, saves)
			dst = w.callHook(dst)
			dst = w.restoreLocals(dst, saves)
			dst = append(dst, opBr, 1, opEnd)
			if pc, ok := dispatchLocal(code, r.pos); ok && !w.m.opts.noCaseCopies {
				w.dispatch = planDispatch(code, r.pos, pc)
			}
		}
		w.frames = append(w.frames, frame{})
		return dst, nil
	}
	saves := w.loopSaves(code, r.pos)
	units := max(plan.unroll, 1)
	back := 0
	if w.copy > 0 && plan.back > 0 {
		units, back = 0, plan.back // no check at the header: at the back-edge
	}
	dst, params, err := w.loopHead(dst, code[in.start:in.end], units)
	if err != nil {
		return nil, err
	}
	w.frames = append(w.frames, frame{extra: loopLabels, params: params, saves: saves, units: max(units, 1), tail: back})
	if plan.unroll > 1 {
		return w.unrolled(dst, code, r, plan)
	}
	return dst, nil
}

// dispatchSave is what a dispatch loop's slow path saves in a large
// function: only the local its br_table reads, which is live at every
// header (the saves of every local the loop touches cost more there,
// loopSaves).
func (w *bodyWriter) dispatchSave(code []byte, pos int) []saved {
	l, ok := dispatchLocal(code, pos)
	if !ok {
		return nil
	}
	for i, s := range w.saves {
		if s.local == l {
			return w.saves[i : i+1]
		}
	}
	return nil
}

// spends reports whether a call to function f (an index of the original
// module) may spend fuel, so that $c must be written back around it.
func (w *bodyWriter) spends(f uint32) bool {
	if f < w.m.funcImports {
		return false // a host function: it does not touch the fuel
	}
	d := uint64(f - w.m.funcImports)
	return d >= uint64(len(w.m.funcs)) || w.m.funcs[d].spends
}

// copyBody copies the body of a function that has no loop that needs a
// check, renumbering the functions it names. If it is recursive, it gets a
// check at its entry that spends the fuel global itself: with no loop to
// keep $c in a register there is nothing to cache, and its calls need no
// write-back.
func (w *bodyWriter) copyBody(dst, code []byte, params [][]byte) ([]byte, error) {
	r := &reader{b: code}
	if err := skipLocals(r); err != nil {
		return nil, err
	}
	dst = append(dst, code[:r.pos]...)
	if w.info.recursive {
		w.planEntrySaves(params)
	}
	in := &w.in
	for !r.done() {
		if err := next(r, in); err != nil {
			return nil, err
		}
		if w.cycleAt(in.start) {
			dst = w.cycleCheck(dst)
		}
		switch in.op {
		case opCall, opReturnCall:
			dst = append(dst, in.op)
			dst = appendU32(dst, w.callee(in.idx))
		case opRefFunc:
			dst = append(dst, in.op)
			dst = appendU32(dst, w.m.funcIndex(in.idx))
		default:
			dst = append(dst, code[in.start:in.end]...)
		}
	}
	return dst, nil
}

// returns reports whether the original label d names the function's own
// block, so that branching to it returns.
func (w *bodyWriter) returns(d uint32) bool { return uint64(d) == uint64(len(w.frames)-1) }

// depth maps a label index of the original body to the rewritten one: each
// frame crossed on the way out contributes the labels added outside it
// and inside it, and the target frame those inside it.
func (w *bodyWriter) depth(d uint32) uint32 {
	out := uint64(d)
	for i := uint32(0); i <= d && int(i) < len(w.frames); i++ {
		f := &w.frames[len(w.frames)-1-int(i)]
		if i < d {
			out += uint64(f.inside + f.extra)
		} else if !f.toCopy {
			out += uint64(f.inside)
		}
	}
	if out > 1<<32-1 {
		return d // an invalid label stays invalid
	}
	return uint32(out)
}

// geS is the comparison $c >= 0 for the fuel's type (decrement emits lt_s).
func (w *bodyWriter) geS() byte {
	if w.m.opts.Fuel32 {
		return 0x4e // i32.ge_s
	}
	return 0x59 // i64.ge_s
}

func (w *bodyWriter) fuelType() byte {
	if w.m.opts.Fuel32 {
		return 0x7f
	}
	return 0x7e
}

// store writes $c back to the fuel global.
func (w *bodyWriter) store(dst []byte) []byte {
	if w.global || w.info.leaf {
		return dst
	}
	dst = append(dst, 0x20) // local.get
	dst = appendU32(dst, w.local)
	dst = append(dst, opGlobalSet)
	return appendU32(dst, w.m.fuel)
}

// load reloads $c from the fuel global.
func (w *bodyWriter) load(dst []byte) []byte {
	if w.global {
		return dst
	}
	dst = append(dst, opGlobalGet)
	dst = appendU32(dst, w.m.fuel)
	dst = append(dst, 0x21) // local.set
	return appendU32(dst, w.local)
}

// decrement emits `$c = $c - units` (or the same on the global, without
// $c) followed by the condition $c < 0. units is below 64, so that it is
// one byte of signed LEB128.
func (w *bodyWriter) decrement(dst []byte, units int) []byte {
	sub, lt, konst := byte(opI64Sub), byte(opI64LtS), byte(opI64Const)
	if w.m.opts.Fuel32 {
		sub, lt, konst = opI32Sub, opI32LtS, opI32Const
	}
	if w.global {
		dst = append(dst, opGlobalGet)
		dst = appendU32(dst, w.m.fuel)
		dst = append(dst, konst, byte(units), sub, opGlobalSet)
		dst = appendU32(dst, w.m.fuel)
		dst = append(dst, opGlobalGet)
		dst = appendU32(dst, w.m.fuel)
		return append(dst, konst, 0, lt)
	}
	dst = append(dst, 0x20) // local.get
	dst = appendU32(dst, w.local)
	dst = append(dst, konst, byte(units), sub, 0x22) // local.tee
	dst = appendU32(dst, w.local)
	return append(dst, konst, 0, lt)
}

// lend adds units to $c after the hook has refilled it, so that a check
// that spends more than one unit (an unrolled loop's) lets its loop go on
// whenever the hook left one unit or more, as its contract says.
func (w *bodyWriter) lend(dst []byte, units int) []byte {
	add, konst := byte(0x7c), byte(opI64Const) // i64.add
	if w.m.opts.Fuel32 {
		add, konst = 0x6a, opI32Const // i32.add
	}
	if w.global {
		dst = append(dst, opGlobalGet)
		dst = appendU32(dst, w.m.fuel)
		dst = append(dst, konst, byte(units), add, opGlobalSet)
		return appendU32(dst, w.m.fuel)
	}
	dst = append(dst, 0x20) // local.get
	dst = appendU32(dst, w.local)
	dst = append(dst, konst, byte(units), add, 0x21) // local.set
	return appendU32(dst, w.local)
}

// callHook writes $c back, calls the hook and reloads $c.
func (w *bodyWriter) callHook(dst []byte) []byte {
	if w.info.leaf {
		return w.leafHook(dst)
	}
	dst = w.store(dst)
	dst = append(dst, opCall)
	dst = appendU32(dst, w.m.hook)
	return w.load(dst)
}

// cycleCheck emits a recursive function's check, where place.go put it:
//
//	$c -= 1 (or the global, without $c)
//	if $c < 0 { save params; fuel = $c; call $hook; $c = fuel; restore params }
func (w *bodyWriter) cycleCheck(dst []byte) []byte {
	dst = w.decrement(dst, w.cycleUnits())
	dst = append(dst, opIf, blockEmpty)
	dst = w.saveLocals(dst, w.entrySaves)
	dst = w.callHook(dst)
	dst = w.restoreLocals(dst, w.entrySaves)
	return append(dst, opEnd)
}

// scanAssigned records the locals that expr assigns (local.set, local.tee).
func (w *bodyWriter) scanAssigned(expr []byte) error {
	w.assigned = w.assigned[:0]
	if cap(w.seen) < int(w.local) {
		w.seen = make([]bool, w.local)
	}
	w.seen = w.seen[:w.local]
	clear(w.seen)
	r := &reader{b: expr}
	in := &w.in
	for !r.done() {
		if err := next(r, in); err != nil {
			return err
		}
		if (in.op == 0x21 || in.op == 0x22) && in.idx < w.local && !w.seen[in.idx] {
			w.seen[in.idx] = true
			w.assigned = append(w.assigned, in.idx)
		}
	}
	return nil
}

// loopHead emits the wrapper's head, the loop instruction itself (loop is
// its original encoding) and the check at its header:
//
//	block $done (P -> R)
//	  loop $outer (P -> [])
//	    block $slow (P -> P)
//	      loop $L (P -> R)
//	        $c -= units; br_if $slow ($c < 0)
//
// units is 1, or the number of copies of an unrolled loop's body.
func (w *bodyWriter) loopHead(dst, loop []byte, units int) ([]byte, [][]byte, error) {
	bt := w.in.bt
	empty := []byte{blockEmpty}
	outer, slow := empty, empty
	var params [][]byte
	if bt.typeIdx >= 0 {
		t, err := w.m.blockTypeOf(bt.typeIdx)
		if err != nil {
			return nil, nil, err
		}
		params = t.params
		if len(t.params) > 0 {
			outer = appendS64(nil, int64(w.m.typeOf(funcType{params: t.params})))
			slow = appendS64(nil, int64(w.m.typeOf(funcType{params: t.params, results: t.params})))
		}
	}
	dst = append(dst, opBlock)
	dst = append(dst, bt.raw...)
	dst = append(dst, opLoop)
	dst = append(dst, outer...)
	dst = append(dst, opBlock)
	dst = append(dst, slow...)
	dst = append(dst, loop...)
	if units == 0 {
		return dst, params, nil // a back-edge loop: it checks at its br_if 0
	}
	dst = w.decrement(dst, units)
	return append(dst, opBrIf, 1), params, nil
}

// loopTail follows the end of the original loop:
//
//	      end            ;; of $L, its results R on the stack
//	      br $done
//	    end              ;; of $slow: the loop's current parameters P on the stack
//	    save P and the assigned locals to scratch globals
//	    fuel = $c; call $hook; $c = fuel
//	    restore the locals and P
//	    br $outer        ;; re-enter the loop with P
//	  end
//	  unreachable
//	end
func (w *bodyWriter) loopTail(dst []byte, f frame) []byte {
	params, saves := f.params, f.saves
	dst = append(dst, opBr, 2, opEnd)
	// The parameters take the scratch slots after the locals' ones.
	var pg []uint32
	used := map[string]int{}
	for _, t := range params {
		g, ok := w.m.scratchGlobal(t, w.slots[string(t)]+used[string(t)])
		if !ok {
			pg = nil // left on the stack across the call
			break
		}
		used[string(t)]++
		pg = append(pg, g)
	}
	for i := len(pg) - 1; i >= 0; i-- {
		dst = append(dst, opGlobalSet)
		dst = appendU32(dst, pg[i])
	}
	dst = w.saveLocals(dst, saves)
	dst = w.callHook(dst)
	if f.units > 1 {
		dst = w.lend(dst, f.units-1)
	}
	dst = w.restoreLocals(dst, saves)
	for _, g := range pg {
		dst = append(dst, opGlobalGet)
		dst = appendU32(dst, g)
	}
	return append(dst, opBr, 0, opEnd, opUnreachable, opEnd)
}
