package wasi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// hostileProg builds testdata/hostile/NAME.c.
func hostileProg(t *testing.T, name string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", "hostile", name+".c"))
	if err != nil {
		t.Fatal(err)
	}
	return testprog.C(t, string(src))
}

// TestSleepsSleep runs testdata/wasi/sleeps.c: nanosleep and clock_nanosleep
// (relative and absolute, realtime and monotonic) return 0 after at least
// the time asked for, as the program measures with clock_gettime.
func TestSleepsSleep(t *testing.T) {
	out, st := runProg(t, cProg(t, "sleeps.c"), nil)
	if st != 0 || strings.Contains(out, "FAIL") || strings.Count(out, "ok ") != 12 {
		t.Errorf("status %d:\n%s", st, out)
	}
}

// lineWriter closes ready when the first line has been written.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := bytes.IndexByte(w.buf.Bytes(), '\n') >= 0
	w.buf.Write(b)
	if !had && bytes.IndexByte(w.buf.Bytes(), '\n') >= 0 {
		close(w.ready)
	}
	return len(b), nil
}

// TestSleepForeverUsesNoCPU runs testdata/hostile/sleep-forever.c, which
// sleeps in poll_oneoff with relative timeouts of 2^63-1 and 2^64-1 ns in a
// loop ("forever"), and in its default mode checks each beside a 200 ms
// clock. The deadline must saturate, not overflow into the past: the SIP
// sleeps, so over 300 ms it gets (almost) no CPU time, and it is still
// asleep when the machine is stopped and kills it.
func TestSleepForeverUsesNoCPU(t *testing.T) {
	wasm := hostileProg(t, "sleep-forever")
	for _, args := range [][]string{{"sleep-forever", "forever"}, {"sleep-forever", "forever", "u64"}} {
		ctx := context.Background()
		w := &lineWriter{ready: make(chan struct{})}
		m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithCacheDir("").WithStdio(nil, w, io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		prog, err := m.Load(ctx, wasm)
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.Spawn(prog, args)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-w.ready:
		case <-time.After(30 * time.Second):
			t.Fatal("the program did not start")
		}
		// Not a synchronisation: the interval over which CPU time is measured.
		time.Sleep(300 * time.Millisecond)
		m.Stop(ctx)
		st, cpu := p.Wait(), p.CPUTime()
		if !st.Killed || cpu > 30*time.Millisecond {
			t.Errorf("%v: %+v after %v of CPU time over 300 ms (want killed, ~0 CPU)", args, st, cpu)
		}
	}
	out, st := runProg(t, wasm, nil)
	if st != 0 || strings.Count(out, ": ok (") != 2 {
		t.Errorf("beside a 200 ms clock: status %d, stdout:\n%s", st, out)
	}
}

// TestBoundedIovecs runs testdata/hostile/iovec-count.c: iovec counts past
// IOV_MAX (1024) are EINVAL (28) at once, 1024 are allowed, an array past
// memory is EFAULT (21).
func TestBoundedIovecs(t *testing.T) {
	out, st := runProg(t, hostileProg(t, "iovec-count"), []isle.Dir{{Host: t.TempDir(), Guest: "/tmp"}})
	want := "fd_write 2^32-1 iovecs: 28\nfd_write 1025 iovecs: 28\nfd_read 2^32-1 iovecs: 28\n" +
		"fd_pwrite 2^32-1 iovecs: 28\nfd_write 1024 iovecs: 0, 1 written\nfd_write array past memory: 21\n"
	if st != 0 || out != want {
		t.Errorf("status %d, stdout:\n%s\nwant:\n%s", st, out, want)
	}
}

// TestBoundedPoll runs testdata/hostile/poll-many.c: more than 8,192
// subscriptions (two per fd a SIP may hold) is EINVAL, before any is read.
func TestBoundedPoll(t *testing.T) {
	out, st := runProg(t, hostileProg(t, "poll-many"), nil)
	want := "8192 subscriptions: 0, 8192 events\n8193 subscriptions: 28\n89 million subscriptions: 28\n"
	if st != 0 || out != want {
		t.Errorf("status %d, stdout:\n%s\nwant:\n%s", st, out, want)
	}
}

// TestBadEnvPointers runs testdata/wasi/badenv.c with and without an
// environment: pointers outside memory are EFAULT, even for an empty list.
func TestBadEnvPointers(t *testing.T) {
	wasm := cProg(t, "badenv.c")
	for _, env := range [][]string{nil, {"A=1", "BB=22"}} {
		ctx := context.Background()
		var out bytes.Buffer
		cfg := isle.NewConfig().WithCores(1).WithCacheDir("").WithStdio(nil, &out, io.Discard)
		for _, e := range env {
			cfg = cfg.WithEnv(e)
		}
		st, _, err := isle.Run(ctx, cfg, wasm, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := "1 args, " + strconv.Itoa(len(env)) + " env\n" +
			"args_get pointers out of memory: 21\nargs_get strings out of memory: 21\n" +
			"environ_get pointers out of memory: 21\nenviron_get strings out of memory: 21\n" +
			"environ_get strings one byte past the end of memory: 21\n" + "environ_get: 0" + strings.Join(append([]string{""}, env...), " ") + "\n"
		if st.Status() != 0 || out.String() != want {
			t.Errorf("env %q: status %d, stdout:\n%s\nwant:\n%s", env, st.Status(), out.String(), want)
		}
	}
}

// TestBadFlags runs testdata/wasi/badflags.c: undefined bits of dirflags,
// lookupflags, oflags, fdflags and fstflags are EINVAL.
func TestBadFlags(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, st := runProg(t, cProg(t, "badflags.c"), []isle.Dir{{Host: dir, Guest: "/d"}})
	want := "path_open dirflags 2: 28\npath_open oflags 16: 28\npath_open fdflags 32: 28\n" +
		"path_filestat_get flags 2: 28\npath_filestat_set_times flags 1<<31: 28\npath_link old_flags 4: 28\n" +
		"path_open: 0\nfd_fdstat_set_flags 32: 28\nfd_fdstat_set_flags NONBLOCK: 0\npath_filestat_get: 0\npath_link: 0\n"
	if st != 0 || out != want {
		t.Errorf("status %d, stdout:\n%s\nwant:\n%s", st, out, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "g")); err != nil {
		t.Errorf("the good path_link made no link: %v", err)
	}
}

// TestManyDotDots runs testdata/wasi/dotdot.c: a path with hundreds of ".."
// components resolves as Linux resolves it, not ENAMETOOLONG.
func TestManyDotDots(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub", "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"ln": "sub/inner", "abs": "/", "loop": "loop"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	out, st := runProg(t, cProg(t, "dotdot.c"), []isle.Dir{{Host: dir, Guest: "/d"}})
	var want strings.Builder
	for _, n := range []int{5, 200, 300} {
		links := "0" // n symlinks in the path: past 40 it is ELOOP, as on Linux
		if n > 40 {
			links = "32"
		}
		for _, l := range []string{"sub/.. f: 0", "sub/./.. f: 0", "sub/.. missing: 44", "missing/.. f: 44", "f/.. f: 54", "sub/.. ../f: 63", "sub/.. sub/: 0",
			"ln/../.. f: " + links, "sub/.. ln/../inner/: 0", "abs/.. f: 63", "loop/.. f: 32"} {
			name, res, _ := strings.Cut(l, ": ")
			fmt.Fprintf(&want, "%s x%d: %s\n", name, n, res)
		}
	}
	want.WriteString("path_filestat_get sub/.. x200 sub: 0, filetype 3\npath_create_directory sub/.. x200 new: 0\npath_remove_directory new: 0\n")
	if st != 0 || out != want.String() {
		t.Errorf("status %d, stdout:\n%s\nwant:\n%s", st, out, want.String())
	}
}

// TestGoSleepMaxInt64: Go's time.Sleep(math.MaxInt64) asks poll_oneoff for
// a relative timeout that overflows machine time; it must sleep, not spin.
// Over one second the program gets only its start-up's CPU time (~15 ms
// here; it got the whole second when the deadline overflowed).
func TestGoSleepMaxInt64(t *testing.T) {
	wasm := testprog.Go(t, "./testdata/sleep")
	ctx := context.Background()
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithCacheDir("").WithStdio(nil, io.Discard, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, []string{"sleep", time.Duration(math.MaxInt64).String()})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the interval measured, not a synchronisation
	m.Stop(ctx)
	if st, cpu := p.Wait(), p.CPUTime(); !st.Killed || cpu > 250*time.Millisecond {
		t.Errorf("%+v after %v of CPU time in 1 s (want killed, little CPU)", st, cpu)
	}
}

// TestRandomGetYields runs testdata/hostile/random-huge.c: random_get of
// 64 MiB fills every slice and gives its core back between 64 KiB slices:
// it yields at least 1,023 times during that one call (a yield alone on
// the core is answered at once, without a switch: docs/kernel.md).
func TestRandomGetYields(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithCacheDir("").WithStdio(nil, &out, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, hostileProg(t, "random-huge"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, []string{"random-huge"})
	if err != nil {
		t.Fatal(err)
	}
	st := p.Wait()
	m.Stop(ctx)
	y := m.Stats()[0].Yields
	if st.Status() != 0 || out.String() != "random_get 64 MiB: 0, every slice filled\n" || y < 1023 {
		t.Errorf("status %d, %d yields, stdout %q", st.Status(), y, out.String())
	}
}
