package isle

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"isle/internal/cluster/link"
	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/service"
	"isle/internal/wasmbin"
)

// errHostFailure is the error the seams inject.
var errHostFailure = errors.New("injected host failure")

// freeAddr returns a loopback address with a port that was free a moment
// ago: a machine that listens on it and fails to boot must leave it free.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// linkNode starts a cluster link node on loopback, for a machine that is a
// node of a cluster.
func linkNode(t *testing.T) *link.Node {
	t.Helper()
	dir := t.TempDir()
	if err := link.GenerateCerts(dir, []uint64{1}); err != nil {
		t.Fatal(err)
	}
	tc, err := link.LoadTLS(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	n, err := link.Start(link.Config{ID: 1, Listen: "127.0.0.1:0", TLS: tc, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// bootFailure is one step of Boot's construction made to fail.
type bootFailure struct {
	name    string
	cluster bool                                      // the machine is a node of a cluster
	seams   func(record func(*sandbox.Runtime)) seams // the failing seams; record is told of each runtime made
	want    string                                    // in the error
}

func bootFailures() []bootFailure {
	realRuntime := func(record func(*sandbox.Runtime)) func(context.Context, sandbox.Config, []sandbox.HostModule) (*sandbox.Runtime, error) {
		return func(ctx context.Context, cfg sandbox.Config, hosts []sandbox.HostModule) (*sandbox.Runtime, error) {
			rt, err := sandbox.NewRuntime(ctx, cfg, hosts)
			if err == nil {
				record(rt)
			}
			return rt, err
		}
	}
	return []bootFailure{
		{"runtime creation", false, func(func(*sandbox.Runtime)) seams {
			return seams{newRuntime: func(context.Context, sandbox.Config, []sandbox.HostModule) (*sandbox.Runtime, error) {
				return nil, errHostFailure
			}}
		}, "injected host failure"},
		{"second file-system worker", false, func(record func(*sandbox.Runtime)) seams {
			made := 0
			return seams{newRuntime: realRuntime(record), newFS: func(dirs []service.FSDir, fds *service.HostFDs) (*service.FS, error) {
				if made++; made == 2 { // the first is real and holds the directory open
					return nil, errHostFailure
				}
				return service.NewFS(dirs, fds)
			}}
		}, "WithDir: injected host failure"},
		{"kernel boot", false, func(record func(*sandbox.Runtime)) seams {
			return seams{newRuntime: realRuntime(record), bootKernel: func(*kernel.Machine) error { return errHostFailure }}
		}, "injected host failure"},
		{"gateway start", true, func(record func(*sandbox.Runtime)) seams {
			return seams{newRuntime: realRuntime(record), gatewayModule: func() []byte { return []byte("\x00asm, but not a module") }}
		}, "cluster gateway"},
	}
}

// TestBootFailsCleanOnHostFailures: when a step of Boot that no
// configuration makes fail fails (the host refused it), Boot returns the
// error and leaves nothing behind: no goroutine, no descriptor, no
// listener on the address it was to listen on, no open sandbox runtime,
// and GOMAXPROCS as it was. TestBootFailsClean covers the configuration
// errors; these fail past validation, with the runtime, the file-system
// workers, the listener and (for the gateway) the cores already made.
func TestBootFailsCleanOnHostFailures(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	node := linkNode(t)
	probe := wasmbin.CallsModule("isle_none", nil, nil, nil)
	for _, c := range bootFailures() {
		t.Run(c.name, func(t *testing.T) {
			addr := freeAddr(t)
			cfg := NewConfig().WithCores(2).WithOversubscribe(true).WithCacheDir(t.TempDir()).
				WithDir(Dir{Host: dir, Guest: "/d"}).WithListen(addr)
			if c.cluster {
				cfg = cfg.WithCluster(ClusterConfig{Link: node})
			}
			var made []*sandbox.Runtime
			s := c.seams(func(rt *sandbox.Runtime) { made = append(made, rt) })
			// No collection while it runs: the finalizers of a leaked
			// listener or directory would close it and hide the leak.
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			goroutines, fds, procs := runtime.NumGoroutine(), countFDs(t), runtime.GOMAXPROCS(0)
			m, err := boot(ctx, cfg, s)
			if err == nil {
				m.Stop(ctx)
				t.Fatal("Boot succeeded, want the injected failure")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want %q in it", err, c.want)
			}
			if !settlesWithin(2*time.Second, func() bool { return runtime.NumGoroutine() <= goroutines }) {
				t.Errorf("%d goroutines after the failed Boot, %d before", runtime.NumGoroutine(), goroutines)
			}
			if n := countFDs(t); n > fds {
				t.Errorf("%d open descriptors after the failed Boot, %d before", n, fds)
			}
			if got := runtime.GOMAXPROCS(0); got != procs {
				t.Errorf("GOMAXPROCS %d after the failed Boot, %d before", got, procs)
			}
			if ln, err := net.Listen("tcp", addr); err != nil {
				t.Errorf("the machine's listen address %s is still taken: %v", addr, err)
			} else {
				ln.Close()
			}
			if c.name != "runtime creation" && len(made) != 1 {
				t.Fatalf("%d runtimes made, want 1", len(made))
			}
			for _, rt := range made {
				if _, err := rt.Load(ctx, probe); err == nil {
					t.Error("the machine's sandbox runtime still loads programs: it was not closed")
				}
			}
		})
	}
}

// settlesWithin waits at most d for f to hold; it reports whether it did.
// The goroutines a failed Boot started, if any, end on their own time.
func settlesWithin(d time.Duration, f func() bool) bool {
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			return false
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	return true
}
