package wasi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// bootOut boots a one-core machine whose stdout and stderr both go to w, and
// spawns wasm on it.
func bootOut(t *testing.T, wasm string, w *lines, args ...string) (*isle.Machine, *isle.Process) {
	t.Helper()
	ctx := context.Background()
	cfg := isle.NewConfig().WithCores(1).WithCacheDir("").WithStdio(bytes.NewReader(nil), w, w)
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, wasm)
	if err != nil {
		m.Stop(ctx)
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, append([]string{filepath.Base(wasm)}, args...))
	if err != nil {
		m.Stop(ctx)
		t.Fatal(err)
	}
	return m, p
}

// TestConsoleWritesBatched: 2,000 small writes to stdout and 200 to stderr
// go to the console in a few requests, not one each, and come out, both
// streams to one writer, in the order they were written; all of it before
// Wait returns.
func TestConsoleWritesBatched(t *testing.T) {
	const n = 2000
	w := newLines()
	m, p := bootOut(t, cProg(t, "console.c"), w, "many", fmt.Sprint(n))
	st := p.Wait()
	got := w.String() // before Stop: what the program wrote is out when it has ended
	m.Stop(context.Background())
	if st.Status() != 0 {
		t.Fatalf("status %d", st.Status())
	}
	var want strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&want, "out %d\n", i)
		if i%10 == 9 {
			fmt.Fprintf(&want, "err %d\n", i)
		}
	}
	if got != want.String() {
		t.Fatalf("output out of order or incomplete: %d bytes, want %d\nfirst lines:\n%.200s", len(got), want.Len(), got)
	}
	var reqs uint64
	for _, c := range m.Stats() {
		reqs += c.ServiceRequests
	}
	// Every switch between the streams sends what is held: 2 requests per
	// ten lines, 400 in all, against 2,200 unbatched.
	if reqs > 2*n/10+10 {
		t.Errorf("%d service requests for %d console writes: not batched", reqs, n+n/10)
	}
}

// TestConsoleOutputNotHeldWhileComputing: a line written before 5 s of
// computing (no call that waits) comes out within a slice or so, not at the
// end.
func TestConsoleOutputNotHeldWhileComputing(t *testing.T) {
	w := newLines()
	m, p := bootOut(t, cProg(t, "console.c"), w, "spin")
	defer m.Stop(context.Background())
	start := time.Now()
	w.waitFor(t, "started", start.Add(2*time.Second))
	if strings.Contains(w.String(), "done") {
		t.Fatal("the program ended before its first line came out")
	}
	p.Kill()
	p.Wait()
}

// runStreams runs bench/wasi/streams.c with the given stdio on a one-core
// machine and returns its exit status and the service requests its core
// sent.
func runStreams(t *testing.T, stdin io.Reader, stdout io.Writer, args ...string) (int, uint64) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "bench", "wasi", "streams.c"))
	if err != nil {
		t.Fatal(err)
	}
	wasm := testprog.C(t, string(src))
	ctx := context.Background()
	var errb bytes.Buffer
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithCacheDir("").WithStdio(stdin, stdout, &errb))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, wasm)
	if err != nil {
		m.Stop(ctx)
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, append([]string{"streams"}, args...))
	if err != nil {
		m.Stop(ctx)
		t.Fatal(err)
	}
	st := p.Wait()
	m.Stop(ctx)
	var reqs uint64
	for _, c := range m.Stats() {
		reqs += c.ServiceRequests
	}
	if st.Status() != 0 {
		t.Fatalf("status %d: %s", st.Status(), errb.String())
	}
	return st.Status(), reqs
}

// TestConsoleFilesStayOnCore: a cat of 8 MiB from a file on stdin to
// /dev/null, 64 KiB at a time, reads and writes the host files on the core
// (RWF_NOWAIT); before, each of its ~256 calls was a console request.
func TestConsoleFilesStayOnCore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(path, bytes.Repeat([]byte("0123456789abcdef"), 8<<16), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	_, reqs := runStreams(t, in, null, "cat")
	if reqs > 20 {
		t.Errorf("%d service requests for ~256 reads and writes of host files: they left the core", reqs)
	}
}

// TestConsolePipes: the same cat between two pipes, fed and drained while
// it runs: calls that meet an empty or full pipe go to the console, and
// every byte comes out, in order.
func TestConsolePipes(t *testing.T) {
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(i*31 + i>>16)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for off := 0; off < len(data); off += 1000 { // small writes: the reader often finds the pipe empty
			inW.Write(data[off:min(off+1000, len(data))])
		}
		inW.Close()
	}()
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(outR)
		got <- b
	}()
	_, reqs := runStreams(t, inR, outW, "cat")
	outW.Close()
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("%d bytes came out of %d, or out of order", len(b), len(data))
	}
	t.Logf("%d service requests", reqs)
}

// killFlushC writes numbered lines to stdout until it is killed, 4 KiB at a
// time, so that its output is held and flushed in one request at a time.
const killFlushC = `#include <stdio.h>
#include <unistd.h>
int main(void) {
	static char buf[4096];
	for (long n = 0;;) {
		int k = 0;
		while (k + 9 <= (int)sizeof buf) k += snprintf(buf + k, sizeof buf - k, "%08ld\n", n++);
		if (write(1, buf, k) != k) return 1;
	}
}
`

// TestKillDuringConsoleFlush: a SIP killed while the console service writes
// its held output (stdout a full pipe) leaves that output to the service:
// every line comes out once and in order. Before, the core sent the lent
// bytes again as the dead SIP's held output (a repeat, and a data race
// with the console's worker reading them).
func TestKillDuringConsoleFlush(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithCacheDir("").WithStdio(bytes.NewReader(nil), w, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, testprog.C(t, killFlushC))
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, []string{"killflush"})
	if err != nil {
		t.Fatal(err)
	}
	// Nobody reads the pipe yet: the SIP's flush ends with the console,
	// which waits for room (state D, as Linux says of a wait for I/O).
	deadline := time.Now().Add(20 * time.Second)
	for !waitingForService(ctx, t, m) {
		if time.Now().After(deadline) {
			t.Fatal("the SIP never waited for the console")
		}
		time.Sleep(time.Millisecond)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() { // the console's write may wait for room until now
		b, _ := io.ReadAll(r)
		got <- b
	}()
	p.Wait()
	m.Stop(ctx)
	w.Close()
	out := <-got
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	for i, l := range lines {
		if want := fmt.Sprintf("%08d", i); l != want {
			t.Fatalf("line %d of %d is %q, want %q (a repeat, or a gap)", i, len(lines), l, want)
		}
	}
	if len(lines) < 1000 {
		t.Fatalf("%d lines came out; the pipe holds more", len(lines))
	}
}

// waitingForService reports whether m's one SIP waits for a service.
func waitingForService(ctx context.Context, t *testing.T, m *isle.Machine) bool {
	t.Helper()
	s, err := m.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return len(s.SIPs) == 1 && s.SIPs[0].State == "D"
}
