package isle_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"isle"
	"isle/internal/cluster/link"
	"isle/internal/testprog"
)

// waitFor waits until l holds s once more than it did at mark.
func waitFor(t *testing.T, l *lines, s, mark string) {
	t.Helper()
	l.wait(t, regexp.MustCompile(regexp.QuoteMeta(s)), strings.Count(mark, s)+1, 20*time.Second)
}

// spawnNodes starts plain links for nodes 1, 2 and 3 on loopback, each
// knowing the others.
func spawnNodes(t *testing.T, logf func(string, ...any)) [3]*link.Node {
	t.Helper()
	var ns [3]*link.Node
	for i := range ns {
		n, err := link.Start(link.Config{ID: uint64(i + 1), Listen: "127.0.0.1:0", Logf: logf})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		ns[i] = n
	}
	for i, a := range ns {
		for j, b := range ns {
			if i != j {
				a.AddPeer(b.ID(), b.Addr())
			}
		}
	}
	return ns
}

// TestProcSpawnOn: a SIP on node 1 spawns, with proc_spawn_on, a program
// read from node 2's preopen; its exit status, and the 137 of a kill, come
// back over the link to proc_wait. Node 0 and the own node spawn here; an
// unknown node is ENXIO, a missing program ENOENT, a node that runs no
// machine ECONNREFUSED, a node down EHOSTUNREACH, and a link lost while the
// parent waits ends the wait with EHOSTUNREACH and the child with it, as
// does the parent's own end.
func TestProcSpawnOn(t *testing.T) {
	root := testprog.Root(t)
	parent := testprog.C(t, readFile(t, filepath.Join(root, "examples", "remote-spawn", "parent.c")), "-I", filepath.Join(root, "guest", "c"))
	child := testprog.C(t, readFile(t, filepath.Join(root, "testdata", "cluster", "child.c")))
	dirs := [2]string{t.TempDir(), t.TempDir()}
	wasm, _ := os.ReadFile(child)
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, "child.wasm"), wasm, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log := &syncLog{}
	ns := spawnNodes(t, log.logf)
	ctx := context.Background()
	outs := [2]*lines{newLines(), newLines()}
	var ms [2]*isle.Machine
	for i := range ms {
		m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithOversubscribe(true).WithCacheDir(t.TempDir()).
			WithStdio(strings.NewReader(""), outs[i], outs[i]).WithDir(isle.Dir{Host: dirs[i], Guest: "/progs", ReadOnly: true}).
			WithCluster(isle.ClusterConfig{Link: ns[i], Logf: log.logf}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Stop(ctx) })
		ms[i] = m
	}
	isle.RefuseRemote(ns[2]) // node 3 runs no machine
	prog, err := ms[0].Load(ctx, parent)
	if err != nil {
		t.Fatal(err)
	}
	goProg, err := ms[0].Load(ctx, testprog.Go(t, "./testdata/cluster/gospawn"))
	if err != nil {
		t.Fatal(err)
	}
	// runProg runs a parent on node 1 and returns its output.
	runProg := func(t *testing.T, prog *isle.Program, args ...string) string {
		t.Helper()
		p, err := ms[0].SpawnWith(prog, append([]string{"parent"}, args...), isle.SpawnOptions{})
		if err != nil {
			t.Fatal(err)
		}
		before := outs[0].String()
		st := waitExit(t, p)
		got := strings.TrimPrefix(outs[0].String(), before)
		if st.Trap != "" || st.Link != "" {
			t.Fatalf("parent %v: %+v, output %q", args, st, got)
		}
		return got
	}
	run := func(t *testing.T, args ...string) string { t.Helper(); return runProg(t, prog, args...) }
	expect := func(t *testing.T, got string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("output %q, want %q; log:\n%s", got, w, log.String())
			}
		}
	}

	t.Run("exit status", func(t *testing.T) {
		expect(t, run(t, "2", "/progs/child.wasm", "7"), "spawned pid", "wait: status 7")
		waitFor(t, outs[1], "child 7", "")
	})
	t.Run("kill", func(t *testing.T) {
		expect(t, run(t, "-k", "2", "/progs/child.wasm", "forever"), "wait: status 137")
	})
	t.Run("here", func(t *testing.T) {
		expect(t, run(t, "0", "/progs/child.wasm", "3"), "child 3", "wait: status 3")
		expect(t, run(t, "1", "/progs/child.wasm", "4"), "child 4", "wait: status 4")
		if strings.Contains(outs[1].String(), "child 3") || strings.Contains(outs[1].String(), "child 4") {
			t.Errorf("node 0 or 1 ran on node 2: %q", outs[1].String())
		}
	})
	t.Run("errors", func(t *testing.T) {
		expect(t, run(t, "9", "/progs/child.wasm"), "spawn: errno 60")      // ENXIO
		expect(t, run(t, "2", "/progs/none.wasm"), "spawn: errno 44")       // ENOENT
		expect(t, run(t, "2", "/etc/passwd"), "spawn: errno 44")            // outside every preopen there
		expect(t, run(t, "3", "/progs/child.wasm", "1"), "spawn: errno 14") // ECONNREFUSED: no machine
	})
	t.Run("not a node", func(t *testing.T) {
		out := newLines()
		m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithOversubscribe(true).WithCacheDir(t.TempDir()).
			WithStdio(strings.NewReader(""), out, out).WithDir(isle.Dir{Host: dirs[0], Guest: "/progs", ReadOnly: true}))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Stop(ctx)
		prog, err := m.Load(ctx, parent)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ node, want string }{{"2", "spawn: errno 60"}, {"0", "wait: status 6"}} {
			p, err := m.Spawn(prog, []string{"parent", tc.node, "/progs/child.wasm", "6"})
			if err != nil {
				t.Fatal(err)
			}
			p.Wait()
			expect(t, out.String(), tc.want)
		}
	})
	t.Run("go guest", func(t *testing.T) {
		expect(t, runProg(t, goProg, "2", "/progs/child.wasm", "5"), "wait: status 5")
		expect(t, runProg(t, goProg, "9", "/progs/child.wasm"), "spawn: errno 60")
	})
	t.Run("parent killed", func(t *testing.T) {
		mark0, mark1 := outs[0].String(), outs[1].String()
		p, err := ms[0].SpawnWith(prog, []string{"parent", "2", "/progs/child.wasm", "forever"}, isle.SpawnOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, outs[0], "spawned pid", mark0)
		waitFor(t, outs[1], "child forever", mark1)
		if err := p.Kill(); err != nil { // while it waits in proc_wait
			t.Fatal(err)
		}
		if st := waitExit(t, p); !st.Killed {
			t.Errorf("parent: %+v", st)
		}
		// Its child on node 2 ends with it.
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := ms[1].WaitIdle(wctx); err != nil {
			t.Errorf("node 2's child still runs: %v (live %v)", err, ms[1].Live())
		}
	})
	t.Run("link lost", func(t *testing.T) {
		mark0, mark1 := outs[0].String(), outs[1].String()
		p, err := ms[0].SpawnWith(prog, []string{"parent", "2", "/progs/child.wasm", "forever"}, isle.SpawnOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, outs[0], "spawned pid", mark0)
		waitFor(t, outs[1], "child forever", mark1)
		ns[1].Close() // node 2's links go down
		if st := waitExit(t, p); st.Code != 1 {
			t.Errorf("parent: %+v", st)
		}
		waitFor(t, outs[0], "wait: errno 23", mark0) // EHOSTUNREACH
		// Node 2 kills the child of a parent whose node it lost.
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := ms[1].WaitIdle(wctx); err != nil {
			t.Errorf("node 2's child still runs: %v (live %v)", err, ms[1].Live())
		}
		// Node 2 is down: a spawn there is EHOSTUNREACH.
		expect(t, run(t, "2", "/progs/child.wasm", "1"), "spawn: errno 23")
	})
}

// waitExit waits for p to end, at most 20 s.
func waitExit(t *testing.T, p *isle.Process) isle.ExitStatus {
	t.Helper()
	ch := make(chan isle.ExitStatus, 1)
	go func() { ch <- p.Wait() }()
	select {
	case st := <-ch:
		return st
	case <-time.After(20 * time.Second):
		t.Fatalf("pid %d has not ended within 20 s", p.PID())
		return isle.ExitStatus{}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
