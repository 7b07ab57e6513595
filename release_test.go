package isle_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"isle"
)

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestTrapReleasesHostFiles: a SIP that traps while holding 50 open files
// does not leave them open on the host: the exit hook closes them.
func TestTrapReleasesHostFiles(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).
		WithDir(isle.Dir{Host: t.TempDir(), Guest: "/d"}).WithStdio(nil, &out, &out))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, testdataC(t, "opentrap"))
	if err != nil {
		t.Fatal(err)
	}
	before := openFDs(t)
	p, _ := m.Spawn(prog, []string{"opentrap"})
	if st := p.Wait(); st.Trap == "" {
		t.Fatalf("want a trap, got %+v: %s", st, out.String())
	}
	// The files are closed by a message to the file-system worker, which
	// the test cannot wait on directly: watch the host's table instead.
	deadline := time.Now().Add(10 * time.Second)
	for openFDs(t) > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d host fds before the SIP, %d after it trapped", before, openFDs(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReusedMemoryIsZero: linear memories are pooled between processes; each
// new process must still find its memory, and memory it grows into, zeroed.
func TestReusedMemoryIsZero(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).WithStdio(nil, &out, &out))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, testdataC(t, "dirty"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		out.Reset()
		p, _ := m.Spawn(prog, []string{"dirty"})
		if st := p.Wait(); st.Status() != 0 || out.String() != "clean\n" {
			t.Fatalf("run %d: status %d: %s", i, st.Status(), out.String())
		}
	}
}
