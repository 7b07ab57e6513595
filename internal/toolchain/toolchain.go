// Package toolchain finds the compilers that build WebAssembly guests in
// languages other than Go, for the tests (internal/testprog) and for
// `isle demo`. It only looks; it never installs (scripts/test.sh does).
package toolchain

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RustFlags returns the flags every Rust guest is built with, before --target.
func RustFlags() []string { return []string{"--edition", "2021", "-O", "-C", "strip=symbols"} }

// RustC returns a rustc that can build for WASI preview 1 and the target's
// name (wasm32-wasi up to Rust 1.83, wasm32-wasip1 since), or ok false.
// Debian's /usr/bin/rustc (libstd-rust-dev-wasm32) comes first: a rustc
// found first on PATH, rustup's say, often has no WebAssembly standard
// library.
func RustC() (rustc, target string, ok bool) {
	cands := []string{"/usr/bin/rustc"}
	if p, err := exec.LookPath("rustc"); err == nil {
		cands = append(cands, p)
	}
	for _, c := range cands {
		out, err := exec.Command(c, "--print", "sysroot").Output()
		if err != nil {
			continue
		}
		lib := filepath.Join(strings.TrimSpace(string(out)), "lib", "rustlib")
		for _, t := range []string{"wasm32-wasi", "wasm32-wasip1"} {
			if _, err := os.Stat(filepath.Join(lib, t, "lib")); err == nil {
				return c, t, true
			}
		}
	}
	return "", "", false
}

// RustArgs are rustc's arguments to build the Rust file in into the
// WebAssembly file out for target.
func RustArgs(target, in, out string) []string {
	return append(RustFlags(), "--target", target, "-o", out, in)
}

// RustInstall says what to install for RustC to find a compiler.
const RustInstall = "apt-get install rustc libstd-rust-dev-wasm32"
