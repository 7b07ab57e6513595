package isle_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"isle"
)

// settles waits, a bounded time, for f to hold; it reports whether it did.
// The goroutines a failed Boot started, if any, end on their own time, so a
// count taken at once could miss one that is about to end.
func settles(f func() bool) bool {
	deadline := time.Now().Add(2 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			return false
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	return true
}

// TestBootFailsClean: for every configuration error Boot reports, it
// returns an *isle.ConfigError that names the Config option (WithCores:
// …), and leaves nothing behind: no goroutine, no descriptor (listener,
// file-system worker's directory, compilation cache) and GOMAXPROCS as it
// was. Before, an error of WithCoreCapacity left the sandbox runtime open
// (a descriptor more after each failed Boot), and a failing kernel Boot
// would have left the workers' files and the listeners open.
func TestBootFailsClean(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	base := isle.NewConfig().WithCores(1).WithCacheDir("")
	cases := []struct {
		name   string
		cfg    isle.Config
		option string
		want   string
	}{
		{"no cores", base.WithCores(-1), "WithCores", "WithCores -1: a machine needs at least one core"},
		{"past MaxCores", base.WithCores(isle.MaxCores + 1).WithOversubscribe(true), "WithCores", "at most 1024 cores"},
		{"more cores than CPUs", base.WithCores(isle.HostCPUs() + 1), "WithCores", "(add WithOversubscribe to run more cores than CPUs)"},
		{"missing dir", base.WithDir(isle.Dir{Host: filepath.Join(dir, "none"), Guest: "/d"}), "WithDir", "no such directory"},
		{"dir is a file", base.WithDir(isle.Dir{Host: file, Guest: "/d"}), "WithDir", "not a directory"},
		{"dir under a file", base.WithDir(isle.Dir{Host: filepath.Join(file, "sub"), Guest: "/d"}), "WithDir", "not a directory"},
		{"cache is a file", base.WithCacheDir(file), "WithCacheDir", "not a directory"},
		{"cache under a file", base.WithCacheDir(filepath.Join(file, "sub")), "WithCacheDir", "not a directory"},
		{"memory limit", base.WithMemoryLimit(1), "WithMemoryLimit", "must be between 64K and 4G"},
		{"machine memory", base.WithMachineMemory(1), "WithMachineMemory", "must be at least 64K"},
		{"descendants", base.WithMaxDescendants(-1), "WithMaxDescendants", "must be at least 1"},
		{"trace events", base.WithTrace(io.Discard, -5), "WithTrace", "want between 1 and"},
		{"capacity of no core", base.WithCoreCapacity(7, 512), "WithCoreCapacity", "no core 7 on a 1-core machine"},
		{"capacity out of range", base.WithCoreCapacity(0, 5000), "WithCoreCapacity", "capacity 5000 is not between 1 and 1024"},
		{"unknown table", base.WithTables(isle.TablesConfig{"bogus": isle.TableShared}), "WithTables", `no table "bogus"`},
		{"listen in use", base.WithDir(isle.Dir{Host: dir, Guest: "/d"}).WithListen("127.0.0.1:0").WithListen(busy.Addr().String()), "WithListen", "address already in use"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// No collection while it runs: the finalizers of a leaked
			// listener or directory would close it and hide the leak.
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			goroutines, fds, procs := runtime.NumGoroutine(), openFDs(t), runtime.GOMAXPROCS(0)
			m, err := isle.Boot(ctx, c.cfg)
			if err == nil {
				m.Stop(ctx)
				t.Fatalf("Boot succeeded, want an error of %s", c.option)
			}
			var ce *isle.ConfigError
			if !errors.As(err, &ce) || ce.Option != c.option {
				t.Errorf("error %q (%T): want an *isle.ConfigError of %s", err, err, c.option)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, c.option) || !strings.Contains(msg, c.want) || strings.Contains(msg, "--") {
				t.Errorf("error %q: want %s first, %q in it and no flag name", msg, c.option, c.want)
			}
			if !settles(func() bool { return runtime.NumGoroutine() <= goroutines }) {
				t.Errorf("%d goroutines after the failed Boot, %d before", runtime.NumGoroutine(), goroutines)
			}
			if openFDs(t) > fds { // closed before Boot returned
				t.Errorf("%d open descriptors after the failed Boot, %d before", openFDs(t), fds)
			}
			if got := runtime.GOMAXPROCS(0); got != procs {
				t.Errorf("GOMAXPROCS %d after the failed Boot, %d before", got, procs)
			}
		})
	}
}
