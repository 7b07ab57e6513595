package kv_test

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"isle"
)

// TestSoak is the soak test of scripts/soak.sh, skipped unless ISLE_SOAK
// gives its length (as a Go duration, "5m"). It keeps examples/kv's server
// busy on a 2-core machine with its Go and C clients, two at a time, each
// on the core the server is not on, so that balancing moves SIPs, for the
// whole length; every client must exit 0. It samples isle's resident memory
// and open host file descriptors 30 seconds in and at the end: the end's
// RSS must be within twice the first sample, and the fds within a few of it
// (SIPs that come and go leave nothing behind).
func TestSoak(t *testing.T) {
	length, err := time.ParseDuration(os.Getenv("ISLE_SOAK"))
	if err != nil {
		t.Skip("set ISLE_SOAK to a duration (scripts/soak.sh runs it for 5m)")
	}
	const warm = 30 * time.Second
	if length < 2*warm {
		t.Fatalf("ISLE_SOAK=%v: at least %v", length, 2*warm)
	}
	server, goClient, cClient := buildKV(t)
	ctx := context.Background()
	var out countingWriter
	var errs console
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(2).WithOversubscribe(true).WithCacheDir(t.TempDir()).WithStdio(strings.NewReader(""), &out, &errs))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	load := func(path string) *isle.Program {
		p, err := m.Load(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	sp, gp, cp := load(server), load(goClient), load(cClient)
	if _, err := m.SpawnOn(sp, []string{"server", strconv.Itoa(1 << 30)}, 0); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var rss0, fds0 int64
	clients := 0
	for time.Since(start) < length {
		a, err := m.SpawnOn(gp, []string{"client"}, 1)
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.SpawnOn(cp, []string{"client"}, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []*isle.Process{a, b} {
			if st := p.Wait(); st.Status() != 0 {
				t.Fatalf("client %d after %v: %+v; stderr %s", clients, time.Since(start).Round(time.Second), st, errs.buf.String())
			}
			clients++
		}
		if rss0 == 0 && time.Since(start) >= warm {
			rss0, fds0 = residentBytes(t), openFDs(t)
			t.Logf("after %v: %d clients, RSS %d MB, %d fds", warm, clients, rss0>>20, fds0)
		}
	}
	rss1, fds1 := residentBytes(t), openFDs(t)
	t.Logf("after %v: %d clients, RSS %d MB, %d fds, %d bytes of output", time.Since(start).Round(time.Second), clients, rss1>>20, fds1, out.n.Load())
	if rss1 > 2*rss0 {
		t.Errorf("RSS grew from %d MB to %d MB", rss0>>20, rss1>>20)
	}
	if fds1 > fds0+8 {
		t.Errorf("open fds grew from %d to %d", fds0, fds1)
	}
}

// countingWriter drops what it is given and counts it.
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// residentBytes is this process's resident set after a collection that
// returns freed memory to the host.
func residentBytes(t *testing.T) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func openFDs(t *testing.T) int64 {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(es))
}
