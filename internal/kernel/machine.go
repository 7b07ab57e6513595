// Package kernel is isle's per-core kernel: one event loop per core, each
// owning its run queue, its SIPs and its timers, talking to other cores and to
// services only through urpc rings.
//
// The rules of the interface:
//
//   - A Machine is built from a Config, gets its services with AddService,
//     and is started once with Boot. After Boot the wiring (cores, rings,
//     services) is immutable.
//   - Core state is core-local: only the core's own goroutine touches its run
//     queue, SIPs, timers and statistics while the machine runs. Statistics
//     are read by Stats after Stop, or as atomic snapshots while running.
//   - A SIP is owned by exactly one core at a time; it moves between cores
//     only inside a message, and the sender never touches it again.
//   - Code outside the machine (the embedding API) reaches cores only through
//     the controller rings (Spawn, Stop, measurements); those calls are
//     serialised by the Machine and are not hot paths.
//   - Services run in worker goroutines, may block on the host, and reply to
//     the core that asked, by message. A core never blocks on the host.
//
// Lock order: Machine.ctlMu is the only lock, held around controller sends.
package kernel

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"isle/internal/percpu"
	"isle/internal/sched"
	"isle/internal/urpc"
)

// Config sets a machine's shape.
type Config struct {
	Cores     int // number of cores, ≥ 1
	RingSlots int // slots per ring (power of two); 0 means DefaultRingSlots
	// PollWindow is how long an idle core polls its rings before it sleeps,
	// at least; 0 means DefaultPollWindow. A core's window adapts between
	// it and MaxPollWindow (pollwin.go).
	PollWindow time.Duration
	// MaxPollWindow bounds a core's adaptive poll window; 0 means
	// maxPollWindowFactor × PollWindow. A value below PollWindow is
	// PollWindow (a fixed window).
	MaxPollWindow time.Duration
	// Slice is a SIP's default request size (EEVDF): the longest it runs
	// before preemption sends it back to the run queue; 0 means DefaultSlice.
	Slice time.Duration
	// Capacity[i] is core i's capacity (1024 = a full core; a core of 512
	// runs SIPs half of each period and idles the rest, standing in for a
	// slower core). Missing or zero entries are full cores.
	Capacity []int64
	// SpareCPUs is how many host CPUs the machine may use beyond one per
	// core (for its service workers); 0 or less means none, and then an
	// idle core whose SIPs wait for a service sleeps rather than polls
	// (Core.waitsOnlyForWorkers).
	SpareCPUs int
	// WastedBound is the no-wasted-cores checker's bound; 0 means 10 ms.
	WastedBound time.Duration
	// Init are run, in order, on each core's goroutine before its loop
	// starts: mechanisms above the kernel (replicated tables) set up their
	// per-core state there and register tickers (Core.Every).
	Init []func(c *Core)
	// OnExit are told, in order, on the owning core's goroutine when a SIP
	// ends (exit, trap or kill), before its Done channel closes: the channel
	// layer closes the SIP's endpoints there, tables record the exit.
	OnExit []ExitHook
	// TraceEvents, when positive, turns tracing on: each core records
	// its events in a ring of that many (internal/trace), read with
	// Machine.Trace after Stop. 0: off.
	TraceEvents int
}

// Limits in one place.
const (
	DefaultRingSlots  = 256
	DefaultPollWindow = 50 * time.Microsecond
	DefaultSlice      = 3 * time.Millisecond // Linux's base slice, as internal/sched
	drainBatch        = 64                   // messages taken from one ring per loop turn
	cpuSamplePeriod   = 1_000_000            // ns between getcpu samples of a core
	// MaxCores is the most cores a machine may have. Rings between cores
	// are made lazily, but every core keeps a table with a pointer for each
	// other core, each core is a goroutine that Go may have to give a
	// thread (Go's default limit is 10,000 threads), and past about a
	// thousand cores the hosts isle runs on have far fewer CPUs than cores.
	MaxCores        = 1024
	sloppyThreshold = 64 // counts a core keeps before adding to a machine-wide total
	// membarrierDelay is how long a machine runs before it registers for
	// membarrier (urpc.RegisterMembarrier): the registration waits for a
	// grace period (5–20 ms) that a program ending sooner never pays; a
	// program that lives through it pays its fences (a few ns a send) for
	// this long, then none. docs/urpc.md has the measurements.
	membarrierDelay = 200 * time.Millisecond
)

// Machine is a set of cores connected by urpc rings, and its services.
type Machine struct {
	cfg      Config
	cores    []*Core
	services []*serviceHost
	epoch    time.Time        // monotonic zero of the machine's clock
	barrier  *urpc.Membarrier // the process's membarrier registration, shared by every doorbell; immutable

	ctlMu sync.Mutex   // serialises the controller (producer of ctl rings)
	ctl   []*urpc.Ring // ctl[i]: controller → core i

	// Machine-wide totals, readable while the machine runs: sloppy counters
	// (internal/percpu), so a core's increment touches only its own cache
	// line and the shared value only every sloppyThreshold counts.
	switches *percpu.Sloppy
	messages *percpu.Sloppy

	booted  bool
	stopped atomic.Bool
	coresWG sync.WaitGroup
	nextPID atomic.Int64
}

// Totals returns the machine's context switches and received messages so
// far. While the machine runs they are approximate (each core may hold up to
// MaxError uncounted); after Stop they are exact.
func (m *Machine) Totals() (switches, messages int64, maxError int64) {
	if m.switches == nil {
		return 0, 0, 0
	}
	if m.stopped.Load() {
		return m.switches.Sum(), m.messages.Sum(), 0
	}
	return m.switches.Value(), m.messages.Value(), m.switches.MaxError()
}

// ServiceID names a service of a machine.
type ServiceID int

// New returns an unbooted machine.
func New(cfg Config) (*Machine, error) {
	if cfg.Cores < 1 {
		return nil, fmt.Errorf("a machine needs at least one core, not %d", cfg.Cores)
	}
	if cfg.Cores > MaxCores {
		return nil, fmt.Errorf("%d cores: at most %d cores", cfg.Cores, MaxCores)
	}
	if cfg.RingSlots == 0 {
		cfg.RingSlots = DefaultRingSlots
	}
	if cfg.RingSlots < 2 || cfg.RingSlots&(cfg.RingSlots-1) != 0 {
		return nil, fmt.Errorf("ring slots %d is not a power of two", cfg.RingSlots)
	}
	if cfg.PollWindow == 0 {
		cfg.PollWindow = DefaultPollWindow
	}
	if cfg.MaxPollWindow == 0 {
		cfg.MaxPollWindow = maxPollWindowFactor * cfg.PollWindow
	}
	cfg.MaxPollWindow = max(cfg.MaxPollWindow, cfg.PollWindow)
	if cfg.Slice == 0 {
		cfg.Slice = DefaultSlice
	}
	if len(cfg.Capacity) > cfg.Cores {
		return nil, fmt.Errorf("%d core capacities for %d cores", len(cfg.Capacity), cfg.Cores)
	}
	for i, c := range cfg.Capacity {
		if c < 0 || c > 1024 {
			return nil, fmt.Errorf("core %d: capacity %d is not between 1 and 1024", i, c)
		}
	}
	// Registering for membarrier waits for a grace period, which a short
	// program should not wait for; the doorbells use fences until it is
	// done (urpc.Doorbell).
	return &Machine{cfg: cfg, barrier: urpc.RegisterMembarrier(membarrierDelay)}, nil
}

// AddService registers a service before Boot and returns its id.
func (m *Machine) AddService(name string, svc Service) ServiceID {
	if m.booted {
		panic("kernel: AddService after Boot")
	}
	m.services = append(m.services, &serviceHost{name: name, svc: svc, bell: urpc.NewDoorbellWith(m.barrier), done: make(chan struct{})})
	return ServiceID(len(m.services) - 1)
}

// ServiceByName returns the id of a registered service.
func (m *Machine) ServiceByName(name string) (ServiceID, bool) {
	for i, s := range m.services {
		if s.name == name {
			return ServiceID(i), true
		}
	}
	return 0, false
}

// Cores returns the number of cores.
func (m *Machine) Cores() int { return len(m.cores) }

// Now returns the machine's monotonic clock in nanoseconds since Boot.
func (m *Machine) Now() int64 { return int64(time.Since(m.epoch)) }

// Boot wires the rings and starts every core and service goroutine. The
// caller should run GOMAXPROCS ≥ cores+1 so that services, timers and the
// garbage collector find a processor while every core runs a SIP.
func (m *Machine) Boot() error {
	if m.booted {
		return errors.New("machine already booted")
	}
	m.booted = true
	m.epoch = time.Now()
	n := m.cfg.Cores
	m.switches = percpu.NewSloppy(n, sloppyThreshold)
	m.messages = percpu.NewSloppy(n, sloppyThreshold)
	slots := m.cfg.RingSlots
	m.cores = make([]*Core, n)
	for i := range m.cores {
		m.cores[i] = newCore(m, i)
	}
	// A ring for each ordered pair of cores, made when the first core of
	// the pair first sends to the second (urpc.Inbox): a table of n²
	// pointers, not n² rings.
	for _, c := range m.cores {
		c.toCore = make([]*urpc.Ring, n)
		c.inbox = urpc.NewInbox(n, slots, c.bell)
	}
	// A ring each way between every core and every service.
	for s, sh := range m.services {
		sh.in = make([]*urpc.Ring, n)
		sh.out = make([]*urpc.Ring, n)
		for i, c := range m.cores {
			toSvc := urpc.NewRing(slots, sh.bell)
			fromSvc := urpc.NewRing(slots, c.bell)
			c.toSvc = append(c.toSvc, toSvc)
			sh.in[i] = toSvc
			sh.out[i] = fromSvc
			c.in = append(c.in, inRing{ring: fromSvc, from: -1 - s})
		}
	}
	// The controller's rings.
	m.ctl = make([]*urpc.Ring, n)
	for i, c := range m.cores {
		m.ctl[i] = urpc.NewRing(slots, c.bell)
		c.in = append(c.in, inRing{ring: m.ctl[i], from: fromController})
	}
	for _, sh := range m.services {
		go sh.run(m)
	}
	m.coresWG.Add(n)
	for _, c := range m.cores {
		go c.loop()
	}
	return nil
}

// ctlSend sends a controller message to a core, waiting while its ring is full.
func (m *Machine) ctlSend(core int, typ uint8, payload []byte, ref any) {
	m.ctlMu.Lock()
	defer m.ctlMu.Unlock()
	for !m.ctl[core].Send(typ, payload, ref) {
		m.ctl[core].Notify()
		runtime.Gosched()
	}
}

// Spawn hands a new SIP to a core; the core starts it when it next runs its
// queue. core < 0 picks the core with the fewest SIPs spawned so far.
func (m *Machine) Spawn(s *SIP, core int) error {
	if !m.booted || m.stopped.Load() {
		return errors.New("machine is not running")
	}
	if core >= len(m.cores) {
		return fmt.Errorf("no core %d on a %d-core machine", core, len(m.cores))
	}
	if core < 0 {
		core = m.pickCore(s.Nice)
	}
	s.pid = m.nextPID.Add(1)
	s.ent.ID = uint64(s.pid)
	s.ent.Nice = s.Nice
	s.group = groupFor(s)
	s.machine = m
	s.home = core
	s.done = make(chan struct{})
	m.cores[core].live.Add(1)
	m.ctlSend(core, msgSpawn, nil, s)
	return nil
}

// pickCore chooses the core for a new SIP of the given nice by sched.Place,
// from what the controller can see without asking the cores: each core's
// live SIPs (those it owns and those on their way to it), weighed as nice-0
// entities, and its capacity. Ties go to the lower id.
func (m *Machine) pickCore(nice int) int {
	others := make([]sched.LoadSummary, len(m.cores))
	for i, c := range m.cores {
		n := c.live.Load()
		others[i] = sched.LoadSummary{Core: sched.CoreID(i), Runnable: int(n), Weight: n * sched.NiceZeroWeight, Capacity: c.capacity}
	}
	self := others[0]
	return int(sched.Place(sched.NiceToWeight(nice), 0, self, others[1:], 0, sched.BalanceConfig{MaxAge: -1}))
}

// Stop ends every core loop (killing SIPs still on them) and then every
// service worker, and waits for the cores and for the workers of services
// that hold host resources (Closer). The order matters: the SIPs' exit hooks
// post release requests to services, so the workers stop only once no core
// runs, serve what is left and close on their own goroutines (service.go).
// Other workers (a console read waiting for input) are not waited for.
func (m *Machine) Stop() {
	m.barrier.Cancel()
	if !m.booted || m.stopped.Swap(true) {
		return
	}
	for i := range m.cores {
		m.ctlSend(i, msgStop, nil, nil)
	}
	m.coresWG.Wait()
	for _, sh := range m.services {
		sh.stop.Store(true)
		sh.bell.Ring()
	}
	for _, sh := range m.services {
		if _, ok := sh.svc.(Closer); ok {
			<-sh.done
		}
	}
}

// Rings returns how many rings between cores the machine has made so far
// (they are made on first use; a machine of n cores may make n×(n-1)).
func (m *Machine) Rings() int {
	n := 0
	for _, c := range m.cores {
		n += c.inbox.Rings()
	}
	return n
}

// Census returns how many SIPs the cores hold: live (spawned and not ended)
// and forwarding (entries cores keep for SIPs they gave away). Once every
// SIP has ended both return to zero; forwarding does so a few messages
// later, as the exits' forget messages arrive. Readable while the machine
// runs (each core publishes its own counts).
func (m *Machine) Census() (live, forwarding int64) {
	for _, c := range m.cores {
		live += c.live.Load()
		forwarding += c.forwards.Load()
	}
	return live, forwarding
}
