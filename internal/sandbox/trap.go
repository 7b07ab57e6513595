package sandbox

import (
	"strconv"
	"strings"
	"unicode"
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
		frame = demangleRust(renumber(frame, shift))
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

// demangleRust turns a frame of a function named by Rust's legacy mangling
// ("_ZN3std9panicking11begin_panic17h0123456789abcdefE(i32)") into its
// path ("std::panicking::begin_panic(i32)"), without the hash and any
// ".llvm.N" suffix, as Rust's own backtraces print it. A name that does
// not end where its last path component does (a C++ name, whose
// parameter types follow the "E") is left as it is.
func demangleRust(frame string) string {
	name, sig := frame, ""
	if i := strings.IndexByte(frame, '('); i >= 0 {
		name, sig = frame[:i], frame[i:]
	}
	s, ok := strings.CutPrefix(name, "_ZN")
	if !ok {
		return frame
	}
	var parts []string
	for !strings.HasPrefix(s, "E") {
		n := 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		l, err := strconv.Atoi(s[:n])
		if err != nil || l <= 0 || l > len(s)-n {
			return frame
		}
		parts = append(parts, s[n:n+l])
		s = s[n+l:]
	}
	if rest := s[1:]; (rest != "" && !strings.HasPrefix(rest, ".llvm.")) || len(parts) == 0 {
		return frame
	}
	if last := parts[len(parts)-1]; len(parts) > 1 && isRustHash(last) {
		parts = parts[:len(parts)-1]
	}
	for i, p := range parts {
		parts[i] = rustUnescape(p)
	}
	return strings.Join(parts, "::") + sig
}

// isRustHash reports whether a path component is the "h" and 16 hex
// digits that legacy mangling puts last.
func isRustHash(c string) bool {
	if len(c) != 17 || c[0] != 'h' {
		return false
	}
	for _, r := range c[1:] {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// rustUnescape decodes legacy mangling's escapes in one path component:
// "$LT$" for "<", "$u7b$" for "{", ".." for "::", and so on.
func rustUnescape(c string) string {
	if strings.HasPrefix(c, "_$") {
		c = c[1:]
	}
	named := map[string]string{"SP": "@", "BP": "*", "RF": "&", "LT": "<", "GT": ">", "LP": "(", "RP": ")", "C": ","}
	var b strings.Builder
	for len(c) > 0 {
		switch {
		case c[0] == '$':
			end := strings.IndexByte(c[1:], '$')
			if end < 0 {
				b.WriteString(c)
				return b.String()
			}
			code := c[1 : 1+end]
			if v, ok := named[code]; ok {
				b.WriteString(v)
			} else if h, ok := strings.CutPrefix(code, "u"); ok {
				// A character a guest names is printed only if printable: a
				// name is the guest's text, and "$u0a$" would otherwise put a
				// line of its choosing in isle's own stderr.
				if r, err := strconv.ParseUint(h, 16, 32); err == nil && unicode.IsPrint(rune(r)) {
					b.WriteRune(rune(r))
				} else {
					b.WriteString("$" + code + "$")
				}
			} else {
				b.WriteString("$" + code + "$")
			}
			c = c[end+2:]
		case strings.HasPrefix(c, ".."):
			b.WriteString("::")
			c = c[2:]
		default:
			b.WriteByte(c[0])
			c = c[1:]
		}
	}
	return b.String()
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
