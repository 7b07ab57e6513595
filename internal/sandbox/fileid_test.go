package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"isle/internal/testprog"
)

// fastSettle is how long files take to settle in these tests (Runtime.idSettle),
// and settleWait how long a test waits for one to.
const (
	fastSettle = 50 * time.Millisecond
	settleWait = 100 * time.Millisecond
)

// loadFile loads the module file at path as Load's callers do (StatFile,
// then LoadFile) on a fresh preempting runtime with the cache in dir, runs
// it, and returns what it reported, how many times the file was read and
// how many modules were rewritten.
func loadFile(t *testing.T, dir, path string) (out []int64, reads int, rewrites int64) {
	t.Helper()
	return loadFileSettle(t, dir, path, fastSettle)
}

// loadFileSettle is loadFile with files settling after settle.
func loadFileSettle(t *testing.T, dir, path string, settle time.Duration) (out []int64, reads int, rewrites int64) {
	t.Helper()
	ctx := context.Background()
	hm := HostModule{Name: "env", Funcs: []HostFunc{{Name: "out", Params: []ValType{I64}, Fn: func(_ *Call, args []uint64) {
		out = append(out, int64(args[0]))
	}}}}
	rt, err := NewRuntime(ctx, Config{CacheDir: dir, Fuel: 1000, Preempt: func(*Call) {}}, []HostModule{hm})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	rt.idSettle = settle
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, id, err := StatFile(f)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := rt.LoadFile(ctx, f, id, func() ([]byte, error) {
		reads++
		return os.ReadFile(path)
	})
	if err != nil {
		t.Fatal(err)
	}
	runToExit(t, mod)
	return out, reads, rt.rewrites.Load()
}

func idRecords(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, rewrittenDir, "*.id"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// writeSettled writes wasm to a new file in a fresh directory and waits for
// its ctime to settle.
func writeSettled(t *testing.T, wasm []byte, settle time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "prog.wasm")
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(settle)
	return path
}

// TestFileIDHit: the first load of a settled file reads it and records its
// identity; the second reads nothing, rewrites nothing and runs the same.
func TestFileIDHit(t *testing.T) {
	settle := settleWait
	wasm := cachedWasm(t)
	dir := t.TempDir()
	path := writeSettled(t, wasm, settle)
	cold, reads, rewrites := loadFile(t, dir, path)
	if reads != 1 || rewrites != 1 {
		t.Fatalf("cold load: %d reads, %d rewrites, want 1 and 1", reads, rewrites)
	}
	if n := len(idRecords(t, dir)); n != 1 {
		t.Fatalf("%d identity records, want 1", n)
	}
	warm, reads, rewrites := loadFile(t, dir, path)
	if reads != 0 || rewrites != 0 {
		t.Fatalf("warm load: %d reads, %d rewrites, want none (found by the file's identity)", reads, rewrites)
	}
	if len(cold) != 2 || cold[1] != 17711 || !slices.Equal(cold, warm) {
		t.Fatalf("outputs: cold %v, warm %v (fib(22) = 17711)", cold, warm)
	}
}

// TestFileIDFresh: a file whose ctime has not settled is read at every
// load and not recorded (a write within its ctime's tick could go unseen);
// the rewritten module is still found by the original's hash.
func TestFileIDFresh(t *testing.T) {
	wasm := cachedWasm(t)
	dir := t.TempDir()
	path := writeSettled(t, wasm, 0)
	for i, want := range []int64{1, 0} {
		if _, reads, rewrites := loadFileSettle(t, dir, path, time.Hour); reads != 1 || rewrites != want {
			t.Fatalf("load %d of a fresh file: %d reads, %d rewrites, want 1 and %d", i, reads, rewrites, want)
		}
	}
	if r := idRecords(t, dir); len(r) != 0 {
		t.Fatalf("a fresh file was recorded: %v", r)
	}
}

// differing is two programs of the same size that report different
// numbers: cachedProgram computing fib(22) and fib(21), padded with a
// custom section to one length.
func differing(t *testing.T) (a, b []byte) {
	t.Helper()
	build := func(src string) []byte {
		wasm, err := os.ReadFile(testprog.C(t, src, "-nostdlib", "-Wl,--no-entry", "-Wl,--export=_start", "-Wl,--allow-undefined"))
		if err != nil {
			t.Fatal(err)
		}
		return wasm
	}
	a, b = build(cachedProgram), build(strings.Replace(cachedProgram, "fib(22)", "fib(21)", 1))
	n := max(len(a), len(b)) + 8
	return padTo(t, a, n), padTo(t, b, n)
}

// padTo appends a custom section "pad" to wasm to make it n bytes long.
func padTo(t *testing.T, wasm []byte, n int) []byte {
	t.Helper()
	// id, size (one LEB byte: less than 128), name length, "pad", payload.
	size := n - len(wasm) - 2
	if size < 4 || size > 127 {
		t.Fatalf("cannot pad %d bytes to %d", len(wasm), n)
	}
	b := append(slices.Clip(wasm), 0, byte(size), 3, 'p', 'a', 'd')
	return append(b, make([]byte, size-4)...)
}

func ctimeOf(t *testing.T, path string) (time.Time, os.FileInfo) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return time.Unix(st.Ctim.Unix()), fi
}

// TestFileIDEditInPlace overwrites a recorded file in place with another
// program of the same size and sets its mtime back: device, inode, size
// and mtime are as recorded, the ctime is not, and the load reads the file
// and runs the new program.
func TestFileIDEditInPlace(t *testing.T) {
	settle := settleWait
	a, b := differing(t)
	dir := t.TempDir()
	path := writeSettled(t, a, settle)
	if out, reads, _ := loadFile(t, dir, path); reads != 1 || len(out) != 2 || out[1] != 17711 {
		t.Fatalf("first load: output %v, %d reads", out, reads)
	}
	if out, reads, _ := loadFile(t, dir, path); reads != 0 || len(out) != 2 || out[1] != 17711 {
		t.Fatalf("second load: output %v, %d reads, want 0 (recorded)", out, reads)
	}
	ctime, before := ctimeOf(t, path)
	time.Sleep(settle) // past the ctime's tick
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, time.Time{}, before.ModTime()); err != nil {
		t.Fatal(err)
	}
	ctime2, after := ctimeOf(t, path)
	bs, as := before.Sys().(*syscall.Stat_t), after.Sys().(*syscall.Stat_t)
	if as.Ino != bs.Ino || as.Dev != bs.Dev || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) || !ctime2.After(ctime) {
		t.Fatalf("edit in place: inode %d→%d, size %d→%d, mtime %v→%v, ctime %v→%v: want all but the ctime kept",
			bs.Ino, as.Ino, before.Size(), after.Size(), before.ModTime(), after.ModTime(), ctime, ctime2)
	}
	if out, reads, _ := loadFile(t, dir, path); reads != 1 || len(out) != 2 || out[1] != 10946 {
		t.Fatalf("after the edit: output %v, %d reads, want fib(21) = 10946 and 1 read", out, reads)
	}
	time.Sleep(settle)
	loadFile(t, dir, path) // records the edited file
	if out, reads, _ := loadFile(t, dir, path); reads != 0 || len(out) != 2 || out[1] != 10946 {
		t.Fatalf("the edited file, recorded: output %v, %d reads, want fib(21) = 10946 and 0 reads", out, reads)
	}
}

// TestFileIDCorruptRecord damages the identity record in several ways:
// every load still runs the program, reading the file, and repairs the
// record.
func TestFileIDCorruptRecord(t *testing.T) {
	settle := settleWait
	wasm := cachedWasm(t)
	dir := t.TempDir()
	path := writeSettled(t, wasm, settle)
	want, _, _ := loadFile(t, dir, path)
	records := idRecords(t, dir)
	if len(records) != 1 {
		t.Fatalf("identity records %v, want 1", records)
	}
	good, err := os.ReadFile(records[0])
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte { b := slices.Clone(good); b[i] ^= 1; return b }
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)/2]},
		{"one byte short", good[:len(good)-1]},
		{"one byte more", append(slices.Clone(good), 0)},
		{"magic", flip(0)},
		{"sum", flip(len(idMagic))},
		{"check", flip(len(good) - 1)},
	} {
		if err := os.WriteFile(records[0], c.b, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, reads, _ := loadFile(t, dir, path); reads != 1 || !slices.Equal(got, want) {
			t.Fatalf("%s record: output %v, %d reads, want %v and 1 read", c.name, got, reads, want)
		}
		if got, reads, _ := loadFile(t, dir, path); reads != 0 || !slices.Equal(got, want) {
			t.Fatalf("after a %s record: output %v, %d reads, want %v and 0 reads (repaired)", c.name, got, reads, want)
		}
	}
	// A record naming a rewritten module that is gone, or damaged.
	files := rewrittenFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("rewritten modules %v", files)
	}
	rewritten, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, damage := range []func(){
		func() { os.Remove(files[0]) },
		func() { os.WriteFile(files[0], rewritten[:len(rewritten)/2], 0o644) },
	} {
		damage()
		if got, reads, rewrites := loadFile(t, dir, path); reads != 1 || rewrites != 1 || !slices.Equal(got, want) {
			t.Fatalf("rewritten module damaged: output %v, %d reads, %d rewrites, want %v, 1, 1", got, reads, rewrites, want)
		}
		if _, reads, _ := loadFile(t, dir, path); reads != 0 {
			t.Fatalf("not repaired: %d reads", reads)
		}
	}
}

// TestFileIDKeyVersion: a new rewriter version does not use the records
// of the old one.
func TestFileIDKeyVersion(t *testing.T) {
	rt := &Runtime{rewriterVersion: 1, optsDigest: "x"}
	id := FileID{ok: true, dev: 1, ino: 2, size: 3, mtime: 4, ctime: 5}
	k1 := rt.idKey(id)
	rt.rewriterVersion = 2
	if string(k1) == string(rt.idKey(id)) {
		t.Fatal("one identity key for two rewriter versions")
	}
	rt.rewriterVersion, rt.optsDigest = 1, "y"
	if string(k1) == string(rt.idKey(id)) {
		t.Fatal("one identity key for two option digests")
	}
	for _, o := range []FileID{{ok: true, dev: 9, ino: 2, size: 3, mtime: 4, ctime: 5}, {ok: true, dev: 1, ino: 2, size: 3, mtime: 4, ctime: 6}} {
		if id.same(o) {
			t.Fatalf("%+v same as %+v", o, id)
		}
	}
}
