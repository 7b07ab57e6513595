package wasi_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"isle"
)

// bootOut boots a one-core machine whose stdout and stderr both go to w, and
// spawns wasm on it.
func bootOut(t *testing.T, wasm string, w *lines, args ...string) (*isle.Machine, *isle.Process) {
	t.Helper()
	ctx := context.Background()
	cfg := isle.NewConfig().WithCores(1).WithCacheDir("").WithStdio(bytes.NewReader(nil), w, w)
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, wasm)
	if err != nil {
		m.Stop(ctx)
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, append([]string{filepath.Base(wasm)}, args...))
	if err != nil {
		m.Stop(ctx)
		t.Fatal(err)
	}
	return m, p
}

// TestConsoleWritesBatched: 2,000 small writes to stdout and 200 to stderr
// go to the console in a few requests, not one each, and come out, both
// streams to one writer, in the order they were written; all of it before
// Wait returns.
func TestConsoleWritesBatched(t *testing.T) {
	const n = 2000
	w := newLines()
	m, p := bootOut(t, cProg(t, "console.c"), w, "many", fmt.Sprint(n))
	st := p.Wait()
	got := w.String() // before Stop: what the program wrote is out when it has ended
	m.Stop(context.Background())
	if st.Status() != 0 {
		t.Fatalf("status %d", st.Status())
	}
	var want strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&want, "out %d\n", i)
		if i%10 == 9 {
			fmt.Fprintf(&want, "err %d\n", i)
		}
	}
	if got != want.String() {
		t.Fatalf("output out of order or incomplete: %d bytes, want %d\nfirst lines:\n%.200s", len(got), want.Len(), got)
	}
	var reqs uint64
	for _, c := range m.Stats() {
		reqs += c.ServiceRequests
	}
	// Every switch between the streams sends what is held: 2 requests per
	// ten lines, 400 in all, against 2,200 unbatched.
	if reqs > 2*n/10+10 {
		t.Errorf("%d service requests for %d console writes: not batched", reqs, n+n/10)
	}
}

// TestConsoleOutputNotHeldWhileComputing: a line written before 5 s of
// computing (no call that waits) comes out within a slice or so, not at the
// end.
func TestConsoleOutputNotHeldWhileComputing(t *testing.T) {
	w := newLines()
	m, p := bootOut(t, cProg(t, "console.c"), w, "spin")
	defer m.Stop(context.Background())
	start := time.Now()
	w.waitFor(t, "started", start.Add(2*time.Second))
	if strings.Contains(w.String(), "done") {
		t.Fatal("the program ended before its first line came out")
	}
	p.Kill()
	p.Wait()
}
