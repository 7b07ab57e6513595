package isle_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"isle"
	"isle/internal/testprog"
)

// TestCoresBounded: a machine of more than isle.MaxCores cores is refused
// with one line; one of 64 oversubscribed cores boots, runs a program and
// stops.
func TestCoresBounded(t *testing.T) {
	for _, n := range []int{isle.MaxCores + 1, 100_000} {
		_, err := isle.Boot(context.Background(), config().WithCores(n).WithOversubscribe(true))
		if err == nil || !strings.Contains(err.Error(), "at most 1024 cores") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%d cores: %v, want one line saying at most 1024 cores", n, err)
		}
	}
	hello := filepath.Join(testprog.Root(t), "examples", "hello-c", "hello-c.wasm")
	st, out, errs := run(t, config().WithCores(64).WithOversubscribe(true), hello, "")
	if st.Status() != 0 || !strings.Contains(out, "ello") {
		t.Errorf("64 cores: status %d, stdout %q, stderr %q", st.Status(), out, errs)
	}
}
