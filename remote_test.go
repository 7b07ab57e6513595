package isle_test

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

// TestRemoteSpawnRefused: a remote spawn reads its program from the serving
// node's preopens only: a path outside them (with .. or a symbolic link), a
// missing file and a node that runs no machine are each refused with an
// error saying so; a good path spawns, and the listing shows the SIP.
func TestRemoteSpawnRefused(t *testing.T) {
	root := testprog.Root(t)
	src, err := os.ReadFile(filepath.Join(root, "testdata", "register.c"))
	if err != nil {
		t.Fatal(err)
	}
	reg := testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c"))
	progs, outside := t.TempDir(), t.TempDir()
	wasm, _ := os.ReadFile(reg)
	for _, p := range []string{filepath.Join(progs, "reg.wasm"), filepath.Join(outside, "secret.wasm")} {
		if err := os.WriteFile(p, wasm, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(outside, "secret.wasm"), filepath.Join(progs, "link.wasm")); err != nil {
		t.Fatal(err)
	}
	log := &syncLog{}
	one, two := tlsNodes(t, log.logf)
	var out, errs bytes.Buffer
	ctx := context.Background()
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithOversubscribe(true).WithCacheDir(t.TempDir()).
		WithStdio(strings.NewReader(""), &out, &errs).WithDir(isle.Dir{Host: progs, Guest: "/progs", ReadOnly: true}).
		WithCluster(isle.ClusterConfig{Link: one, Logf: log.logf}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop(ctx) })
	isle.RefuseRemote(two)
	from2, from1 := isle.NewRemoteClient(two), isle.NewRemoteClient(one)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for _, tc := range []struct{ path, want string }{
		{"/progs/../" + filepath.Base(outside) + "/secret.wasm", "not in a preopened directory"},
		{"/etc/passwd", "not in a preopened directory"},
		{"/progs/link.wasm", "path escapes from parent"},
		{"/progs/none.wasm", "no such file or directory"},
		{"/progs", "not in a preopened directory"},
	} {
		if _, err := from2.Spawn(cctx, 1, tc.path, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("spawn %s: %v, want %q", tc.path, err, tc.want)
		}
	}
	if _, err := from1.Spawn(cctx, 2, "/progs/reg.wasm", nil); err == nil || !strings.Contains(err.Error(), "node 2 runs no machine") {
		t.Errorf("spawn on a node without a machine: %v", err)
	}
	pid, err := from2.Spawn(cctx, 1, "/progs/reg.wasm", []string{"remote-svc", "wait"})
	if err != nil {
		t.Fatal(err)
	}
	procs, err := from2.Processes(cctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range procs {
		found = found || p.PID == pid && p.Name == "reg.wasm" && p.Node == 1
	}
	if !found {
		t.Fatalf("pid %d not in node 1's listing %+v", pid, procs)
	}
	if err := m.Kill(pid); err != nil {
		t.Fatal(err)
	}
}

// TestRemoteSpawnCompilesOnce: remote spawns load their program through
// the machine's loader, so a second spawn of the same file is a hit in its
// cache (no compile), and a spawn after the file was written compiles it
// again.
func TestRemoteSpawnCompilesOnce(t *testing.T) {
	root := testprog.Root(t)
	src, err := os.ReadFile(filepath.Join(root, "testdata", "register.c"))
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c")))
	if err != nil {
		t.Fatal(err)
	}
	progs := t.TempDir()
	prog := filepath.Join(progs, "reg.wasm")
	if err := os.WriteFile(prog, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	log := &syncLog{}
	one, two := tlsNodes(t, log.logf)
	ctx := context.Background()
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithOversubscribe(true).WithCacheDir(t.TempDir()).
		WithStdio(strings.NewReader(""), io.Discard, io.Discard).WithDir(isle.Dir{Host: progs, Guest: "/progs", ReadOnly: true}).
		WithCluster(isle.ClusterConfig{Link: one, Logf: log.logf}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop(ctx) })
	from2 := isle.NewRemoteClient(two)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	before := isle.LoaderCompiles(m)
	for i, want := range []int{1, 1, 1, 2} {
		if i == 3 {
			// The same bytes written again: a change the loader hears of.
			if err := os.WriteFile(prog, wasm, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := from2.Spawn(cctx, 1, "/progs/reg.wasm", []string{fmt.Sprintf("svc-%d", i)}); err != nil {
			t.Fatal(err)
		}
		if got := isle.LoaderCompiles(m) - before; got != want {
			t.Fatalf("after remote spawn %d: %d compiles, want %d", i+1, got, want)
		}
	}
}
