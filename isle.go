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
	"context"
	"errors"
	"path/filepath"
	"time"

	"isle/internal/kernel"
	"isle/internal/tables"
)

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
	m, err := newMachine(ctx, cfg, seams{})
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
