// Package testprog builds the WebAssembly programs that isle's tests run:
// Go packages for GOOS=wasip1 with the go command, C sources for wasm32-wasi
// with clang and wasi-libc. Builds are cached by content in a directory of the
// test process's temporary files, so each is made once per test binary.
//
// Tests need clang, lld, wasi-libc and libclang-rt-14-dev-wasm32: the README's
// test command (scripts/test.sh) installs them. Without them, the C builds
// fail the test with a message that says so; they never skip.
package testprog

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// cacheDir returns the build cache of this test process: a directory of
// the temporary files named after the process (its executable, pid, start
// time and the boot), so that every call in the process finds the same one
// without a package variable, and no other process (an earlier run of the
// same binary, whose Go builds may be of other sources) shares it.
func cacheDir(t testing.TB) string {
	exe, _ := os.Executable()
	stat, _ := os.ReadFile("/proc/self/stat")
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	start := ""
	if _, after, ok := strings.Cut(string(stat), ") "); ok {
		if f := strings.Fields(after); len(f) > 19 {
			start = f[19] // starttime, field 22 of proc(5)
		}
	}
	d := filepath.Join(os.TempDir(), "isle-testprog-"+hash(exe+"\x00"+strconv.Itoa(os.Getpid())+"\x00"+start+"\x00"+string(boot)))
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// cached returns the cache's file name, building it first unless it is
// there: build makes it at the path it is given, in a scratch directory
// of its own, and the result is renamed into place. Two tests that build
// the same file at once both build it and the second rename wins, each
// whole: no lock is needed.
func cached(t testing.TB, name string, build func(scratch, out string)) string {
	t.Helper()
	d := cacheDir(t)
	out := filepath.Join(d, name)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	scratch, err := os.MkdirTemp(d, "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(scratch)
	tmp := filepath.Join(scratch, name)
	build(scratch, tmp)
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Root returns the isle source tree.
func Root(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testprog: cannot find the source tree")
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// Go builds the Go package at pkg (relative to the source tree, e.g.
// "./examples/hello") for GOOS=wasip1 GOARCH=wasm and returns the .wasm path.
func Go(t testing.TB, pkg string) string {
	t.Helper()
	return cached(t, "go-"+hash(pkg)+".wasm", func(_, out string) {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = Root(t)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	})
}

// CFlags returns the flags every C program is built with.
func CFlags() []string { return []string{"--target=wasm32-wasi", "-O2", "-Wl,--strip-all"} }

// C compiles C source text with clang for wasm32-wasi and returns the .wasm path.
func C(t testing.TB, src string, extra ...string) string {
	t.Helper()
	return cBuild(t, src, CFlags(), extra)
}

// CWithNames is C without --strip-all: the module keeps its "name" section,
// so a trap's stack names the program's functions.
func CWithNames(t testing.TB, src string) string {
	t.Helper()
	return cBuild(t, src, []string{"--target=wasm32-wasi", "-O1"}, nil)
}

func cBuild(t testing.TB, src string, flags, extra []string) string {
	t.Helper()
	key := hash(src + "\x00" + filepath.Join(flags...) + "\x00" + filepath.Join(extra...))
	return cached(t, "c-"+key+".wasm", func(scratch, out string) {
		in := filepath.Join(scratch, "c-"+key+".c")
		if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		cFile(t, in, out, flags, extra)
	})
}

// CFile compiles the C file in to the wasm file out.
func CFile(t testing.TB, in, out string, extra ...string) {
	t.Helper()
	cFile(t, in, out, CFlags(), extra)
}

func cFile(t testing.TB, in, out string, flags, extra []string) {
	t.Helper()
	if _, err := exec.LookPath("clang"); err != nil {
		t.Fatal("clang not installed: run scripts/test.sh, which installs clang, lld, wasi-libc and libclang-rt-14-dev-wasm32")
	}
	args := append(append(append([]string{}, flags...), extra...), "-o", out, in)
	if b, err := exec.Command("clang", args...).CombinedOutput(); err != nil {
		t.Fatalf("clang %v: %v\n%s", args, err, b)
	}
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}
