package instrument

import (
	"fmt"
	"strconv"
	"strings"
)

// A tiny assembler for the test modules: a function body is written as
// whitespace-separated words in the WAT instruction syntax, with
// immediates as plain numbers. A block type is written after a colon:
// "loop" (empty), "block:i32" (one result) or "loop:t3" (type index 3).
// Memory instructions take "align offset".

var asmOps = map[string]struct {
	code []byte
	imm  string // "", "u32", "s32", "s64", "bt", "table", "mem"
}{
	"unreachable": {[]byte{0x00}, ""}, "nop": {[]byte{0x01}, ""},
	"block": {[]byte{0x02}, "bt"}, "loop": {[]byte{0x03}, "bt"}, "if": {[]byte{0x04}, "bt"},
	"else": {[]byte{0x05}, ""}, "end": {[]byte{0x0b}, ""},
	"br": {[]byte{0x0c}, "u32"}, "br_if": {[]byte{0x0d}, "u32"}, "br_table": {[]byte{0x0e}, "table"},
	"return": {[]byte{0x0f}, ""}, "call": {[]byte{0x10}, "u32"},
	"call_indirect": {[]byte{0x11}, "u32u32"},
	"drop":          {[]byte{0x1a}, ""}, "select": {[]byte{0x1b}, ""},
	"local.get": {[]byte{0x20}, "u32"}, "local.set": {[]byte{0x21}, "u32"}, "local.tee": {[]byte{0x22}, "u32"},
	"global.get": {[]byte{0x23}, "u32"}, "global.set": {[]byte{0x24}, "u32"},
	"i32.load": {[]byte{0x28}, "mem"}, "i64.load": {[]byte{0x29}, "mem"},
	"i32.load8_u": {[]byte{0x2d}, "mem"}, "i32.store": {[]byte{0x36}, "mem"},
	"i64.store": {[]byte{0x37}, "mem"}, "i32.store8": {[]byte{0x3a}, "mem"},
	"i32.const": {[]byte{0x41}, "s32"}, "i64.const": {[]byte{0x42}, "s64"},
	"i32.eqz": {[]byte{0x45}, ""}, "i32.eq": {[]byte{0x46}, ""}, "i32.ne": {[]byte{0x47}, ""},
	"i32.lt_s": {[]byte{0x48}, ""}, "i32.lt_u": {[]byte{0x49}, ""}, "i32.gt_s": {[]byte{0x4a}, ""},
	"i32.gt_u": {[]byte{0x4b}, ""}, "i32.le_s": {[]byte{0x4c}, ""}, "i32.ge_s": {[]byte{0x4e}, ""},
	"i32.ge_u": {[]byte{0x4f}, ""},
	"i32.le_u": {[]byte{0x4d}, ""}, "i64.eq": {[]byte{0x51}, ""}, "i64.ne": {[]byte{0x52}, ""},
	"i64.ge_u": {[]byte{0x5a}, ""},
	"i64.eqz":  {[]byte{0x50}, ""}, "i64.lt_s": {[]byte{0x53}, ""}, "i64.lt_u": {[]byte{0x54}, ""},
	"i32.add": {[]byte{0x6a}, ""}, "i32.sub": {[]byte{0x6b}, ""}, "i32.mul": {[]byte{0x6c}, ""},
	"i32.rem_u": {[]byte{0x70}, ""}, "i32.and": {[]byte{0x71}, ""}, "i32.or": {[]byte{0x72}, ""},
	"i32.xor": {[]byte{0x73}, ""}, "i32.shl": {[]byte{0x74}, ""}, "i32.shr_u": {[]byte{0x76}, ""},
	"i32.rotl": {[]byte{0x77}, ""},
	"i64.add":  {[]byte{0x7c}, ""}, "i64.sub": {[]byte{0x7d}, ""}, "i64.mul": {[]byte{0x7e}, ""},
	"i64.xor": {[]byte{0x85}, ""}, "i64.shr_u": {[]byte{0x88}, ""}, "i64.rotl": {[]byte{0x89}, ""},
	"i32.wrap_i64": {[]byte{0xa7}, ""}, "i64.extend_i32_u": {[]byte{0xad}, ""},
	"ref.func":    {[]byte{0xd2}, "u32"},
	"memory.fill": {[]byte{0xfc, 0x0b}, "u32"},
	"v128.load":   {[]byte{0xfd, 0x00}, "mem"}, "v128.store": {[]byte{0xfd, 0x0b}, "mem"},
	"i32x4.add": {[]byte{0xfd, 0xae, 0x01}, ""}, "i32x4.extract_lane": {[]byte{0xfd, 0x1b}, "lane"},
	"i32x4.splat": {[]byte{0xfd, 0x11}, ""},
}

var asmValTypes = map[string]byte{"i32": 0x7f, "i64": 0x7e, "f32": 0x7d, "f64": 0x7c, "v128": 0x7b, "funcref": 0x70}

// asm assembles a body's instructions; it panics on a typo, as tests want.
func asm(src string) []byte {
	var out []byte
	words := strings.Fields(src)
	num := func(i int) int64 {
		v, err := strconv.ParseInt(words[i], 10, 64)
		if err != nil {
			panic(fmt.Sprintf("asm: word %d %q: %v", i, words[i], err))
		}
		return v
	}
	for i := 0; i < len(words); i++ {
		name, bt, _ := strings.Cut(words[i], ":")
		op, ok := asmOps[name]
		if !ok {
			panic("asm: unknown instruction " + name)
		}
		out = append(out, op.code...)
		switch op.imm {
		case "u32":
			i++
			out = appendU32(out, uint32(num(i)))
		case "u32u32", "mem":
			out = appendU32(out, uint32(num(i+1)))
			out = appendU32(out, uint32(num(i+2)))
			i += 2
		case "lane":
			i++
			out = append(out, byte(num(i)))
		case "s32", "s64":
			i++
			out = appendS64(out, num(i))
		case "bt":
			switch {
			case bt == "":
				out = append(out, blockEmpty)
			case bt[0] == 't':
				v, err := strconv.Atoi(bt[1:])
				if err != nil {
					panic(err)
				}
				out = appendS64(out, int64(v))
			default:
				out = append(out, asmValTypes[bt])
			}
		case "table": // br_table n l1 ... ln default
			i++
			n := num(i)
			out = appendU32(out, uint32(n))
			for k := int64(0); k <= n; k++ {
				i++
				out = appendU32(out, uint32(num(i)))
			}
		}
	}
	return out
}

// testFunc is one function of a test module.
type testFunc struct {
	typ    uint32
	locals string // value types of the locals, e.g. "i32 i32 i64"
	body   string // without the final end
	export string
}

// testModule describes a module to assemble.
type testModule struct {
	types   []string // "i32 i32 -> i64"
	imports []testImport
	funcs   []testFunc
	memory  int // pages; 0 for none
	table   bool
	elems   []uint32 // functions placed in table 0 from offset 0
	globals []string // "i32 mut 5": type, mutability, initial value
	start   int      // 1 + function index, 0 for none
	names   bool     // emit a name section for the functions
}

type testImport struct {
	module, name string
	typ          uint32
}

func valTypes(s string) []byte {
	var out []byte
	for _, w := range strings.Fields(s) {
		out = append(out, asmValTypes[w])
	}
	return out
}

func vecOf(n int, items []byte) []byte { return append(appendU32(nil, uint32(n)), items...) }

func sectionBytes(id byte, content []byte) []byte {
	return append(appendU32([]byte{id}, uint32(len(content))), content...)
}

func (tm testModule) bytes() []byte {
	out := append([]byte(nil), magic...)
	out = append(out, tm.typeSection()...)
	out = append(out, tm.importSection()...)
	var b []byte
	for _, f := range tm.funcs {
		b = appendU32(b, f.typ)
	}
	out = append(out, sectionBytes(secFunction, vecOf(len(tm.funcs), b))...)
	if tm.table {
		out = append(out, sectionBytes(secTable, []byte{1, 0x70, 0, byte(len(tm.elems))})...)
	}
	if tm.memory > 0 {
		out = append(out, sectionBytes(secMemory, []byte{1, 0, byte(tm.memory)})...)
	}
	out = append(out, tm.globalSection()...)
	out = append(out, tm.exportSection()...)
	if tm.start > 0 {
		out = append(out, sectionBytes(secStart, appendU32(nil, uint32(tm.start-1)))...)
	}
	out = append(out, tm.elementSection()...)
	out = append(out, tm.codeSection()...)
	return append(out, tm.nameSection()...)
}

func (tm testModule) typeSection() []byte {
	var b []byte
	for _, t := range tm.types {
		p, r, _ := strings.Cut(t, "->")
		b = append(b, 0x60)
		b = append(b, vecOf(len(valTypes(p)), valTypes(p))...)
		b = append(b, vecOf(len(valTypes(r)), valTypes(r))...)
	}
	return sectionBytes(secType, vecOf(len(tm.types), b))
}

func (tm testModule) importSection() []byte {
	if len(tm.imports) == 0 {
		return nil
	}
	var b []byte
	for _, im := range tm.imports {
		b = appendName(b, []byte(im.module))
		b = appendName(b, []byte(im.name))
		b = append(b, kindFunc)
		b = appendU32(b, im.typ)
	}
	return sectionBytes(secImport, vecOf(len(tm.imports), b))
}

func (tm testModule) globalSection() []byte {
	if len(tm.globals) == 0 {
		return nil
	}
	var b []byte
	for _, g := range tm.globals {
		w := strings.Fields(g)
		b = append(b, asmValTypes[w[0]])
		if w[1] == "mut" {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = append(b, asm(w[0]+".const "+w[2]+" end")...)
	}
	return sectionBytes(secGlobal, vecOf(len(tm.globals), b))
}

func (tm testModule) exportSection() []byte {
	var b []byte
	n := 0
	for i, f := range tm.funcs {
		if f.export != "" {
			b = appendName(b, []byte(f.export))
			b = append(b, kindFunc)
			b = appendU32(b, uint32(len(tm.imports)+i))
			n++
		}
	}
	if tm.memory > 0 {
		b = appendName(b, []byte("mem"))
		b = append(b, kindMemory, 0)
		n++
	}
	return sectionBytes(secExport, vecOf(n, b))
}

func (tm testModule) elementSection() []byte {
	if len(tm.elems) == 0 {
		return nil
	}
	b := []byte{1, 0}
	b = append(b, asm("i32.const 0 end")...)
	b = appendU32(b, uint32(len(tm.elems)))
	for _, e := range tm.elems {
		b = appendU32(b, e)
	}
	return sectionBytes(secElement, b)
}

func (tm testModule) codeSection() []byte {
	var b []byte
	for _, f := range tm.funcs {
		var code []byte
		lt := valTypes(f.locals)
		code = appendU32(code, uint32(len(lt)))
		for _, t := range lt {
			code = append(code, 1, t)
		}
		code = append(code, asm(f.body)...)
		code = append(code, opEnd)
		b = appendU32(b, uint32(len(code)))
		b = append(b, code...)
	}
	return sectionBytes(secCode, vecOf(len(tm.funcs), b))
}

func (tm testModule) nameSection() []byte {
	if !tm.names {
		return nil
	}
	var fn []byte
	for i := range tm.funcs {
		fn = appendU32(fn, uint32(len(tm.imports)+i))
		fn = appendName(fn, []byte(fmt.Sprintf("f%d", i)))
	}
	c := appendName(nil, []byte("name"))
	c = append(c, 1)
	c = appendName(c, vecOf(len(tm.funcs), fn))
	return sectionBytes(secCustom, c)
}
