package wasi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// runProg runs a program on a fresh two-core machine with the given
// preopens and returns its standard output and exit status.
func runProg(t *testing.T, wasm string, dirs []isle.Dir, args ...string) (string, int) {
	t.Helper()
	ctx := context.Background()
	var out, errb bytes.Buffer
	cfg := isle.NewConfig().WithCores(2).WithOversubscribe(true).WithCacheDir("").
		WithStdio(bytes.NewReader(nil), &out, &errb)
	for _, d := range dirs {
		cfg = cfg.WithDir(d)
	}
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
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
	select {
	case st := <-done:
		if st.Trap != "" {
			t.Fatalf("trap: %s\nstderr: %s", st.Trap, errb.String())
		}
		return out.String(), st.Status()
	case <-time.After(60 * time.Second):
		t.Fatal("program did not finish")
	}
	return "", 0
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", "wasi", name))
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from testdata/wasi/%s\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func cProg(t *testing.T, name string) string {
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", "wasi", name))
	if err != nil {
		t.Fatal(err)
	}
	return testprog.C(t, string(src))
}

// TestCFiles runs testdata/wasi/files.c (wasi-libc) against its expected
// output: files, directories, links, times and errno values.
func TestCFiles(t *testing.T) {
	out, st := runProg(t, cProg(t, "files.c"), []isle.Dir{{Host: t.TempDir(), Guest: "/d"}})
	if st != 0 {
		t.Errorf("exit status %d", st)
	}
	golden(t, "files.out", out)
}

// TestGoFiles runs a Go program using os.ReadFile, WriteFile, ReadDir,
// MkdirAll, Rename, Symlink, Chtimes and RemoveAll in a preopen.
func TestGoFiles(t *testing.T) {
	out, st := runProg(t, testprog.Go(t, "./testdata/wasi/gofiles"), []isle.Dir{{Host: t.TempDir(), Guest: "/d"}}, "/d")
	if st != 0 {
		t.Errorf("exit status %d", st)
	}
	golden(t, "gofiles.out", out)
}

// TestEscapes checks that "..", absolute paths and symlinks pointing out of
// a preopen are each refused (EPERM, as wasmtime), and that the file next
// to the preopen is untouched.
func TestEscapes(t *testing.T) {
	top := t.TempDir()
	pre := filepath.Join(top, "pre")
	for _, err := range []error{
		os.MkdirAll(filepath.Join(pre, "sub"), 0o755),
		os.WriteFile(filepath.Join(top, "outside.txt"), []byte("secret\n"), 0o644),
		os.WriteFile(filepath.Join(pre, "in.txt"), []byte("in\n"), 0o644),
		os.Symlink("../outside.txt", filepath.Join(pre, "out")),
		os.Symlink("/etc/passwd", filepath.Join(pre, "abs")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	out, st := runProg(t, cProg(t, "escape.c"), []isle.Dir{{Host: pre, Guest: "/d"}})
	if st != 0 {
		t.Errorf("exit status %d", st)
	}
	golden(t, "escape.out", out)
	if b, _ := os.ReadFile(filepath.Join(top, "outside.txt")); string(b) != "secret\n" {
		t.Errorf("outside.txt changed: %q", b)
	}
	for _, name := range []string{"x", "stolen.txt"} {
		if _, err := os.Lstat(filepath.Join(top, name)); err == nil {
			t.Errorf("%s was created outside the preopen", name)
		}
	}
}

// TestReadOnly runs testdata/wasi/readonly.c under a read-only preopen:
// reads work, every change is EACCES, and the host directory is unchanged.
func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, st := runProg(t, cProg(t, "readonly.c"), []isle.Dir{{Host: dir, Guest: "/r", ReadOnly: true}})
	if st != 0 {
		t.Errorf("exit status %d", st)
	}
	golden(t, "readonly.out", out)
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("the read-only directory now holds %d entries", len(ents))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f.txt")); string(b) != "hello\n" {
		t.Errorf("f.txt changed: %q", b)
	}
}

// TestReaddirAndPoll runs testdata/wasi/readdir.c: a directory listed over
// many fd_readdir calls, rewinddir, and poll on files.
func TestReaddirAndPoll(t *testing.T) {
	out, st := runProg(t, cProg(t, "readdir.c"), []isle.Dir{{Host: t.TempDir(), Guest: "/d"}})
	if st != 0 {
		t.Errorf("exit status %d", st)
	}
	golden(t, "readdir.out", out)
}

func TestParseDir(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want isle.Dir
	}{
		{"/h", isle.Dir{Host: "/h", Guest: "/h"}},
		{"/h:/g", isle.Dir{Host: "/h", Guest: "/g"}},
		{"/h:/g:ro", isle.Dir{Host: "/h", Guest: "/g", ReadOnly: true}},
		{"/h::ro", isle.Dir{Host: "/h", Guest: "/h", ReadOnly: true}},
	} {
		got, err := isle.ParseDir(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDir(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// TestBadArgs runs testdata/wasi/badargs.c: bad pointers, lengths and flags
// passed straight to the imports come back as errnos.
func TestBadArgs(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, st := runProg(t, cProg(t, "badargs.c"), []isle.Dir{{Host: dir, Guest: "/d"}})
	if st != 0 {
		t.Errorf("exit status %d", st)
	}
	golden(t, "badargs.out", out)
}

// TestConcurrentFiles runs eight copies of the Go file program at once on
// four cores, each in its own directory of one preopen: the SIPs spread
// over several file-system workers and must not see each other's files.
func TestConcurrentFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(4).WithOversubscribe(true).WithCacheDir("").
		WithStdio(nil, io.Discard, io.Discard).WithDir(isle.Dir{Host: dir, Guest: "/d"}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, testprog.Go(t, "./testdata/wasi/gofiles"))
	if err != nil {
		t.Fatal(err)
	}
	var ps []*isle.Process
	for i := 0; i < 8; i++ {
		p, err := m.Spawn(prog, []string{"gofiles", fmt.Sprintf("/d/s%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for i, p := range ps {
		if st := p.Wait(); st.Status() != 0 {
			t.Errorf("copy %d: %+v", i, st)
		}
	}
	for i := 0; i < 8; i++ {
		ents, err := os.ReadDir(filepath.Join(dir, fmt.Sprintf("s%d", i)))
		if err != nil || len(ents) != 0 {
			t.Errorf("s%d: %d entries left, %v", i, len(ents), err)
		}
	}
}
