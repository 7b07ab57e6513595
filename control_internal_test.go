package isle

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"isle/internal/testprog"
)

// TestRegistryHoldsNoEndedSIP: after many short SIPs from the embedder, the
// index behind Live and Kill holds neither entries nor marks. (A SIP that
// ends before Spawn returns, which the marks are for, is rare here: this
// test does not force it.)
func TestRegistryHoldsNoEndedSIP(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join(testprog.Root(t), "bench", "testdata", "true.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m, err := Boot(ctx, NewConfig().WithCores(2).WithOversubscribe(true).WithStdio(nil, io.Discard, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.LoadBytes(ctx, "true.wasm", wasm)
	if err != nil {
		t.Fatal(err)
	}
	var ps []*Process
	for i := 0; i < 300; i++ {
		p, err := m.SpawnOn(prog, []string{"true"}, i%2)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		p.Wait()
	}
	if err := m.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	m.procs.mu.Lock()
	defer m.procs.mu.Unlock()
	if len(m.procs.sips) != 0 || len(m.procs.gone) != 0 {
		t.Errorf("%d entries and %d marks left with no SIP live", len(m.procs.sips), len(m.procs.gone))
	}
}
