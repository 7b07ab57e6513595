package isle

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"isle/internal/testprog"
)

// endless is a stream that starts with the WebAssembly magic number and
// never ends, like a pipe from a hostile producer.
type endless struct{ off int }

func (e *endless) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 0
		if e.off < 4 {
			b[i] = "\x00asm"[e.off]
		}
		e.off++
	}
	return len(b), nil
}

// TestReadModuleLimit: a stream is read up to the limit and no further,
// whatever size it claims; a stream without the magic number is left after
// its first 4 bytes; a module of exactly the limit is read whole.
func TestReadModuleLimit(t *testing.T) {
	e := &endless{}
	_, err := readModule(e, 1<<20, 0)
	if err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("endless stream: %v", err)
	}
	if e.off > 1<<20+64<<10 {
		t.Errorf("read %d bytes of an endless stream with a 1 MiB limit", e.off)
	}
	zeros := &countingZeros{}
	if b, err := readModule(zeros, 1<<20, 0); err != nil || len(b) != 4 || zeros.n != 4 {
		t.Errorf("/dev/zero: %d bytes, %v, read %d", len(b), err, zeros.n)
	}
	exact := io.LimitReader(&endless{}, 1<<20)
	if b, err := readModule(exact, 1<<20, 1<<40); err != nil || len(b) != 1<<20 {
		t.Errorf("a module of exactly the limit: %d bytes, %v", len(b), err)
	}
}

// countingZeros is /dev/zero, counting what was read.
type countingZeros struct{ n int }

func (z *countingZeros) Read(b []byte) (int, error) {
	clear(b)
	z.n += len(b)
	return len(b), nil
}

// TestLoadByFileID: with a cache directory, a second load of a file that
// has not changed since (and whose ctime had settled, which the checked-out
// true.wasm's has once the test waits out the margin) does not read it.
// (internal/sandbox/fileid_test.go tests the identity key itself.)
func TestLoadByFileID(t *testing.T) {
	path := filepath.Join(testprog.Root(t), "bench", "testdata", "true.wasm")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	ctime := time.Unix(fi.Sys().(*syscall.Stat_t).Ctim.Unix())
	time.Sleep(time.Until(ctime.Add(3 * time.Second))) // past sandbox's idSettle (2 s)
	ctx := context.Background()
	cache := t.TempDir()
	for i, want := range []int64{1, 0, 0} {
		m, err := Boot(ctx, NewConfig().WithCores(1).WithCacheDir(cache).WithStdio(nil, io.Discard, io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		before := m.moduleReads.Load()
		prog, err := m.Load(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.Spawn(prog, []string{"true"})
		if err != nil {
			t.Fatal(err)
		}
		if st := p.Wait(); st.Code != 0 || st.Trap != "" {
			t.Fatalf("load %d: exit %+v", i, st)
		}
		m.Stop(ctx)
		if n := m.moduleReads.Load() - before; n != want {
			t.Fatalf("load %d read the file %d times, want %d", i, n, want)
		}
	}
}
