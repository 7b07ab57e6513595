package isle_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"isle"
)

// lineCounter is a Writer that counts lines and says when it has n.
type lineCounter struct {
	mu   sync.Mutex
	n    int
	want int
	buf  bytes.Buffer
	done chan struct{}
}

func (w *lineCounter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if w.n < w.want {
		w.n += bytes.Count(b, []byte("\n"))
		if w.n >= w.want {
			close(w.done)
		}
	}
	return len(b), nil
}

// TestCopyOnWriteDataIsPrivate runs four instances of a program with 1 MiB
// of initialized data on one core at once: each checks its data, writes
// its own value over all of it, yields to the others and checks its value
// is still there; a fifth, after them, on a memory the pool reuses, checks
// the data it starts with again.
func TestCopyOnWriteDataIsPrivate(t *testing.T) {
	ctx := context.Background()
	m, err := isle.Boot(ctx, config().WithCores(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, guestC(t, "testdata", "cowdata.c"))
	if err != nil {
		t.Fatal(err)
	}
	var ps []*isle.Process
	for v := 1; v <= 4; v++ {
		p, err := m.SpawnOn(prog, []string{"cowdata", strconv.Itoa(v)}, 0)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for i, p := range ps {
		if st := p.Wait(); st.Status() != 0 {
			t.Errorf("instance %d: status %d %+v (1: wrong initial data, 2: another's writes showed)", i+1, st.Status(), st)
		}
	}
	p, err := m.SpawnOn(prog, []string{"cowdata", "5"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Wait(); st.Status() != 0 {
		t.Errorf("instance after the others: status %d (1: wrong initial data)", st.Status())
	}
}

// TestCopyOnWriteDataIsShared holds 64 instances of the 1 MiB program
// blocked in a receive, having read all their data: the data is mapped from
// one image, so the host's memory (its proportional set size) grows by far
// less than 1 MiB an instance (copying the data into each memory, as
// instantiation did, made it grow by more).
func TestCopyOnWriteDataIsShared(t *testing.T) {
	if testing.Short() {
		t.Skip("64 SIPs of 1 MiB")
	}
	const n = 64
	ctx := context.Background()
	// The first instance's line is waited for alone: want is 1 before it
	// is spawned (set after, a line that came first was never counted).
	out := &lineCounter{want: 1, done: make(chan struct{})}
	m, err := isle.Boot(ctx, config().WithCores(1).WithStdio(nil, out, os.Stderr))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, guestC(t, "testdata", "cowdata.c"))
	if err != nil {
		t.Fatal(err)
	}
	// One instance first, so that what every instance shares (the
	// runtime's first allocations, the image's pages) is counted before.
	if _, err := m.SpawnOn(prog, []string{"cowdata", "hold"}, 0); err != nil {
		t.Fatal(err)
	}
	<-out.done
	before := pssBytes(t)
	out.mu.Lock()
	out.n, out.want, out.done = 0, n, make(chan struct{})
	out.mu.Unlock()
	for i := 0; i < n; i++ {
		if _, err := m.SpawnOn(prog, []string{"cowdata", "hold"}, 0); err != nil {
			t.Fatal(err)
		}
	}
	<-out.done
	per := (pssBytes(t) - before) / n
	t.Logf("memory per instance: %d KiB", per>>10)
	if per > 512<<10 {
		t.Errorf("memory grew by %d KiB per instance of a program with 1 MiB of data: its data is not shared", per>>10)
	}
	if strings.Count(out.buf.String(), "ready") < n {
		t.Errorf("output: %q", out.buf.String())
	}
}

// pssBytes reads the process's proportional set size: its resident
// memory, each shared page divided among those that map it (RSS counts an
// image's page once for every memory that maps it).
func pssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		t.Skip("no /proc/self/smaps_rollup")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no Pss in /proc/self/smaps_rollup")
	return 0
}
