package main

import (
	"os"
	"path/filepath"
	"testing"

	"isle/internal/wasmbin"
)

// funcType is a function type: parameter and result value type codes.
type funcType struct{ params, results []byte }

// rawModule assembles a module by hand: the types, imports of functions
// (module, name, type index), one function of type startType with body,
// exported as _start, and, when mem, one page of memory exported as
// "memory" with data placed at offset dataOff.
func rawModule(types []funcType, imports [][3]string, startType byte, body []byte, mem bool, dataOff int32, data []byte) []byte {
	m := []byte(wasmbin.Header)
	ts := wasmbin.ULEB(nil, uint64(len(types)))
	for _, t := range types {
		ts = append(wasmbin.ULEB(append(ts, 0x60), uint64(len(t.params))), t.params...)
		ts = append(wasmbin.ULEB(ts, uint64(len(t.results))), t.results...)
	}
	m = wasmbin.Section(m, 1, ts)
	if len(imports) > 0 {
		is := wasmbin.ULEB(nil, uint64(len(imports)))
		for _, im := range imports {
			is = append(wasmbin.Name(wasmbin.Name(is, im[0]), im[1]), 0, im[2][0]-'0')
		}
		m = wasmbin.Section(m, 2, is)
	}
	m = wasmbin.Section(m, 3, []byte{1, startType})
	if mem {
		m = wasmbin.Section(m, 5, []byte{1, 0, 1})
	}
	ex := append(wasmbin.Name([]byte{1}, "_start"), 0)
	ex = wasmbin.ULEB(ex, uint64(len(imports)))
	if mem {
		ex[0] = 2
		ex = append(wasmbin.Name(ex, "memory"), 2, 0)
	}
	m = wasmbin.Section(m, 7, ex)
	fn := append(append([]byte{0}, body...), 0x0B)
	m = wasmbin.Section(m, 10, append(wasmbin.ULEB([]byte{1}, uint64(len(fn))), fn...))
	if mem && data != nil {
		seg := wasmbin.SLEB([]byte{1, 0, 0x41}, int64(dataOff))
		seg = wasmbin.ULEB(append(seg, 0x0B), uint64(len(data)))
		m = wasmbin.Section(m, 11, append(seg, data...))
	}
	return m
}

const i32 = wasmbin.I32

// TestLinkErrors: a _start with parameters, an import with another type
// than isle's and a data segment outside memory are link errors, not traps:
// one line `isle: PROGRAM: ...` and exit 1, as for a module that does not
// load. A module without memory that makes a WASI call traps cleanly (no Go
// nil-pointer message).
func TestLinkErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	void := funcType{}
	fdWrite := funcType{[]byte{i32, i32, i32, i32}, []byte{i32}}
	// fd_write(1, 0, 0, 0), result dropped.
	callWrite := []byte{0x41, 1, 0x41, 0, 0x41, 0, 0x41, 0, 0x10, 0, 0x1A}
	startParams := write("startparams.wasm", rawModule([]funcType{{params: []byte{i32}}}, nil, 0, nil, true, 0, nil))
	startResult := write("startresult.wasm", rawModule([]funcType{{results: []byte{i32}}}, nil, 0, []byte{0x41, 0}, true, 0, nil))
	wrongImport := write("wrongimport.wasm", rawModule([]funcType{void}, [][3]string{{"wasi_snapshot_preview1", "fd_write", "0"}}, 0, []byte{0x10, 0}, true, 0, nil))
	dataOOB := write("dataoob.wasm", rawModule([]funcType{void}, nil, 0, nil, true, 65535, []byte("xy")))
	noMemory := write("nomemory.wasm", rawModule([]funcType{fdWrite, void}, [][3]string{{"wasi_snapshot_preview1", "fd_write", "0"}}, 1, callWrite, false, 0, nil))
	dataOK := write("dataok.wasm", rawModule([]funcType{void}, nil, 0, nil, true, 65534, []byte("xy")))

	cases := []struct {
		name   string
		prog   string
		status int
		want   string // the whole stderr line after "isle: PROGRAM: "
		stack  string // what follows it: a trap's guest stack
	}{
		{"_start with a parameter", startParams, 1, "module's _start has type (i32) -> (), want () -> () (a WASI command's _start takes and returns nothing)", ""},
		{"_start with a result", startResult, 1, "module's _start has type () -> (i32), want () -> () (a WASI command's _start takes and returns nothing)", ""},
		{"import of another type", wrongImport, 1, "module imports wasi_snapshot_preview1.fd_write with type () -> (), but isle's has type (i32, i32, i32, i32) -> (i32)", ""},
		{"data segment out of bounds", dataOOB, 1, "cannot instantiate: data[0]: out of bounds memory access", ""},
		{"no memory", noMemory, 134, "trap: missing required memory: the module has none, and a host call needs it",
			"wasm stack trace:\n\twasi_snapshot_preview1.fd_write(i32,i32,i32,i32) i32\n\t$1()\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, _, errs := isleCmd(t, "run", "--cache-dir", "", c.prog)
			line := "isle: " + c.prog + ": " + c.want + "\n" + c.stack
			if st != c.status || errs != line {
				t.Errorf("exit %d, stderr %q: want %d, %q", st, errs, c.status, line)
			}
		})
	}
	if st, _, errs := isleCmd(t, "run", "--cache-dir", "", dataOK); st != 0 || errs != "" {
		t.Errorf("a data segment that ends at the end of memory: exit %d, stderr %q", st, errs)
	}
}
