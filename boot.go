package isle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"

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
	kc.Init = append(kc.Init, func(c *kernel.Core) { tables.Start(c, nameTable) })
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
		kc.Init = append(kc.Init, tbs.Init)
	}
	m := &Machine{cfg: cfg, cores: cores, hostCPUs: host, rt: rt, preopens: preopens, tables: tbs, budget: budget, gw: gw}
	if cfg.traceOut != nil && cfg.traceCalls {
		m.calls = callNames(hosts)
	}
	m.procs.init()
	m.ipc = abi.New(cores)
	kc.OnExit = exitHooks(m.ipc, tbs, &m.procs)
	k, err := kernel.New(kc)
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	m.k = k
	if tbs != nil {
		tbs.Attach(k) // before Boot: Processes may be called as soon as Boot returns
	}
	m.ipc.UseNames(watchNames(names.OnTable(nameTable), cfg.nameWatch))
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

// exitHooks returns the layers told of a SIP's end, in the order they are
// told: its channels close (peers see Closed) and its names go, its
// parent learns that it ended, its host files close (a SIP that trapped or
// was killed), the process table records the exit (tbs, when not nil),
// and the machine forgets it (procs).
func exitHooks(ipc *abi.System, tbs *tables.Tables, procs *registry) []kernel.ExitHook {
	hooks := []kernel.ExitHook{ipc, kernel.ExitFunc(procapi.OnExit), kernel.ExitFunc(wasi.OnExit)}
	if tbs != nil {
		hooks = append(hooks, tbs)
	}
	return append(hooks, procs)
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
