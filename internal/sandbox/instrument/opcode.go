package instrument

import "fmt"

// The instruction walker. It knows the immediates of every opcode that
// wazero v1.12 accepts by default (core 2.0: MVP, sign extension,
// non-trapping float-to-int, multi-value, bulk memory, reference types,
// SIMD) plus the experimental tail calls, threads (atomics) and
// typed-function-reference opcodes, so that a body can be copied
// instruction by instruction with only the immediates that name labels or
// functions rewritten. The legacy and new exception-handling opcodes are
// refused: their catch clauses name labels in a way this rewriter does not
// track. Any opcode not listed is an error, never a panic.

// imm says how an opcode's immediates are encoded.
type imm uint8

const (
	immInvalid    imm = iota // not an opcode wazero accepts
	immNone                  // no immediate
	immBlock                 // block type (block, loop, if)
	immLabel                 // one label index (br, br_if, br_on_null, br_on_non_null)
	immBrTable               // vec(label) label
	immFunc                  // one function index (call, return_call, ref.func)
	immU32                   // one u32 index (locals, globals, tables, types, data, elements)
	immU32U32                // two u32 indices (call_indirect, table.init, memory.copy, ...)
	immMemarg                // align u32, offset u32
	immMemargLane            // memarg, then one lane byte
	immLane                  // one lane byte
	immBytes16               // 16 raw bytes (v128.const, i8x16.shuffle)
	immByte                  // one raw byte (atomic.fence)
	immS32                   // i32.const
	immS64                   // i64.const
	immF32                   // 4 raw bytes
	immF64                   // 8 raw bytes
	immSelectT               // vec(valtype)
	immHeapType              // ref.null: a heap type (s33)
)

// Prefixes of multi-byte opcodes.
const (
	prefixMisc   = 0xfc
	prefixVec    = 0xfd
	prefixAtomic = 0xfe
)

// Opcodes the rewriter treats specially or emits.
const (
	opUnreachable = 0x00
	opBlock       = 0x02
	opLoop        = 0x03
	opIf          = 0x04
	opElse        = 0x05
	opEnd         = 0x0b
	opBr          = 0x0c
	opBrIf        = 0x0d
	opBrTable     = 0x0e
	opCall        = 0x10
	opReturnCall  = 0x12
	opGlobalGet   = 0x23
	opGlobalSet   = 0x24
	opLocalGet    = 0x20
	opLocalSet    = 0x21
	opLocalTee    = 0x22
	opI32Const    = 0x41
	opI64Const    = 0x42
	opI32LtS      = 0x48
	opI64LtS      = 0x53
	opI32Sub      = 0x6b
	opI64Sub      = 0x7d
	opRefFunc     = 0xd2
	blockEmpty    = 0x40
)

// single holds the immediates of the one-byte opcodes.
var single = func() (t [256]imm) {
	set := func(k imm, ops ...int) {
		for _, op := range ops {
			t[op] = k
		}
	}
	span := func(k imm, lo, hi int) {
		for op := lo; op <= hi; op++ {
			t[op] = k
		}
	}
	set(immNone, 0x00, 0x01, opElse, opEnd, 0x0f, 0x1a, 0x1b, 0xd1, 0xd4)
	set(immBlock, opBlock, opLoop, opIf)
	set(immLabel, opBr, opBrIf, 0xd5, 0xd6)
	set(immBrTable, opBrTable)
	set(immFunc, opCall, opReturnCall, opRefFunc)
	set(immU32U32, 0x11, 0x13)                                        // call_indirect, return_call_indirect
	set(immU32, 0x14, 0x15, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26) // call_ref, return_call_ref, locals, globals, table.get/set
	set(immSelectT, 0x1c)
	span(immMemarg, 0x28, 0x3e)
	set(immU32, 0x3f, 0x40) // memory.size, memory.grow: a reserved index
	set(immS32, opI32Const)
	set(immS64, opI64Const)
	set(immF32, 0x43)
	set(immF64, 0x44)
	span(immNone, 0x45, 0xc4) // numeric instructions
	set(immHeapType, 0xd0)
	return t
}()

// misc holds the immediates of the 0xFC-prefixed opcodes.
var misc = [...]imm{
	0: immNone, 1: immNone, 2: immNone, 3: immNone, 4: immNone, 5: immNone, 6: immNone, 7: immNone,
	8:  immU32U32, // memory.init data mem
	9:  immU32,    // data.drop
	10: immU32U32, // memory.copy mem mem
	11: immU32,    // memory.fill mem
	12: immU32U32, // table.init elem table
	13: immU32,    // elem.drop
	14: immU32U32, // table.copy table table
	15: immU32,    // table.grow
	16: immU32,    // table.size
	17: immU32,    // table.fill
}

// vec holds the immediates of the 0xFD-prefixed (SIMD) opcodes.
var vec = func() (t [256]imm) {
	for op := range t {
		t[op] = immNone
	}
	// Sub-opcodes that the SIMD proposal leaves unassigned.
	for _, op := range []int{0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb,
		0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee} {
		t[op] = immInvalid
	}
	for op := 0x00; op <= 0x0b; op++ {
		t[op] = immMemarg
	}
	t[0x5c], t[0x5d] = immMemarg, immMemarg
	for op := 0x54; op <= 0x5b; op++ {
		t[op] = immMemargLane
	}
	t[0x0c], t[0x0d] = immBytes16, immBytes16
	for op := 0x15; op <= 0x22; op++ {
		t[op] = immLane
	}
	return t
}()

// atomic returns the immediates of a 0xFE-prefixed opcode.
func atomic(sub uint32) imm {
	switch {
	case sub <= 0x02 || (sub >= 0x10 && sub <= 0x4e):
		return immMemarg
	case sub == 0x03:
		return immByte
	}
	return immInvalid
}

// blockType is a decoded block type.
type blockType struct {
	raw     []byte // its encoding, to copy verbatim
	typeIdx int64  // the type index, or -1 for the empty or single-result forms
}

// instr is one decoded instruction of a body.
type instr struct {
	op     byte
	sub    uint32 // the sub-opcode after a prefix
	start  int    // offset of the opcode
	end    int    // offset just after the immediates
	bt     blockType
	idx    uint32   // the label of br/br_if/br_on_*, the function of call/return_call/ref.func
	labels []uint32 // br_table: the targets then the default
	val    int64    // the constant of i32.const and i64.const
}

// next decodes the instruction at r's position into in, reusing in's
// slices.
func next(r *reader, in *instr) error {
	in.start = r.pos
	op, err := r.byte()
	if err != nil {
		return err
	}
	in.op, in.sub = op, 0
	var k imm
	switch op {
	case prefixMisc:
		if in.sub, err = r.u32(); err != nil {
			return err
		}
		if int(in.sub) < len(misc) {
			k = misc[in.sub]
		}
	case prefixVec:
		if in.sub, err = r.u32(); err != nil {
			return err
		}
		if in.sub < 256 {
			k = vec[in.sub]
		}
	case prefixAtomic:
		if in.sub, err = r.u32(); err != nil {
			return err
		}
		k = atomic(in.sub)
	default:
		k = single[op]
	}
	if err := readImm(r, k, in); err != nil {
		if k == immInvalid {
			return err
		}
		return fmt.Errorf("opcode %#x at offset %d: %w", op, in.start, err)
	}
	in.end = r.pos
	return nil
}

func readImm(r *reader, k imm, in *instr) error {
	var err error
	switch k {
	case immInvalid:
		if in.op >= prefixMisc && in.op <= prefixAtomic {
			return fmt.Errorf("%w: opcode %#x %#x at offset %d", ErrUnsupported, in.op, in.sub, in.start)
		}
		return fmt.Errorf("%w: opcode %#x at offset %d", ErrUnsupported, in.op, in.start)
	case immNone:
	case immBlock:
		in.bt, err = readBlockType(r)
	case immLabel, immFunc, immU32:
		in.idx, err = r.u32()
	case immBrTable:
		var n uint32
		if n, err = r.u32(); err != nil {
			return err
		}
		if uint64(n) > uint64(len(r.b)-r.pos) { // each label takes a byte at least
			return errEOF
		}
		in.labels = in.labels[:0]
		for i := uint32(0); i <= n; i++ {
			l, err := r.u32()
			if err != nil {
				return err
			}
			in.labels = append(in.labels, l)
		}
	case immU32U32:
		if _, err = r.u32(); err == nil {
			_, err = r.u32()
		}
	case immMemarg, immMemargLane:
		if _, err = r.u32(); err == nil {
			_, err = r.u32()
		}
		if err == nil && k == immMemargLane {
			_, err = r.byte()
		}
	case immLane, immByte:
		_, err = r.byte()
	case immBytes16:
		_, err = r.bytes(16)
	case immS32:
		in.val, err = r.signed(32)
	case immS64:
		in.val, err = r.signed(64)
	case immF32:
		_, err = r.bytes(4)
	case immF64:
		_, err = r.bytes(8)
	case immSelectT:
		var n uint32
		if n, err = r.u32(); err != nil {
			return err
		}
		for i := uint32(0); i < n && err == nil; i++ {
			_, err = readValType(r)
		}
	case immHeapType:
		_, err = r.signed(33)
	default:
		panic("instrument: unknown immediate kind") // a bug in the tables above
	}
	return err
}

// readBlockType decodes a block type: empty, one value type, or a type index.
func readBlockType(r *reader) (blockType, error) {
	start := r.pos
	c, err := r.byte()
	if err != nil {
		return blockType{}, err
	}
	if c == blockEmpty {
		return blockType{raw: r.b[start:r.pos], typeIdx: -1}, nil
	}
	r.pos = start
	if isValTypeByte(c) {
		if _, err := readValType(r); err != nil {
			return blockType{}, err
		}
		return blockType{raw: r.b[start:r.pos], typeIdx: -1}, nil
	}
	v, err := r.signed(33)
	if err != nil {
		return blockType{}, err
	}
	if v < 0 {
		return blockType{}, fmt.Errorf("invalid block type %d at offset %d", v, start)
	}
	return blockType{raw: r.b[start:r.pos], typeIdx: v}, nil
}

// Value type encodings.
const (
	refNullable    = 0x63 // (ref null ht)
	refNonNullable = 0x64 // (ref ht)
)

func isValTypeByte(c byte) bool {
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f, 0x69, refNullable, refNonNullable:
		return true
	}
	return false
}

// readValType decodes one value type and returns its encoding.
func readValType(r *reader) ([]byte, error) {
	start := r.pos
	c, err := r.byte()
	if err != nil {
		return nil, err
	}
	if !isValTypeByte(c) {
		return nil, fmt.Errorf("invalid value type %#x at offset %d", c, start)
	}
	if c == refNullable || c == refNonNullable {
		if _, err := r.signed(33); err != nil {
			return nil, err
		}
	}
	return r.b[start:r.pos], nil
}
