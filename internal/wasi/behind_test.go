package wasi_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"isle"
)

// TestWritesBehindSeen: testdata/wasi/behind.c writes 2 MiB of a file in
// 4 KiB writes and overwrites a byte of each page, then reads it all back
// through the same fd and another, seeks to its end, stats it, reads past
// the old end, truncates, renames and reopens it, each right after a
// write: every call sees the writes as made. The writes went behind: the
// program's core sent far fewer requests than it made writes.
func TestWritesBehindSeen(t *testing.T) {
	dir := t.TempDir()
	out, st, reqs := runCounted(t, cProg(t, "behind.c"), []isle.Dir{{Host: dir, Guest: "/d"}}, "/d", "rw")
	if st != 0 || out != "rw ok\n" {
		t.Fatalf("status %d, output %q", st, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "g"))
	if err != nil || len(got) != 21 || string(got[:7]) != "renamed" || got[20] != 'z' {
		t.Fatalf("the file after the program: %q %v", got, err)
	}
	// 1,024 writes and pwrites, and more than 1,000 reads: a write that
	// finds the buffer full, the opens and the closes are calls.
	t.Logf("%d service requests", reqs)
	if reqs > 200 {
		t.Errorf("%d service requests for 1,025 writes: not written behind", reqs)
	}
}

// TestAppendsNotBehind: O_APPEND writes from two fds of one file are made
// in their order, each where the file ends then: they are never written
// behind (the SIP does not know the offset). Where the host refuses
// RWF_NOWAIT for writes, each is a call.
func TestAppendsNotBehind(t *testing.T) {
	dir := t.TempDir()
	out, st, reqs := runCounted(t, cProg(t, "behind.c"), []isle.Dir{{Host: dir, Guest: "/d"}}, "/d", "append")
	if st != 0 || out != "append ok\n" {
		t.Fatalf("status %d, output %q", st, out)
	}
	if !nowaitWrites(t, dir) && reqs < 200 {
		t.Errorf("%d service requests for 200 appends: some went behind", reqs)
	}
}

// TestWriteBehindErrorReported: a write behind that the host refuses
// (EFBIG: past ext4's largest file) is reported by the next call on the
// fd, fsync, once; the fd then works. (wasmtime and wazero write at once
// and answer the pwrite itself with EFBIG: docs/wasi.md.)
func TestWriteBehindErrorReported(t *testing.T) {
	dir := t.TempDir()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil || fs.Type != unix.EXT4_SUPER_MAGIC {
		t.Skip("needs ext4, whose largest file is 16 TiB")
	}
	out, st, _ := runCounted(t, cProg(t, "behind.c"), []isle.Dir{{Host: dir, Guest: "/d"}}, "/d", "efbig")
	want := "pwrite: 1\nfsync: -1 File too large\nfsync again: 0\nclose: 0\n"
	if st != 0 || out != want {
		t.Fatalf("status %d, output:\n%s\nwant:\n%s", st, out, want)
	}
}

// TestWritesBehindKilled: a SIP killed while it writes a page over and
// over (writes in flight) leaves the file whole, every host descriptor it
// held closed and no goroutine behind, once the machine has stopped.
func TestWritesBehindKilled(t *testing.T) {
	wasm := cProg(t, "behind.c")
	dir := t.TempDir()
	ctx := context.Background()
	fds0, g0 := openFds(t), runtime.NumGoroutine()
	w := newLines()
	cfg := isle.NewConfig().WithCores(2).WithCacheDir("").WithStdio(bytes.NewReader(nil), w, w).
		WithDir(isle.Dir{Host: dir, Guest: "/d"})
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, []string{"behind", "/d", "spin"})
	if err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "spinning", time.Now().Add(30*time.Second))
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if st := p.Wait(); !st.Killed {
		t.Fatalf("not killed: %+v", st)
	}
	m.Stop(ctx)
	got, err := os.ReadFile(filepath.Join(dir, "f"))
	if err != nil || len(got) != 4096 || bytes.Count(got, []byte("s")) != 4096 {
		t.Fatalf("the file after the kill: %d bytes, %v", len(got), err)
	}
	if n := openFds(t); n > fds0 {
		t.Errorf("%d host descriptors open after the machine stopped, %d before it booted", n, fds0)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > g0 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if g := runtime.NumGoroutine(); g > g0 {
		t.Errorf("%d goroutines after the machine stopped, %d before", g, g0)
	}
}

func openFds(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// TestWriteFlood runs testdata/hostile/writeflood.c: a second of 64 KiB
// writes behind over 64 MiB, read back whole, then 64 more and an end
// without close or fsync. Its end is reported after those writes: the host
// file holds them when Wait returns.
func TestWriteFlood(t *testing.T) {
	dir := t.TempDir()
	wasm := hostileProg(t, "writeflood")
	ctx := context.Background()
	var out, errb bytes.Buffer
	cfg := isle.NewConfig().WithCores(2).WithCacheDir("").WithStdio(bytes.NewReader(nil), &out, &errb).
		WithDir(isle.Dir{Host: dir, Guest: "/tmp"})
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, []string{"writeflood"})
	if err != nil {
		t.Fatal(err)
	}
	st := p.Wait()
	if st.Status() != 0 || out.String() != "writeflood: every page whole\n" {
		t.Fatalf("status %d, stdout %q, stderr %q", st.Status(), out.String(), errb.String())
	}
	f, err := os.Open(filepath.Join(dir, "writeflood"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, 64<<16)
	if _, err := f.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if i := bytes.IndexFunc(got, func(r rune) bool { return r != 'Z' }); i >= 0 {
		t.Fatalf("byte %d of the last writes is %q when Wait returned", i, got[i])
	}
}
