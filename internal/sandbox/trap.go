package sandbox

import (
	"strconv"
	"strings"
)

// trapStack returns the frames of the "wasm stack trace:" that wazero
// appends to a trap's error text, one a line, without their indentation and
// without the "." that stands before a function of the guest (its module
// has no name). A function without a name, which wazero calls "$N" by its
// index in the instrumented module, is called by its index in the module as
// loaded: N-shift, shift being the functions that instrumenting imported.
// It stops at the first line that is not a frame: a Go runtime
// stack that wazero adds after a host function's panic is never shown.
func trapStack(text string, shift uint32) string {
	_, trace, ok := strings.Cut(text, "\nwasm stack trace:\n")
	if !ok {
		return ""
	}
	var b strings.Builder
	for _, line := range strings.Split(trace, "\n") {
		frame, ok := strings.CutPrefix(line, "\t")
		if !ok || frame == "" {
			break
		}
		if frame[0] == ' ' || frame[0] == '\t' {
			continue // a source position under its frame (DWARF), not a frame
		}
		if !strings.HasPrefix(frame, "...") { // not wazero's "... maybe followed by omitted frames"
			frame = strings.TrimPrefix(frame, ".")
		}
		frame = renumber(frame, shift)
		b.WriteString(frame)
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// renumber turns a frame "$N(...)" into "$M(...)", M = N-shift; a named
// frame is returned as it is.
func renumber(frame string, shift uint32) string {
	rest, ok := strings.CutPrefix(frame, "$")
	if !ok || shift == 0 {
		return frame
	}
	i := strings.IndexByte(rest, '(')
	if i < 0 {
		return frame
	}
	n, err := strconv.ParseUint(rest[:i], 10, 32)
	if err != nil || n < uint64(shift) {
		return frame
	}
	return "$" + strconv.FormatUint(n-uint64(shift), 10) + rest[i:]
}

// funcImports counts the functions a module imports (its import section's
// entries of kind 0); ok is false if the section does not parse, which
// validation will report.
func funcImports(wasm []byte) (n uint32, ok bool) {
	r := &reader{b: wasm, off: 8}
	for r.off < len(wasm) {
		id, err := r.byte()
		if err != nil {
			return 0, false
		}
		size, err := r.u32()
		if err != nil || uint64(r.off)+uint64(size) > uint64(len(wasm)) {
			return 0, false
		}
		sec := &reader{b: wasm[r.off : r.off+int(size)]}
		r.off += int(size)
		if id == 2 {
			return countFuncImports(sec)
		}
	}
	return 0, true
}

func countFuncImports(sec *reader) (uint32, bool) {
	count, err := sec.u32()
	if err != nil {
		return 0, false
	}
	var n uint32
	skipName := func() bool {
		l, err := sec.u32()
		if err != nil || uint64(sec.off)+uint64(l) > uint64(len(sec.b)) {
			return false
		}
		sec.off += int(l)
		return true
	}
	limits := func() bool {
		flags, err := sec.byte()
		if err != nil {
			return false
		}
		if _, err := sec.u32(); err != nil {
			return false
		}
		if flags&1 != 0 {
			if _, err := sec.u32(); err != nil {
				return false
			}
		}
		return true
	}
	for i := uint32(0); i < count; i++ {
		if !skipName() || !skipName() {
			return 0, false
		}
		kind, err := sec.byte()
		if err != nil {
			return 0, false
		}
		switch kind {
		case 0: // function: type index
			n++
			_, err = sec.u32()
		case 1: // table: reference type, limits
			if _, err = sec.byte(); err == nil && !limits() {
				return 0, false
			}
		case 2: // memory: limits
			if !limits() {
				return 0, false
			}
		case 3: // global: value type, mutability
			if _, err = sec.byte(); err == nil {
				_, err = sec.byte()
			}
		default:
			return 0, false
		}
		if err != nil {
			return 0, false
		}
	}
	return n, true
}
