// Package wasmbin writes small WebAssembly modules by hand: the encodings
// (LEB128, sections, names) and a generator of programs that call host
// functions with given arguments, which the fuzz tests of the host ABIs and
// the benchmarks use. It imports only internal/leb128.
package wasmbin

import "isle/internal/leb128"

// Value type codes.
const (
	I32 byte = 0x7F
	I64 byte = 0x7E
)

// ULEB appends v as an unsigned LEB128.
func ULEB(b []byte, v uint64) []byte { return leb128.AppendUnsigned(b, v) }

// SLEB appends v as a signed LEB128.
func SLEB(b []byte, v int64) []byte { return leb128.AppendSigned(b, v) }

// Section appends a section: its id, its size, its content.
func Section(b []byte, id byte, content []byte) []byte {
	return append(ULEB(append(b, id), uint64(len(content))), content...)
}

// Name appends a name: its length, its bytes.
func Name(b []byte, s string) []byte { return append(ULEB(b, uint64(len(s))), s...) }

// Header is the magic number and version every module starts with.
const Header = "\x00asm\x01\x00\x00\x00"

// Import is a host function a generated program imports.
type Import struct {
	Name   string
	Params []byte // value type codes
	Result bool   // returns one i32 (an errno), which the program drops
}

// Call is one call a generated program makes: a row of the imports and
// its arguments, one for each parameter (i32 ones truncated).
type Call struct {
	Func int
	Args []uint64
}

// CallsModule assembles a WASI-style command importing funcs from module,
// whose _start makes calls in order and drops their results, with one page
// of memory (exported as "memory") starting with data (at most 64 KiB).
func CallsModule(module string, funcs []Import, calls []Call, data []byte) []byte {
	n := uint64(len(funcs))
	var types, imports, body []byte
	for i, f := range funcs {
		types = ULEB(append(types, 0x60), uint64(len(f.Params)))
		types = append(types, f.Params...)
		if f.Result {
			types = append(types, 1, I32)
		} else {
			types = append(types, 0)
		}
		imports = append(Name(Name(imports, module), f.Name), 0)
		imports = ULEB(imports, uint64(i))
	}
	for _, c := range calls {
		f := funcs[c.Func]
		for j, p := range f.Params {
			var v uint64
			if j < len(c.Args) {
				v = c.Args[j]
			}
			if p == I64 {
				body = SLEB(append(body, 0x42), int64(v)) // i64.const
			} else {
				body = SLEB(append(body, 0x41), int64(int32(v))) // i32.const
			}
		}
		body = ULEB(append(body, 0x10), uint64(c.Func)) // call
		if f.Result {
			body = append(body, 0x1A) // drop
		}
	}
	m := []byte(Header)
	m = Section(m, 1, append(append(ULEB(nil, n+1), types...), 0x60, 0, 0))
	m = Section(m, 2, append(ULEB(nil, n), imports...))
	m = Section(m, 3, ULEB(ULEB(nil, 1), n))
	m = Section(m, 5, []byte{1, 0, 1})
	exports := append(Name([]byte{2}, "_start"), 0)
	exports = append(ULEB(exports, n), Name(nil, "memory")...)
	m = Section(m, 7, append(exports, 2, 0))
	fn := append(append([]byte{0}, body...), 0x0B)
	m = Section(m, 10, append(ULEB(ULEB(nil, 1), uint64(len(fn))), fn...))
	if len(data) > 65536 {
		data = data[:65536]
	}
	seg := ULEB([]byte{1, 0, 0x41, 0, 0x0B}, uint64(len(data)))
	return Section(m, 11, append(seg, data...))
}
