package testprog

// Rust and C++ guests. Debian's rustc (1.63, target wasm32-wasi, from
// libstd-rust-dev-wasm32) and clang++ with libc++-dev-wasm32 are what
// scripts/test.sh installs; toolchain.RustC finds a rustc that has the
// WebAssembly standard library. Without a toolchain these builds skip the
// test, saying what to install; scripts/test.sh installs it, so CI runs
// them.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"isle/internal/toolchain"
)

// CXXFlags returns the flags every C++ program is built with: wasm32-wasi's
// libc++ 14 is built without exceptions (and without std::filesystem).
func CXXFlags() []string {
	return []string{"--target=wasm32-wasi", "-std=c++17", "-O2", "-fno-exceptions", "-Wl,--strip-all"}
}

// Rust compiles the Rust source file at path (relative to the source tree)
// for WASI preview 1 and returns the .wasm path; the test is skipped if no
// rustc with a wasm32-wasi standard library is installed.
func Rust(t testing.TB, path string) string {
	t.Helper()
	rustc, target := needRustC(t)
	src, err := os.ReadFile(filepath.Join(Root(t), path))
	if err != nil {
		t.Fatal(err)
	}
	key := hash(string(src) + "\x00" + rustc + "\x00" + strings.Join(toolchain.RustFlags(), " ") + target + path)
	return cached(t, "rs-"+key+".wasm", func(_, out string) { rustFile(t, rustc, target, path, out) })
}

// RustFile compiles the Rust file at path (relative to the source tree) to
// the wasm file out, from the source tree's root, as examples/hello-rust's
// header says; the test is skipped if no suitable rustc is installed.
func RustFile(t testing.TB, path, out string) {
	t.Helper()
	rustc, target := needRustC(t)
	rustFile(t, rustc, target, path, out)
}

func needRustC(t testing.TB) (string, string) {
	rustc, target, ok := toolchain.RustC()
	if !ok {
		t.Skip("no rustc with a wasm32-wasi standard library: " + toolchain.RustInstall + " (scripts/test.sh does)")
	}
	return rustc, target
}

func rustFile(t testing.TB, rustc, target, path, out string) {
	args := toolchain.RustArgs(target, path, out)
	cmd := exec.Command(rustc, args...)
	cmd.Dir = Root(t) // a relative source path keeps the binary the same wherever the tree is
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", rustc, args, err, b)
	}
}

// HasCXX reports whether clang++ and wasm32-wasi's libc++ are installed.
func HasCXX() bool {
	if _, err := exec.LookPath("clang++"); err != nil {
		return false
	}
	_, err := os.Stat("/usr/lib/wasm32-wasi/libc++.a")
	return err == nil
}

// CXX compiles the C++ source file at path (relative to the source tree)
// with clang++ and libc++ for wasm32-wasi and returns the .wasm path; the
// test is skipped if clang++ or libc++ for wasm32-wasi is missing.
func CXX(t testing.TB, path string) string {
	t.Helper()
	if !HasCXX() {
		t.Skip("no clang++ with libc++ for wasm32-wasi: apt-get install clang libc++-dev-wasm32 (scripts/test.sh does)")
	}
	src, err := os.ReadFile(filepath.Join(Root(t), path))
	if err != nil {
		t.Fatal(err)
	}
	key := hash(string(src) + "\x00" + strings.Join(CXXFlags(), " "))
	return cached(t, "cxx-"+key+".wasm", func(scratch, out string) {
		in := filepath.Join(scratch, "cxx-"+key+".cpp")
		if err := os.WriteFile(in, src, 0o644); err != nil {
			t.Fatal(err)
		}
		args := append(CXXFlags(), "-o", out, in)
		if b, err := exec.Command("clang++", args...).CombinedOutput(); err != nil {
			t.Fatalf("clang++ %v: %v\n%s", args, err, b)
		}
	})
}

// Wazero builds wazero's command line from the module's own wazero (the
// version in go.mod), for tests that compare isle with it, and returns its
// path.
func Wazero(t testing.TB) string {
	t.Helper()
	return cached(t, "wazero", func(_, out string) {
		cmd := exec.Command("go", "build", "-o", out, "github.com/tetratelabs/wazero/cmd/wazero")
		cmd.Dir = Root(t)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build wazero: %v\n%s", err, b)
		}
	})
}
