package wasi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"isle"
)

// runCounted runs a program on a fresh one-core machine and returns its
// standard output, its exit status and how many requests its core sent to
// services (CoreStats.ServiceRequests).
func runCounted(t *testing.T, wasm string, dirs []isle.Dir, args ...string) (string, int, uint64) {
	t.Helper()
	ctx := context.Background()
	var out, errb bytes.Buffer
	cfg := isle.NewConfig().WithCores(1).WithCacheDir("").WithStdio(bytes.NewReader(nil), &out, &errb)
	for _, d := range dirs {
		cfg = cfg.WithDir(d)
	}
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, append([]string{filepath.Base(wasm)}, args...))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan isle.ExitStatus, 1)
	go func() { done <- p.Wait() }()
	var st isle.ExitStatus
	select {
	case st = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("program did not finish")
	}
	m.Stop(ctx)
	if st.Trap != "" {
		t.Fatalf("trap: %s\nstderr: %s", st.Trap, errb.String())
	}
	if errb.Len() > 0 {
		t.Logf("stderr: %s", errb.String())
	}
	var reqs uint64
	for _, c := range m.Stats() {
		reqs += c.ServiceRequests
	}
	return out.String(), st.Status(), reqs
}

// TestFileCallsStayOnCore: about 1,500 small reads, writes, seeks, tells
// and fstats of a file in the page cache (on a local file system) are
// served on the core; only the opens, the exit and the output go to a
// service.
func TestFileCallsStayOnCore(t *testing.T) {
	dir := t.TempDir()
	out, st, reqs := runCounted(t, cProg(t, "inline.c"), []isle.Dir{{Host: dir, Guest: "/d"}}, "rw", "/d")
	if st != 0 || out != "rw ok\n" {
		t.Fatalf("status %d, output %q", st, out)
	}
	// 256 writes and 256 pwrites go to the worker where the host's file
	// system refuses RWF_NOWAIT for buffered writes (ext4 does); the reads,
	// preads, seeks and tells never leave the core.
	limit := uint64(20)
	if !nowaitWrites(t, dir) {
		limit += 2*256 + 1
	}
	if reqs > limit {
		t.Errorf("%d service requests for ~1,300 small file calls (at most %d expected): they left the core", reqs, limit)
	}
	b, err := os.ReadFile(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 256*4096+4 || b[4096] != 254 || b[4096+8] != 1 || string(b[len(b)-4:]) != "tail" {
		t.Errorf("file as the host sees it: %d bytes, %d %d %q", len(b), b[4096], b[4096+8], b[len(b)-4:])
	}
}

// TestFileReadsMissingCacheFallBack: reads of a file that is not in the page
// cache would wait for the disk; RWF_NOWAIT says EAGAIN and they go to the
// worker, and the program still reads every byte.
func TestFileReadsMissingCacheFallBack(t *testing.T) {
	dir := t.TempDir()
	const size = 4<<20 + 123
	data := make([]byte, size)
	var sum uint64
	for i := range data {
		data[i] = byte(i * 7)
		sum += uint64(data[i])
	}
	path := filepath.Join(dir, "big")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data)
	f.Sync()
	// Out of the page cache: written back (Sync), then dropped.
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Skipf("fadvise: %v", err)
	}
	f.Close()
	out, st, reqs := runCounted(t, cProg(t, "inline.c"), []isle.Dir{{Host: dir, Guest: "/d"}}, "read", "/d/big")
	if want := fmt.Sprintf("sum %d len %d\n", sum, size); st != 0 || out != want {
		t.Fatalf("status %d, output %q, want %q", st, out, want)
	}
	// The same run with the whole file in the page cache sends no read to
	// the worker: the first run's extra requests are its misses. (How many
	// reads miss depends on the host's readahead: one miss may bring in the
	// rest of the file.)
	if _, err := os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	_, _, cached := runCounted(t, cProg(t, "inline.c"), []isle.Dir{{Host: dir, Guest: "/d"}}, "read", "/d/big")
	if reqs <= cached {
		t.Errorf("%d service requests out of the cache, %d in it: no read went to the worker, so the file was in the cache after all", reqs, cached)
	}
}

// nowaitWrites reports whether the file system of dir takes buffered
// writes with RWF_NOWAIT.
func nowaitWrites(t *testing.T, dir string) bool {
	f, err := os.CreateTemp(dir, "probe")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	_, err = unix.Pwritev2(int(f.Fd()), [][]byte{[]byte("x")}, 0, unix.RWF_NOWAIT)
	t.Logf("RWF_NOWAIT write here: %v", err)
	return err == nil
}

// TestSocketCallsStayOnCore: echo.c receives 64 KiB that the client sent at
// once, 256 bytes a recv, and sends each piece back: about 512 receives and
// sends that find data (or room) at hand are served on the core, not by
// the network worker.
func TestSocketCallsStayOnCore(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithCacheDir("").
		WithStdio(nil, &out, io.Discard).WithListen("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, cProg(t, "echo.c"))
	if err != nil {
		m.Stop(ctx)
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, []string{"echo"})
	if err != nil {
		m.Stop(ctx)
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", m.ListenAddrs()[0])
	if err != nil {
		m.Stop(ctx)
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	msg := bytes.Repeat([]byte("abcdefghijklmno\n"), 4096)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	c.Close()
	st := p.Wait()
	m.Stop(ctx)
	if err != nil || !bytes.Equal(got, bytes.ToUpper(msg)) || st.Status() != 0 {
		t.Fatalf("echoed %d bytes (%v), status %d, output %q", len(got), err, st.Status(), out.String())
	}
	var reqs uint64
	for _, c := range m.Stats() {
		reqs += c.ServiceRequests
	}
	if reqs > 100 {
		t.Errorf("%d service requests for ~512 receives and sends with data at hand: they left the core", reqs)
	}
	t.Logf("%d service requests", reqs)
}
