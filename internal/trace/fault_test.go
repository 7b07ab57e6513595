//go:build linux && !race

package trace

import (
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
)

// TestRingWritesFaultNothing: a new ring's pages are mapped before its
// core records (prefault), so recording never takes a page fault. Without
// prefault, writing a fresh 2 MiB ring took 512 minor faults here, one a
// page (the first rings of a process are fresh from the kernel). Not
// under -race: the detector maps its shadow of the ring as it is written,
// faults of its own.
func TestRingWritesFaultNothing(t *testing.T) {
	minflt := func() int64 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return ru.Minflt
	}
	// The collector's own faults (its mark workers touching the heap) are
	// the process's too: no collection runs while the rings are written.
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for range 3 {
		r := NewRing(DefaultEvents)
		before := minflt()
		for j := range DefaultEvents {
			r.Put(int64(j), MsgRecv, 0, 0, 1, 7, 3)
		}
		// The process's other threads (the runtime's) may fault meanwhile:
		// allow a few, far below a fault a page (512).
		if n := minflt() - before; n > 32 {
			t.Fatalf("writing a new ring of %d events took %d page faults", DefaultEvents, n)
		}
	}
}
