package isle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"

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
	hostFDs  *service.HostFDs   // the host descriptors the workers share; immutable after Boot
	lnFds    []int32            // the listeners' host descriptors (service.ListenerFd); immutable after Boot
	preLends []int64            // the preopens' lent directory descriptors (service.FS.PreopenLends); immutable after Boot
	stdinSvc *service.ConsoleIn // for inline reads of stdin (wasi.Proc.StdinNow)
	outFds   [3]int32           // stdout's and stderr's host descriptors plus one when they are files (service.WriterFd), else 0; immutable after Boot

	ipc *abi.System      // channels, exchange heap and names (module "isle")
	gw  *gateway.Gateway // the cluster's channels (WithCluster); nil when not a node

	remote *RemoteClient // its SIPs' spawns on other nodes (proc_spawn_on); nil when not a node; immutable after Boot
	served servedKids    // the children it runs for other nodes' SIPs (remotespawn.go)

	tables *tables.Tables // nil without WithTables
	budget *sandbox.MemoryBudget
	procs  registry // live SIPs by pid, for Kill and Live (control.go)

	moduleReads atomic.Int64 // module files Load read (not found in the cache by their identity), for tests

	traceOnce sync.Once // the trace is written by the first Stop
	traceErr  error     // why it could not be written
	calls     []string  // the host functions' names, as a trace's Syscall events number them

	servers servers // the control socket's and /metrics' servers (observe.go)
	seams   seams   // the construction's steps a test may make fail (seams.go); immutable
}

// Boot checks cfg and starts a machine.
func Boot(ctx context.Context, cfg Config) (*Machine, error) { return boot(ctx, cfg, seams{}) }

// boot is Boot with the given seams.
func boot(ctx context.Context, cfg Config, s seams) (*Machine, error) {
	m, err := newMachine(ctx, cfg, s)
	if err != nil {
		return nil, err
	}
	if err := m.start(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// start starts the cores and services of a machine that newMachine made.
// If the cores cannot start, what newMachine made is freed (unmake); once
// they have, a failure stops the machine (Stop).
func (m *Machine) start(ctx context.Context) error {
	// Cores + 1 processors: services, timers and the garbage collector always
	// find one while every core runs a SIP (gomaxprocs.go).
	gomaxprocs.claim(m, m.cores+1)
	if err := m.seams.boot(m.k); err != nil {
		gomaxprocs.release(m)
		m.unmake(ctx)
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

// newMachine checks cfg whole (validate), then makes a machine whose cores
// have not started: it can load programs (Load), and start starts it. What
// it makes that must be freed (the runtime, the workers' host files, the
// listeners) is freed on one path, unmake, if a later step fails; the
// kernel, made but not booted, holds no goroutine.
func newMachine(ctx context.Context, cfg Config, s seams) (*Machine, error) {
	p, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	m := &Machine{cfg: cfg, cores: p.cores, hostCPUs: p.host, preopens: p.preopens, tables: p.tables, gw: newGateway(cfg), seams: s}
	m.procs.init()
	if err := m.build(ctx, p); err != nil {
		m.unmake(ctx)
		return nil, err
	}
	return m, nil
}

// build makes the machine's parts in order; on an error, what it made
// stays in m for unmake.
func (m *Machine) build(ctx context.Context, p *plan) error {
	papi, err := m.makeRuntime(ctx, p)
	if err != nil {
		return err
	}
	if err := m.makeKernel(p); err != nil {
		return err
	}
	m.addServices(papi)
	if err := m.addFS(); err != nil {
		return err
	}
	return m.addNet(p.cfg.listen)
}

// makeRuntime makes the machine's sandbox runtime, with every host module
// (WASI, channels, the process API and, on a node, the gateway's), and the
// process API that spawns in it.
func (m *Machine) makeRuntime(ctx context.Context, p *plan) (*procapi.API, error) {
	cfg := p.cfg
	papi := procapi.New(p.procPre)
	papi.SetMaxDescendants(p.lim.maxDescendants)
	if cl := cfg.cluster; cl != nil {
		m.remote = cl.Client
		if m.remote == nil {
			m.remote = NewRemoteClient(cl.Link)
		}
		papi.SetRemote(clusterRemote{m.remote})
	}
	preempt := kernel.Preempt
	if cfg.noPreempt {
		preempt = nil
	}
	m.budget = sandbox.NewMemoryBudget(p.lim.machineMemory)
	hosts := []sandbox.HostModule{wasi.HostModule(), abi.HostModule(), papi.HostModule()}
	if m.gw != nil {
		hosts = append(hosts, m.gw.HostModule())
	}
	traced := cfg.traceOut != nil && cfg.traceCalls
	rt, err := m.seams.runtime(ctx, sandbox.Config{CacheDir: cfg.cacheDir, Preempt: preempt, AtEnd: kernel.AtEnd, MemoryLimitPages: p.lim.memoryPages, Budget: m.budget},
		tracedModules(traced, hosts))
	if err != nil {
		return nil, err
	}
	m.rt = rt
	papi.SetRuntime(rt)
	if traced {
		m.calls = callNames(hosts)
	}
	return papi, nil
}

// makeKernel makes the machine's kernel (not booted) and its channel layer.
// The name service's registry is the machine's name table: replicated on
// every core (lookups are local reads, registrations commit by 2PC) or
// shared, as --tables names=… chooses; shared by default.
func (m *Machine) makeKernel(p *plan) error {
	kc := kernel.Config{Cores: p.cores, Slice: p.cfg.slice, WastedBound: p.cfg.wastedBound, SpareCPUs: p.host - p.cores, TraceEvents: p.traceEvents, Capacity: p.capacity}
	nameTable := tables.NewTable[names.Entry](tables.Names, p.nameKind, p.cores)
	kc.Init = append(kc.Init, func(c *kernel.Core) { tables.Start(c, nameTable) })
	if m.tables != nil {
		kc.Init = append(kc.Init, m.tables.Init)
	}
	m.ipc = abi.New(p.cores)
	kc.OnExit = exitHooks(m.ipc, m.tables, &m.procs)
	k, err := kernel.New(kc)
	if err != nil {
		return err
	}
	m.k = k
	if m.tables != nil {
		m.tables.Attach(k) // before Boot: Processes may be called as soon as Boot returns
	}
	m.ipc.UseNames(watchNames(names.OnTable(nameTable), p.cfg.nameWatch, m.gw))
	return nil
}

// addServices adds the console, stdin and the loader, and hands the process
// API the machine's way of making and recording a child.
func (m *Machine) addServices(papi *procapi.API) {
	cfg, k := m.cfg, m.k
	m.console = k.AddService("console", &service.ConsoleOut{Stdout: orDiscard(cfg.stdout), Stderr: orDiscard(cfg.stderr)})
	m.outFds = [3]int32{0, service.WriterFd(cfg.stdout) + 1, service.WriterFd(cfg.stderr) + 1}
	m.stdinSvc = &service.ConsoleIn{Stdin: cfg.stdin}
	m.stdinSvc.Inline()
	m.stdin = k.AddService("stdin", m.stdinSvc)
	m.loader = papi.Loader()
	papi.SetLoader(k.AddService("loader", m.loader))
	if m.remote != nil {
		papi.SetRemoteService(k.AddService("remote", papi.RemoteService()))
	}
	papi.SetNewChild(func(parent *kernel.SIP, mod *sandbox.Module, name string, args []string, nice int) *kernel.SIP {
		return m.newSIP(mod, name, args, nice)
	})
	tbs := m.tables
	papi.SetOnSpawn(func(c *kernel.Core, kid *kernel.SIP) {
		m.procs.add(kid)
		if tbs != nil {
			tbs.RecordSpawn(c, tables.Proc{PID: kid.PID(), Name: kid.Name, Core: c.ID(), Parent: kid.Parent.PID()})
		}
	})
}

// addFS adds the file-system workers: one per core (at most maxFSWorkers),
// so one slow host call holds up only the SIPs that share its worker
// (internal/service/fs.go). Every file-system and network worker draws on
// one budget of host descriptors, which leaves the machine a reserve
// (service/hostfds.go).
func (m *Machine) addFS() error {
	m.hostFDs = service.MachineHostFDs()
	var fsDirs []service.FSDir
	for _, p := range m.preopens {
		fsDirs = append(fsDirs, service.FSDir{Host: p.Host, ReadOnly: p.ReadOnly})
	}
	for i := 0; i < min(m.cores, maxFSWorkers); i++ {
		w, err := m.seams.fs(fsDirs, m.hostFDs)
		if err != nil {
			return &ConfigError{Option: "WithDir", Reason: err.Error()}
		}
		if i == 0 {
			m.preLends = w.PreopenLends() // every worker serves the same directories
		}
		m.fsw = append(m.fsw, w)
		m.fs = append(m.fs, m.k.AddService(fmt.Sprintf("fs%d", i), w))
	}
	return nil
}

// addNet opens the listeners (WithListen) and adds the network workers that
// share them.
func (m *Machine) addNet(addrs []string) error {
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return configErr("WithListen", addr, "%v", unwrapOpError(err))
		}
		m.lns = append(m.lns, ln.(*net.TCPListener))
		m.lnFds = append(m.lnFds, service.ListenerFd(ln.(*net.TCPListener)))
	}
	if len(m.lns) == 0 {
		return nil
	}
	for i := 0; i < min(m.cores, maxFSWorkers); i++ {
		w := service.NewNet(m.lns, m.hostFDs)
		m.netw = append(m.netw, w)
		m.net = append(m.net, m.k.AddService(fmt.Sprintf("net%d", i), w))
	}
	return nil
}

// unmake frees what newMachine made of a machine whose cores never started:
// the workers' host files, the listeners and the runtime.
func (m *Machine) unmake(ctx context.Context) {
	m.closeFS()
	if m.rt != nil {
		m.rt.Close(ctx)
	}
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
