package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"isle/internal/testprog"
)

// cachedProgram is a C program without libc that reports what it computes
// through env.out: recursion and a tight loop, which the rewriting
// instruments, long enough to run out of fuel many times.
const cachedProgram = `
__attribute__((import_module("env"), import_name("out"))) void out(long long);
static long long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
void _start(void) {
	unsigned long long h = 1469598103934665603ULL;
	for (int i = 0; i < 200000; i++) { h ^= (unsigned)i; h *= 1099511628211ULL; }
	out((long long)h);
	out(fib(22));
}
`

// run loads wasm on a fresh preempting runtime with the cache in dir, runs
// it, and returns what it reported, how often it was preempted and how many
// modules the runtime rewrote.
func runCached(t *testing.T, dir string, version int, wasm []byte) (out []int64, preempts int, rewrites int64) {
	t.Helper()
	ctx := context.Background()
	hm := HostModule{Name: "env", Funcs: []HostFunc{{Name: "out", Params: []ValType{I64}, Fn: func(_ *Call, args []uint64) {
		out = append(out, int64(args[0]))
	}}}}
	cfg := Config{CacheDir: dir, Fuel: 1000, Preempt: func(*Call) { preempts++ }}
	rt, err := NewRuntime(ctx, cfg, []HostModule{hm})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	rt.rewriterVersion = version
	mod, err := rt.Load(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	runToExit(t, mod)
	return out, preempts, rt.rewrites.Load()
}

// runToExit runs a process of mod until it ends and fails t unless it
// exits with status 0.
func runToExit(t *testing.T, mod *Module) {
	t.Helper()
	p := mod.NewProcess(nil)
	for {
		if _, done := p.Resume(); done {
			break
		}
	}
	if r := p.Result(); r.Status() != 0 {
		t.Fatalf("result %+v", r)
	}
}

func cachedWasm(t *testing.T) []byte {
	t.Helper()
	path := testprog.C(t, cachedProgram, "-nostdlib", "-Wl,--no-entry", "-Wl,--export=_start", "-Wl,--allow-undefined")
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

func rewrittenFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, rewrittenDir, "*.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRewrittenCacheHit loads a program twice with one cache directory: the
// first load rewrites it, the second finds it rewritten and does not call the
// rewriter, and both runs report the same, with the second still preempted
// (what it ran was the rewritten module).
func TestRewrittenCacheHit(t *testing.T) {
	wasm := cachedWasm(t)
	dir := t.TempDir()
	cold, coldPreempts, coldRewrites := runCached(t, dir, 1, wasm)
	if coldRewrites != 1 {
		t.Fatalf("cold load rewrote %d modules, want 1", coldRewrites)
	}
	if n := len(rewrittenFiles(t, dir)); n != 1 {
		t.Fatalf("%d rewritten modules in the cache, want 1", n)
	}
	warm, warmPreempts, warmRewrites := runCached(t, dir, 1, wasm)
	if warmRewrites != 0 {
		t.Fatalf("warm load rewrote %d modules, want 0 (a cache hit)", warmRewrites)
	}
	if len(cold) != 2 || cold[1] != 17711 || !slices.Equal(cold, warm) {
		t.Fatalf("outputs: cold %v, warm %v (fib(22) = 17711)", cold, warm)
	}
	if coldPreempts == 0 || warmPreempts != coldPreempts {
		t.Fatalf("preempted %d times cold, %d warm: want the same, more than 0", coldPreempts, warmPreempts)
	}
}

// TestRewrittenCacheVersion checks that a new rewriter version does not use
// modules the old one rewrote.
func TestRewrittenCacheVersion(t *testing.T) {
	wasm := cachedWasm(t)
	dir := t.TempDir()
	v1, _, _ := runCached(t, dir, 1, wasm)
	v2, _, rewrites := runCached(t, dir, 2, wasm)
	if rewrites != 1 {
		t.Fatalf("version 2 rewrote %d modules, want 1: it used version 1's", rewrites)
	}
	if !slices.Equal(v1, v2) {
		t.Fatalf("outputs differ: %v, %v", v1, v2)
	}
	if n := len(rewrittenFiles(t, dir)); n != 2 {
		t.Fatalf("%d rewritten modules in the cache, want one per version", n)
	}
	if _, _, rewrites := runCached(t, dir, 2, wasm); rewrites != 0 {
		t.Fatalf("version 2's second load rewrote %d modules, want 0", rewrites)
	}
}

// TestRewrittenCacheDamaged truncates the cached module: the next load
// rewrites the original again, runs it correctly and repairs the cache.
func TestRewrittenCacheDamaged(t *testing.T) {
	wasm := cachedWasm(t)
	dir := t.TempDir()
	want, _, _ := runCached(t, dir, 1, wasm)
	files := rewrittenFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("cache holds %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files[0], b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, rewrites := runCached(t, dir, 1, wasm)
	if rewrites != 1 || !slices.Equal(got, want) {
		t.Fatalf("after damage: rewrote %d, output %v, want 1 and %v", rewrites, got, want)
	}
	if _, _, rewrites := runCached(t, dir, 1, wasm); rewrites != 0 {
		t.Fatalf("the cache was not repaired: rewrote %d", rewrites)
	}
}

// TestRewrittenCacheKeepsFuncShift: a module from the cache numbers its
// functions as the freshly rewritten one does, so a trap's stack names the
// same functions (trapStack).
func TestRewrittenCacheKeepsFuncShift(t *testing.T) {
	wasm := cachedWasm(t)
	dir := t.TempDir()
	ctx := context.Background()
	hm := HostModule{Name: "env", Funcs: []HostFunc{{Name: "out", Params: []ValType{I64}, Fn: func(*Call, []uint64) {}}}}
	var shifts []uint32
	for range 2 {
		rt, err := NewRuntime(ctx, Config{CacheDir: dir, Preempt: func(*Call) {}}, []HostModule{hm})
		if err != nil {
			t.Fatal(err)
		}
		mod, err := rt.Load(ctx, wasm)
		if err != nil {
			t.Fatal(err)
		}
		shifts = append(shifts, mod.funcShift)
		rt.Close(ctx)
	}
	if shifts[0] != 1 || shifts[1] != shifts[0] {
		t.Fatalf("function shifts %v, want 1 both times (the hook import)", shifts)
	}
}
