package instrument

import (
	"bytes"
	"errors"
	"fmt"
)

// The module layer: split a binary into sections and put it back together.
// Sections this package does not change are kept as their original bytes.

// Section ids of the binary format.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// rank orders the known sections as the binary format requires (the tag
// section sits between memory and global).
func rank(id byte) int {
	switch id {
	case secTag:
		return 55 // between secMemory*10 and secGlobal*10
	case secDataCount:
		return 95 // between secElement*10 and secCode*10
	}
	return int(id) * 10
}

var magic = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// section is one section of a module: its id and its content.
type section struct {
	id   byte
	data []byte
}

// splitSections checks the header and splits the module into sections,
// checking their order and that no known section appears twice.
func splitSections(wasm []byte) ([]section, error) {
	if len(wasm) < len(magic) || !bytes.Equal(wasm[:4], magic[:4]) {
		return nil, errors.New("not a WebAssembly module: bad magic")
	}
	if !bytes.Equal(wasm[4:8], magic[4:8]) {
		return nil, fmt.Errorf("unsupported binary version % x", wasm[4:8])
	}
	r := &reader{b: wasm, pos: len(magic)}
	var secs []section
	last := -1
	for !r.done() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("section %d size: %w", id, err)
		}
		data, err := r.bytes(size)
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
		if id > secTag {
			return nil, fmt.Errorf("unknown section id %d", id)
		}
		if id != secCustom {
			if rank(id) <= last {
				return nil, fmt.Errorf("section %d out of order or repeated", id)
			}
			last = rank(id)
		}
		// Checked here, in order, because wazero decodes (and allocates
		// for) each section before it looks at the next one.
		if err := checkCounts(section{id: id, data: data}); err != nil {
			return nil, err
		}
		secs = append(secs, section{id: id, data: data})
	}
	return secs, nil
}

// find returns the index of the section with the given id, or -1.
func find(secs []section, id byte) int {
	for i, s := range secs {
		if s.id == id {
			return i
		}
	}
	return -1
}

// put replaces the section with the given id, or inserts it where the
// order of sections puts it.
func put(secs []section, id byte, data []byte) []section {
	if i := find(secs, id); i >= 0 {
		secs[i].data = data
		return secs
	}
	at := len(secs)
	for i, s := range secs {
		if s.id != secCustom && rank(s.id) > rank(id) {
			at = i
			break
		}
	}
	// Custom sections just before the insertion point stay before it.
	secs = append(secs, section{})
	copy(secs[at+1:], secs[at:])
	secs[at] = section{id: id, data: data}
	return secs
}

// encode writes a module from its sections.
func encode(secs []section) []byte {
	n := len(magic)
	for _, s := range secs {
		n += 6 + len(s.data)
	}
	out := make([]byte, 0, n)
	out = append(out, magic...)
	for _, s := range secs {
		out = append(out, s.id)
		out = appendU32(out, uint32(len(s.data)))
		out = append(out, s.data...)
	}
	return out
}

// funcType is a function type, each value type kept as its encoding.
type funcType struct {
	params, results [][]byte
	inRec           bool // a member of a recursion group: never reused for new signatures
}

// key is a string that identifies a function type's signature.
func (t funcType) key() string {
	var b []byte
	b = appendU32(b, uint32(len(t.params)))
	for _, p := range t.params {
		b = append(b, p...)
	}
	b = appendU32(b, uint32(len(t.results)))
	for _, p := range t.results {
		b = append(b, p...)
	}
	return string(b)
}

func (t funcType) encode(b []byte) []byte {
	b = append(b, 0x60)
	b = appendU32(b, uint32(len(t.params)))
	for _, p := range t.params {
		b = append(b, p...)
	}
	b = appendU32(b, uint32(len(t.results)))
	for _, p := range t.results {
		b = append(b, p...)
	}
	return b
}

// parseTypes decodes the type section: the flattened list of function
// types (a recursion group contributes each of its members) and the number
// of top-level entries.
func parseTypes(data []byte) (types []funcType, entries uint32, err error) {
	r := &reader{b: data}
	if entries, err = r.u32(); err != nil {
		return nil, 0, err
	}
	for i := uint32(0); i < entries; i++ {
		c, err := r.byte()
		if err != nil {
			return nil, 0, err
		}
		members := uint32(1)
		if c == 0x4e { // a recursion group
			if members, err = r.u32(); err != nil {
				return nil, 0, err
			}
		} else {
			r.pos--
		}
		for j := uint32(0); j < members; j++ {
			t, err := parseFuncType(r)
			if err != nil {
				return nil, 0, fmt.Errorf("type %d: %w", len(types), err)
			}
			t.inRec = c == 0x4e
			types = append(types, t)
		}
	}
	if !r.done() {
		return nil, 0, errors.New("type section: trailing bytes")
	}
	return types, entries, nil
}

func parseFuncType(r *reader) (funcType, error) {
	var t funcType
	c, err := r.byte()
	if err != nil {
		return t, err
	}
	if c != 0x60 {
		return t, fmt.Errorf("%w: type form %#x", ErrUnsupported, c)
	}
	for _, list := range []*[][]byte{&t.params, &t.results} {
		n, err := r.u32()
		if err != nil {
			return t, err
		}
		if uint64(n) > uint64(len(r.b)-r.pos) {
			return t, errEOF
		}
		for i := uint32(0); i < n; i++ {
			v, err := readValType(r)
			if err != nil {
				return t, err
			}
			*list = append(*list, v)
		}
	}
	return t, nil
}

// readLimits skips table or memory limits.
func readLimits(r *reader) error {
	flags, err := r.u32()
	if err != nil {
		return err
	}
	if flags > 3 {
		return fmt.Errorf("%w: limits flags %#x", ErrUnsupported, flags)
	}
	if _, err := r.u32(); err != nil {
		return err
	}
	if flags&1 != 0 {
		_, err = r.u32()
	}
	return err
}

// import kinds, also export kinds.
const (
	kindFunc   = 0x00
	kindTable  = 0x01
	kindMemory = 0x02
	kindGlobal = 0x03
	kindTag    = 0x04
)

// MaxLocals bounds the locals a function body may declare. wazero allocates
// a body's locals up front from the declared counts (up to 2^32 of them),
// so Instrument refuses more, as V8 does past 50,000.
const MaxLocals = 50_000

// errTooLarge reports a declared size beyond what the input can hold or
// beyond MaxLocals.
var errTooLarge = errors.New("declared size too large")

// checkCounts refuses, before anything allocates by them, vector counts
// that cannot fit in what is left of their section, data segments longer
// than their section and bodies with more than MaxLocals locals. wazero
// sizes its slices by these counts before reading the items, so a module
// of a few bytes could otherwise make it allocate gigabytes; running
// Instrument first protects it.
func checkCounts(s section) error {
	{
		switch s.id {
		case secCustom:
			return checkCustom(s.data)
		case secStart, secDataCount:
			return nil
		}
		r := &reader{b: s.data}
		n, err := r.u32()
		if err != nil {
			return err
		}
		if uint64(n) > uint64(len(r.b)-r.pos) {
			return fmt.Errorf("section %d: %w: %d items in %d bytes", s.id, errTooLarge, n, len(r.b)-r.pos)
		}
		switch s.id {
		case secType:
			_, _, err := parseTypes(s.data)
			return err
		case secImport:
			// A hook name that no valid module uses (not UTF-8), so
			// that the scan reads every import.
			m := &module{secs: []section{s}, opts: Options{HookModule: "\xff", HookName: "\xff"}}
			err := m.scanImports()
			if errors.Is(err, ErrConflict) {
				err = nil
			}
			return err
		case secGlobal:
			_, err := (&module{secs: []section{s}}).rewriteGlobals()
			return err
		case secElement:
			_, err := (&module{secs: []section{s}}).rewriteElements()
			return err
		case secExport:
			for i := uint32(0); i < n; i++ {
				if _, err := r.name(); err != nil {
					return err
				}
				if _, err := r.byte(); err != nil {
					return err
				}
				if _, err := r.u32(); err != nil {
					return err
				}
			}
		case secCode:
			for i := uint32(0); i < n; i++ {
				size, err := r.u32()
				if err != nil {
					return err
				}
				code, err := r.bytes(size)
				if err != nil {
					return err
				}
				if err := checkLocals(code); err != nil {
					return fmt.Errorf("body %d: %w", i, err)
				}
			}
		case secData:
			for i := uint32(0); i < n; i++ {
				if err := skipData(r); err != nil {
					return fmt.Errorf("data segment %d: %w", i, err)
				}
			}
		}
	}
	return nil
}

func checkLocals(code []byte) error {
	r := &reader{b: code}
	groups, err := r.u32()
	if err != nil {
		return err
	}
	var sum uint64
	for g := uint32(0); g < groups; g++ {
		n, err := r.u32()
		if err != nil {
			return err
		}
		if sum += uint64(n); sum > MaxLocals {
			return fmt.Errorf("%w: more than %d locals", errTooLarge, MaxLocals)
		}
		if _, err := readValType(r); err != nil {
			return err
		}
	}
	return nil
}

// skipData reads one data segment; its byte count must fit in the input.
func skipData(r *reader) error {
	flags, err := r.u32()
	if err != nil {
		return err
	}
	if flags > 2 {
		return fmt.Errorf("unknown data segment flags %#x", flags)
	}
	if flags == 2 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	if flags != 1 {
		var in instr
		for in.op != opEnd {
			if err := next(r, &in); err != nil {
				return err
			}
		}
	}
	n, err := r.u32()
	if err != nil {
		return err
	}
	_, err = r.bytes(n)
	return err
}

// checkCustom checks a custom section's name and, in a "name" section, the
// counts of the function and local name maps, which wazero also allocates
// by. Other malformations of a name section are left alone: Instrument
// drops a name section it cannot parse.
func checkCustom(data []byte) error {
	r := &reader{b: data}
	name, err := r.name()
	if err != nil || string(name) != "name" {
		return err
	}
	tooMany := func(r *reader, n uint32) bool { return uint64(n) > uint64(len(r.b)-r.pos) }
	for !r.done() {
		id, err := r.byte()
		if err != nil {
			return nil
		}
		sub, err := r.name()
		if err != nil {
			return nil
		}
		if id != 1 && id != 2 {
			continue
		}
		sr := &reader{b: sub}
		n, err := sr.u32()
		if err != nil {
			return nil
		}
		if tooMany(sr, n) {
			return fmt.Errorf("name section: %w", errTooLarge)
		}
		for i := uint32(0); i < n && id == 2; i++ {
			if _, err := sr.u32(); err != nil {
				return nil
			}
			cnt, err := sr.u32()
			if err != nil {
				return nil
			}
			if tooMany(sr, cnt) {
				return fmt.Errorf("name section: %w", errTooLarge)
			}
			for c := uint32(0); c < cnt; c++ {
				if _, err := sr.u32(); err != nil {
					return nil
				}
				if _, err := sr.name(); err != nil {
					return nil
				}
			}
		}
	}
	return nil
}
