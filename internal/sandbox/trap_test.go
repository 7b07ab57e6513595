package sandbox

import "testing"

// TestTrapStack: the frames of wazero's error text, and nothing else: no
// source positions, no Go runtime stack after a host function's panic.
func TestTrapStack(t *testing.T) {
	cases := []struct {
		name, text, want string
		shift            uint32
	}{
		{"none", "wasm error: unreachable", "", 0},
		{"guest frames", "wasm error: unreachable\nwasm stack trace:\n\t.inner(i32)\n\t.main(i32,i32) i32\n\t._start()", "inner(i32)\nmain(i32,i32) i32\n_start()", 0},
		{"host frame kept", "wasm error: x\nwasm stack trace:\n\twasi_snapshot_preview1.fd_write(i32,i32,i32,i32) i32\n\t.main()", "wasi_snapshot_preview1.fd_write(i32,i32,i32,i32) i32\nmain()", 0},
		{"dwarf lines dropped", "wasm error: x\nwasm stack trace:\n\t.f()\n\t  0x16e2: /src/a.go:73:6\n\t.g()", "f()\ng()", 0},
		{"go runtime stack dropped", "runtime error: index out of range (recovered by wazero)\nwasm stack trace:\n\t.f()\n\nGo runtime stack trace:\ngoroutine 1 [running]:\n\tmain.go:1", "f()", 0},
		{"omitted frames", "wasm error: stack overflow\nwasm stack trace:\n\t.$0()\n\t... maybe followed by omitted frames", "$0()\n... maybe followed by omitted frames", 0},
		{"unnamed renumbered", "wasm error: x\nwasm stack trace:\n\t.$3()\n\t.$2(i32) i32\n\tenv.f()", "$2()\n$1(i32) i32\nenv.f()", 1},
	}
	for _, c := range cases {
		if got := trapStack(c.text, c.shift); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// TestFuncImports counts function imports, and refuses, without a panic,
// an import section cut short anywhere.
func TestFuncImports(t *testing.T) {
	none := []byte("\x00asm\x01\x00\x00\x00")
	// Imports: env.f (function, type 0), env.mem (memory, min 1 max 2),
	// env.g (global i32 const), env.h (function, type 0).
	sec := []byte{4,
		3, 'e', 'n', 'v', 1, 'f', 0, 0,
		3, 'e', 'n', 'v', 3, 'm', 'e', 'm', 2, 1, 1, 2,
		3, 'e', 'n', 'v', 1, 'g', 3, 0x7f, 0,
		3, 'e', 'n', 'v', 1, 'h', 0, 0,
	}
	mod := append(append(append([]byte{}, none...), 2, byte(len(sec))), sec...)
	if n, ok := funcImports(none); n != 0 || !ok {
		t.Errorf("no imports: %d, %v", n, ok)
	}
	if n, ok := funcImports(mod); n != 2 || !ok {
		t.Errorf("two function imports among four: %d, %v", n, ok)
	}
	for cut := len(none) + 2; cut < len(mod); cut++ {
		short := append(append([]byte{}, mod[:len(none)]...), 2, byte(cut-len(none)-2))
		short = append(short, mod[len(none)+2:cut]...)
		if _, ok := funcImports(short); ok {
			t.Errorf("section cut to %d bytes: counted", cut-len(none)-2)
		}
	}
}
