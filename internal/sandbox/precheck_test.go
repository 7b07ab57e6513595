package sandbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"isle/internal/wasmbin"
)

// bigFunction returns a command whose _start's body is size bytes.
func bigFunction(size int) []byte {
	body := []byte{0} // no locals
	for len(body) < size-3 {
		body = append(body, 0x41, 0x00, 0x1a) // i32.const 0; drop
	}
	for len(body) < size-1 {
		body = append(body, 0x01) // nop
	}
	body = append(body, 0x0b)
	mod := append([]byte(nil), wasmbin.Header...)
	mod = wasmbin.Section(mod, 1, []byte{1, 0x60, 0, 0})
	mod = wasmbin.Section(mod, 3, []byte{1, 0})
	mod = wasmbin.Section(mod, 7, append(wasmbin.Name([]byte{1}, "_start"), 0, 0))
	code := append(wasmbin.ULEB([]byte{1}, uint64(len(body))), body...)
	return wasmbin.Section(mod, 10, code)
}

// TestFunctionSizeLimit: a function body past the Web's limit (7,654,321
// bytes) is refused in one line before wazero compiles it (which no
// context interrupts: a 100 MB body held a CPU for half a minute), at once;
// one at the limit loads.
func TestFunctionSizeLimit(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	start := time.Now()
	_, err := rt.Load(ctx, bigFunction(64<<20))
	if err == nil || !strings.Contains(err.Error(), "more than the 7654321 a function may have") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("a 64 MiB function: %v", err)
	}
	t.Logf("refused in %v: %v", time.Since(start), err)
	if testing.Short() {
		return
	}
	m, err := rt.Load(ctx, bigFunction(7_654_321))
	if err != nil {
		t.Fatalf("a function at the limit: %v", err)
	}
	m.Close(ctx)
}
