package wasi_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"isle"
	"isle/internal/testprog"
)

// setFlagsC toggles a file's O_APPEND argv[1] times: each fd_fdstat_set_flags
// that changes APPEND is one request to the file-system service and its
// reply. It prints the nanoseconds the loop took.
const setFlagsC = `
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv) {
	long n = atol(argv[1]);
	int fd = open("/d/f", O_WRONLY | O_CREAT, 0644);
	if (fd < 0) { perror("open"); return 1; }
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		if (fcntl(fd, F_SETFL, (i & 1) ? 0 : O_APPEND) != 0) { perror("fcntl"); return 1; }
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
	return 0;
}
`

// BenchmarkServiceRoundTrip is a SIP's request to the file-system service
// and its reply, through the rings (ns/call: the loop's own time, so boot
// and load are not counted).
func BenchmarkServiceRoundTrip(b *testing.B) {
	wasm := testprog.C(b, setFlagsC)
	dir := b.TempDir()
	n := max(b.N, 1000)
	var out, errb bytes.Buffer
	cfg := isle.NewConfig().WithCores(1).WithCacheDir("").WithStdio(bytes.NewReader(nil), &out, &errb).
		WithDir(isle.Dir{Host: dir, Guest: "/d"})
	st, _, err := isle.Run(context.Background(), cfg, wasm, []string{strconv.Itoa(n)})
	if err != nil {
		b.Fatal(err)
	}
	if st.Status() != 0 {
		b.Fatalf("status %d: %s", st.Status(), errb.String())
	}
	ns, err := strconv.ParseFloat(strings.TrimSpace(out.String()), 64)
	if err != nil {
		b.Fatalf("output %q: %v", out.String(), err)
	}
	b.ReportMetric(ns/float64(n), "ns/call")
	if _, err := os.Stat(filepath.Join(dir, "f")); err != nil {
		b.Fatal(err)
	}
}

// runSetFlags runs setFlagsC for n calls on a one-core machine and returns
// the heap allocations the whole run made.
func runSetFlags(t *testing.T, wasm string, n int) uint64 {
	t.Helper()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	cfg := isle.NewConfig().WithCores(1).WithCacheDir("").WithStdio(bytes.NewReader(nil), &out, &errb).
		WithDir(isle.Dir{Host: dir, Guest: "/d"})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	st, _, err := isle.Run(context.Background(), cfg, wasm, []string{strconv.Itoa(n)})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status() != 0 {
		t.Fatalf("status %d: %s", st.Status(), errb.String())
	}
	return after.Mallocs - before.Mallocs
}

// TestServiceRequestsAllocateNothing: a SIP's requests to the file-system
// service, sent, served and answered through the rings, allocate nothing
// each: 20,000 more of them cost the machine fewer than one allocation per
// 20 requests (boot, load and exit vary by a few hundred between runs).
func TestServiceRequestsAllocateNothing(t *testing.T) {
	wasm := testprog.C(t, setFlagsC)
	const extra = 20000
	runSetFlags(t, wasm, 10) // warm the process's own caches
	base := runSetFlags(t, wasm, 10)
	more := runSetFlags(t, wasm, 10+extra)
	t.Logf("%d allocations for 10 calls, %d for %d", base, more, 10+extra)
	if more > base && float64(more-base)/extra > 0.05 {
		t.Errorf("%.2f allocations per service request", float64(more-base)/extra)
	}
}
