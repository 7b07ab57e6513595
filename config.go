package isle

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"isle/internal/tables"
)

// Config is a machine's shape. The zero value is a machine of one core per
// host CPU with no directories and a console of its own: stdin empty,
// stdout and stderr discarded (TestZeroConfigBoots). NewConfig is the same
// with the process's own standard streams.
type Config struct {
	cores         int // 0: one per CPU of the process's affinity mask
	oversubscribe bool
	dirs          []Dir
	listen        []string // TCP addresses to listen on, offered as sockets after the preopens
	env           []string
	stdin         io.Reader
	stdout        io.Writer
	stderr        io.Writer
	cacheDir      string
	capacity      map[int]int64 // core → capacity (1024 = full)
	noPreempt     bool          // load modules as they are (benchmarks of the rewriting's cost)
	wastedBound   time.Duration
	slice         time.Duration  // a SIP's base slice; 0: the kernel's default (tests: WithSliceForTest)
	tables        *tables.Config // nil: no kernel tables (WithTables)
	// Budgets (limits.go); 0: the default.
	memoryLimit    uint64         // bytes of one SIP's linear memory
	machineMemory  uint64         // bytes of all SIPs' linear memories
	maxDescendants int            // live SIPs below a tree's root
	argv0          string         // argv[0] that Run gives its program; "": the base name of its path
	traceOut       io.Writer      // nil: no tracing (WithTrace)
	traceEvents    int            // events a core's trace ring holds
	instances      int            // instances of the program that Run starts, one per core; 0: one
	traceCalls     bool           // the trace has every system call (WithTraceCalls)
	cluster        *ClusterConfig // nil: not a node of a cluster (WithCluster)
	control        net.Listener   // nil: no control socket (WithControl)
	metrics        net.Listener   // nil: no /metrics (WithMetrics)

	nameWatch func(NameEvent) // nil: nobody hears of registrations (WithNameWatcher)
}

// Dir is a host directory offered to programs as a preopened directory.
type Dir struct {
	Host     string
	Guest    string
	ReadOnly bool // every change under it is refused with EACCES
}

// NewConfig returns the default configuration: one core per host CPU the
// process may use, the process's own standard streams, no directories.
func NewConfig() Config {
	return Config{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
}

// WithCores sets the number of cores.
func (c Config) WithCores(n int) Config { c.cores = n; return c }

// WithOversubscribe allows more cores than host CPUs.
func (c Config) WithOversubscribe(ok bool) Config { c.oversubscribe = ok; return c }

// WithDir adds a preopened directory.
func (c Config) WithDir(d Dir) Config {
	c.dirs = append(append([]Dir(nil), c.dirs...), d)
	return c
}

// WithListen adds a TCP listener on addr (host:port), offered to programs
// as a socket fd after the preopened directories (sock_accept).
func (c Config) WithListen(addr string) Config {
	c.listen = append(append([]string(nil), c.listen...), addr)
	return c
}

// WithEnv adds an environment variable ("KEY=value") for every program.
func (c Config) WithEnv(kv string) Config {
	c.env = append(append([]string(nil), c.env...), kv)
	return c
}

// WithStdio sets the machine's console streams; nil stdin reads as empty.
func (c Config) WithStdio(stdin io.Reader, stdout, stderr io.Writer) Config {
	c.stdin, c.stdout, c.stderr = stdin, stdout, stderr
	return c
}

// WithCoreCapacity sets a core's capacity: 1024 is a full core; a core of
// capacity 512 runs SIPs half of each period and idles the rest, standing in
// for a slower core. Placement weighs load by capacity.
func (c Config) WithCoreCapacity(core int, capacity int64) Config {
	m := make(map[int]int64, len(c.capacity)+1)
	for k, v := range c.capacity {
		m[k] = v
	}
	m[core] = capacity
	c.capacity = m
	return c
}

// WithPreemption(false) loads modules without the rewriting that makes them
// preemptible: a SIP then keeps its core until it makes a system call that
// suspends it. Only for measuring what preemption costs (isle bench sched).
func (c Config) WithPreemption(on bool) Config { c.noPreempt = !on; return c }

// WithWastedBound sets the no-wasted-cores checker's bound (default 10 ms).
func (c Config) WithWastedBound(d time.Duration) Config { c.wastedBound = d; return c }

// WithTables gives the machine its kernel tables (the process table and the
// name table), each replicated on every core or shared as cfg says (a table
// it does not name is replicated); see internal/tables. Without it the
// machine keeps no tables and Processes reports none.
func (c Config) WithTables(cfg TablesConfig) Config {
	cp := cfg.internal()
	c.tables = &cp
	return c
}

// WithArgv0 sets the argv[0] that Run and RunListing give the program. By
// default it is the base name of the program's path, as wasmtime and
// wazero give it (a host path says nothing a program needs).
func (c Config) WithArgv0(name string) Config { c.argv0 = name; return c }

// WithTrace records what every core does (switches and their reasons,
// wake-ups, migrations, messages, idling) in a ring of eventsPerCore events
// per core (0: trace.DefaultEvents; when a ring fills, its oldest events
// are dropped and counted), and writes the trace to w in Perfetto's format
// when the machine stops (docs/trace.md). Off by default.
func (c Config) WithTrace(w io.Writer, eventsPerCore int) Config {
	c.traceOut, c.traceEvents = w, eventsPerCore
	return c
}

// WithTraceCalls adds every system call (WASI's and module isle's: which,
// when, how long, its errno) to the trace of WithTrace, drawn as slices on
// each SIP's track. Off by default: it reads the clock twice a call
// (docs/trace.md, "What tracing costs").
func (c Config) WithTraceCalls(on bool) Config { c.traceCalls = on; return c }

// WithCacheDir keeps compiled code in dir between runs.
func (c Config) WithCacheDir(dir string) Config { c.cacheDir = dir; return c }

// HostCPUs returns the number of CPUs in the process's affinity mask.
func HostCPUs() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() == 0 {
		return runtime.NumCPU()
	}
	return set.Count()
}

// ParseDir parses HOST[:GUEST][:ro]; GUEST defaults to HOST.
func ParseDir(s string) (Dir, error) {
	ro := false
	if t, ok := strings.CutSuffix(s, ":ro"); ok {
		s, ro = t, true
	}
	host, guest, ok := strings.Cut(s, ":")
	if host == "" {
		return Dir{}, fmt.Errorf("--dir %q: empty host directory", s)
	}
	if !ok || guest == "" {
		guest = host
	}
	return Dir{Host: host, Guest: guest, ReadOnly: ro}, nil
}

// GuestName is the name the program sees the directory under: Guest, or
// "/" for a name that says only "this directory" (".", "./", "" or "/"),
// as wazero's -mount does, since Go's runtime resolves every path against
// an absolute working directory and finds no preopen named "." (EBADF); C
// and Rust (wasi-libc) resolve a relative path against "/" and find it
// too. Every other name is offered as it is (docs/wasi.md, "What a program
// is given").
func (d Dir) GuestName() string {
	guest := d.Guest
	g := guest
	for {
		switch {
		case strings.HasPrefix(g, "/"):
			g = g[1:]
		case strings.HasPrefix(g, "./"):
			g = g[2:]
		case g == ".":
			g = ""
		default:
			if g == "" {
				return "/"
			}
			return guest
		}
	}
}
