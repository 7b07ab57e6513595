package sandbox

import (
	"strings"
	"testing"
)

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

// TestDemangleRust: Rust's legacy names become paths, as Rust prints them;
// other names, C++'s among them, stay as they are.
func TestDemangleRust(t *testing.T) {
	cases := []struct{ in, want string }{
		{"_ZN5panic4main17hfb1a28e3d878f8bcE()", "panic::main()"},
		{"_ZN3std9panicking20rust_panic_with_hook17h6ac9107c42850161E(i32,i32)", "std::panicking::rust_panic_with_hook(i32,i32)"},
		{"_ZN3std9panicking19begin_panic_handler28_$u7b$$u7b$closure$u7d$$u7d$17h8ef066ac4d1e7406E(i32)", "std::panicking::begin_panic_handler::{{closure}}(i32)"},
		{"_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17hd4eb2a6ec3c6bb9fE.llvm.3867044214843891278(i32) i32", "std::rt::lang_start::{{closure}}(i32) i32"},
		{"_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$closure$u7d$$u7d$$GT$17h0000000000000000E()", "core::ptr::drop_in_place<std::rt::lang_start<()>::{{closure}}>()"},
		{"_ZN3foo3barEv()", "_ZN3foo3barEv()"},                           // C++: parameters after the E
		{"_ZN3fooE()", "foo()"},                                          // one component, no hash
		{"_ZN99fooE()", "_ZN99fooE()"},                                   // a length past the end
		{"_ZN9223372036854775807fooE()", "_ZN9223372036854775807fooE()"}, // a length that would overflow
		{"main.main(i32) i32", "main.main(i32) i32"},                     // Go
		{"__original_main() i32", "__original_main() i32"},               // C
	}
	for _, c := range cases {
		if got := demangleRust(c.in); got != c.want {
			t.Errorf("%s: got %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzTrapStack: whatever names a module gives its functions, and whatever
// wazero's text holds, making the stack never panics.
func FuzzTrapStack(f *testing.F) {
	f.Add("wasm error: x\nwasm stack trace:\n\t._ZN3std9panicking19begin_panic_handler28_$u7b$$u7b$closure$u7d$$u7d$17h8ef066ac4d1e7406E(i32)\n\t.$3()", uint32(1))
	f.Add("wasm error: x\nwasm stack trace:\n\t._ZN1$E()\n\t.$u()\n\t._ZN2_$E", uint32(0))
	f.Fuzz(func(t *testing.T, text string, shift uint32) {
		st := trapStack(text, shift)
		_, trace, ok := strings.Cut(text, "\nwasm stack trace:\n")
		if !ok && st != "" {
			t.Fatalf("a stack %q from text with no stack trace", st)
		}
		// One line of stack at most for each line of wazero's trace.
		if st != "" && strings.Count(st, "\n")+1 > strings.Count(trace, "\n")+1 {
			t.Fatalf("%d stack lines from %d trace lines", strings.Count(st, "\n")+1, strings.Count(trace, "\n")+1)
		}
	})
}
