package testprog

import "isle/internal/wasmbin"

// The encodings come from package wasmbin.
func section(b []byte, id byte, c []byte) []byte { return wasmbin.Section(b, id, c) }
func name(b []byte, s string) []byte             { return wasmbin.Name(b, s) }
func uleb(b []byte, v uint32) []byte             { return wasmbin.ULEB(b, uint64(v)) }

// Module assembles a small WebAssembly module by hand, for tests that need a
// precise module (a trap, an unknown import) rather than a toolchain's output.
// Every function has type () -> (); imports come first in the function index
// space; the first defined function is exported as _start; the module has one
// page of memory, exported as "memory".
func Module(imports [][2]string, bodies ...[]byte) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	b = section(b, 1, []byte{1, 0x60, 0, 0})
	if len(imports) > 0 {
		var s []byte
		s = uleb(s, uint32(len(imports)))
		for _, im := range imports {
			s = name(s, im[0])
			s = name(s, im[1])
			s = append(s, 0x00, 0x00) // func, type 0
		}
		b = section(b, 2, s)
	}
	var fs []byte
	fs = uleb(fs, uint32(len(bodies)))
	for range bodies {
		fs = append(fs, 0)
	}
	b = section(b, 3, fs)
	b = section(b, 5, []byte{1, 0, 1})
	var ex []byte
	ex = append(ex, 2)
	ex = name(ex, "_start")
	ex = append(ex, 0x00)
	ex = uleb(ex, uint32(len(imports)))
	ex = name(ex, "memory")
	ex = append(ex, 0x02, 0)
	b = section(b, 7, ex)
	var code []byte
	code = uleb(code, uint32(len(bodies)))
	for _, body := range bodies {
		fn := append([]byte{0}, body...)
		fn = append(fn, 0x0B)
		code = uleb(code, uint32(len(fn)))
		code = append(code, fn...)
	}
	return section(b, 10, code)
}

// Instruction sequences for Module bodies, each a new slice.

// Unreachable is `unreachable`.
func Unreachable() []byte { return []byte{0x00} }

// OutOfBounds loads an i32 from address -16.
func OutOfBounds() []byte { return []byte{0x41, 0x70, 0x28, 0x02, 0x00, 0x1A} }

// InfiniteLoop is `loop br 0 end`.
func InfiniteLoop() []byte { return []byte{0x03, 0x40, 0x0C, 0x00, 0x0B} }

// CallSelf returns a body calling function idx (itself: unbounded recursion).
func CallSelf(idx uint32) []byte { return uleb([]byte{0x10}, idx) }
