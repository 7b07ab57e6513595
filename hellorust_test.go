package isle_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"isle"
	"isle/internal/testprog"
	"isle/internal/toolchain"
)

// helloRustCompiler is the compiler examples/hello-rust/hello-rust.wasm was
// built with: another rustc makes other bytes, so the freshness check below
// needs this one.
const helloRustCompiler = "rustc 1.63.0"

// TestHelloRustIsCurrent proves the committed examples/hello-rust/hello-rust.wasm
// is built from its source with the command its header gives.
func TestHelloRustIsCurrent(t *testing.T) {
	rustc, _, ok := toolchain.RustC()
	if ok {
		v, err := exec.Command(rustc, "--version").Output()
		if err != nil || !strings.HasPrefix(string(v), helloRustCompiler+" ") && strings.TrimSpace(string(v)) != helloRustCompiler {
			t.Skipf("the committed binary was built with %s; %s is %q", helloRustCompiler, rustc, v)
		}
	}
	out := filepath.Join(t.TempDir(), "hello-rust.wasm")
	testprog.RustFile(t, filepath.Join("examples", "hello-rust", "hello.rs"), out)
	got, _ := os.ReadFile(out)
	committed, err := os.ReadFile(filepath.Join(testprog.Root(t), "examples", "hello-rust", "hello-rust.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, committed) {
		t.Fatalf("examples/hello-rust/hello-rust.wasm is stale: rebuild it from the tree's root with rustc %s -o examples/hello-rust/hello-rust.wasm examples/hello-rust/hello.rs",
			strings.Join(append(toolchain.RustFlags(), "--target", "wasm32-wasi"), " "))
	}
}

// TestHelloRust runs the committed Rust example (no toolchain needed): its
// arguments, its environment and its exit status come through.
func TestHelloRust(t *testing.T) {
	ctx := context.Background()
	var out, errb bytes.Buffer
	m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).
		WithEnv("GREETING=hi").WithStdio(nil, &out, &errb))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, filepath.Join(testprog.Root(t), "examples", "hello-rust", "hello-rust.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, []string{"hello-rust.wasm", "a", "--exit", "3"})
	if err != nil {
		t.Fatal(err)
	}
	st := p.Wait()
	want := "hello from Rust\nargv[0] = hello-rust.wasm\nargv[1] = a\nargv[2] = --exit\nargv[3] = 3\nGREETING = hi\n"
	if out.String() != want || st.Status() != 3 || errb.Len() != 0 {
		t.Errorf("got %q, status %d, stderr %q; want %q, status 3", out.String(), st.Status(), errb.String(), want)
	}
}
