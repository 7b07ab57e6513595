package isle_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"isle"
	"isle/internal/testprog"
)

// The hostile suite runs every attack program in testdata/hostile/ beside
// an honest SIP (testdata/honest.c) on one machine, and checks that the
// attacker got an error or was ended, that the honest SIP kept working
// (every round of file I/O, clock and spawn succeeded), and that isle
// survived (a Go panic in any core or service would end this test binary).
//
// An attack says what to expect in lines of its first comment, one
// directive a line:
//
//	// isle-test: status 0            the attacker's exit status (default 0)
//	// isle-test: stdout TEXT         its standard output contains TEXT (repeatable)
//	// isle-test: args A B …          its arguments after argv[0]
//	// isle-test: cores N             the machine's cores (default 2)
//	// isle-test: limit KEY=VALUE     a machine limit (see hostileLimits)
//
// The attacker runs on core 0 and the honest SIP on the last core; both see
// /bin (true.wasm, forever.wasm, spinchild.wasm, hello.wasm, and the
// attacker itself as self.wasm, read-only) and /tmp (a fresh directory).
// The honest SIP's rounds while the attack ran, against its rounds in the
// same time alone, are logged: speed is for benchmarks, not tests, on this
// noisy machine.

// attack is one program of testdata/hostile/ and what it expects.
type attack struct {
	name   string
	src    string
	status int
	stdout []string
	args   []string
	cores  int
	limits []string
}

func parseAttack(name, src string) (attack, error) {
	a := attack{name: name, src: src, cores: 2}
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, "// isle-test:")
		if !ok {
			continue
		}
		key, val, _ := strings.Cut(strings.TrimSpace(rest), " ")
		val = strings.TrimSpace(val)
		var err error
		switch key {
		case "status":
			a.status, err = strconv.Atoi(val)
		case "stdout":
			a.stdout = append(a.stdout, val)
		case "args":
			a.args = strings.Fields(val)
		case "cores":
			a.cores, err = strconv.Atoi(val)
		case "limit":
			a.limits = append(a.limits, val)
		default:
			err = fmt.Errorf("unknown directive %q", key)
		}
		if err != nil {
			return a, fmt.Errorf("%s: %v", name, err)
		}
	}
	return a, nil
}

// hostileLimits maps a `limit` directive's key to the Config option it
// sets. Attacks on a budget name the budget they test, so that the suite
// checks it at a size the test machine can afford.
var hostileLimits = map[string]func(isle.Config, string) (isle.Config, error){}

// hostileBin builds the programs every attack may spawn, once.
func hostileBin(t *testing.T) (bin, honest string) {
	t.Helper()
	root := testprog.Root(t)
	bin = t.TempDir()
	copyTo := func(src, name string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyTo(filepath.Join(root, "bench", "testdata", "true.wasm"), "true.wasm")
	copyTo(filepath.Join(root, "examples", "hello-c", "hello-c.wasm"), "hello.wasm")
	copyTo(testdataC(t, "forever"), "forever.wasm")
	copyTo(testdataC(t, "spinchild"), "spinchild.wasm")
	src, err := os.ReadFile(filepath.Join(root, "testdata", "honest.c"))
	if err != nil {
		t.Fatal(err)
	}
	return bin, testprog.C(t, string(src), "-I", filepath.Join(root, "guest", "c"))
}

// linesOf splits a machine's shared stdout into the honest SIP's lines and
// everybody else's.
func linesOf(out string) (honest, others string) {
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

// syncBuffer is an io.Writer that a test may read while the console
// service writes it.
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

// besideHonest runs attacker (nil: none, for the honest SIP's baseline)
// beside the honest SIP. With no attacker, the honest SIP runs for alone.
// It returns the attacker's status and output, and the honest SIP's rounds
// while the attack ran and in all.
type hostileRun struct {
	status     int
	out        string
	during     int // honest rounds completed while the attacker ran
	elapsed    time.Duration
	honestLine string
}

func besideHonest(t *testing.T, bin, honest string, a *attack, attacker string, alone time.Duration) hostileRun {
	t.Helper()
	tmp := t.TempDir()
	cores := 2
	if a != nil {
		cores = a.cores
	}
	var out, errs syncBuffer
	cfg := config().WithCores(cores).WithOversubscribe(true).
		WithDir(isle.Dir{Host: bin, Guest: "/bin", ReadOnly: true}).
		WithDir(isle.Dir{Host: tmp, Guest: "/tmp"}).
		WithStdio(strings.NewReader(""), &out, &errs)
	if a != nil {
		for _, l := range a.limits {
			key, val, _ := strings.Cut(l, "=")
			set, ok := hostileLimits[key]
			if !ok {
				t.Fatalf("%s: unknown limit %q", a.name, key)
			}
			var err error
			if cfg, err = set(cfg, val); err != nil {
				t.Fatalf("%s: limit %s: %v", a.name, l, err)
			}
		}
	}
	ctx := context.Background()
	m, err := isle.Boot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	hp, err := m.Load(ctx, honest)
	if err != nil {
		t.Fatal(err)
	}
	h, err := m.SpawnOn(hp, []string{"honest"}, cores-1)
	if err != nil {
		t.Fatal(err)
	}
	rounds := func() int {
		b, _ := os.ReadFile(filepath.Join(tmp, "rounds"))
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	// The attack starts once the honest SIP is under way, so that its
	// rounds during the attack are rounds of a warm program.
	deadline := time.Now().Add(30 * time.Second)
	for rounds() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the honest SIP did no round in 30 s; stdout %q stderr %q", out.String(), errs.String())
		}
		time.Sleep(time.Millisecond) // polling a host file the SIP writes: no event to wait on
	}
	var r hostileRun
	var start time.Time
	var before int
	if a == nil {
		start, before = time.Now(), rounds()
		time.Sleep(alone) // the baseline: the honest SIP alone for this long
	} else {
		self := filepath.Join(bin, "self.wasm")
		b, err := os.ReadFile(attacker)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(self, b, 0o644)
		ap, err := m.Load(ctx, attacker)
		if err != nil {
			t.Fatalf("%s: load: %v", a.name, err)
		}
		p, err := m.SpawnOn(ap, append([]string{a.name}, a.args...), 0)
		if err != nil {
			t.Fatalf("%s: spawn: %v", a.name, err)
		}
		start, before = time.Now(), rounds()
		done := make(chan isle.ExitStatus, 1)
		go func() { done <- p.Wait() }()
		select {
		case st := <-done:
			r.status = st.Status()
		case <-time.After(60 * time.Second):
			t.Fatalf("%s: still running after 60 s; stdout %q stderr %q", a.name, out.String(), errs.String())
		}
	}
	r.elapsed, r.during = time.Since(start), rounds()-before
	if err := os.WriteFile(filepath.Join(tmp, "stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if st := h.Wait(); st.Status() != 0 {
		t.Errorf("the honest SIP exited %d; stdout %q stderr %q", st.Status(), out.String(), errs.String())
	}
	r.honestLine, r.out = linesOf(out.String())
	return r
}

func TestHostile(t *testing.T) {
	root := testprog.Root(t)
	files, err := filepath.Glob(filepath.Join(root, "testdata", "hostile", "*.c"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no attacks in testdata/hostile")
	}
	bin, honest := hostileBin(t)
	base := besideHonest(t, bin, honest, nil, "", 300*time.Millisecond)
	rate := float64(base.during) / base.elapsed.Seconds()
	t.Logf("the honest SIP alone: %d rounds in %v (%.0f/s)", base.during, base.elapsed.Round(time.Millisecond), rate)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".c")
		a, err := parseAttack(name, string(src))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			wasm := testprog.C(t, a.src, "-I", filepath.Join(root, "guest", "c"))
			r := besideHonest(t, bin, honest, &a, wasm, 0)
			if r.status != a.status {
				t.Errorf("exit status %d, want %d; stdout:\n%s", r.status, a.status, r.out)
			}
			for _, want := range a.stdout {
				if !strings.Contains(r.out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.out)
				}
			}
			if !strings.HasPrefix(r.honestLine, "honest: ") || strings.Contains(r.honestLine, "FAIL") {
				t.Errorf("the honest SIP: %q", r.honestLine)
			}
			share := float64(r.during) / r.elapsed.Seconds() / rate
			t.Logf("%v of attack; the honest SIP did %d rounds meanwhile: %.2f of its rate alone", r.elapsed.Round(time.Millisecond), r.during, share)
		})
	}
}
