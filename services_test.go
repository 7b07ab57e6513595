package isle_test

// Tests of the services' robustness (issue 11, items 2, 5, 8, 9): the order
// of shutdown, waits that do not hold a shared worker, kills that cut waits
// short, fd quotas and no host fd left behind.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"isle"
	"isle/internal/service"
	"isle/internal/testprog"
)

// watch is an output that a test can wait on: it records what is written
// and wakes waiters at each write.
type watch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	wake chan struct{} // closed and replaced at each write
}

func newWatch() *watch { return &watch{wake: make(chan struct{})} }

func (w *watch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	close(w.wake)
	w.wake = make(chan struct{})
	return len(p), nil
}

func (w *watch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor waits until the output holds s, failing the test at the deadline.
func (w *watch) waitFor(t *testing.T, s string, deadline time.Time) {
	t.Helper()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		w.mu.Lock()
		has, wake := strings.Contains(w.buf.String(), s), w.wake
		w.mu.Unlock()
		if has {
			return
		}
		select {
		case <-wake:
		case <-timer.C:
			t.Fatalf("no %q in the output by the deadline; output:\n%s", s, w.String())
		}
	}
}

// waitDone waits for p to end, failing the test at the deadline.
func waitDone(t *testing.T, p *isle.Process, deadline time.Time, what string) isle.ExitStatus {
	t.Helper()
	done := make(chan isle.ExitStatus, 1)
	go func() { done <- p.Wait() }()
	select {
	case st := <-done:
		return st
	case <-time.After(time.Until(deadline)):
		t.Fatalf("%s: the process had not ended by the deadline", what)
	}
	return isle.ExitStatus{}
}

// TestStopAfterReleasingManyFiles: a program that opens 500 files and
// returns from main (no proc_exit: the exit hook releases the files by a
// message to the file-system worker) ends cleanly, run after run: stopping
// the machine waits for the worker to serve that release and closes the
// worker's files on its own goroutine (under -race, this raced and
// sometimes panicked with an index out of range).
func TestStopAfterReleasingManyFiles(t *testing.T) {
	prog := testdataC(t, "openmany")
	runs := 50
	if testing.Short() {
		runs = 10
	}
	for i := 0; i < runs; i++ {
		dir := t.TempDir()
		st, out, errs := run(t, config().WithCores(2).WithOversubscribe(true).
			WithDir(isle.Dir{Host: dir, Guest: "/d"}), prog, "", "500")
		if st.Status() != 0 {
			t.Fatalf("run %d: status %d: %s%s", i, st.Status(), out, errs)
		}
	}
}

// TestStopAfterReleasingManySockets: the same with 200 accepted connections
// left open at the end of main, released through the network worker.
func TestStopAfterReleasingManySockets(t *testing.T) {
	prog := testdataC(t, "sockwait")
	runs := 10
	if testing.Short() {
		runs = 3
	}
	const conns = 200
	for i := 0; i < runs; i++ {
		ctx := context.Background()
		out := newWatch()
		m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).
			WithListen("127.0.0.1:0").WithStdio(nil, out, out))
		if err != nil {
			t.Fatal(err)
		}
		pg, err := m.Load(ctx, prog)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := m.Spawn(pg, []string{"sockwait", "hold", fmt.Sprint(conns)})
		var cs []net.Conn
		for k := 0; k < conns; k++ {
			c, err := net.Dial("tcp", m.ListenAddrs()[0])
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		st := waitDone(t, p, time.Now().Add(60*time.Second), "hold")
		m.Stop(ctx)
		for _, c := range cs {
			c.Close()
		}
		if st.Status() != 0 || out.String() != fmt.Sprintf("held %d\n", conns) {
			t.Fatalf("run %d: status %d: %s", i, st.Status(), out.String())
		}
	}
}

// procBin copies compiled programs into a fresh directory, as name.wasm, for
// a parent to spawn from /bin.
func procBin(t *testing.T, progs map[string]string) string {
	t.Helper()
	bin := t.TempDir()
	for name, path := range progs {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, name+".wasm"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

func killwait(t *testing.T) string {
	t.Helper()
	root := testprog.Root(t)
	src, err := os.ReadFile(filepath.Join(root, "testdata", "killwait.c"))
	if err != nil {
		t.Fatal(err)
	}
	return testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c"))
}

// TestIdleRecvHoldsNoWorker: on one core (so one network worker), a SIP
// blocked in sock_recv on an idle connection does not stop another SIP from
// accepting and serving 20 connections promptly.
func TestIdleRecvHoldsNoWorker(t *testing.T) {
	ctx := context.Background()
	out := newWatch()
	m, err := isle.Boot(ctx, config().WithCores(1).WithListen("127.0.0.1:0").WithStdio(nil, out, out))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, testdataC(t, "sockwait"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	idle, _ := m.Spawn(prog, []string{"sockwait", "recv", "idle: "})
	addr := m.ListenAddrs()[0]
	quiet, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	out.waitFor(t, "idle: accepted\n", deadline)
	const n = 20
	server, _ := m.Spawn(prog, []string{"sockwait", "serve", fmt.Sprint(n), "server: "})
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(deadline)
		msg := fmt.Sprintf("hello %d\n", i)
		io.WriteString(c, msg)
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(got) != strings.ToUpper(msg) {
			t.Fatalf("connection %d: got %q, %v (the server is held up); output:\n%s", i, got, err, out.String())
		}
	}
	if st := waitDone(t, server, deadline, "server"); st.Status() != 0 {
		t.Fatalf("server: status %d; output:\n%s", st.Status(), out.String())
	}
	quiet.Close()
	if st := waitDone(t, idle, deadline, "idle"); st.Status() != 0 {
		t.Fatalf("idle: status %d; output:\n%s", st.Status(), out.String())
	}
}

// TestKillCutsSocketWaits: a parent kills a child blocked in sock_recv on
// an idle connection, or in sock_accept with no client coming; the kill
// cuts the wait short and the parent's wait returns at once.
func TestKillCutsSocketWaits(t *testing.T) {
	parent := killwait(t)
	bin := procBin(t, map[string]string{"sockwait": testdataC(t, "sockwait")})
	for _, mode := range []string{"recv", "accept"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			out := newWatch()
			stdin, feed := io.Pipe()
			defer feed.Close()
			m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).WithListen("127.0.0.1:0").
				WithDir(isle.Dir{Host: bin, Guest: "/bin"}).WithStdio(stdin, out, out))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Stop(ctx)
			prog, err := m.Load(ctx, parent)
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			p, _ := m.Spawn(prog, []string{"killwait", "/bin/sockwait.wasm", "sockwait", mode})
			if mode == "recv" {
				c, err := net.Dial("tcp", m.ListenAddrs()[0])
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				out.waitFor(t, "accepted\n", deadline)
			} else {
				out.waitFor(t, "accepting\n", deadline)
			}
			io.WriteString(feed, "kill\n")
			if st := waitDone(t, p, deadline, "killwait"); st.Status() != 0 || !strings.Contains(out.String(), "killed: status 137\n") {
				t.Fatalf("status %d; output:\n%s", st.Status(), out.String())
			}
		})
	}
}

// TestKillMidOpenLeavesNoHostFD: a parent kills 500 children in the middle
// of an open/close loop; the host's fd count does not grow (a kill while
// the child waited for its open's reply left that file open for nobody).
// One core, so one file-system worker and one ring to it: the parent's last
// file call comes back only after its children's requests were served.
func TestKillMidOpenLeavesNoHostFD(t *testing.T) {
	parent := guestC(t, "testdata", "killchildren.c")
	bin := procBin(t, map[string]string{"openclose": testdataC(t, "openclose")})
	ctx := context.Background()
	out := newWatch()
	m, err := isle.Boot(ctx, config().WithCores(1).WithDir(isle.Dir{Host: bin, Guest: "/bin"}).
		WithDir(isle.Dir{Host: t.TempDir(), Guest: "/d"}).WithStdio(nil, out, out))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, parent)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(120 * time.Second)
	spawn := func(rounds int) {
		t.Helper()
		out.mu.Lock()
		out.buf.Reset()
		out.mu.Unlock()
		p, _ := m.Spawn(prog, []string{"killloop", "/bin/openclose.wasm", fmt.Sprint(rounds)})
		if st := waitDone(t, p, deadline, "killloop"); st.Status() != 0 || out.String() != fmt.Sprintf("rounds %d\n", rounds) {
			t.Fatalf("status %d; output:\n%s", st.Status(), out.String())
		}
	}
	spawn(4) // the loader's and the worker's own descriptors
	before := openFDs(t)
	spawn(500)
	if after := openFDs(t); after > before {
		t.Errorf("%d host fds before 500 kills mid-loop, %d after: %v", before, after, fdTargets(t))
	}
}

// fdTargets lists what the process's open descriptors name, for a failure
// message.
func fdTargets(t *testing.T) []string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var names []string
	for _, e := range ents {
		l, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		names = append(names, e.Name()+"→"+filepath.Base(l))
	}
	return names
}

// slowModule is a module whose one function nests n blocks: wazero's
// compile time grows with n² (20,000 take about 4 s here, 60,000 about 40).
func slowModule(n int) []byte {
	body := append(bytes.Repeat([]byte{0x02, 0x40}, n), bytes.Repeat([]byte{0x0B}, n)...)
	return testprog.Module(nil, body)
}

// TestSlowCompileHoldsNoSpawn: while the loader compiles a module that takes
// seconds, another SIP's spawn of a small module completes; then the
// machine stops without waiting for the compile.
func TestSlowCompileHoldsNoSpawn(t *testing.T) {
	root := testprog.Root(t)
	parent := guestC(t, "testdata", "spawnone.c")
	bin := procBin(t, map[string]string{"hello": filepath.Join(root, "examples", "hello-c", "hello-c.wasm")})
	if err := os.WriteFile(filepath.Join(bin, "slow.wasm"), slowModule(20000), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out := newWatch()
	// No compilation cache: the slow module must be compiled in this run.
	m, err := isle.Boot(ctx, isle.NewConfig().WithCacheDir("").WithCores(2).WithOversubscribe(true).
		WithDir(isle.Dir{Host: bin, Guest: "/bin"}).WithStdio(nil, out, out))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(ctx, parent)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(120 * time.Second)
	m.Spawn(prog, []string{"spawnone", "slow", "/bin/slow.wasm"})
	out.waitFor(t, "slow spawning\n", deadline)
	small, _ := m.Spawn(prog, []string{"spawnone", "small", "/bin/hello.wasm"})
	if st := waitDone(t, small, deadline, "small"); st.Status() != 0 || !strings.Contains(out.String(), "small exited 0\n") {
		t.Fatalf("small: status %d; output:\n%s", st.Status(), out.String())
	}
	if strings.Contains(out.String(), "slow spawned") {
		t.Fatalf("the small spawn completed only after the slow compile; output:\n%s", out.String())
	}
	stopped := make(chan struct{})
	go func() { m.Stop(ctx); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(time.Until(deadline)):
		t.Fatal("Stop waited for the slow compile")
	}
}

func fdhog(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testprog.Root(t), "testdata", "hostile", "fdhog.c"))
	if err != nil {
		t.Fatal(err)
	}
	return testprog.C(t, string(src))
}

// fdHogs boots a 2-core machine with /d (a fresh directory) and /bin (the C
// hello) and starts n fdhog SIPs, which hold their files until feed closes.
func fdHogs(t *testing.T, n int) (*isle.Machine, *watch, *io.PipeWriter, []*isle.Process) {
	t.Helper()
	ctx := context.Background()
	out := newWatch()
	stdin, feed := io.Pipe()
	root := testprog.Root(t)
	bin := procBin(t, map[string]string{"hello": filepath.Join(root, "examples", "hello-c", "hello-c.wasm")})
	m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).
		WithDir(isle.Dir{Host: t.TempDir(), Guest: "/d"}).WithDir(isle.Dir{Host: bin, Guest: "/bin"}).
		WithStdio(stdin, out, out))
	if err != nil {
		t.Fatal(err)
	}
	hog, err := m.Load(ctx, fdhog(t))
	if err != nil {
		m.Stop(ctx)
		t.Fatal(err)
	}
	var hogs []*isle.Process
	for i := 0; i < n; i++ {
		p, err := m.Spawn(hog, []string{"fdhog", fmt.Sprint(i)})
		if err != nil {
			m.Stop(ctx)
			t.Fatal(err)
		}
		hogs = append(hogs, p)
	}
	return m, out, feed, hogs
}

// TestFDHogsMeetTheirQuota: six SIPs open files until an open fails; each
// stops at its quota with EMFILE (before: the host's limit, with EIO), and
// while they hold their files an honest SIP opens a file and spawns.
func TestFDHogsMeetTheirQuota(t *testing.T) {
	m, out, feed, hogs := fdHogs(t, 6)
	defer feed.Close()
	defer m.Stop(context.Background())
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; i < 6; i++ {
		out.waitFor(t, fmt.Sprintf("fdhog %d: opened ", i), deadline)
	}
	for i := 0; i < 6; i++ {
		if want := fmt.Sprintf("fdhog %d: opened %d, then EMFILE\n", i, service.MaxFilesPerSIP); !strings.Contains(out.String(), want) {
			t.Errorf("no %q in the output:\n%s", want, out.String())
		}
	}
	honestOpen(t, m, deadline, 0)
	honestSpawn(t, m, deadline)
	feed.Close()
	for _, p := range hogs {
		waitDone(t, p, deadline, "fdhog")
	}
}

// honestOpen runs openmany: it must open one file and end with want.
func honestOpen(t *testing.T, m *isle.Machine, deadline time.Time, want int) {
	t.Helper()
	prog, err := m.Load(context.Background(), testdataC(t, "openmany"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := m.Spawn(prog, []string{"openmany", "1"})
	if st := waitDone(t, p, deadline, "openmany"); st.Status() != want {
		t.Errorf("an honest open: status %d, want %d", st.Status(), want)
	}
}

// honestSpawn runs spawnone: it must spawn /bin/hello.wasm.
func honestSpawn(t *testing.T, m *isle.Machine, deadline time.Time) {
	t.Helper()
	root := testprog.Root(t)
	src, err := os.ReadFile(filepath.Join(root, "testdata", "spawnone.c"))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := m.Load(context.Background(), testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c")))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := m.Spawn(prog, []string{"spawnone", "honest", "/bin/hello.wasm"})
	if st := waitDone(t, p, deadline, "spawnone"); st.Status() != 0 {
		t.Errorf("an honest spawn: status %d", st.Status())
	}
}

// TestFDHogsMeetTheMachineBudget: with the host's limit lowered to 1,800
// descriptors, the services' budget is 1,800 − HostFDReserve: two hogs
// share it and the last open of each fails with EMFILE (its quota) or
// ENFILE (the budget), at least one ENFILE; an honest SIP can still spawn
// (the reserve), and open a file once the hogs are gone.
func TestFDHogsMeetTheMachineBudget(t *testing.T) {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	const limit = 1800
	if old.Cur < limit {
		t.Skipf("the host allows %d descriptors", old.Cur)
	}
	low := old
	low.Cur = limit
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	defer unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
	m, out, feed, hogs := fdHogs(t, 2)
	defer feed.Close()
	defer m.Stop(context.Background())
	deadline := time.Now().Add(60 * time.Second)
	total, enfile := 0, 0
	for i := 0; i < 2; i++ {
		out.waitFor(t, fmt.Sprintf("fdhog %d: opened ", i), deadline)
	}
	for i := 0; i < 2; i++ {
		var tag, n int
		var errno string
		line := out.String()[strings.Index(out.String(), fmt.Sprintf("fdhog %d:", i)):]
		if k, _ := fmt.Sscanf(line, "fdhog %d: opened %d, then %s", &tag, &n, &errno); k != 3 || (errno != "EMFILE" && errno != "ENFILE") {
			t.Fatalf("hog %d: %q", i, line)
		}
		total += n
		if errno == "ENFILE" {
			enfile++
		}
	}
	if want := limit - service.HostFDReserve; total != want || enfile == 0 {
		t.Errorf("the hogs opened %d files (%d ENFILE), want %d and an ENFILE; output:\n%s", total, enfile, want, out.String())
	}
	honestSpawn(t, m, deadline)
	honestOpen(t, m, deadline, 1) // ENFILE: the budget is spent
	feed.Close()
	for _, p := range hogs {
		waitDone(t, p, deadline, "fdhog")
	}
	honestOpen(t, m, deadline, 0)
}

// TestKillCutsASlowLoad: a parent kills a child whose proc_spawn waits for
// the loader to compile a slow module (40,000 nested blocks: about 17 s
// here); the kill answers the child's request at once instead of after the
// compile. Not in -short: the compile still runs to its end on its
// goroutine (wazero does not look at the context inside a function).
func TestKillCutsASlowLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("leaves a long compile running")
	}
	mid := guestC(t, "testdata", "spawnone.c")
	bin := procBin(t, map[string]string{"spawnone": mid})
	if err := os.WriteFile(filepath.Join(bin, "slow.wasm"), slowModule(40000), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out := newWatch()
	stdin, feed := io.Pipe()
	defer feed.Close()
	m, err := isle.Boot(ctx, isle.NewConfig().WithCacheDir("").WithCores(2).WithOversubscribe(true).
		WithDir(isle.Dir{Host: bin, Guest: "/bin"}).WithStdio(stdin, out, out))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, killwait(t))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := m.Spawn(prog, []string{"killwait", "/bin/spawnone.wasm", "spawnone", "mid", "/bin/slow.wasm"})
	out.waitFor(t, "mid spawning\n", time.Now().Add(60*time.Second))
	io.WriteString(feed, "kill\n")
	if st := waitDone(t, p, time.Now().Add(5*time.Second), "killwait"); st.Status() != 0 || !strings.Contains(out.String(), "killed: status 137\n") {
		t.Fatalf("status %d; output:\n%s", st.Status(), out.String())
	}
}

// TestSlowSpawnAttack: testdata/hostile/slowspawn.c builds a module that
// takes seconds to compile and spawns it; meanwhile an honest SIP spawns
// and opens a file, and the attacker ends by itself.
func TestSlowSpawnAttack(t *testing.T) {
	root := testprog.Root(t)
	attacker := guestC(t, "testdata", "hostile", "slowspawn.c")
	bin := procBin(t, map[string]string{"hello": filepath.Join(root, "examples", "hello-c", "hello-c.wasm")})
	ctx := context.Background()
	out := newWatch()
	m, err := isle.Boot(ctx, isle.NewConfig().WithCacheDir("").WithCores(2).WithOversubscribe(true).
		WithDir(isle.Dir{Host: t.TempDir(), Guest: "/d"}).WithDir(isle.Dir{Host: bin, Guest: "/bin"}).
		WithStdio(nil, out, out))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, attacker)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(120 * time.Second)
	p, _ := m.Spawn(prog, []string{"slowspawn"})
	out.waitFor(t, "slowspawn: compiling\n", deadline)
	honestSpawn(t, m, deadline)
	honestOpen(t, m, deadline, 0)
	if strings.Contains(out.String(), "slowspawn: spawned") {
		t.Fatalf("the honest SIP finished only after the slow compile; output:\n%s", out.String())
	}
	if st := waitDone(t, p, deadline, "slowspawn"); st.Status() != 0 || !strings.Contains(out.String(), "slowspawn: spawned\n") {
		t.Fatalf("slowspawn: status %d; output:\n%s", st.Status(), out.String())
	}
}

// TestKillCutsAStdinRead: a parent kills a child blocked reading stdin
// (nothing comes); the kill takes effect at once, and what the machine's
// stdin brings later goes to the next reader.
func TestKillCutsAStdinRead(t *testing.T) {
	parent := guestC(t, "testdata", "killready.c")
	bin := procBin(t, map[string]string{"stdinread": testdataC(t, "stdinread")})
	ctx := context.Background()
	out := newWatch()
	stdin, feed := io.Pipe()
	defer feed.Close()
	m, err := isle.Boot(ctx, config().WithCores(2).WithOversubscribe(true).WithDir(isle.Dir{Host: bin, Guest: "/bin"}).
		WithDir(isle.Dir{Host: t.TempDir(), Guest: "/d"}).WithStdio(stdin, out, out))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, parent)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	p, _ := m.Spawn(prog, []string{"killready", "/bin/stdinread.wasm"})
	if st := waitDone(t, p, deadline, "killready"); st.Status() != 0 || out.String() != "killed: status 137\n" {
		t.Fatalf("status %d; output:\n%s", st.Status(), out.String())
	}
	cat, err := m.Load(ctx, testdataC(t, "cat"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := m.Spawn(cat, []string{"cat"})
	io.WriteString(feed, "late\n")
	feed.Close()
	if st := waitDone(t, c, deadline, "cat"); st.Status() != 0 || !strings.Contains(out.String(), "LATE\nread 5 bytes\n") {
		t.Fatalf("cat: status %d; output:\n%s", st.Status(), out.String())
	}
}
