package procapi

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"isle/internal/sandbox"
)

// nice returns the calling thread's nice value (Linux's getpriority
// answers 20 - nice).
func nice(t *testing.T) int {
	t.Helper()
	p, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	return 20 - p
}

// TestCompileNiced: a compile runs on a thread at nice 19, and the thread
// that asked for it keeps its own priority.
func TestCompileNiced(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := nice(t)
	got := -100
	compileNiced(func() (*sandbox.Module, error) {
		got = nice(t)
		return nil, nil
	})
	if got != compileNice {
		t.Errorf("the compile ran at nice %d, want %d", got, compileNice)
	}
	if after := nice(t); after != before {
		t.Errorf("the caller's nice went from %d to %d", before, after)
	}
}
