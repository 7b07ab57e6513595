package instrument

import (
	"errors"
	"fmt"
	"strings"
)

// Errors that Instrument wraps, besides those for malformed input.
var (
	// ErrUnsupported: the module uses a feature the rewriter does not
	// handle (exception handling, garbage-collected types, memory64, ...).
	ErrUnsupported = errors.New("unsupported feature")
	// ErrConflict: the module already uses a name the options ask for
	// (the fuel export, or the hook import with another type or kind).
	ErrConflict = errors.New("name conflict")
)

// Options configures Instrument.
type Options struct {
	// HookModule and HookName name the imported function, of type
	// () -> (), that instrumented code calls when its fuel runs out. If the
	// module already imports a function by that name, it is reused.
	HookModule, HookName string
	// FuelExport is the export name of the fuel global that Instrument
	// adds: a mutable module-defined global, i64 (or i32 with Fuel32), that
	// the runtime reads and refills.
	FuelExport string
	// InitialFuel is the fuel global's initial value. Each check subtracts
	// one and calls the hook when the result is below zero, so with zero the
	// first function entry calls the hook. The hook must leave the fuel at
	// one or more for the guest to make progress: a loop re-entered after
	// the hook checks again.
	InitialFuel int64
	// Fuel32 makes the fuel global an i32 instead of an i64; InitialFuel is
	// then truncated to 32 bits.
	Fuel32 bool

	// PadGlobals appends that many immutable i64 globals after the fuel and
	// scratch globals. They are never read; they make the instance's
	// globals take more room (see sandbox.padGlobals).
	PadGlobals int

	// loopCallInBody selects the simple loop form, `fuel -= 1; if fuel < 0
	// { call $hook }` at the loop header, for the benchmark that compares
	// it with the default form.
	loopCallInBody bool
	// checkAll puts a check at every function entry and loop header and
	// writes the fuel back around every call, as the first rewriter did, for
	// the benchmark that measures what the analyses (analysis.go) save.
	checkAll bool
	// noUnroll keeps every loop's body as it is (unroll.go), for tests and
	// benchmarks that compare.
	noUnroll bool
	// noCaseCopies leaves Go's back-edges as they are (backedge.go), for
	// tests and benchmarks that compare.
	noCaseCopies bool
	// leafBudget replaces the constant leafBudget (leaf.go) when above
	// zero: the tests make it 1, so that leaves' slow paths run often.
	leafBudget int64
}

// Defaults for isle's runtime.
const (
	DefaultHookModule = "isle"
	DefaultHookName   = "preempt"
	DefaultFuelExport = "isle.fuel"
	DefaultFuel       = 100_000
)

// DefaultOptions returns the options isle's sandbox uses.
func DefaultOptions() Options {
	return Options{
		HookModule:  DefaultHookModule,
		HookName:    DefaultHookName,
		FuelExport:  DefaultFuelExport,
		InitialFuel: DefaultFuel,
	}
}

// Instrument rewrites a WebAssembly module so that every function entry
// and every loop header decrements a fuel global and calls the hook import
// once the fuel drops below zero. See the package documentation for the
// exact code it emits.
//
// Instrument never panics. It returns an error for input it cannot parse
// or does not support; its output for a module that wazero validates is a
// module that wazero validates, with the same behaviour apart from the hook
// calls.
func Instrument(wasm []byte, opts Options) ([]byte, error) {
	if opts.HookModule == "" || opts.HookName == "" || opts.FuelExport == "" {
		return nil, errors.New("instrument: hook module, hook name and fuel export must be set")
	}
	m, err := newModule(wasm, opts)
	if err != nil {
		return nil, fmt.Errorf("instrument: %w", err)
	}
	out, err := m.rewrite()
	if err != nil {
		return nil, fmt.Errorf("instrument: %w", err)
	}
	return out, nil
}

// module holds what the rewriter learned about a module.
type module struct {
	opts Options
	secs []section

	types      []funcType
	typeIndex  map[string]uint32 // signature -> a reusable type index
	typeEnts   uint32            // top-level entries of the type section
	addedTypes []funcType

	funcTypes     []uint32 // type index of each module-defined function
	funcImports   uint32   // imported functions
	globalImports uint32   // imported globals
	definedGlobs  uint32
	hook          uint32          // function index of the hook
	scratch       []scratchGlobal // globals that hold values across a hook call
	scratchIndex  map[scratchKey]uint32
	addHook       bool       // the hook import must be added (and functions shifted)
	fuel          uint32     // global index of the fuel global
	funcs         []funcInfo // by module-defined function: where it needs checks (analysis.go)
	comp          []int32    // by module-defined function: its strongly connected component of the call graph
	cloneOf       []int32    // by module-defined function: its clone's index in clones, or -1 (clone.go)
	clones        []int32    // the functions that have a clone, in the clones' order
}

func newModule(wasm []byte, opts Options) (*module, error) {
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, err
	}
	m := &module{opts: opts, secs: secs, typeIndex: map[string]uint32{}, scratchIndex: map[scratchKey]uint32{}}
	if i := find(secs, secType); i >= 0 {
		if m.types, m.typeEnts, err = parseTypes(secs[i].data); err != nil {
			return nil, err
		}
	}
	for i, t := range m.types {
		if _, ok := m.typeIndex[t.key()]; !ok && !t.inRec {
			m.typeIndex[t.key()] = uint32(i)
		}
	}
	if err := m.scanImports(); err != nil {
		return nil, err
	}
	if i := find(secs, secFunction); i >= 0 {
		r := &reader{b: secs[i].data}
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		for j := uint32(0); j < n; j++ {
			t, err := r.u32()
			if err != nil {
				return nil, err
			}
			m.funcTypes = append(m.funcTypes, t)
		}
		if !r.done() {
			return nil, errors.New("function section: trailing bytes")
		}
	}
	return m, nil
}

// typeOf returns the index of a type with the given signature, adding one
// to the type section if none exists.
func (m *module) typeOf(t funcType) uint32 {
	k := t.key()
	if i, ok := m.typeIndex[k]; ok {
		return i
	}
	i := uint32(len(m.types) + len(m.addedTypes))
	m.addedTypes = append(m.addedTypes, t)
	m.typeIndex[k] = i
	return i
}

// blockTypeOf returns the type with index i, or an error.
func (m *module) blockTypeOf(i int64) (funcType, error) {
	if i < 0 || i >= int64(len(m.types)) {
		return funcType{}, fmt.Errorf("block type index %d out of range", i)
	}
	return m.types[i], nil
}

// scanImports counts imported functions and globals and looks for the hook.
func (m *module) scanImports() error {
	i := find(m.secs, secImport)
	found := false
	if i >= 0 {
		r := &reader{b: m.secs[i].data}
		n, err := r.u32()
		if err != nil {
			return err
		}
		for j := uint32(0); j < n; j++ {
			mod, err := r.name()
			if err != nil {
				return err
			}
			name, err := r.name()
			if err != nil {
				return err
			}
			kind, err := r.byte()
			if err != nil {
				return err
			}
			isHook := string(mod) == m.opts.HookModule && string(name) == m.opts.HookName
			switch kind {
			case kindFunc:
				ti, err := r.u32()
				if err != nil {
					return err
				}
				if isHook && !found {
					if ti >= uint32(len(m.types)) || len(m.types[ti].params) != 0 || len(m.types[ti].results) != 0 {
						return fmt.Errorf("%w: import %s.%s is not of type () -> ()", ErrConflict, mod, name)
					}
					found, m.hook = true, m.funcImports
				}
				m.funcImports++
			case kindTable:
				if _, err := readValType(r); err != nil {
					return err
				}
				if err := readLimits(r); err != nil {
					return err
				}
			case kindMemory:
				if err := readLimits(r); err != nil {
					return err
				}
			case kindGlobal:
				if _, err := readValType(r); err != nil {
					return err
				}
				if _, err := r.byte(); err != nil {
					return err
				}
				m.globalImports++
			case kindTag:
				if _, err := r.byte(); err != nil {
					return err
				}
				if _, err := r.u32(); err != nil {
					return err
				}
			default:
				return fmt.Errorf("unknown import kind %#x", kind)
			}
			if isHook && kind != kindFunc {
				return fmt.Errorf("%w: import %s.%s is not a function", ErrConflict, mod, name)
			}
		}
		if !r.done() {
			return errors.New("import section: trailing bytes")
		}
	}
	if !found {
		m.hook, m.addHook = m.funcImports, true
	}
	return nil
}

// funcIndex maps a function index of the original module to the output.
func (m *module) funcIndex(i uint32) uint32 {
	if m.addHook && i >= m.funcImports {
		return i + 1
	}
	return i
}

// rewrite produces the instrumented module.
func (m *module) rewrite() ([]byte, error) {
	var err error
	// Globals first: the fuel global's index follows every existing one.
	globalBody, err := m.rewriteGlobals()
	if err != nil {
		return nil, err
	}
	m.fuel = m.globalImports + m.definedGlobs
	if m.funcs, err = m.analyze(); err != nil {
		return nil, err
	}
	code, err := m.rewriteCode()
	if err != nil {
		return nil, err
	}
	exports, err := m.rewriteExports()
	if err != nil {
		return nil, err
	}
	elems, err := m.rewriteElements()
	if err != nil {
		return nil, err
	}
	var hookType uint32
	if m.addHook {
		hookType = m.typeOf(funcType{})
	}

	if err := m.keepCustomSections(); err != nil {
		return nil, err
	}
	if err := m.addTypes(); err != nil {
		return nil, err
	}
	if m.addHook {
		if err := m.addHookImport(hookType); err != nil {
			return nil, err
		}
	}
	m.secs = put(m.secs, secGlobal, m.globalSection(globalBody))
	m.secs = put(m.secs, secExport, exports)
	if code != nil {
		m.secs = put(m.secs, secCode, code)
	}
	if fs := m.functionSection(); fs != nil {
		m.secs = put(m.secs, secFunction, fs)
	}
	if elems != nil {
		m.secs = put(m.secs, secElement, elems)
	}
	if i := find(m.secs, secStart); i >= 0 {
		r := &reader{b: m.secs[i].data}
		f, err := r.u32()
		if err != nil || !r.done() {
			return nil, errors.New("malformed start section")
		}
		m.secs[i].data = appendU32(nil, m.funcIndex(f))
	}
	return encode(m.secs), nil
}

// keepCustomSections drops the custom sections the rewriting makes wrong
// (DWARF, a name section that does not parse) and renumbers the name
// section.
func (m *module) keepCustomSections() error {
	secs := m.secs[:0:0]
	for _, s := range m.secs {
		if s.id == secCustom {
			r := &reader{b: s.data}
			name, err := r.name()
			if err != nil {
				return fmt.Errorf("custom section name: %w", err)
			}
			switch {
			case string(name) == "name":
				if data, ok := m.rewriteNames(s.data, r.pos); ok {
					s.data = data
				} else {
					continue // a name section we cannot fix is dropped
				}
			case strings.HasPrefix(string(name), ".debug_"):
				continue // DWARF names code offsets that have moved
			}
		}
		secs = append(secs, s)
	}
	m.secs = secs

	return nil
}

// addTypes appends the types the rewriting added to the type section.
func (m *module) addTypes() error {
	if len(m.addedTypes) > 0 {
		var data []byte
		var old []byte
		if i := find(m.secs, secType); i >= 0 {
			r := &reader{b: m.secs[i].data}
			if _, err := r.u32(); err != nil {
				return err
			}
			old = r.b[r.pos:]
		}
		data = appendU32(data, m.typeEnts+uint32(len(m.addedTypes)))
		data = append(data, old...)
		for _, t := range m.addedTypes {
			data = t.encode(data)
		}
		m.secs = put(m.secs, secType, data)
	}
	return nil
}

// addHookImport appends the hook to the import section.
func (m *module) addHookImport(hookType uint32) error {
	var err error
	var data, old []byte
	n := uint32(0)
	if i := find(m.secs, secImport); i >= 0 {
		r := &reader{b: m.secs[i].data}
		if n, err = r.u32(); err != nil {
			return err
		}
		old = r.b[r.pos:]
	}
	data = appendU32(data, n+1)
	data = append(data, old...)
	data = appendName(data, []byte(m.opts.HookModule))
	data = appendName(data, []byte(m.opts.HookName))
	data = append(data, kindFunc)
	data = appendU32(data, hookType)
	m.secs = put(m.secs, secImport, data)
	return nil
}

// rewriteGlobals renumbers ref.func in the initializers of the module's
// globals and returns them, without the vector count.
func (m *module) rewriteGlobals() ([]byte, error) {
	var body []byte
	if i := find(m.secs, secGlobal); i >= 0 {
		r := &reader{b: m.secs[i].data}
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		for j := uint32(0); j < n; j++ {
			start := r.pos
			if _, err := readValType(r); err != nil {
				return nil, err
			}
			if _, err := r.byte(); err != nil {
				return nil, err
			}
			body = append(body, r.b[start:r.pos]...)
			if body, err = m.constExpr(body, r); err != nil {
				return nil, fmt.Errorf("global %d: %w", j, err)
			}
		}
		if !r.done() {
			return nil, errors.New("global section: trailing bytes")
		}
		m.definedGlobs = n
	}
	return body, nil
}

// globalSection is the global section: the module's globals (body), the
// fuel global, then the scratch globals.
func (m *module) globalSection(body []byte) []byte {
	out := appendU32(nil, m.definedGlobs+1+uint32(len(m.scratch))+uint32(m.opts.PadGlobals))
	out = append(out, body...)
	if m.opts.Fuel32 {
		out = append(out, 0x7f, 0x01, opI32Const)
		out = appendS64(out, int64(int32(m.opts.InitialFuel)))
	} else {
		out = append(out, 0x7e, 0x01, opI64Const)
		out = appendS64(out, m.opts.InitialFuel)
	}
	out = append(out, opEnd)
	for _, g := range m.scratch {
		out = append(out, g.typ...)
		out = append(out, 0x01)
		out = append(out, g.init...)
	}
	for range m.opts.PadGlobals {
		out = append(out, 0x7e, 0x00, opI64Const, 0x00, opEnd) // immutable i64 0
	}
	return out
}

// constExpr copies a constant expression, renumbering ref.func.
func (m *module) constExpr(dst []byte, r *reader) ([]byte, error) {
	var in instr
	for {
		if err := next(r, &in); err != nil {
			return nil, err
		}
		if in.op == opRefFunc {
			dst = append(dst, opRefFunc)
			dst = appendU32(dst, m.funcIndex(in.idx))
		} else {
			dst = append(dst, r.b[in.start:in.end]...)
		}
		if in.op == opEnd {
			return dst, nil
		}
		if in.op == opBlock || in.op == opLoop || in.op == opIf {
			return nil, errors.New("control instruction in a constant expression")
		}
	}
}

// rewriteExports renumbers exported functions and appends the fuel export.
func (m *module) rewriteExports() ([]byte, error) {
	var body []byte
	n := uint32(0)
	if i := find(m.secs, secExport); i >= 0 {
		r := &reader{b: m.secs[i].data}
		var err error
		if n, err = r.u32(); err != nil {
			return nil, err
		}
		for j := uint32(0); j < n; j++ {
			name, err := r.name()
			if err != nil {
				return nil, err
			}
			if string(name) == m.opts.FuelExport {
				return nil, fmt.Errorf("%w: the module already exports %q", ErrConflict, name)
			}
			kind, err := r.byte()
			if err != nil {
				return nil, err
			}
			idx, err := r.u32()
			if err != nil {
				return nil, err
			}
			if kind == kindFunc {
				idx = m.funcIndex(idx)
			}
			body = appendName(body, name)
			body = append(body, kind)
			body = appendU32(body, idx)
		}
		if !r.done() {
			return nil, errors.New("export section: trailing bytes")
		}
	}
	out := appendU32(nil, n+1)
	out = append(out, body...)
	out = appendName(out, []byte(m.opts.FuelExport))
	out = append(out, kindGlobal)
	return appendU32(out, m.fuel), nil
}

// rewriteElements renumbers the functions named by element segments. It
// returns nil when the module has no element section.
func (m *module) rewriteElements() ([]byte, error) {
	i := find(m.secs, secElement)
	if i < 0 {
		return nil, nil
	}
	r := &reader{b: m.secs[i].data}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := appendU32(nil, n)
	for j := uint32(0); j < n; j++ {
		flags, err := r.u32()
		if err != nil {
			return nil, err
		}
		if flags > 7 {
			return nil, fmt.Errorf("element segment %d: unknown flags %#x", j, flags)
		}
		out = appendU32(out, flags)
		if flags&3 == 2 { // explicit table index
			t, err := r.u32()
			if err != nil {
				return nil, err
			}
			out = appendU32(out, t)
		}
		if flags&1 == 0 { // active: an offset expression
			if out, err = m.constExpr(out, r); err != nil {
				return nil, err
			}
		}
		if flags&3 != 0 { // element kind or reference type
			start := r.pos
			if flags&4 == 0 {
				_, err = r.byte()
			} else {
				_, err = readValType(r)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, r.b[start:r.pos]...)
		}
		cnt, err := r.u32()
		if err != nil {
			return nil, err
		}
		out = appendU32(out, cnt)
		for k := uint32(0); k < cnt; k++ {
			if flags&4 != 0 {
				if out, err = m.constExpr(out, r); err != nil {
					return nil, err
				}
				continue
			}
			f, err := r.u32()
			if err != nil {
				return nil, err
			}
			out = appendU32(out, m.funcIndex(f))
		}
	}
	if !r.done() {
		return nil, errors.New("element section: trailing bytes")
	}
	return out, nil
}

// rewriteNames renumbers the function, local and label name maps of a
// "name" section whose content starts at off. It reports false when the
// section is malformed.
func (m *module) rewriteNames(data []byte, off int) ([]byte, bool) {
	out := append([]byte(nil), data[:off]...)
	r := &reader{b: data, pos: off}
	for !r.done() {
		id, err := r.byte()
		if err != nil {
			return nil, false
		}
		sub, err := r.name()
		if err != nil {
			return nil, false
		}
		if id == 1 || id == 2 || id == 3 { // function, local and label names
			sr := &reader{b: sub}
			n, err := sr.u32()
			if err != nil {
				return nil, false
			}
			body := appendU32(nil, n)
			for k := uint32(0); k < n; k++ {
				f, err := sr.u32()
				if err != nil {
					return nil, false
				}
				body = appendU32(body, m.funcIndex(f))
				start := sr.pos
				if id == 1 {
					if _, err := sr.name(); err != nil {
						return nil, false
					}
				} else {
					cnt, err := sr.u32()
					if err != nil {
						return nil, false
					}
					for c := uint32(0); c < cnt; c++ {
						if _, err := sr.u32(); err != nil {
							return nil, false
						}
						if _, err := sr.name(); err != nil {
							return nil, false
						}
					}
				}
				body = append(body, sr.b[start:sr.pos]...)
			}
			if !sr.done() {
				return nil, false
			}
			sub = body
		}
		out = append(out, id)
		out = appendName(out, sub)
	}
	return out, true
}
