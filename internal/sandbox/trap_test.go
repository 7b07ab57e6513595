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
