package instrument

// Scratch globals carry a function's values across a call to the hook.
//
// wazero's optimizing compiler (wazevo) spills a value that is live across
// a call, and when that value is a loop variable (an SSA phi) it stores it
// after every definition of the phi, that is on every iteration of the
// loop, even though the call is on the slow path outside the loop. So the
// slow path does not keep the function's values live across the hook call:
// it copies every local the function assigns, and the loop's parameters,
// into mutable globals before the call and back after it. Across the call
// then only values defined outside the loops are live, and their spills sit
// at their definitions, outside the loops. See docs/preemption.md for the
// measurements.
//
// A scratch global is identified by its value type and a slot number; a
// function uses slots 0, 1, ... of each type, and functions share them
// (a hook call never nests inside another function's save and restore:
// the hook is a host function and does not call back into the module).

// scratchKey names a scratch global.
type scratchKey struct {
	typ  string // the value type's encoding
	slot int
}

// scratchGlobal is a scratch global to add to the global section.
type scratchGlobal struct {
	typ  []byte // value type
	init []byte // constant expression, with its end
}

// zeroInit returns the constant expression that initializes a global of
// type typ, or false for a type without a default (a non-nullable
// reference), whose values are then left live across the call.
func zeroInit(typ []byte) ([]byte, bool) {
	switch typ[0] {
	case 0x7f:
		return []byte{opI32Const, 0, opEnd}, true
	case 0x7e:
		return []byte{opI64Const, 0, opEnd}, true
	case 0x7d:
		return []byte{0x43, 0, 0, 0, 0, opEnd}, true
	case 0x7c:
		return []byte{0x44, 0, 0, 0, 0, 0, 0, 0, 0, opEnd}, true
	case 0x7b:
		return append(append([]byte{prefixVec, 0x0c}, make([]byte, 16)...), opEnd), true
	case 0x70, 0x6f, 0x69:
		return []byte{0xd0, typ[0], opEnd}, true
	case refNullable:
		return append(append([]byte{0xd0}, typ[1:]...), opEnd), true
	}
	return nil, false
}

// scratchGlobal returns the index of the scratch global for a value of
// type typ in the given slot, adding it if needed.
func (m *module) scratchGlobal(typ []byte, slot int) (uint32, bool) {
	k := scratchKey{string(typ), slot}
	if i, ok := m.scratchIndex[k]; ok {
		return i, true
	}
	init, ok := zeroInit(typ)
	if !ok {
		return 0, false
	}
	i := m.fuel + 1 + uint32(len(m.scratch))
	m.scratch = append(m.scratch, scratchGlobal{typ: typ, init: init})
	m.scratchIndex[k] = i
	return i, true
}

// saved is a value the slow path copies to a scratch global and back.
type saved struct {
	local  uint32 // the local, for a local
	global uint32 // its scratch global
}

// planSaves picks the scratch globals for a function's assigned locals.
// slots counts the slots used per type, so that loop parameters can take
// the next ones.
func (w *bodyWriter) planSaves() {
	w.saves = w.saves[:0]
	clear(w.slots)
	for _, l := range w.assigned {
		typ := w.localTypes[l]
		g, ok := w.m.scratchGlobal(typ, w.slots[string(typ)])
		if !ok {
			continue
		}
		w.slots[string(typ)]++
		w.saves = append(w.saves, saved{local: l, global: g})
	}
}

// saveLocals emits local.get; global.set for each saved local.
func (w *bodyWriter) saveLocals(dst []byte, saves []saved) []byte {
	for _, s := range saves {
		dst = append(dst, 0x20)
		dst = appendU32(dst, s.local)
		dst = append(dst, opGlobalSet)
		dst = appendU32(dst, s.global)
	}
	return dst
}

// restoreLocals emits global.get; local.set for each saved local.
func (w *bodyWriter) restoreLocals(dst []byte, saves []saved) []byte {
	for _, s := range saves {
		dst = append(dst, opGlobalGet)
		dst = appendU32(dst, s.global)
		dst = append(dst, 0x21)
		dst = appendU32(dst, s.local)
	}
	return dst
}

// loopSaves picks, from the function's saves, those a loop's slow path
// needs: the locals the loop itself reads or writes, less those that each
// iteration writes before reading them in the straight-line code at the
// loop's head. Saving any other local would make its value live at the
// loop's header, where it is dead: a phi for wazero's compiler, one more
// register or spill in the hot loop (saving every assigned local of the
// function cost wasi-libc's printf 80% more instructions). A local left
// out that is live across the loop keeps its value across the hook call;
// it was defined outside the loop, so it is spilled there. The loop's
// body starts at code[pos]; a malformed body keeps every save (the
// rewriting reports the error). A loop longer than maxBoundedScan
// instructions saves every local too, so that nested loops cannot make the
// scans quadratic in a body's length.
func (w *bodyWriter) loopSaves(code []byte, pos int) []saved {
	if len(w.saves) == 0 || len(code) >= minInBodyCheck {
		return nil // in a large function, saving cost more than it saved (docs/preemption.md)
	}
	const (
		untouched = iota
		live      // read in the loop, or written after a read or a branch
		dead      // written first in the loop's straight-line head
	)
	if cap(w.loopState) < int(w.local) {
		w.loopState = make([]uint8, w.local)
	}
	state := w.loopState[:w.local]
	clear(state)
	r := &reader{b: code, pos: pos}
	var in instr
	depth, head := 0, true
	for n := 0; depth >= 0; n++ {
		if n == maxBoundedScan || next(r, &in) != nil {
			return w.saves // a long loop (or a malformed one) saves everything
		}
		switch in.op {
		case opLocalGet:
			if in.idx < w.local && state[in.idx] == untouched {
				state[in.idx] = live
			}
		case opLocalSet, opLocalTee:
			if in.idx < w.local && state[in.idx] == untouched {
				state[in.idx] = live
				if head {
					state[in.idx] = dead
				}
			}
		case opBlock, opLoop, opIf:
			depth++
			head = false
		case opEnd:
			depth--
			head = false
		case opElse, opBr, opBrIf, opBrTable, 0x0f, 0xd5, 0xd6, 0x12, 0x13, 0x15: // else, branches, return, return calls
			head = false
		}
	}
	var out []saved
	for _, s := range w.saves {
		if state[s.local] == live {
			out = append(out, s)
		}
	}
	return out
}
