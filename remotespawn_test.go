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
	f := newSpawnOnFixture(t)
	t.Run("exit status", func(t *testing.T) {
		f.expect(t, f.run(t, "2", "/progs/child.wasm", "7"), "spawned pid", "wait: status 7")
		waitFor(t, f.outs[1], "child 7", "")
	})
	t.Run("kill", func(t *testing.T) {
		f.expect(t, f.run(t, "-k", "2", "/progs/child.wasm", "forever"), "wait: status 137")
	})
	t.Run("here", func(t *testing.T) {
		f.expect(t, f.run(t, "0", "/progs/child.wasm", "3"), "child 3", "wait: status 3")
		f.expect(t, f.run(t, "1", "/progs/child.wasm", "4"), "child 4", "wait: status 4")
		if strings.Contains(f.outs[1].String(), "child 3") || strings.Contains(f.outs[1].String(), "child 4") {
			t.Errorf("node 0 or 1 ran on node 2: %q", f.outs[1].String())
		}
	})
	t.Run("errors", func(t *testing.T) {
		f.expect(t, f.run(t, "9", "/progs/child.wasm"), "spawn: errno 60")      // ENXIO
		f.expect(t, f.run(t, "2", "/progs/none.wasm"), "spawn: errno 44")       // ENOENT
		f.expect(t, f.run(t, "2", "/etc/passwd"), "spawn: errno 44")            // outside every preopen there
		f.expect(t, f.run(t, "3", "/progs/child.wasm", "1"), "spawn: errno 14") // ECONNREFUSED: no machine
	})
	t.Run("not a node", f.notANode)
	t.Run("go guest", func(t *testing.T) {
		f.expect(t, f.runProg(t, f.goProg, "2", "/progs/child.wasm", "5"), "wait: status 5")
		f.expect(t, f.runProg(t, f.goProg, "9", "/progs/child.wasm"), "spawn: errno 60")
	})
	t.Run("parent killed", f.parentKilled)
	t.Run("link lost", f.linkLost)
}

// spawnOnFixture is TestProcSpawnOn's cluster: machines on nodes 1 and 2,
// each with the child program in its /progs, and node 3 with no machine.
type spawnOnFixture struct {
	ctx          context.Context
	log          *syncLog
	ns           [3]*link.Node
	dirs         [2]string
	outs         [2]*lines
	ms           [2]*isle.Machine
	parent       string // the C parent's module file
	prog, goProg *isle.Program
}

func newSpawnOnFixture(t *testing.T) *spawnOnFixture {
	root := testprog.Root(t)
	f := &spawnOnFixture{ctx: context.Background(), log: &syncLog{}, dirs: [2]string{t.TempDir(), t.TempDir()},
		outs: [2]*lines{newLines(), newLines()}}
	f.parent = testprog.C(t, readFile(t, filepath.Join(root, "examples", "remote-spawn", "parent.c")), "-I", filepath.Join(root, "guest", "c"))
	child := testprog.C(t, readFile(t, filepath.Join(root, "testdata", "cluster", "child.c")))
	wasm, _ := os.ReadFile(child)
	for _, d := range f.dirs {
		if err := os.WriteFile(filepath.Join(d, "child.wasm"), wasm, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.ns = spawnNodes(t, f.log.logf)
	for i := range f.ms {
		m, err := isle.Boot(f.ctx, isle.NewConfig().WithCores(1).WithOversubscribe(true).WithCacheDir(t.TempDir()).
			WithStdio(strings.NewReader(""), f.outs[i], f.outs[i]).WithDir(isle.Dir{Host: f.dirs[i], Guest: "/progs", ReadOnly: true}).
			WithCluster(isle.ClusterConfig{Link: f.ns[i], Logf: f.log.logf}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Stop(f.ctx) })
		f.ms[i] = m
	}
	isle.RefuseRemote(f.ns[2]) // node 3 runs no machine
	var err error
	if f.prog, err = f.ms[0].Load(f.ctx, f.parent); err != nil {
		t.Fatal(err)
	}
	if f.goProg, err = f.ms[0].Load(f.ctx, testprog.Go(t, "./testdata/cluster/gospawn")); err != nil {
		t.Fatal(err)
	}
	return f
}

// runProg runs a parent on node 1 and returns its output.
func (f *spawnOnFixture) runProg(t *testing.T, prog *isle.Program, args ...string) string {
	t.Helper()
	p, err := f.ms[0].SpawnWith(prog, append([]string{"parent"}, args...), isle.SpawnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := f.outs[0].String()
	st := waitExit(t, p)
	got := strings.TrimPrefix(f.outs[0].String(), before)
	if st.Trap != "" || st.Link != "" {
		t.Fatalf("parent %v: %+v, output %q", args, st, got)
	}
	return got
}

func (f *spawnOnFixture) run(t *testing.T, args ...string) string {
	t.Helper()
	return f.runProg(t, f.prog, args...)
}

func (f *spawnOnFixture) expect(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("output %q, want %q; log:\n%s", got, w, f.log.String())
		}
	}
}

// notANode: a machine in no cluster answers ENXIO for another node and
// spawns locally for node 0.
func (f *spawnOnFixture) notANode(t *testing.T) {
	out := newLines()
	m, err := isle.Boot(f.ctx, isle.NewConfig().WithCores(1).WithOversubscribe(true).WithCacheDir(t.TempDir()).
		WithStdio(strings.NewReader(""), out, out).WithDir(isle.Dir{Host: f.dirs[0], Guest: "/progs", ReadOnly: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(f.ctx)
	prog, err := m.Load(f.ctx, f.parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ node, want string }{{"2", "spawn: errno 60"}, {"0", "wait: status 6"}} {
		p, err := m.Spawn(prog, []string{"parent", tc.node, "/progs/child.wasm", "6"})
		if err != nil {
			t.Fatal(err)
		}
		p.Wait()
		f.expect(t, out.String(), tc.want)
	}
}

// spawnForever starts a parent whose child on node 2 runs until killed,
// and returns once both have said so.
func (f *spawnOnFixture) spawnForever(t *testing.T) (*isle.Process, string) {
	mark0, mark1 := f.outs[0].String(), f.outs[1].String()
	p, err := f.ms[0].SpawnWith(f.prog, []string{"parent", "2", "/progs/child.wasm", "forever"}, isle.SpawnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, f.outs[0], "spawned pid", mark0)
	waitFor(t, f.outs[1], "child forever", mark1)
	return p, mark0
}

// node2Idle fails t unless node 2's machine runs nothing within 20 s.
func (f *spawnOnFixture) node2Idle(t *testing.T) {
	wctx, cancel := context.WithTimeout(f.ctx, 20*time.Second)
	defer cancel()
	if err := f.ms[1].WaitIdle(wctx); err != nil {
		t.Errorf("node 2's child still runs: %v (live %v)", err, f.ms[1].Live())
	}
}

// parentKilled: a parent killed while it waits in proc_wait takes its
// child on node 2 with it.
func (f *spawnOnFixture) parentKilled(t *testing.T) {
	p, _ := f.spawnForever(t)
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if st := waitExit(t, p); !st.Killed {
		t.Errorf("parent: %+v", st)
	}
	f.node2Idle(t)
}

// linkLost: when node 2's links go down, the waiting parent gets
// EHOSTUNREACH, node 2 kills the child of the parent whose node it lost,
// and a spawn there is EHOSTUNREACH.
func (f *spawnOnFixture) linkLost(t *testing.T) {
	p, mark0 := f.spawnForever(t)
	f.ns[1].Close()
	if st := waitExit(t, p); st.Code != 1 {
		t.Errorf("parent: %+v", st)
	}
	waitFor(t, f.outs[0], "wait: errno 23", mark0)
	f.node2Idle(t)
	f.expect(t, f.run(t, "2", "/progs/child.wasm", "1"), "spawn: errno 23")
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
