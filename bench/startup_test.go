package bench

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestStartupPieces checks the startup suite's parts that need no isle
// binary: the Go hello builds for wasip1, the embedded C hello is a module,
// and timeProcess reports a command's output and its failure.
func TestStartupPieces(t *testing.T) {
	if !bytes.HasPrefix(helloCWasm, []byte("\x00asm")) {
		t.Fatal("the embedded C hello is not a WebAssembly module")
	}
	p, err := buildGoHello(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || !bytes.HasPrefix(b, []byte("\x00asm")) {
		t.Fatalf("Go hello %s: not a module (%v)", p, err)
	}
	ms, out, err := timeProcess([]string{"sh", "-c", "echo hi"})
	if err != nil || out != "hi\n" || ms <= 0 {
		t.Fatalf("timeProcess: %v ms, %q, %v", ms, out, err)
	}
	if _, _, err := timeProcess([]string{"sh", "-c", "echo no >&2; exit 3"}); err == nil || !strings.Contains(err.Error(), "no") {
		t.Fatalf("a failing command: %v", err)
	}
}
