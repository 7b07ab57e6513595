// Package hostile runs the attack programs of testdata/hostile/ beside an
// honest SIP (testdata/honest.c) on one machine, for the hostile suite of
// the tests (hostile_test.go) and for `isle bench hostile`.
//
// An attack is one C file. It says what to expect in lines of its first
// comment, one directive a line:
//
//	// isle-test: status 0            the attacker's exit status (default 0)
//	// isle-test: stdout TEXT         its standard output contains TEXT (repeatable)
//	// isle-test: args A B …          its arguments after argv[0]
//	// isle-test: cores N             the machine's cores (default 2)
//	// isle-test: limit KEY=VALUE     a machine limit (ApplyLimit's keys)
//
// The rules of a run:
//
//   - The attacker runs on core 0 and the honest SIP on the last core. Both
//     see /tmp (a fresh directory, the first preopen: fd 3) and /bin
//     (true.wasm, forever.wasm, spinchild.wasm, hello.wasm, and the attacker
//     itself as self.wasm; read-only).
//   - The honest SIP works in rounds until /tmp/stop exists, each round
//     touching the file-system service, the clock and (every 16th) the
//     loader and process API; it publishes its count in /tmp/rounds. A run
//     reports the rounds it did while the attack ran, so that its rate can
//     be set beside the honest SIP's rate alone, measured in the same run.
//   - Nothing here panics on a guest's behaviour: every failure is an error.
package hostile

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"isle"
)

// Limits in one place.
const (
	attackDeadline = 60 * time.Second // an attack still running then has hung the machine
	warmDeadline   = 30 * time.Second // the honest SIP's first round
)

// Attack is one program of testdata/hostile/ and what it expects.
type Attack struct {
	Name   string
	Src    string
	Status int
	Stdout []string
	Args   []string
	Cores  int
	Limits []string
}

// Parse reads an attack's directives from its source.
func Parse(name, src string) (Attack, error) {
	a := Attack{Name: name, Src: src, Cores: 2}
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "// isle-test:")
		if !ok {
			continue
		}
		key, val, _ := strings.Cut(strings.TrimSpace(rest), " ")
		val = strings.TrimSpace(val)
		var err error
		switch key {
		case "status":
			a.Status, err = strconv.Atoi(val)
		case "stdout":
			a.Stdout = append(a.Stdout, val)
		case "args":
			a.Args = strings.Fields(val)
		case "cores":
			a.Cores, err = strconv.Atoi(val)
		case "limit":
			k, v, _ := strings.Cut(val, "=")
			if _, err = ApplyLimit(isle.NewConfig(), k, v); err == nil {
				a.Limits = append(a.Limits, val)
			}
		default:
			err = fmt.Errorf("unknown directive %q", key)
		}
		if err != nil {
			return a, fmt.Errorf("%s: %v", name, err)
		}
	}
	return a, nil
}

// ApplyLimit sets the machine limit named by a `limit` directive. Attacks
// on a budget name the budget they test, so that the suite checks it at a
// size the test machine can afford.
//
// Keys are the flags of isle run: memory-limit=SIZE, machine-memory=SIZE,
// max-procs=N.
func ApplyLimit(cfg isle.Config, key, val string) (isle.Config, error) {
	switch key {
	case "memory-limit", "machine-memory":
		n, err := isle.ParseSize(val)
		if err != nil {
			return cfg, fmt.Errorf("limit %s: %v", key, err)
		}
		if key == "memory-limit" {
			return cfg.WithMemoryLimit(n), nil
		}
		return cfg.WithMachineMemory(n), nil
	case "max-procs":
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("limit max-procs: %q is not a count of at least 1", val)
		}
		return cfg.WithMaxDescendants(n), nil
	}
	return cfg, fmt.Errorf("unknown limit %q", key)
}

// Attacks reads every attack in dir (testdata/hostile), by name.
func Attacks(dir string) ([]Attack, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.c"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no attacks in %s", dir)
	}
	sort.Strings(files)
	var as []Attack
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		a, err := Parse(strings.TrimSuffix(filepath.Base(f), ".c"), string(src))
		if err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	return as, nil
}

// Setup is what every run shares: the source tree, a work directory, the
// programs of /bin, the honest SIP and the machine's base configuration.
type Setup struct {
	Root   string      // the isle source tree
	Work   string      // a directory for built programs and each run's /tmp
	Config isle.Config // the base configuration (a compilation cache, say)
	bin    string
	honest string
}

// Prepare builds the honest SIP and the programs of /bin.
func (s *Setup) Prepare() error {
	s.bin = filepath.Join(s.Work, "bin")
	if err := os.MkdirAll(s.bin, 0o755); err != nil {
		return err
	}
	for name, src := range map[string]string{
		"true.wasm":  filepath.Join(s.Root, "bench", "testdata", "true.wasm"),
		"hello.wasm": filepath.Join(s.Root, "examples", "hello-c", "hello-c.wasm"),
	} {
		if err := copyFile(src, filepath.Join(s.bin, name)); err != nil {
			return err
		}
	}
	for _, name := range []string{"forever", "spinchild"} {
		if err := s.BuildC(filepath.Join(s.Root, "testdata", name+".c"), filepath.Join(s.bin, name+".wasm")); err != nil {
			return err
		}
	}
	s.honest = filepath.Join(s.Work, "honest.wasm")
	return s.BuildC(filepath.Join(s.Root, "testdata", "honest.c"), s.honest)
}

// BuildC compiles a C file for wasm32-wasi, with isle's guest headers.
func (s *Setup) BuildC(in, out string) error {
	args := []string{"--target=wasm32-wasi", "-O2", "-Wl,--strip-all", "-I", filepath.Join(s.Root, "guest", "c"), "-o", out, in}
	if b, err := exec.Command("clang", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("clang %s: %v: %s", filepath.Base(in), err, strings.TrimSpace(string(b)))
	}
	return nil
}

// Build compiles an attack into the work directory.
func (s *Setup) Build(a *Attack) (string, error) {
	src := filepath.Join(s.Work, a.Name+".c")
	if err := os.WriteFile(src, []byte(a.Src), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(s.Work, a.Name+".wasm")
	return out, s.BuildC(src, out)
}

// Result is what one run saw.
type Result struct {
	Status  int           // the attacker's exit status
	Out     string        // the machine's stdout but the honest SIP's line
	Honest  string        // the honest SIP's last line ("honest: N rounds")
	During  int           // the honest SIP's rounds while the attack ran
	Elapsed time.Duration // how long the attack ran
}

// Rate is the honest SIP's rounds per second while the attack ran.
func (r Result) Rate() float64 { return float64(r.During) / r.Elapsed.Seconds() }

// Check returns how r differs from what a expects; nil when it does not.
func (a *Attack) Check(r Result) []string {
	var bad []string
	if r.Status != a.Status {
		bad = append(bad, fmt.Sprintf("exit status %d, want %d", r.Status, a.Status))
	}
	for _, want := range a.Stdout {
		if !strings.Contains(r.Out, want) {
			bad = append(bad, fmt.Sprintf("stdout lacks %q", want))
		}
	}
	if !strings.HasPrefix(r.Honest, "honest: ") || strings.Contains(r.Honest, "FAIL") {
		bad = append(bad, fmt.Sprintf("the honest SIP printed %q", r.Honest))
	}
	return bad
}

// Alone runs the honest SIP by itself for d: the baseline of its rate.
func (s *Setup) Alone(ctx context.Context, d time.Duration) (Result, error) {
	return s.run(ctx, nil, "", d)
}

// Run runs the attacker (built from a) beside the honest SIP until it ends.
func (s *Setup) Run(ctx context.Context, a *Attack, wasm string) (Result, error) {
	return s.run(ctx, a, wasm, 0)
}

func (s *Setup) run(ctx context.Context, a *Attack, wasm string, alone time.Duration) (r Result, err error) {
	tmp, err := os.MkdirTemp(s.Work, "tmp-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(tmp)
	rs := &runState{tmp: tmp}
	cfg, cores, err := s.machineConfig(a, rs)
	if err != nil {
		return r, err
	}
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		return r, err
	}
	defer m.Stop(ctx)
	hp, err := m.Load(ctx, s.honest)
	if err != nil {
		return r, err
	}
	h, err := m.SpawnOn(hp, []string{"honest"}, cores-1)
	if err != nil {
		return r, err
	}
	if err := rs.warm(); err != nil {
		return r, err
	}
	var start time.Time
	var before int
	if a == nil {
		start, before = time.Now(), rs.rounds()
		time.Sleep(alone) // the baseline: the honest SIP alone for this long
	} else if start, before, r.Status, err = s.attack(ctx, m, a, wasm, rs); err != nil {
		return r, err
	}
	r.Elapsed, r.During = time.Since(start), rs.rounds()-before
	if err := os.WriteFile(filepath.Join(tmp, "stop"), nil, 0o644); err != nil {
		return r, err
	}
	if st := h.Wait(); st.Status() != 0 {
		return r, rs.fail("the honest SIP exited %d", st.Status())
	}
	r.Honest, r.Out = splitHonest(rs.out.String())
	return r, nil
}

// runState is one run's: its /tmp on the host and the machine's output.
type runState struct {
	tmp       string
	out, errs syncBuffer
}

// machineConfig is the machine of one run: s.Config with the attack's
// cores and limits (two cores when a is nil), /tmp and /bin, and rs's
// output.
func (s *Setup) machineConfig(a *Attack, rs *runState) (isle.Config, int, error) {
	cores := 2
	cfg := s.Config
	if a != nil {
		cores = a.Cores
		for _, l := range a.Limits {
			k, v, _ := strings.Cut(l, "=")
			var err error
			if cfg, err = ApplyLimit(cfg, k, v); err != nil {
				return cfg, 0, err
			}
		}
	}
	cfg = cfg.WithCores(cores).WithOversubscribe(true).
		WithDir(isle.Dir{Host: rs.tmp, Guest: "/tmp"}).
		WithDir(isle.Dir{Host: s.bin, Guest: "/bin", ReadOnly: true}).
		WithStdio(strings.NewReader(""), &rs.out, &rs.errs)
	return cfg, cores, nil
}

// fail is an error that carries what the machine printed.
func (rs *runState) fail(format string, args ...any) error {
	return fmt.Errorf("%s; stdout %q, stderr %q", fmt.Sprintf(format, args...), rs.out.String(), rs.errs.String())
}

// rounds is the count the honest SIP last published.
func (rs *runState) rounds() int {
	b, _ := os.ReadFile(filepath.Join(rs.tmp, "rounds"))
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// warm waits for the honest SIP's first round. The attack starts once the
// honest SIP is under way, so that its rounds during the attack are rounds
// of a warm program.
func (rs *runState) warm() error {
	deadline := time.Now().Add(warmDeadline)
	for rs.rounds() == 0 {
		if time.Now().After(deadline) {
			return rs.fail("the honest SIP did no round in %v", warmDeadline)
		}
		time.Sleep(time.Millisecond) // a host file the SIP writes: there is no event to wait on
	}
	return nil
}

// attack spawns the attacker on core 0 and waits for its exit, at most
// attackDeadline. It returns when it started, the honest SIP's rounds
// then, and the attacker's exit status.
func (s *Setup) attack(ctx context.Context, m *isle.Machine, a *Attack, wasm string, rs *runState) (time.Time, int, int, error) {
	if err := copyFile(wasm, filepath.Join(s.bin, "self.wasm")); err != nil {
		return time.Time{}, 0, 0, err
	}
	ap, err := m.Load(ctx, wasm)
	if err != nil {
		return time.Time{}, 0, 0, fmt.Errorf("load: %v", err)
	}
	p, err := m.SpawnOn(ap, append([]string{a.Name}, a.Args...), 0)
	if err != nil {
		return time.Time{}, 0, 0, fmt.Errorf("spawn: %v", err)
	}
	start, before := time.Now(), rs.rounds()
	done := make(chan isle.ExitStatus, 1)
	go func() { done <- p.Wait() }()
	select {
	case st := <-done:
		return start, before, st.Status(), nil
	case <-time.After(attackDeadline):
		return time.Time{}, 0, 0, rs.fail("still running after %v", attackDeadline)
	}
}

// splitHonest splits the machine's output into the honest SIP's lines and
// the others'.
func splitHonest(out string) (honest, others string) {
	var h, o strings.Builder
	for _, l := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(l, "honest:") {
			h.WriteString(l)
		} else {
			o.WriteString(l)
		}
	}
	return h.String(), o.String()
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// syncBuffer is a writer that the harness reads while the console service
// writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
