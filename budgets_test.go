package isle_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// hostileC builds testdata/hostile/NAME.c (with the guest headers).
func hostileC(t *testing.T, name string) string {
	t.Helper()
	root := testprog.Root(t)
	src, err := os.ReadFile(filepath.Join(root, "testdata", "hostile", name+".c"))
	if err != nil {
		t.Fatal(err)
	}
	return testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c"))
}

// binDir returns a directory holding the given modules under their names,
// to be offered as /bin.
func binDir(t *testing.T, mods map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range mods {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// lines is an io.Writer that keeps what is written and lets a test wait for
// a number of lines matching a pattern.
type lines struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLines() *lines { return &lines{changed: make(chan struct{})} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// wait waits until n lines match re, or the deadline; it returns them.
func (l *lines) wait(t *testing.T, re *regexp.Regexp, n int, d time.Duration) [][]string {
	t.Helper()
	timeout := time.After(d)
	for {
		l.mu.Lock()
		got := re.FindAllStringSubmatch(l.buf.String(), -1)
		ch := l.changed
		l.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("%d lines matching %s after %v, want %d; output:\n%s", len(got), re, d, n, l.String())
		}
	}
}

// honestC is the honest SIP beside the attacks: it allocates and touches
// 1 MiB, computes a fixed sum and prints it.
const honestC = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
	char *p = malloc(1 << 20);
	if (!p) { printf("honest: no memory\n"); return 1; }
	memset(p, 1, 1 << 20);
	unsigned long long s = 0;
	for (unsigned long long i = 0; i < 30000000ULL; i++) s += (i * i) % 7 + p[i & 0xfffff];
	printf("honest: %llu\n", s);
	return 0;
}
`

func honestWant() string {
	s := uint64(0)
	for i := uint64(0); i < 30000000; i++ {
		s += (i*i)%7 + 1
	}
	return fmt.Sprintf("honest: %d\n", s)
}

// peakRSS resets the process's peak RSS (clear_refs 5) and returns a
// function that reports how far the peak has risen above the RSS of now.
func peakRSS(t *testing.T) func() int64 {
	t.Helper()
	read := func(key string) int64 {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			t.Skip("no /proc/self/status")
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == key {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
		t.Skipf("no %s in /proc/self/status", key)
		return 0
	}
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS: %v", err)
	}
	base := read("VmRSS:")
	return func() int64 { return read("VmHWM:") - base }
}

var memhogLine = regexp.MustCompile(`memhog: (\d+) chunks of 64 MiB \(check (\d+)\)`)

// TestMemoryLimitStopsAMemhog: under a 256 MiB limit, memhog's fourth
// 64 MiB malloc returns NULL (memory.grow returned -1): it gets 3 chunks and
// exits by itself. Without the limit it took 63 chunks, 4 GiB.
func TestMemoryLimitStopsAMemhog(t *testing.T) {
	hog := hostileC(t, "memhog")
	st, out, errs := run(t, config().WithCores(1).WithMemoryLimit(256<<20), hog, "")
	m := memhogLine.FindStringSubmatch(out)
	if st.Status() != 0 || m == nil || m[1] != "3" || m[2] != "3" {
		t.Fatalf("status %d, stdout %q, stderr %q: want 3 chunks of 64 MiB", st.Status(), out, errs)
	}
}

// TestMachineMemoryBudget: three memhogs, each allowed 4 GiB, share a
// 512 MiB machine budget beside an honest SIP. Each holds its memory until
// its standard input ends, which the test closes only once all three have
// reported, so the sum of what they got is what they held at once: at most
// 7 chunks (8 would leave nothing for their own heaps). (They used to hold
// until a deadline 2 s after the spawns, which a loaded host could pass
// before the last one had started: 12 chunks "at once".) Each ends by
// itself, the honest SIP finishes with the right answer, isle's peak RSS
// stays near the budget, and every byte is given back.
func TestMachineMemoryBudget(t *testing.T) {
	hog := hostileC(t, "memhog")
	honest := testprog.C(t, honestC)
	const budget = 512 << 20
	rss := peakRSS(t)
	out := newLines()
	ctx := context.Background()
	stdin, release := io.Pipe()
	defer release.Close()
	m, err := isle.Boot(ctx, config().WithCores(2).WithMachineMemory(budget).WithStdio(stdin, out, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	hp, err := m.Load(ctx, hog)
	if err != nil {
		t.Fatal(err)
	}
	gp, err := m.Load(ctx, honest)
	if err != nil {
		t.Fatal(err)
	}
	good, err := m.Spawn(gp, []string{"honest"})
	if err != nil {
		t.Fatal(err)
	}
	var hogs []*isle.Process
	for i := 0; i < 3; i++ {
		p, err := m.Spawn(hp, []string{"memhog", "64", "stdin"})
		if err != nil {
			t.Fatal(err)
		}
		hogs = append(hogs, p)
	}
	out.wait(t, memhogLine, 3, 60*time.Second)
	release.Close()
	for i, p := range hogs {
		if st := p.Wait(); st.Status() != 0 {
			t.Errorf("memhog %d: %+v", i, st)
		}
	}
	if st := good.Wait(); st.Status() != 0 {
		t.Errorf("honest SIP: %+v", st)
	}
	if err := m.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !strings.Contains(text, honestWant()) {
		t.Errorf("the honest SIP's output is missing; stdout:\n%s", text)
	}
	chunks := 0
	for _, l := range memhogLine.FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(l[1])
		chunks += n
	}
	if got := len(memhogLine.FindAllString(text, -1)); got != 3 || chunks > 7 || chunks < 5 {
		t.Errorf("%d memhogs reported %d chunks of 64 MiB in all under a 512 MiB budget: want 3 reporting 5 to 7\n%s", got, chunks, text)
	}
	if peak := rss(); peak > budget+256<<20 {
		t.Errorf("isle's RSS rose by %d MiB under a %d MiB budget", peak>>20, budget>>20)
	}
	if used, _ := m.MemoryInUse(); used != 0 {
		t.Errorf("%d bytes still charged with no SIP left", used)
	}
}

// TestSpawnBombStopsAtTheLimit: a spawn bomb (each SIP spawns 64 copies of
// itself, 3 levels deep) under a limit of 200 descendants gets EAGAIN, never
// has more than 200 SIPs below its root, and ends by itself; an honest SIP
// beside it finishes. Without the limit it was never refused.
func TestSpawnBombStopsAtTheLimit(t *testing.T) {
	bin := binDir(t, map[string]string{"spawnbomb.wasm": hostileC(t, "spawnbomb")})
	honest := testprog.C(t, honestC)
	const limit = 200
	out := newLines()
	ctx := context.Background()
	cfg := config().WithCores(2).WithOversubscribe(true).WithMaxDescendants(limit).
		WithDir(isle.Dir{Host: bin, Guest: "/bin"}).WithStdio(nil, out, out)
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	bp, err := m.Load(ctx, filepath.Join(bin, "spawnbomb.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	gp, err := m.Load(ctx, honest)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := m.Spawn(gp, []string{"honest"})
	bomb, err := m.Spawn(bp, []string{"spawnbomb", "/bin/spawnbomb.wasm", "3", "500"})
	if err != nil {
		t.Fatal(err)
	}
	// Watch the live SIPs while the bomb runs: never more than the limit
	// below the bomb, plus the bomb and the honest SIP.
	most := 0
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-done(bomb):
				return
			default:
			}
			most = max(most, len(m.Live()))
		}
	}()
	st := bomb.Wait()
	<-watched
	if st.Status() != 0 || !strings.Contains(out.String(), "spawnbomb: EAGAIN at the limit") {
		t.Errorf("bomb: status %d; output:\n%s", st.Status(), out.String())
	}
	if most > limit+2 {
		t.Errorf("%d SIPs live at once, with a limit of %d below the bomb", most, limit)
	}
	if st := good.Wait(); st.Status() != 0 || !strings.Contains(out.String(), honestWant()) {
		t.Errorf("honest SIP: %+v; output:\n%s", st, out.String())
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m.WaitIdle(wctx); err != nil {
		t.Fatalf("the machine is not idle after the bomb: %v (live %v)", err, m.Live())
	}
	t.Logf("at most %d SIPs live at once", most)
}

// TestOrphansEndWithTheirParent: a SIP spawns 50 spinners and exits; they
// end with it (killed), and the machine is idle within seconds. Before,
// they spun until the machine stopped.
func TestOrphansEndWithTheirParent(t *testing.T) {
	bin := binDir(t, map[string]string{"orphans.wasm": hostileC(t, "orphans")})
	for _, cores := range []int{1, 2} {
		ctx := context.Background()
		cfg := config().WithCores(cores).WithOversubscribe(true).WithDir(isle.Dir{Host: bin, Guest: "/bin"}).WithStdio(nil, io.Discard, io.Discard)
		m, err := isle.Boot(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := m.Load(ctx, filepath.Join(bin, "orphans.wasm"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.Spawn(prog, []string{"orphans", "/bin/orphans.wasm"})
		if err != nil {
			t.Fatal(err)
		}
		if st := p.Wait(); st.Status() != 0 {
			t.Fatalf("%d cores: orphans: %+v", cores, st)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := m.WaitIdle(wctx); err != nil {
			t.Errorf("%d cores: %d SIPs still live 10 s after their parent exited: %v", cores, len(m.Live()), err)
		}
		cancel()
		m.Stop(ctx)
	}
}

// TestKillAnySIP: the embedder kills, by pid, each of 50 spinning children
// of a SIP on a 2-core machine (wherever balancing has put them): the
// parent's waits return 137 for each. Killing a pid that is gone is
// ErrNoProcess; Process.Kill ends a spinner the embedder spawned.
func TestKillAnySIP(t *testing.T) {
	bin := binDir(t, map[string]string{"orphans.wasm": hostileC(t, "orphans")})
	out := newLines()
	ctx := context.Background()
	cfg := config().WithCores(2).WithOversubscribe(true).WithDir(isle.Dir{Host: bin, Guest: "/bin"}).WithStdio(nil, out, out)
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, filepath.Join(bin, "orphans.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	spinner, err := m.SpawnOn(prog, []string{"orphans", "spin"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := m.Spawn(prog, []string{"orphans", "/bin/orphans.wasm", "wait"})
	if err != nil {
		t.Fatal(err)
	}
	kids := out.wait(t, regexp.MustCompile(`child (\d+)\n`), 50, 20*time.Second)
	for _, k := range kids {
		pid, _ := strconv.ParseInt(k[1], 10, 64)
		if err := m.Kill(pid); err != nil {
			t.Fatalf("Kill(%d): %v", pid, err)
		}
	}
	statuses := out.wait(t, regexp.MustCompile(`status (\d+)\n`), 50, 20*time.Second)
	for _, s := range statuses {
		if s[1] != "137" {
			t.Fatalf("a killed child ended with status %s, want 137", s[1])
		}
	}
	if st := parent.Wait(); st.Status() != 0 {
		t.Errorf("parent: %+v\n%s", st, out.String())
	}
	pid, _ := strconv.ParseInt(kids[0][1], 10, 64)
	if err := m.Kill(pid); !errors.Is(err, isle.ErrNoProcess) {
		t.Errorf("Kill of an ended SIP: %v, want ErrNoProcess", err)
	}
	if err := spinner.Kill(); err != nil {
		t.Fatal(err)
	}
	if st := spinner.Wait(); !st.Killed {
		t.Errorf("spinner after Process.Kill: %+v", st)
	}
	if err := m.Kill(spinner.PID()); !errors.Is(err, isle.ErrNoProcess) {
		t.Errorf("Kill of a killed SIP: %v, want ErrNoProcess", err)
	}
}

// TestMemoryBudgetsAtLoadAndStart: a module whose initial memory (300 MiB
// of static data) passes the per-SIP limit does not load; one whose initial
// memory does not fit in what is left of the machine's budget is refused at
// its spawn, or, if the budget was spent between its spawn and its start,
// traps at its start with "out of memory" (wazero cannot see the first
// allocation of a memory refused, so it is charged before instantiation).
// With room, it runs.
func TestMemoryBudgetsAtLoadAndStart(t *testing.T) {
	big := testprog.C(t, `#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <time.h>
static volatile char big[300 << 20];
int main(int argc, char **argv) {
	big[argc << 20] = 1;
	printf("big %d\n", big[argc << 20]);
	fflush(stdout);
	long long until = argc > 1 ? atoll(argv[1]) : 0; // hold the memory until then
	for (;;) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		if (ts.tv_sec * 1000000000LL + ts.tv_nsec >= until) return 0;
		sched_yield();
	}
}
`)
	ctx := context.Background()
	if _, _, err := isle.Run(ctx, config().WithCores(1).WithMemoryLimit(256<<20).WithStdio(nil, io.Discard, io.Discard), big, nil); err == nil || !strings.Contains(err.Error(), "over limit") {
		t.Errorf("a 300 MiB module under a 256 MiB limit: %v, want a load error", err)
	}
	if _, _, err := isle.Run(ctx, config().WithCores(1).WithMachineMemory(256<<20).WithStdio(nil, io.Discard, io.Discard), big, nil); err == nil || !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("a 300 MiB module under a 256 MiB machine budget: %v, want out of memory", err)
	}
	out := newLines()
	m, err := isle.Boot(ctx, config().WithCores(1).WithMachineMemory(512<<20).WithStdio(nil, out, out))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	prog, err := m.Load(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := m.Spawn(prog, []string{"big", strconv.FormatInt(time.Now().Add(time.Second).UnixNano(), 10)})
	if err != nil {
		t.Fatal(err)
	}
	// A second one while the first holds its 300 MiB: refused at the spawn
	// if the first has started, else at its own start.
	if second, err := m.Spawn(prog, []string{"big"}); err == nil {
		if st := second.Wait(); !strings.HasPrefix(st.Trap, "out of memory") {
			t.Errorf("a second 300 MiB SIP under a 512 MiB budget: %+v, want an out-of-memory trap", st)
		}
	} else if !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("a second 300 MiB SIP under a 512 MiB budget: %v, want out of memory", err)
	}
	if st := holder.Wait(); st.Status() != 0 {
		t.Errorf("the first 300 MiB SIP: %+v", st)
	}
	third, err := m.Spawn(prog, []string{"big"})
	if err != nil {
		t.Fatal(err)
	}
	if st := third.Wait(); st.Status() != 0 || strings.Count(out.String(), "big 1\n") != 2 {
		t.Errorf("a 300 MiB SIP once the budget is free again: %+v; output %q", st, out.String())
	}
}

// TestSpawnOfAModuleThatDoesNotFitIsENOMEM: proc_spawn of a module whose
// initial memory (300 MiB) does not fit in the machine's budget fails with
// ENOMEM (48), as fork does without memory, and the parent goes on.
func TestSpawnOfAModuleThatDoesNotFitIsENOMEM(t *testing.T) {
	big := testprog.C(t, `static volatile char big[300 << 20];
int main(int argc, char **argv) { big[argc << 20] = 1; return big[argc << 20] - 1; }
`)
	bin := binDir(t, map[string]string{"big.wasm": big})
	parent := testprog.C(t, `#include <stdio.h>
#include "isle_proc.h"
int main(void) {
	uint32_t pid;
	printf("spawn: %d\n", isle_proc_spawn("/bin/big.wasm", 13, "big", 4, 0, &pid));
	return 0;
}
`, "-I", filepath.Join(testprog.Root(t), "guest", "c"))
	cfg := config().WithCores(1).WithDir(isle.Dir{Host: bin, Guest: "/bin"})
	if st, out, errs := run(t, cfg.WithMachineMemory(256<<20), parent, ""); st.Status() != 0 || out != "spawn: 48\n" {
		t.Errorf("under a 256 MiB budget: status %d, stdout %q, stderr %q; want ENOMEM (48)", st.Status(), out, errs)
	}
	if st, out, errs := run(t, cfg.WithMachineMemory(512<<20), parent, ""); st.Status() != 0 || out != "spawn: 0\n" {
		t.Errorf("under a 512 MiB budget: status %d, stdout %q, stderr %q; want 0", st.Status(), out, errs)
	}
}
