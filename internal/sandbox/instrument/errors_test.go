package instrument

import (
	"context"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"
)

func TestInstrumentErrors(t *testing.T) {
	spin := testModule{types: []string{"->"}, funcs: []testFunc{{typ: 0, body: "loop br 0 end", export: "spin"}}}
	valid := spin.bytes()
	wrongHook := testModule{
		types:   []string{"i32 ->"},
		imports: []testImport{{DefaultHookModule, DefaultHookName, 0}},
	}
	fuelTaken := testModule{types: []string{"->"}, funcs: []testFunc{{typ: 0, body: "nop", export: DefaultFuelExport}}}
	badOpcode := testModule{types: []string{"->"}, funcs: []testFunc{{typ: 0, body: "nop"}}}.bytes()
	badOpcode[len(badOpcode)-2] = 0x1f // try_table in place of the nop
	for _, tc := range []struct {
		name string
		wasm []byte
		opts Options
		is   error
	}{
		{"empty", nil, DefaultOptions(), nil},
		{"bad magic", []byte("\x00asn\x01\x00\x00\x00"), DefaultOptions(), nil},
		{"truncated", valid[:len(valid)-3], DefaultOptions(), nil},
		{"no names", valid, Options{}, nil},
		{"hook type", wrongHook.bytes(), DefaultOptions(), ErrConflict},
		{"fuel export taken", fuelTaken.bytes(), DefaultOptions(), ErrConflict},
		{"exception handling", badOpcode, DefaultOptions(), ErrUnsupported},
		{"instrumented twice", mustInstrument(t, valid, DefaultOptions()), DefaultOptions(), ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Instrument(tc.wasm, tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
		})
	}
}

func TestReusesHookImport(t *testing.T) {
	tm := testModule{
		types:   []string{"->", "i32 -> i32"},
		imports: []testImport{{"env", "dummy", 0}, {DefaultHookModule, DefaultHookName, 0}},
		funcs:   []testFunc{{typ: 1, export: "run", body: "local.get 0 i32.const 1 i32.add call 3"}, {typ: 1, body: "local.get 0 i32.const 2 i32.mul"}},
	}
	out := mustInstrument(t, tm.bytes(), testOptions(5))
	h := newHarness(t, 0, 5)
	res, err := h.instantiate(t, out).ExportedFunction("run").Call(h.ctx, 20)
	if err != nil || res[0] != 42 {
		t.Fatalf("run(20) = %v, %v; want 42", res, err)
	}
	if n := countImports(t, out); n != 2 {
		t.Fatalf("%d imports, want the 2 of the original", n)
	}
}

func countImports(t *testing.T, wasm []byte) int {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	return len(cm.ImportedFunctions())
}

func TestNameSectionRenumbered(t *testing.T) {
	tm := testModule{
		types:   []string{"->"},
		imports: []testImport{{"env", "dummy", 0}},
		funcs:   []testFunc{{typ: 0, body: "nop", export: "a"}, {typ: 0, body: "nop", export: "b"}},
		names:   true,
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, mustInstrument(t, tm.bytes(), DefaultOptions()))
	if err != nil {
		t.Fatal(err)
	}
	for export, want := range map[string]string{"a": "f0", "b": "f1"} {
		if got := cm.ExportedFunctions()[export].Name(); got != want {
			t.Errorf("export %s is named %q, want %q", export, got, want)
		}
	}
}

func TestLEB(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, 1 << 31, -(1 << 31), 1<<63 - 1, -1 << 63} {
		r := &reader{b: appendS64(nil, v)}
		got, err := r.signed(64)
		if err != nil || got != v || !r.done() {
			t.Errorf("s64 %d: got %d, %v", v, got, err)
		}
	}
	for _, v := range []uint32{0, 1, 127, 128, 1<<32 - 1} {
		r := &reader{b: appendU32(nil, v)}
		got, err := r.u32()
		if err != nil || got != v || !r.done() {
			t.Errorf("u32 %d: got %d, %v", v, got, err)
		}
	}
	for _, bad := range [][]byte{{0x80}, {0xff, 0xff, 0xff, 0xff, 0x1f}, {0x80, 0x80, 0x80, 0x80, 0x80, 0x00}} {
		r := &reader{b: bad}
		if _, err := r.u32(); err == nil {
			t.Errorf("u32 % x: no error", bad)
		}
	}
	// s33: 2^32-1 is the largest type index; 2^32 would need a 34th bit.
	r := &reader{b: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}}
	if v, err := r.signed(33); err != nil || v != 1<<32-1 {
		t.Errorf("s33 2^32-1: %d, %v", v, err)
	}
	r = &reader{b: []byte{0x80, 0x80, 0x80, 0x80, 0x10}}
	if _, err := r.signed(33); err == nil {
		t.Errorf("s33 2^32: no error")
	}
	r = &reader{b: []byte{0x80, 0x80, 0x80, 0x80, 0x20}}
	if _, err := r.signed(33); err == nil {
		t.Errorf("s33 overflow: no error")
	}
}
