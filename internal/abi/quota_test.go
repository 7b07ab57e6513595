package abi_test

import (
	"context"
	"io"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"isle"
)

// lines is a console that also sends the first line matching re to got.
type lines struct {
	console
	re  *regexp.Regexp
	got chan string // buffered: one line
	mu  sync.Mutex
	buf []byte
}

func (l *lines) Write(p []byte) (int, error) {
	l.console.Write(p)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			break
		}
		if line := string(l.buf[:i]); l.re.MatchString(line) {
			select {
			case l.got <- line:
			default: // only the first counts
			}
		}
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

// maxHeapInuse bounds the Go heap while an attacker holds all it could
// queue: a SIP's quotas (64 MiB of heap, 1024 handles, 128 messages an
// endpoint) plus the machine. Before queued messages were charged, each
// attack grew past it within a second (by gigabytes, given time).
const maxHeapInuse = 400 << 20

// TestQueueAttacks runs each program of testdata/hostile/queue-*.c, which
// send to an endpoint nobody reads until they get an error, beside
// examples/pingpong's server and an honest client on the other core: each
// gets "quota exceeded" after a bounded number of messages, the Go heap
// stays below maxHeapInuse while it holds everything it queued, and the
// ping-pong completes.
func TestQueueAttacks(t *testing.T) {
	server := buildC(t, "examples/pingpong/c/server.c")
	client := buildC(t, "examples/pingpong/c/client.c")
	for _, a := range []struct {
		name, path string
		tries      string // the attack's own cap, far past the bound
		max        int64  // the most it may queue
	}{
		{"blocks", "testdata/hostile/queue-blocks.c", "64", 4},
		{"payloads", "testdata/hostile/queue-payloads.c", "20000", 1024},
		{"endpoints", "testdata/hostile/queue-endpoints.c", "200000", 1024},
		{"orphans", "testdata/hostile/queue-orphans.c", "20000", 1024 + 128},
	} {
		t.Run(a.name, func(t *testing.T) {
			attacker := buildC(t, a.path)
			ctx := context.Background()
			out := &lines{re: regexp.MustCompile(`^queued (\d+) `), got: make(chan string, 1)}
			var errs console
			stdin, closeStdin := io.Pipe()
			m, err := isle.Boot(ctx, isle.NewConfig().WithCores(2).WithOversubscribe(true).WithCacheDir(t.TempDir()).WithStdio(stdin, out, &errs))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Stop(ctx)
			defer closeStdin.Close()
			var procs []*isle.Process
			for _, r := range []struct {
				path string
				args []string
				core int
			}{{server, []string{"server", "1"}, 0}, {client, []string{"client", "20000", "8"}, 1}, {attacker, []string{a.name, a.tries}, 0}} {
				prog, err := m.Load(ctx, r.path)
				if err != nil {
					t.Fatal(err)
				}
				p, err := m.SpawnOn(prog, r.args, r.core)
				if err != nil {
					t.Fatal(err)
				}
				procs = append(procs, p)
			}
			ended := make(chan isle.ExitStatus, 1)
			go func() { ended <- procs[2].Wait() }()
			var line string
			select {
			case line = <-out.got:
			case st := <-ended:
				t.Fatalf("the attacker ended (%+v) without reporting; stdout %s; stderr %s", st, out.String(), errs.String())
			case <-time.After(60 * time.Second):
				t.Fatalf("no report from the attacker in 60 s; stdout %s", out.String())
			}
			n, _ := strconv.ParseInt(out.re.FindStringSubmatch(line)[1], 10, 64)
			if !strings.HasSuffix(line, "then quota exceeded") || n > a.max {
				t.Errorf("the attacker printed %q, want at most %d queued, then quota exceeded", line, a.max)
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > maxHeapInuse {
				t.Errorf("heap in use %d MiB while the attacker holds its queue, want below %d MiB", ms.HeapInuse>>20, maxHeapInuse>>20)
			}
			t.Logf("%s; heap in use %d MiB", line, ms.HeapInuse>>20)
			closeStdin.Close()
			if st := <-ended; st.Status() != 0 {
				t.Fatalf("the attacker: %+v; stderr %s", st, errs.String())
			}
			for i, p := range procs[:2] {
				if st := p.Wait(); st.Status() != 0 {
					t.Fatalf("program %d: %+v; stderr %s", i, st, errs.String())
				}
			}
			if o := out.String(); !strings.Contains(o, "client: 20000 rounds of 8 bytes") {
				t.Errorf("the honest client did not finish:\n%s", o)
			}
		})
	}
}
