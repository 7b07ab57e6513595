// Package isle is the embedding API of isle, a multikernel operating system
// whose processes are WebAssembly modules run as software-isolated processes
// (SIPs).
//
// A Config is immutable: each With… method returns a new one. Boot starts a
// machine of that shape (one kernel loop per core, a urpc ring between every
// ordered pair of cores, and the console service); Load compiles a program
// once for every core; Spawn runs it as a SIP; Stop ends the machine.
//
//	m, err := isle.Boot(ctx, isle.NewConfig().WithCores(2))
//	prog, err := m.Load(ctx, "hello.wasm")
//	p, err := m.Spawn(prog, []string{"hello.wasm", "a"})
//	status := p.Wait().Status()
//	m.Stop()
package isle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"isle/internal/abi"
	"isle/internal/cluster/gateway"
	"isle/internal/kernel"
	"isle/internal/names"
	"isle/internal/procapi"
	"isle/internal/sandbox"
	"isle/internal/service"
	"isle/internal/tables"
	"isle/internal/wasi"
)

// Config is a machine's shape. The zero value is not valid; use NewConfig.
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

// Machine is a booted isle machine.
type Machine struct {
	cfg      Config
	cores    int
	hostCPUs int
	k        *kernel.Machine
	rt       *sandbox.Runtime
	loader   *procapi.Loader // closed by its worker at Stop; the runtime outlives its compiles
	console  kernel.ServiceID
	stdin    kernel.ServiceID
	preopens []wasi.Preopen
	fs       []kernel.ServiceID // file-system workers
	fsw      []*service.FS
	net      []kernel.ServiceID // network workers
	netw     []*service.Net
	lns      []*net.TCPListener
	lnFds    []int32            // the listeners' host descriptors (service.ListenerFd); immutable after Boot
	stdinSvc *service.ConsoleIn // for inline reads of stdin (wasi.Proc.StdinNow)
	outFds   [3]int32           // stdout's and stderr's host descriptors plus one when they are files (service.WriterFd), else 0; immutable after Boot

	ipc *abi.System      // channels, exchange heap and names (module "isle")
	gw  *gateway.Gateway // the cluster's channels (WithCluster); nil when not a node

	tables *tables.Tables // nil without WithTables
	budget *sandbox.MemoryBudget
	procs  registry // live SIPs by pid, for Kill and Live (control.go)

	traceOnce sync.Once // the trace is written by the first Stop
	traceErr  error     // why it could not be written
	calls     []string  // the host functions' names, as a trace's Syscall events number them

	servers servers // the control socket's and /metrics' servers (observe.go)
}

// Boot checks cfg and starts a machine.
func Boot(ctx context.Context, cfg Config) (*Machine, error) {
	m, err := newMachine(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := m.start(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// start starts the cores and services of a machine that newMachine made.
func (m *Machine) start(ctx context.Context) error {
	// Cores + 1 processors: services, timers and the garbage collector always
	// find one while every core runs a SIP (gomaxprocs.go).
	gomaxprocs.claim(m, m.cores+1)
	if err := m.k.Boot(); err != nil {
		gomaxprocs.release(m)
		m.rt.Close(ctx)
		return err
	}
	if m.gw != nil {
		if err := m.startGateway(ctx); err != nil {
			m.Stop(ctx)
			return err
		}
	}
	m.serve()
	return nil
}

// newMachine checks cfg and makes a machine whose cores have not started:
// it can load programs (Load), and start starts it.
func newMachine(ctx context.Context, cfg Config) (*Machine, error) {
	host := HostCPUs()
	cores := cfg.cores
	if cores == 0 {
		cores = host
	}
	if cores < 1 {
		return nil, fmt.Errorf("--cores %d: a machine needs at least one core", cores)
	}
	if cores > MaxCores {
		return nil, fmt.Errorf("--cores %d: at most %d cores", cores, MaxCores)
	}
	if cores > host && !cfg.oversubscribe {
		return nil, fmt.Errorf("--cores %d: this process may use only %d CPUs (add --oversubscribe to run more cores than CPUs)", cores, host)
	}
	var preopens []wasi.Preopen
	for _, d := range cfg.dirs {
		st, err := os.Stat(d.Host)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("--dir %s: no such directory", d.Host)
			}
			return nil, fmt.Errorf("--dir %s: %v", d.Host, unwrapPathError(err))
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("--dir %s: not a directory", d.Host)
		}
		abs, err := filepath.Abs(d.Host)
		if err != nil {
			return nil, fmt.Errorf("--dir %s: %v", d.Host, err)
		}
		preopens = append(preopens, wasi.Preopen{Guest: d.GuestName(), Host: abs, ReadOnly: d.ReadOnly})
	}
	var procPre []procapi.Preopen
	for _, p := range preopens {
		procPre = append(procPre, procapi.Preopen{Guest: p.Guest, Host: p.Host})
	}
	lim, err := cfg.budgets(hostMemory())
	if err != nil {
		return nil, err
	}
	papi := procapi.New(procPre)
	papi.SetMaxDescendants(lim.maxDescendants)
	preempt := kernel.Preempt
	if cfg.noPreempt {
		preempt = nil
	}
	budget := sandbox.NewMemoryBudget(lim.machineMemory)
	hosts := []sandbox.HostModule{wasi.HostModule(), abi.HostModule(), papi.HostModule()}
	gw := newGateway(cfg)
	if gw != nil {
		hosts = append(hosts, gw.HostModule())
	}
	rt, err := sandbox.NewRuntime(ctx, sandbox.Config{CacheDir: cfg.cacheDir, Preempt: preempt, AtEnd: kernel.AtEnd, MemoryLimitPages: lim.memoryPages, Budget: budget},
		tracedModules(cfg.traceOut != nil && cfg.traceCalls, hosts))
	if err != nil {
		return nil, err
	}
	papi.SetRuntime(rt)
	kc := kernel.Config{Cores: cores, WastedBound: cfg.wastedBound, SpareCPUs: host - cores}
	if kc.TraceEvents, err = cfg.traceRing(); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	kc.OnExit = chainExit(kc.OnExit, func(c *kernel.Core, s *kernel.SIP) {
		if p, ok := s.IPC.(*abi.Proc); ok {
			p.Exit(c) // close the SIP's endpoints (peers see Closed) and drop its names
		}
	})
	kc.OnExit = chainExit(kc.OnExit, procapi.OnExit) // tell parents their children ended
	// The name service's registry is the machine's name table: replicated on
	// every core (lookups are local reads, registrations commit by 2PC) or
	// shared, as --tables names=… chooses; shared by default.
	nameKind := tables.Shared
	if cfg.tables != nil {
		if k, ok := (*cfg.tables)[tables.Names]; ok {
			nameKind = k
		}
	}
	nameTable := tables.NewTable[names.Entry](tables.Names, nameKind, cores)
	kc.Init = chainInit(kc.Init, func(c *kernel.Core) { tables.Start(c, nameTable) })
	kc.OnExit = chainExit(kc.OnExit, func(c *kernel.Core, s *kernel.SIP) {
		if p, ok := s.Ext.(*wasi.Proc); ok {
			p.Release(c) // host files of a SIP that trapped or was killed
		}
	})
	for core, capacity := range cfg.capacity {
		if core < 0 || core >= cores {
			return nil, fmt.Errorf("--core-capacity: no core %d on a %d-core machine", core, cores)
		}
		if capacity < 1 || capacity > 1024 {
			return nil, fmt.Errorf("--core-capacity: core %d: capacity %d is not between 1 and 1024", core, capacity)
		}
		if kc.Capacity == nil {
			kc.Capacity = make([]int64, cores)
		}
		kc.Capacity[core] = capacity
	}
	var tbs *tables.Tables
	if cfg.tables != nil {
		if tbs, err = tables.New(cores, *cfg.tables); err != nil {
			rt.Close(ctx)
			return nil, fmt.Errorf("--tables: %v", err)
		}
		kc.Init = chainInit(kc.Init, tbs.Init)
		kc.OnExit = chainExit(kc.OnExit, tbs.OnExit)
	}
	m := &Machine{cfg: cfg, cores: cores, hostCPUs: host, rt: rt, preopens: preopens, tables: tbs, budget: budget, gw: gw}
	if cfg.traceOut != nil && cfg.traceCalls {
		m.calls = callNames(hosts)
	}
	m.procs.init()
	kc.OnExit = chainExit(kc.OnExit, func(_ *kernel.Core, s *kernel.SIP) { m.procs.remove(s) })
	k, err := kernel.New(kc)
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	m.k = k
	if tbs != nil {
		tbs.Attach(k) // before Boot: Processes may be called as soon as Boot returns
	}
	m.ipc = abi.New(cores)
	m.ipc.UseNames(watchNames(names.OnTable(nameTable), cfg.nameWatch, gw))
	m.console = k.AddService("console", &service.ConsoleOut{Stdout: orDiscard(cfg.stdout), Stderr: orDiscard(cfg.stderr)})
	m.outFds = [3]int32{0, service.WriterFd(cfg.stdout) + 1, service.WriterFd(cfg.stderr) + 1}
	m.stdinSvc = &service.ConsoleIn{Stdin: cfg.stdin}
	m.stdinSvc.Inline()
	m.stdin = k.AddService("stdin", m.stdinSvc)
	m.loader = papi.Loader()
	papi.SetLoader(k.AddService("loader", m.loader))
	papi.SetNewChild(func(parent *kernel.SIP, mod *sandbox.Module, name string, args []string, nice int) *kernel.SIP {
		return m.newSIP(mod, name, args, nice)
	})
	papi.SetOnSpawn(func(c *kernel.Core, kid *kernel.SIP) {
		m.procs.add(kid)
		if tbs != nil {
			tbs.RecordSpawn(c, tables.Proc{PID: kid.PID(), Name: kid.Name, Core: c.ID(), Parent: kid.Parent.PID()})
		}
	})
	// File-system workers: one per core, so one slow host call holds up only
	// the SIPs that share its worker (internal/service/fs.go).
	// Every file-system and network worker draws on one budget of host
	// descriptors, which leaves the machine a reserve (service/hostfds.go).
	fds := service.MachineHostFDs()
	var fsDirs []service.FSDir
	for _, p := range preopens {
		fsDirs = append(fsDirs, service.FSDir{Host: p.Host, ReadOnly: p.ReadOnly})
	}
	for i := 0; i < min(cores, maxFSWorkers); i++ {
		w, err := service.NewFS(fsDirs, fds)
		if err != nil {
			m.closeFS()
			rt.Close(ctx)
			return nil, fmt.Errorf("--dir: %v", err)
		}
		m.fsw = append(m.fsw, w)
		m.fs = append(m.fs, k.AddService(fmt.Sprintf("fs%d", i), w))
	}
	for _, addr := range cfg.listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			m.closeFS()
			rt.Close(ctx)
			return nil, fmt.Errorf("--listen %s: %v", addr, unwrapOpError(err))
		}
		m.lns = append(m.lns, ln.(*net.TCPListener))
		m.lnFds = append(m.lnFds, service.ListenerFd(ln.(*net.TCPListener)))
	}
	if len(m.lns) > 0 {
		for i := 0; i < min(cores, maxFSWorkers); i++ {
			w := service.NewNet(m.lns, fds)
			m.netw = append(m.netw, w)
			m.net = append(m.net, k.AddService(fmt.Sprintf("net%d", i), w))
		}
	}
	return m, nil
}

// maxFSWorkers bounds the file-system workers of a machine.
const maxFSWorkers = 8

// closeFS closes the workers' host files before the machine booted (after
// Boot each worker closes its own, at Stop).
func (m *Machine) closeFS() {
	for _, w := range m.fsw {
		w.Close()
	}
	for _, w := range m.netw {
		w.Close()
	}
	for _, ln := range m.lns {
		ln.Close()
	}
}

// ListenAddrs returns the addresses the machine listens on (--listen), in
// order; a port 0 in the configuration shows here as the port chosen.
func (m *Machine) ListenAddrs() []string {
	var a []string
	for _, ln := range m.lns {
		a = append(a, ln.Addr().String())
	}
	return a
}

func unwrapOpError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Err
	}
	return err
}

// chainExit runs both exit hooks, first then next.
func chainExit(first, next func(*kernel.Core, *kernel.SIP)) func(*kernel.Core, *kernel.SIP) {
	if first == nil {
		return next
	}
	return func(c *kernel.Core, s *kernel.SIP) { first(c, s); next(c, s) }
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Cores returns the machine's number of cores.
func (m *Machine) Cores() int { return m.cores }

// Oversubscribed reports whether the machine has more cores than host CPUs.
func (m *Machine) Oversubscribed() bool { return m.cores > m.hostCPUs }

// Program is a validated, compiled WebAssembly module, shared by every core.
type Program struct {
	name   string
	mod    *sandbox.Module
	closed atomic.Bool // set once by Close; read by SpawnWith
}

// Close frees the program's compiled code. SIPs already running it run on
// to their end (wazero keeps what an instance uses); a later Spawn of it
// fails. A second Close does nothing. Spawning it while it is being closed
// may start a process that fails to instantiate (its ExitStatus.Link says
// so). The machine's Stop frees every program it loaded.
func (p *Program) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	return p.mod.Close(ctx)
}

// Load reads, validates and compiles a program file of at most
// sandbox.MaxModuleBytes.
func (m *Machine) Load(ctx context.Context, path string) (*Program, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file", path)
		}
		return nil, fmt.Errorf("%s: %v", path, unwrapPathError(err))
	}
	defer f.Close()
	size := int64(0) // a hint only: a device or a pipe reports 0
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		if fi.Size() > sandbox.MaxModuleBytes {
			// Early, for a plain file; readModule checks every kind.
			return nil, fmt.Errorf("%s: larger than %d MiB, the most isle loads", path, sandbox.MaxModuleBytes>>20)
		}
		size = fi.Size()
	}
	wasm, err := readModule(f, sandbox.MaxModuleBytes, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, unwrapPathError(err))
	}
	return m.LoadBytes(ctx, path, wasm)
}

// readModule reads a module of at most limit bytes from r. It trusts no
// size the file reports (size, a device's or a pipe's 0, only sizes the
// buffer) and reads at most limit+1 bytes; a stream that does not start
// with the WebAssembly magic number is refused after its first 4 bytes, so
// `isle run /dev/zero` ends at once.
func readModule(r io.Reader, limit, size int64) ([]byte, error) {
	var head [4]byte
	n, err := io.ReadFull(r, head[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	if string(head[:n]) != "\x00asm" {
		return head[:n], nil // Load explains what is wrong with it
	}
	// Room for bytes.MinRead past the size: ReadFrom grows the buffer (a
	// copy to one twice as large, 5 MiB of page faults for a Go program)
	// whenever less is free before its last read, the one that sees EOF.
	buf := bytes.NewBuffer(append(make([]byte, 0, min(max(size+bytes.MinRead, 64<<10), limit+1+bytes.MinRead)), head[:]...))
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1-int64(n))); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("larger than %d MiB, the most isle loads", limit>>20)
	}
	return buf.Bytes(), nil
}

// LoadBytes validates and compiles a program held in memory.
func (m *Machine) LoadBytes(ctx context.Context, name string, wasm []byte) (*Program, error) {
	mod, err := m.rt.Load(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return &Program{name: name, mod: mod}, nil
}

// Process is a running SIP as the embedder sees it.
type Process struct {
	sip *kernel.SIP
	m   *Machine
}

// Spawn starts prog as a new SIP with args (args[0] is the program's name)
// and the machine's environment, on the least-loaded core.
func (m *Machine) Spawn(prog *Program, args []string) (*Process, error) {
	return m.SpawnOn(prog, args, -1)
}

// SpawnOn is Spawn on a given core (core < 0: the least-loaded one).
func (m *Machine) SpawnOn(prog *Program, args []string, core int) (*Process, error) {
	return m.SpawnWith(prog, args, SpawnOptions{Core: OnCore(core)})
}

// AnyCore lets the machine place a new SIP.
const AnyCore = -1

// MaxCores is the most cores a machine may have (kernel.MaxCores).
const MaxCores = kernel.MaxCores

// SpawnOptions are the knobs of SpawnWith. The zero value is Spawn's: the
// machine places the SIP, at nice 0, with the machine's environment.
type SpawnOptions struct {
	Core Placement // where it starts: the zero value lets the machine choose; OnCore(n) names core n
	Nice int       // -20 (most CPU) … 19 (least), weighted as Linux does
	Env  []string  // KEY=value pairs added to the machine's environment
}

// Placement is the core a new SIP starts on. Its zero value lets the
// machine place it (on the least-loaded core); the balancer may move it
// later either way.
type Placement struct {
	core int // the core + 1; 0: the machine chooses
}

// OnCore returns the placement on core n (n < 0: the machine chooses).
func OnCore(n int) Placement {
	if n < 0 {
		return Placement{}
	}
	return Placement{core: n + 1}
}

// Core returns the chosen core, or AnyCore for the machine's choice.
func (p Placement) Core() int { return p.core - 1 }

// SpawnWith starts prog as a new SIP with args and options.
func (m *Machine) SpawnWith(prog *Program, args []string, opt SpawnOptions) (*Process, error) {
	core := opt.Core.Core()
	if prog.closed.Load() {
		return nil, fmt.Errorf("%s: program closed", prog.name)
	}
	if !prog.mod.Fits() {
		return nil, fmt.Errorf("%s: out of memory: its initial memory does not fit in the machine's memory budget", prog.name)
	}
	s := m.newSIP(prog.mod, prog.name, args, opt.Nice)
	if len(opt.Env) > 0 {
		s.Env = append(s.Env, opt.Env...)
		s.Ext.(*wasi.Proc).Env = s.Env
	}
	procapi.Attach(s)
	if err := m.k.Spawn(s, core); err != nil {
		return nil, err
	}
	m.procs.add(s)
	if m.tables != nil {
		m.recordSpawn(s, core)
	}
	return &Process{sip: s, m: m}, nil
}

// newSIP builds a SIP of mod with its personalities' state, not yet started.
func (m *Machine) newSIP(mod *sandbox.Module, name string, args []string, nice int) *kernel.SIP {
	s := kernel.NewSIP(mod)
	s.Nice = nice
	s.Name = name
	s.Args = append([]string(nil), args...)
	s.Env = append([]string(nil), m.cfg.env...)
	wp := &wasi.Proc{Args: s.Args, Env: s.Env, Preopens: m.preopens, Console: m.console, Stdin: m.stdin, FS: m.fs, Net: m.net, Listeners: len(m.lns), ListenerFds: m.lnFds, ConsoleFds: m.outFds, StdinNow: m.stdinSvc}
	s.Ext, s.Hold = wp, wp
	s.IPC = m.ipc.NewProc(s)
	return s
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	Code int    // the program's exit code, when it exited
	Trap string // the trap that ended it, if one did (e.g. "unreachable")
	Link string // why it could not be instantiated, if so (e.g. a data segment out of bounds); it never ran
	// Stack is the guest's call stack at the trap, innermost frame first,
	// one a line ("main.inner()"), named from the module's name section.
	Stack  string
	Killed bool // killed before it ended
}

// Status is the exit status a command reports: the code, 134 after a trap
// (as wasmtime), 137 after a kill, 1 when it could not be instantiated.
func (e ExitStatus) Status() int {
	return sandbox.Result{ExitCode: uint32(e.Code), Trap: e.Trap, Link: e.Link, Killed: e.Killed}.Status()
}

// Wait waits for the process to end.
func (p *Process) Wait() ExitStatus {
	<-p.sip.Done()
	r := p.sip.Result()
	return ExitStatus{Code: int(r.ExitCode), Trap: r.Trap, Link: r.Link, Stack: r.Stack, Killed: r.Killed}
}

// CPUTime returns the CPU time the process has received, as of the end of
// its last time slice; it does not wait, and is final once Wait returns.
func (p *Process) CPUTime() time.Duration {
	return time.Duration(p.sip.CPUTimeSeen())
}

// PID returns the process id.
func (p *Process) PID() int64 { return p.sip.PID() }

// Stop ends the machine: SIPs still running are killed.
//
// The kernel stops the services after the cores (so after every SIP's
// release) and the file-system and network workers close their own host
// files and sockets on their goroutines; only the listeners, shared by the
// network workers, are closed here, once those workers have ended.
func (m *Machine) Stop(ctx context.Context) {
	m.servers.close()
	m.k.Stop()
	if m.tables != nil {
		m.tables.Stop()
	}
	for _, ln := range m.lns {
		ln.Close()
	}
	// A compile that does not look at its context (one huge function) may
	// still run: Stop does not wait for it, and the runtime is closed when
	// it ends (wazero panics compiling on a closed runtime).
	m.loader.WhenIdle(func() { m.rt.Close(context.WithoutCancel(ctx)) })
	gomaxprocs.release(m)
	m.writeTrace()
}

// Totals returns the machine's context switches and messages so far, from
// sloppy counters that cores update without sharing a cache line: while the
// machine runs they may be short by up to maxError each; after Stop they are
// exact (maxError 0).
func (m *Machine) Totals() (switches, messages, maxError int64) { return m.k.Totals() }

// Stats returns each core's counters; valid after Stop.
func (m *Machine) Stats() []CoreStats { return coreStatsOf(m.k.Stats()) }

// Census returns how many SIPs the machine's cores hold records of: live
// (spawned and not ended) and forwarding (entries kept for SIPs that moved
// to another core). Both return to zero a few messages after the last SIP
// ends. Readable while the machine runs.
func (m *Machine) Census() (live, forwarding int64) { return m.k.Census() }

// Run boots a machine, runs one program to its end, stops the machine and
// returns the program's exit status and the cores' counters.
func Run(ctx context.Context, cfg Config, path string, args []string) (ExitStatus, []CoreStats, error) {
	st, cs, _, err := RunListing(ctx, cfg, path, args)
	return st, cs, err
}

// RunListing is Run that also returns the process table as it stood when the
// program had ended (nil without WithTables, or if it could not be read).
func RunListing(ctx context.Context, cfg Config, path string, args []string) (ExitStatus, []CoreStats, []Proc, error) {
	// The program is loaded before the cores start, so that they do not
	// poll and sleep beside the compilation (docs/startup.md).
	m, err := newMachine(ctx, cfg)
	if err != nil {
		return ExitStatus{}, nil, nil, err
	}
	prog, loadErr := m.Load(ctx, path)
	if err := m.start(ctx); err != nil {
		return ExitStatus{}, nil, nil, err
	}
	if loadErr != nil {
		m.Stop(ctx)
		return ExitStatus{}, nil, nil, loadErr
	}
	argv0 := cfg.argv0
	if argv0 == "" {
		argv0 = filepath.Base(path)
	}
	ps, err := m.SpawnInstances(prog, append([]string{argv0}, args...), max(cfg.instances, 1))
	if err != nil {
		m.Stop(ctx)
		return ExitStatus{}, nil, nil, err
	}
	st := m.waitInstances(ctx, ps)
	procs, _ := m.Processes()
	m.Stop(ctx)
	if err := m.TraceErr(); err != nil {
		return st, m.Stats(), procs, err
	}
	return st, m.Stats(), procs, nil
}

// chainInit runs both per-core init hooks, first then next.
func chainInit(first, next func(*kernel.Core)) func(*kernel.Core) {
	if first == nil {
		return next
	}
	return func(c *kernel.Core) { first(c); next(c) }
}

// recordSpawn writes s's spawn row from the core it was sent to (core 0 when
// the machine placed it: the row's Core then says AnyCore).
func (m *Machine) recordSpawn(s *kernel.SIP, core int) {
	p := tables.Proc{PID: s.PID(), Name: s.Name, Core: core}
	at := core
	if core < 0 {
		p.Core, at = tables.AnyCore, 0
	}
	m.tables.Do(at, func(c *kernel.Core) { m.tables.RecordSpawn(c, p) })
}

// Processes returns the process table as core 0's replica holds it, one row
// per process spawned on this machine, sorted by pid; nil without WithTables.
// It first waits (at most a second) for the writes in flight to commit.
// After Stop it reads the replica as the cores left it.
func (m *Machine) Processes() ([]Proc, error) {
	if m.tables == nil {
		return nil, nil
	}
	if err := m.tables.Settle(time.Second); err != nil && !errors.Is(err, tables.ErrStopped) {
		return nil, err
	}
	ps, err := m.tables.Processes(0, time.Second)
	return procsOf(ps), err
}
