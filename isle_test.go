package isle_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// testCache is a compilation cache shared by this binary's machines.
var testCache string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "isle-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCache = d
	st := m.Run()
	os.RemoveAll(d)
	os.Exit(st)
}

func config() isle.Config { return isle.NewConfig().WithCacheDir(testCache) }

func testdataC(t *testing.T, name string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", name+".c"))
	if err != nil {
		t.Fatal(err)
	}
	return testprog.C(t, string(src))
}

// run runs one program on a fresh machine and returns its status and output.
func run(t *testing.T, cfg isle.Config, path string, stdin string, args ...string) (isle.ExitStatus, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cfg = cfg.WithStdio(strings.NewReader(stdin), &out, &errb)
	st, _, err := isle.Run(context.Background(), cfg, path, args)
	if err != nil {
		t.Fatal(err)
	}
	return st, out.String(), errb.String()
}

func TestStdinThroughTheConsoleService(t *testing.T) {
	cat := testdataC(t, "cat")
	input := strings.Repeat("the quick brown fox\n", 5000) // larger than one read
	for _, cores := range []int{1, 3} {
		st, out, errs := run(t, config().WithCores(cores).WithOversubscribe(true), cat, input)
		if st.Status() != 0 || out != strings.ToUpper(input) || errs != fmt.Sprintf("read %d bytes\n", len(input)) {
			t.Errorf("%d cores: status %d, %d bytes out, stderr %q", cores, st.Status(), len(out), errs)
		}
	}
}

func TestPreopensWalkedUntilEBADF(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	cfg := config().WithCores(1).WithDir(isle.Dir{Host: a, Guest: "/data"}).WithDir(isle.Dir{Host: b, Guest: b})
	st, out, _ := run(t, cfg, testdataC(t, "prestat"), "")
	want := "fd 3: /data (filetype 3)\nfd 4: " + b + " (filetype 3)\nfd 5: EBADF\n"
	if st.Status() != 0 || out != want {
		t.Errorf("status %d, stdout:\n%s\nwant:\n%s", st.Status(), out, want)
	}
}

func TestClocksRandomYield(t *testing.T) {
	st, out, _ := run(t, config().WithCores(2).WithOversubscribe(true), testdataC(t, "clocks"), "")
	if st.Status() != 0 || strings.Contains(out, "FAIL") || strings.Count(out, "ok ") != 9 {
		t.Errorf("status %d:\n%s", st.Status(), out)
	}
}

func TestGoSleepFreesTheCore(t *testing.T) {
	sleeper := testprog.Go(t, "./testdata/sleep")
	hello := filepath.Join(testprog.Root(t), "examples", "hello-c", "hello-c.wasm")
	ctx := context.Background()
	var out bytes.Buffer
	m, err := isle.Boot(ctx, config().WithCores(1).WithStdio(nil, &out, &out))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	sp, err := m.Load(ctx, sleeper)
	if err != nil {
		t.Fatal(err)
	}
	hp, err := m.Load(ctx, hello)
	if err != nil {
		t.Fatal(err)
	}
	// The sleeper sleeps for 2 s on the only core; while it sleeps, the
	// other program must run to its end on the same core.
	s, _ := m.SpawnOn(sp, []string{"sleep", "2s"}, 0)
	h, _ := m.SpawnOn(hp, []string{"hello", "--exit", "5"}, 0)
	if st := h.Wait(); st.Status() != 5 {
		t.Fatalf("hello exited %d", st.Status())
	}
	select {
	case <-done(s):
		t.Fatal("the sleeper ended before the other program: it did not sleep")
	default:
	}
	if st := s.Wait(); st.Status() != 0 {
		t.Fatalf("sleeper exited %d", st.Status())
	}
	if !strings.Contains(out.String(), "slept at least 2s: true") {
		t.Errorf("output:\n%s", out.String())
	}
}

func done(p *isle.Process) <-chan struct{} {
	c := make(chan struct{})
	go func() { p.Wait(); close(c) }()
	return c
}

// TestManySIPsOnManyCores spawns SIPs on every core at once; each must exit
// with its own status and print its own lines.
func TestManySIPsOnManyCores(t *testing.T) {
	hello := filepath.Join(testprog.Root(t), "examples", "hello-c", "hello-c.wasm")
	ctx := context.Background()
	var out bytes.Buffer
	m, err := isle.Boot(ctx, config().WithCores(4).WithOversubscribe(true).WithStdio(nil, &out, &out))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, hello)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	procs := make([]*isle.Process, n)
	for i := range procs {
		procs[i], err = m.Spawn(prog, []string{"hello", fmt.Sprintf("sip%d", i), "--exit", fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range procs {
		if st := p.Wait(); st.Status() != i {
			t.Errorf("SIP %d exited %d", i, st.Status())
		}
	}
	m.Stop(ctx)
	for i := 0; i < n; i++ {
		if !strings.Contains(out.String(), fmt.Sprintf("argv[1] = sip%d\n", i)) {
			t.Errorf("no output from SIP %d", i)
		}
	}
	used := 0
	var sips uint64
	for _, c := range m.Stats() {
		if c.SIPs > 0 {
			used++
		}
		sips += c.SIPs
	}
	if sips != n || used < 2 {
		t.Errorf("%d SIPs ran on %d cores; want %d on at least 2", sips, used, n)
	}
}

// TestStopKillsRunningSIPs: Stop kills a SIP asleep in poll_oneoff; it
// ends as killed (137).
func TestStopKillsRunningSIPs(t *testing.T) {
	sleeper := testprog.Go(t, "./testdata/sleep")
	ctx := context.Background()
	out := newLineWriter("sleeping for 1h0m0s\n")
	m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).WithStdio(nil, out, nil))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, sleeper)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Spawn(prog, []string{"sleep", "1h"})
	if err != nil {
		t.Fatal(err)
	}
	// Stop while it sleeps: it has said so, and its next call is the sleep.
	awaitLine(t, out, 30*time.Second)
	m.Stop(ctx)
	if st := p.Wait(); !st.Killed || st.Status() != 137 {
		t.Errorf("after Stop: %+v", st)
	}
}

// TestHelloCIsCurrent proves the committed examples/hello-c/hello-c.wasm is
// built from its source with the flags the README gives.
func TestHelloCIsCurrent(t *testing.T) {
	dir := filepath.Join(testprog.Root(t), "examples", "hello-c")
	out := filepath.Join(t.TempDir(), "hello-c.wasm")
	testprog.CFile(t, filepath.Join(dir, "hello.c"), out)
	got, _ := os.ReadFile(out)
	committed, err := os.ReadFile(filepath.Join(dir, "hello-c.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, committed) {
		t.Fatalf("examples/hello-c/hello-c.wasm is stale: rebuild it with clang %s -o examples/hello-c/hello-c.wasm examples/hello-c/hello.c", strings.Join(testprog.CFlags(), " "))
	}
}

// TestPreemption: a SIP that loops forever without a system call shares its
// core with another SIP, which runs to its end; Stop then kills the looper.
func TestPreemption(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	m, err := isle.Boot(ctx, config().WithCores(1).WithStdio(nil, &out, &out))
	if err != nil {
		t.Fatal(err)
	}
	forever, err := m.LoadBytes(ctx, "forever.wasm", testprog.Module(nil, testprog.InfiniteLoop()))
	if err != nil {
		t.Fatal(err)
	}
	hello, err := m.Load(ctx, filepath.Join(testprog.Root(t), "examples", "hello-c", "hello-c.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	loopers := make([]*isle.Process, 3)
	for i := range loopers {
		loopers[i], _ = m.SpawnOn(forever, []string{"forever"}, 0)
	}
	h, _ := m.SpawnOn(hello, []string{"hello", "--exit", "9"}, 0)
	if st := h.Wait(); st.Status() != 9 {
		t.Fatalf("hello beside the loopers: %+v", st)
	}
	m.Stop(ctx)
	for _, l := range loopers {
		if st := l.Wait(); !st.Killed {
			t.Errorf("looper after Stop: %+v", st)
		}
	}
	var preempted uint64
	for _, c := range m.Stats() {
		preempted += c.Preemptions
	}
	if preempted == 0 {
		t.Error("no preemption counted")
	}
}

// TestGoLoopPreempted: the same with Go loopers (testdata/gospin), whose
// loop is back-edges of main's dispatch loop that the rewriting gives a
// copy of their case, so that they check every second iteration
// (docs/preemption.md).
func TestGoLoopPreempted(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	m, err := isle.Boot(ctx, config().WithCores(1).WithStdio(nil, &out, &out))
	if err != nil {
		t.Fatal(err)
	}
	spin, err := m.Load(ctx, testprog.Go(t, "./testdata/gospin"))
	if err != nil {
		t.Fatal(err)
	}
	hello, err := m.Load(ctx, filepath.Join(testprog.Root(t), "examples", "hello-c", "hello-c.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	loopers := make([]*isle.Process, 2)
	for i := range loopers {
		loopers[i], _ = m.SpawnOn(spin, []string{"gospin"}, 0)
	}
	h, _ := m.SpawnOn(hello, []string{"hello", "--exit", "9"}, 0)
	if st := h.Wait(); st.Status() != 9 {
		t.Fatalf("hello beside the Go loopers: %+v", st)
	}
	m.Stop(ctx)
	for _, l := range loopers {
		if st := l.Wait(); !st.Killed {
			t.Errorf("Go looper after Stop: %+v", st)
		}
	}
}

// guestC compiles a C program of the source tree (its path's elements
// under the root) with isle's guest headers, and returns the .wasm path.
func guestC(t *testing.T, elem ...string) string {
	t.Helper()
	root := testprog.Root(t)
	src, err := os.ReadFile(filepath.Join(append([]string{root}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c"))
}
