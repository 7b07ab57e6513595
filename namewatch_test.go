package isle_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"isle"
	"isle/internal/testprog"
)

// registerProg builds testdata/register.c.
func registerProg(t *testing.T) string {
	t.Helper()
	root := testprog.Root(t)
	src, err := os.ReadFile(filepath.Join(root, "testdata", "register.c"))
	if err != nil {
		t.Fatal(err)
	}
	return testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c"))
}

// TestNameWatcher: the watcher hears a SIP's registration, with its contract
// and pid, and the unregistration at its exit.
func TestNameWatcher(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var got []isle.NameEvent
	var out bytes.Buffer
	m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).WithStdio(nil, &out, &out).
		WithNameWatcher(func(ev isle.NameEvent) { mu.Lock(); got = append(got, ev); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, registerProg(t))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := m.Spawn(prog, []string{"register", "svc"})
	if st := p.Wait(); st.Status() != 0 {
		t.Fatalf("register exited %d: %s", st.Status(), out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	// The contract's normalised source travels with the event, for the
	// other nodes of a cluster.
	const src = "contract Svc {\n\tmsg Ping()\n\tinitial final state S { imp Ping -> S }\n}\n\n"
	want := []isle.NameEvent{{Name: "svc", Contract: "Svc", Source: src, PID: p.PID(), Registered: true}, {Name: "svc", Contract: "Svc", Source: src, PID: p.PID()}}
	if !slices.Equal(got, want) {
		t.Fatalf("heard %+v, want %+v", got, want)
	}
}
