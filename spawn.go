package isle

import (
	"fmt"
	"time"

	"isle/internal/kernel"
	"isle/internal/procapi"
	"isle/internal/sandbox"
	"isle/internal/wasi"
)

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
		extOf(s).wasi.Env = s.Env
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
	wp := &wasi.Proc{Args: s.Args, Env: s.Env, Preopens: m.preopens, Console: m.console, Stdin: m.stdin, FS: m.fs, Net: m.net, Listeners: len(m.lns), ListenerFds: m.lnFds, PreopenLends: m.preLends, HostFDs: m.hostFDs, ConsoleFds: m.outFds, StdinNow: m.stdinSvc}
	s.Ext = &sipExt{wasi: wp, ipc: m.ipc.NewProc(s)}
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
