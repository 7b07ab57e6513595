package instrument

import (
	"errors"
	"fmt"
)

// The body rewriter. It copies each function body instruction by
// instruction, inserting the fuel checks, wrapping each loop (see the
// package documentation for the shape) and adjusting the immediates that
// name labels or functions.

// loopLabels is how many labels the wrapper of a loop adds around it.
const loopLabels = 3

// rewriteCode rewrites every body of the code section. It returns nil when
// the module has no code section.
func (m *module) rewriteCode() ([]byte, error) {
	i := find(m.secs, secCode)
	if i < 0 {
		return nil, nil
	}
	r := &reader{b: m.secs[i].data}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := appendU32(make([]byte, 0, len(r.b)*5/4+64), n)
	rw := &bodyWriter{m: m}
	for j := uint32(0); j < n; j++ {
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		code, err := r.bytes(size)
		if err != nil {
			return nil, fmt.Errorf("body %d: %w", j, err)
		}
		rw.buf = rw.buf[:0]
		if rw.buf, err = rw.body(rw.buf, code); err != nil {
			return nil, fmt.Errorf("body %d: %w", j, err)
		}
		out = appendU32(out, uint32(len(rw.buf)))
		out = append(out, rw.buf...)
	}
	if !r.done() {
		return nil, errors.New("code section: trailing bytes")
	}
	return out, nil
}

// bodyWriter rewrites one body at a time; its slices are reused.
type bodyWriter struct {
	m   *module
	buf []byte
	in  instr
	// frames holds, for each open control frame from the function's own
	// block outward-in, how many labels the rewriter added just outside it.
	frames []int
}

func (w *bodyWriter) body(dst, code []byte) ([]byte, error) {
	r := &reader{b: code}
	groups, err := r.u32()
	if err != nil {
		return nil, err
	}
	for g := uint32(0); g < groups; g++ {
		if _, err := r.u32(); err != nil {
			return nil, err
		}
		if _, err := readValType(r); err != nil {
			return nil, err
		}
	}
	dst = append(dst, code[:r.pos]...)
	dst = w.entryCheck(dst)

	w.frames = append(w.frames[:0], 0)
	in := &w.in
	for len(w.frames) > 0 {
		if err := next(r, in); err != nil {
			return nil, err
		}
		switch in.op {
		case opBlock, opIf:
			w.frames = append(w.frames, 0)
			dst = append(dst, code[in.start:in.end]...)
		case opLoop:
			if w.m.opts.loopCallInBody {
				dst = append(dst, code[in.start:in.end]...)
				dst = w.entryCheck(dst)
				w.frames = append(w.frames, 0)
				break
			}
			if dst, err = w.loopHead(dst, code[in.start:in.end]); err != nil {
				return nil, err
			}
			w.frames = append(w.frames, loopLabels)
		case opEnd:
			extra := w.frames[len(w.frames)-1]
			w.frames = w.frames[:len(w.frames)-1]
			dst = append(dst, opEnd)
			if extra == loopLabels {
				dst = w.loopTail(dst)
			}
		case opBr, opBrIf, 0xd5, 0xd6: // br, br_if, br_on_null, br_on_non_null
			dst = append(dst, in.op)
			dst = appendU32(dst, w.depth(in.idx))
		case opBrTable:
			dst = append(dst, opBrTable)
			dst = appendU32(dst, uint32(len(in.labels)-1))
			for _, l := range in.labels {
				dst = appendU32(dst, w.depth(l))
			}
		case opCall, opReturnCall, opRefFunc:
			dst = append(dst, in.op)
			dst = appendU32(dst, w.m.funcIndex(in.idx))
		default:
			dst = append(dst, code[in.start:in.end]...)
		}
	}
	if !r.done() {
		return nil, errors.New("bytes after the end of the body")
	}
	return dst, nil
}

// depth maps a label index of the original body to the rewritten one: each
// frame crossed on the way out contributes the labels added outside it.
func (w *bodyWriter) depth(d uint32) uint32 {
	out := uint64(d)
	for i := uint32(0); i < d && int(i) < len(w.frames); i++ {
		out += uint64(w.frames[len(w.frames)-1-int(i)])
	}
	if out > 1<<32-1 {
		return d // an invalid label stays invalid
	}
	return uint32(out)
}

// decrement emits fuel -= 1 followed by the condition fuel < 0.
func (w *bodyWriter) decrement(dst []byte) []byte {
	g := w.m.fuel
	sub, lt, konst := byte(opI64Sub), byte(opI64LtS), byte(opI64Const)
	if w.m.opts.Fuel32 {
		sub, lt, konst = opI32Sub, opI32LtS, opI32Const
	}
	dst = append(dst, opGlobalGet)
	dst = appendU32(dst, g)
	dst = append(dst, konst, 1, sub, opGlobalSet)
	dst = appendU32(dst, g)
	dst = append(dst, opGlobalGet)
	dst = appendU32(dst, g)
	return append(dst, konst, 0, lt)
}

// entryCheck emits the check at a function's entry:
//
//	fuel -= 1; if fuel < 0 { call $hook }
func (w *bodyWriter) entryCheck(dst []byte) []byte {
	dst = w.decrement(dst)
	dst = append(dst, opIf, blockEmpty, opCall)
	dst = appendU32(dst, w.m.hook)
	return append(dst, opEnd)
}

// loopHead emits the wrapper's head, the loop instruction itself (loop is
// its original encoding) and the check at its header:
//
//	block $done (P -> R)
//	  loop $outer (P -> [])
//	    block $slow (P -> P)
//	      loop $L (P -> R)
//	        fuel -= 1; br_if $slow (fuel < 0)
func (w *bodyWriter) loopHead(dst, loop []byte) ([]byte, error) {
	bt := w.in.bt
	empty := []byte{blockEmpty}
	outer, slow := empty, empty
	if bt.typeIdx >= 0 {
		t, err := w.m.blockTypeOf(bt.typeIdx)
		if err != nil {
			return nil, err
		}
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
	dst = w.decrement(dst)
	return append(dst, opBrIf, 1), nil
}

// loopTail follows the end of the original loop:
//
//	      end            ;; of $L, its results R on the stack
//	      br $done
//	    end              ;; of $slow: the loop's current parameters P on the stack
//	    call $hook
//	    br $outer        ;; re-enter the loop with P
//	  end
//	  unreachable
//	end
func (w *bodyWriter) loopTail(dst []byte) []byte {
	dst = append(dst, opBr, 2, opEnd, opCall)
	dst = appendU32(dst, w.m.hook)
	return append(dst, opBr, 0, opEnd, opUnreachable, opEnd)
}
