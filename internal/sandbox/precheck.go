package sandbox

import (
	"errors"
	"fmt"

	"isle/internal/leb128"
)

// Limits a module must respect before wazero sees it. wazero sizes some of
// its allocations from counts in the binary, so a few bytes claiming a
// billion exports or locals would make it allocate gigabytes: precheck
// refuses counts that the bytes that follow cannot hold.
const (
	maxLocals = 50_000 // locals per function (wasmtime's limit too)
	// maxFunctionSize bounds one function body, in bytes: the Web's limit
	// (the JS API's implementation limits, which V8 and SpiderMonkey
	// enforce), so every module a browser runs loads. wazero compiles a
	// function in one call that no context interrupts, about 2 s for one
	// of this size here; a 100 MB body held a CPU for half a minute.
	// (wasmtime's parser allows 128 MiB.)
	maxFunctionSize = 7_654_321
)

var errTruncated = errors.New("unexpected end of module")

type reader struct {
	b   []byte
	off int
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) u32() (uint32, error) {
	v, n, err := leb128.U32(r.b[r.off:])
	r.off += n
	if err == leb128.ErrEOF {
		err = errTruncated
	}
	return v, err
}

// isVectorSection reports whether a section's content starts with an element count.
func isVectorSection(id byte) bool {
	switch id {
	case 1, 2, 3, 4, 5, 6, 7, 9, 10, 11:
		return true
	}
	return false
}

// precheck walks the module's sections and checks that every vector count
// fits in the bytes of its section, and every function's locals are few
// enough. It leaves all other validation to wazero.
func precheck(wasm []byte) error {
	r := &reader{b: wasm, off: 8}
	for r.off < len(wasm) {
		id, err := r.byte()
		if err != nil {
			return err
		}
		size, err := r.u32()
		if err != nil {
			return err
		}
		if uint64(r.off)+uint64(size) > uint64(len(wasm)) {
			return fmt.Errorf("section %d: size %d past the end of the module", id, size)
		}
		sec := &reader{b: wasm[r.off : r.off+int(size)]}
		r.off += int(size)
		switch {
		case id == 12: // data count
			n, err := sec.u32()
			if err != nil {
				return err
			}
			if uint64(n) > uint64(len(wasm)) {
				return fmt.Errorf("data count %d exceeds the module's size", n)
			}
		case isVectorSection(id):
			n, err := sec.u32()
			if err != nil {
				return fmt.Errorf("section %d: %v", id, err)
			}
			if uint64(n) > uint64(len(sec.b)-sec.off) {
				return fmt.Errorf("section %d claims %d entries in %d bytes", id, n, len(sec.b)-sec.off)
			}
			if id == 10 {
				if err := precheckCode(sec, n); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func precheckCode(sec *reader, n uint32) error {
	for i := uint32(0); i < n; i++ {
		size, err := sec.u32()
		if err != nil {
			return err
		}
		if uint64(sec.off)+uint64(size) > uint64(len(sec.b)) {
			return fmt.Errorf("function %d: body past the end of the code section", i)
		}
		if size > maxFunctionSize {
			return fmt.Errorf("function %d: body of %d bytes, more than the %d a function may have", i, size, maxFunctionSize)
		}
		body := &reader{b: sec.b[sec.off : sec.off+int(size)]}
		sec.off += int(size)
		decls, err := body.u32()
		if err != nil {
			return err
		}
		if uint64(decls) > uint64(len(body.b)) {
			return fmt.Errorf("function %d claims %d local declarations in %d bytes", i, decls, len(body.b))
		}
		total := uint64(0)
		for d := uint32(0); d < decls; d++ {
			c, err := body.u32()
			if err != nil {
				return err
			}
			if _, err := body.byte(); err != nil {
				return err
			}
			total += uint64(c)
			if total > maxLocals {
				return fmt.Errorf("function %d has more than %d locals", i, maxLocals)
			}
		}
	}
	return nil
}
