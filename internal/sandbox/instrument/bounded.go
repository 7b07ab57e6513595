package instrument

// Loops that need no check of their own.
//
// A loop whose number of iterations is bounded by constants of the code,
// and whose body makes no call and holds no other loop, runs for a bounded
// time between the checks around it: it gets no check and no wrapper. The
// recognised shape is the counted loop compilers emit, with one back-edge,
// the loop's last instruction:
//
//	loop                        ;; no parameters
//	  ...                       ;; no loop, call, bulk-memory or wait instruction,
//	                            ;; no other branch to this loop, no other write to $i
//	  local.get $i  i32.const c  i32.add (or i32.sub)  local.tee $i (or local.set $i  local.get $i)
//	  i32.const K  i32.ne | i32.lt_u | i32.lt_s
//	  br_if 0
//	end
//
// The increment sits directly in the loop's body, so it runs on every
// iteration. With i32.lt_u and c > 0 the trip count is at most K/c + 2
// whatever $i held before (no wrap-around: K + c <= 2^31). With i32.ne or
// i32.lt_s it also needs $i's value on entry, S, which is known when the
// straight-line code just before the loop set it from a constant
// (`i32.const S  local.set $i`, no branch or join point in between): ne
// then makes exactly (K - S)/c iterations when c divides K - S (mod 2^32),
// lt_s at most (K - S)/c + 1. Anything else keeps its check.
//
// The bound is on work, not only on iterations: trips × the body's
// instructions must stay within maxUncheckedWork, so that even a body of
// cache misses stays well inside a time slice between two checks.

// Limits of the bounded-loop analysis.
const (
	// maxUncheckedWork is the most instructions (trip count × body length)
	// that a loop without a check may run between the checks around it:
	// 16,384 instructions, 1.6 ms if every one were a 100 ns cache miss,
	// typically a few microseconds.
	maxUncheckedWork = 1 << 14
	// maxBoundedScan is how far the analysis reads into a loop before
	// giving up on it: a loop longer than this has a check anyway.
	maxBoundedScan = maxUncheckedWork
)

// tailLen is the length of the counted loop's tail pattern at most.
const tailLen = 8

// knownConsts tracks the locals that the straight-line code just before
// the current position set from an i32 constant. It is reset at every
// point where control joins.
type knownConsts struct {
	local []uint32
	val   []int64
}

func (k *knownConsts) reset() { k.local, k.val = k.local[:0], k.val[:0] }

func (k *knownConsts) forget(l uint32) {
	for i, x := range k.local {
		if x == l {
			last := len(k.local) - 1
			k.local[i], k.val[i] = k.local[last], k.val[last]
			k.local, k.val = k.local[:last], k.val[:last]
			return
		}
	}
}

func (k *knownConsts) set(l uint32, v int64) {
	k.forget(l)
	k.local, k.val = append(k.local, l), append(k.val, v)
}

func (k *knownConsts) get(l uint32) (int64, bool) {
	for i, x := range k.local {
		if x == l {
			return k.val[i], true
		}
	}
	return 0, false
}

// observe updates k for the instruction in, given the one before it.
func (k *knownConsts) observe(prev, in *instr) {
	switch in.op {
	case opLocalSet, opLocalTee:
		if prev.op == opI32Const {
			k.set(in.idx, int64(int32(prev.val)))
		} else {
			k.forget(in.idx)
		}
	case opLoop, opElse, opEnd:
		k.reset() // a join point: the value may come from elsewhere
	}
}

// tailInstr is what the bounded-loop analysis keeps of an instruction.
type tailInstr struct {
	op  byte
	idx uint32
	val int64
}

// boundedLoop reports whether the loop whose body starts at code[pos] (just
// after its block type) needs no check. bt is its block type; known holds
// the constants the code before it set.
func boundedLoop(code []byte, pos int, bt blockType, known *knownConsts) bool {
	if bt.typeIdx >= 0 {
		return false // parameters: not the counted shape
	}
	r := &reader{b: code, pos: pos}
	var in instr
	var tail [tailLen]tailInstr // the last instructions directly in the loop
	nTail := 0
	depth := uint32(0) // frames opened inside the loop
	backEdges := 0     // br_if 0 directly in the loop
	var writes []uint32
	for count := 0; count < maxBoundedScan; count++ {
		if next(r, &in) != nil {
			return false
		}
		switch in.op {
		case opLoop, opCall, opReturnCall, 0x11, 0x13, 0x14, 0x15:
			return false
		case opBlock, opIf:
			depth++
		case opEnd:
			if depth == 0 {
				return backEdges == 1 && countedTail(tail[:], nTail, writes, count, known)
			}
			depth--
		case opBr, opBrIf, 0xd5, 0xd6:
			if in.idx != depth {
				break
			}
			if depth != 0 || in.op != opBrIf {
				return false
			}
			backEdges++ // countedTail checks that it is the last instruction
		case opBrTable:
			for _, l := range in.labels {
				if l == depth {
					return false
				}
			}
		case opLocalSet, opLocalTee:
			writes = append(writes, in.idx)
		case prefixMisc:
			if in.sub >= 8 { // bulk memory and table instructions: unbounded work
				return false
			}
		case prefixAtomic:
			if in.sub == 1 || in.sub == 2 || in.sub == 3 { // notify, wait32, wait64
				return false
			}
		}
		if depth == 0 && in.op != opEnd {
			copy(tail[:], tail[1:])
			tail[tailLen-1] = tailInstr{op: in.op, idx: in.idx, val: in.val}
			nTail = min(nTail+1, tailLen)
		} else if in.op != opEnd || depth > 0 {
			// An instruction in a nested frame breaks the tail's run.
			nTail = 0
		}
	}
	return false
}

// countedTail checks the counted shape's tail and the trip count bound.
// body is the number of instructions in the loop.
func countedTail(tail []tailInstr, n int, writes []uint32, body int, known *knownConsts) bool {
	t := tail[len(tail)-n:]
	if len(t) < 5 || t[len(t)-1].op != opBrIf || t[len(t)-1].idx != 0 {
		return false
	}
	// Last: br_if 0, after i32.const K and the comparison, or right after
	// the local.tee of the increment (the comparison ne 0).
	cmp, kc := t[len(t)-2], t[len(t)-3]
	var i uint32
	var inc []tailInstr
	switch {
	case cmp.op == opLocalTee:
		i, inc = cmp.idx, t[len(t)-5:len(t)-2]
		cmp, kc = tailInstr{op: 0x47}, tailInstr{op: opI32Const} // i32.ne 0
	case len(t) < 7 || kc.op != opI32Const:
		return false
	case t[len(t)-4].op == opLocalTee:
		i, inc = t[len(t)-4].idx, t[len(t)-7:len(t)-4]
	case len(t) >= 8 && t[len(t)-4].op == opLocalGet && t[len(t)-5].op == opLocalSet && t[len(t)-5].idx == t[len(t)-4].idx:
		i, inc = t[len(t)-4].idx, t[len(t)-8:len(t)-5]
	default:
		return false
	}
	if inc[0].op != opLocalGet || inc[0].idx != i || inc[1].op != opI32Const {
		return false
	}
	step := inc[1].val
	switch inc[2].op {
	case 0x6a: // i32.add
	case 0x6b: // i32.sub
		step = -step
	default:
		return false
	}
	for k, w := range writes {
		if w == i && k != len(writes)-1 {
			return false // another write to $i than the increment
		}
	}
	K := kc.val
	S, haveS := known.get(i)
	trips, ok := tripCount(cmp.op, step, K, S, haveS)
	return ok && trips <= maxUncheckedWork/int64(max(body, 1))
}

// tripCount bounds the iterations of the counted loop: i = S on entry,
// then on each iteration i += step and the loop goes on while cmp(i, K).
func tripCount(cmp byte, step, K, S int64, haveS bool) (int64, bool) {
	const ring = 1 << 32
	switch cmp {
	case 0x47: // i32.ne
		if !haveS || step == 0 {
			return 0, false
		}
		d := ((K-S)%ring + ring) % ring
		c := step
		if c < 0 {
			d, c = (ring-d)%ring, -c
		}
		if d == 0 || d%c != 0 {
			return 0, false
		}
		return d / c, true
	case 0x49: // i32.lt_u
		uk := uint32(K)
		if step <= 0 || int64(uk)+step > 1<<31 {
			return 0, false
		}
		return int64(uk)/step + 2, true
	case 0x48: // i32.lt_s
		if !haveS || step <= 0 || K+step > 1<<31-1 || S+step > 1<<31-1 {
			return 0, false
		}
		if S >= K {
			return 1, true
		}
		return (K-S)/step + 1, true
	}
	return 0, false
}
