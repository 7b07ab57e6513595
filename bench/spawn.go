package bench

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"isle"
)

//go:embed testdata/spawner.wasm
var spawnerWasm []byte

//go:embed testdata/idle.wasm
var idleWasm []byte

//go:embed linux/posix_spawn_wait.c
var posixSpawnWaitC []byte

// The spawn suite's sizes.
const (
	spawnRounds = 3   // rounds, alternating isle's rows and Linux's; best of each kept
	spawnN      = 500 // spawns per measurement
)

// idleCounts are the numbers of idle SIPs whose memory the suite measures.
var idleCounts = []int{1000, 10000}

// Spawn measures creating a process and reaping it: a tiny C program
// (bench/testdata/true.c) spawned, run to its exit and waited for, from the
// embedding API and from a parent SIP (bench/testdata/spawner.c) on one
// core and on two, beside fork+exec+wait and posix_spawn+wait of /bin/true
// here, in alternating rounds (best of each); then the memory an idle SIP
// (blocked in a receive, bench/testdata/idle.c) holds, at 1,000 and 10,000
// of them: the growth of the host process's proportional set size (and of
// its RSS, which counts a page shared by n mappings n times) divided by
// their number.
func Spawn(log io.Writer) ([]Row, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "isle-bench-spawn-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "true.wasm"), trueWasm, 0o644); err != nil {
		return nil, err
	}
	measures := []struct {
		name string
		run  func() (float64, error)
	}{
		{"sip_spawn_exit_us", func() (float64, error) { return spawnExit(ctx, spawnN) }},
		{"sip_spawn_exit_from_sip_us", func() (float64, error) { return spawnFromSIP(ctx, dir, 1, spawnN) }},
		{"sip_spawn_exit_from_sip_2cores_us", func() (float64, error) { return spawnFromSIP(ctx, dir, 2, spawnN) }},
		{"linux_fork_exec_wait_us", func() (float64, error) {
			return runC(dir, "fork_exec_wait", forkExecWaitC, nil, strconv.Itoa(spawnN))
		}},
		{"linux_posix_spawn_wait_us", func() (float64, error) {
			return runC(dir, "posix_spawn_wait", posixSpawnWaitC, nil, strconv.Itoa(spawnN))
		}},
	}
	best := map[string]float64{}
	for round := 0; round < spawnRounds; round++ {
		for _, m := range measures {
			v, err := m.run()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m.name, err)
			}
			logf(log, "spawn: round %d %s %.2f", round+1, m.name, v)
			if b, ok := best[m.name]; !ok || v < b {
				best[m.name] = v
			}
		}
	}
	var rows []Row
	for _, m := range measures {
		rows = append(rows, Row{Name: m.name, Value: round3(best[m.name]), Unit: "us"})
	}
	for _, linux := range []string{"linux_fork_exec_wait_us", "linux_posix_spawn_wait_us"} {
		for _, sip := range []string{"sip_spawn_exit_us", "sip_spawn_exit_from_sip_us", "sip_spawn_exit_from_sip_2cores_us"} {
			name := strings.TrimSuffix(linux, "_us") + "_vs_" + strings.TrimSuffix(sip, "_us") + "_ratio"
			rows = append(rows, Row{Name: name, Value: round3(best[linux] / best[sip]), Unit: "x"})
		}
	}
	for _, n := range idleCounts {
		pss, rss, err := idleMemory(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("%d idle SIPs: %w", n, err)
		}
		rows = append(rows,
			Row{Name: fmt.Sprintf("sip_idle_pss_kib_%d", n), Value: round3(pss), Unit: "KiB"},
			Row{Name: fmt.Sprintf("sip_idle_rss_kib_%d", n), Value: round3(rss), Unit: "KiB"})
	}
	logf(log, "spawn: Lunatic publishes no per-process memory figure to set beside these: its README says its processes have \"a small memory footprint\", and asked how many KB a process takes (lunatic-solutions/lunatic discussion #64), its author answered that it depends on the module and to measure it by spawning 100k processes")
	return rows, nil
}

// spawnFromSIP runs bench/testdata/spawner.c on a machine of the given
// cores, spawning true.wasm from dir n times, and returns the mean it
// prints, in µs. A first run of one spawn loads (compiles) true.wasm.
func spawnFromSIP(ctx context.Context, dir string, cores, n int) (float64, error) {
	var out bytes.Buffer
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(cores).WithStdio(nil, &out, io.Discard).
		WithDir(isle.Dir{Host: dir, Guest: "/bin"}))
	if err != nil {
		return 0, err
	}
	defer m.Stop(ctx)
	prog, err := m.LoadBytes(ctx, "spawner.wasm", spawnerWasm)
	if err != nil {
		return 0, err
	}
	var us float64
	for _, k := range []int{1, n} {
		out.Reset()
		p, err := m.SpawnOn(prog, []string{"spawner", "/bin/true.wasm", strconv.Itoa(k)}, 0)
		if err != nil {
			return 0, err
		}
		if st := p.Wait(); st.Status() != 0 {
			return 0, fmt.Errorf("spawner: exit status %d", st.Status())
		}
		if us, err = strconv.ParseFloat(strings.TrimSpace(out.String()), 64); err != nil {
			return 0, fmt.Errorf("spawner printed %q", out.String())
		}
	}
	return us, nil
}

// readyLines counts the lines written to it and closes done at want.
type readyLines struct {
	mu   sync.Mutex
	n    int
	want int
	done chan struct{}
}

func (w *readyLines) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n < w.want {
		if w.n += bytes.Count(b, []byte("\n")); w.n >= w.want {
			close(w.done)
		}
	}
	return len(b), nil
}

// expect resets the count: done closes at the next want lines.
func (w *readyLines) expect(want int) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n, w.want, w.done = 0, want, make(chan struct{})
	return w.done
}

// idleMemory boots a one-core machine, starts one idle SIP (so that what
// every SIP shares is counted before), then n more, and returns the growth
// of the process's Pss and RSS per SIP once all n are blocked in their
// receive, in KiB. Freed Go memory is returned to the host before each
// reading, so garbage is not counted.
func idleMemory(ctx context.Context, n int) (pss, rss float64, err error) {
	out := &readyLines{}
	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(1).WithStdio(nil, out, io.Discard))
	if err != nil {
		return 0, 0, err
	}
	defer m.Stop(ctx)
	prog, err := m.LoadBytes(ctx, "idle.wasm", idleWasm)
	if err != nil {
		return 0, 0, err
	}
	spawn := func(k int) error {
		done := out.expect(k)
		for i := 0; i < k; i++ {
			if _, err := m.SpawnOn(prog, []string{"idle"}, 0); err != nil {
				return err
			}
		}
		select {
		case <-done:
			return nil
		case <-time.After(time.Minute):
			return fmt.Errorf("%d SIPs not ready after a minute", k)
		}
	}
	if err := spawn(1); err != nil {
		return 0, 0, err
	}
	pss0, rss0, err := memoryNow()
	if err != nil {
		return 0, 0, err
	}
	if err := spawn(n); err != nil {
		return 0, 0, err
	}
	pss1, rss1, err := memoryNow()
	if err != nil {
		return 0, 0, err
	}
	return float64(pss1-pss0) / float64(n), float64(rss1-rss0) / float64(n), nil
}

// memoryNow returns the process's Pss and RSS in KiB, after returning
// freed Go memory to the host.
func memoryNow() (pss, rss int64, err error) {
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "Pss:":
			pss, _ = strconv.ParseInt(f[1], 10, 64)
		case "Rss:":
			rss, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	if pss == 0 || rss == 0 {
		return 0, 0, fmt.Errorf("no Pss or Rss in /proc/self/smaps_rollup")
	}
	return pss, rss, nil
}
