// Package tables runs isle's kernel tables (the process table, the name table)
// on a booted machine's cores, each table replicated or shared as chosen at
// boot. internal/replica holds the pure parts (the 2PC state machine Node, the
// shared table); this package is the thin shell that drives them: it creates
// one replica.Node per replicated table on every core (kernel.Config.Init),
// carries 2PC messages between cores as kernel Deliverables, ticks the nodes
// from a core ticker while rounds are in flight, hands decisions back to the
// writer on its core and retries aborted writes after replica.Backoff.
//
// The rules of the interface:
//
//   - Tables is created once per machine, before Boot; its Init must run as
//     (or inside) the machine's kernel.Config.Init. The set of tables and the
//     kind of each are immutable after New.
//   - Get, All, Len, Put and Delete take the calling core and must be called on
//     that core's goroutine: a Deliverable, a ticker, or a host function of a
//     SIP the core runs. They touch only that core's replica.
//   - A write returns its outcome at once (Committed, or Aborted after the
//     retries) or Pending; a Pending write calls its done callback exactly
//     once, later, on the same core, with the final outcome. A host function
//     that must wait Blocks its SIP and lets the callback Wake it.
//   - Code off the cores (the embedding API) reaches a core only through Do,
//     which runs a function on that core's goroutine.
//
// The design record is docs/tables.md.
package tables

import (
	"errors"
	"fmt"
	"iter"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"isle/internal/kernel"
)

// Kind is how a table is kept: a replica per core, or one shared copy.
type Kind uint8

// The kinds.
const (
	Replicated Kind = iota + 1 // a replica.Node per core; writes by 2PC
	Shared                     // one replica.Shared for every core
)

func (k Kind) String() string {
	switch k {
	case Replicated:
		return "replicated"
	case Shared:
		return "shared"
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// ParseKind parses "replicated" or "shared".
func ParseKind(s string) (Kind, error) {
	switch s {
	case "replicated":
		return Replicated, nil
	case "shared":
		return Shared, nil
	}
	return 0, fmt.Errorf("table kind %q: want replicated or shared", s)
}

// The machine's tables and the kind each has unless the configuration says
// otherwise.
const (
	Procs = "procs" // pid → Proc; kept by Tables
	// Names is the IPC name registry (internal/names keeps its entries
	// in a Table[names.Entry] that the machine makes): Config chooses its
	// kind like any other table's.
	Names = "names"
)

// defaultKind returns a table's kind unless the configuration says
// otherwise, and whether the machine has that table.
func defaultKind(name string) (Kind, bool) {
	switch name {
	case Procs, Names:
		return Replicated, true
	}
	return 0, false
}

// TableNames returns the names of the machine's tables, sorted.
func TableNames() []string { return []string{Names, Procs} }

// Config is the kind of each table; a table it does not name keeps its
// default (replicated). It is copied by New.
type Config map[string]Kind

// ParseConfig parses "name=kind,..." (e.g. "procs=replicated,names=shared").
func ParseConfig(s string) (Config, error) {
	cfg := Config{}
	if s == "" {
		return cfg, nil
	}
	for _, kv := range strings.Split(s, ",") {
		name, kind, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want NAME=replicated|shared", kv)
		}
		if _, known := defaultKind(name); !known {
			return nil, fmt.Errorf("no table %q (tables: %s)", name, strings.Join(TableNames(), ", "))
		}
		k, err := ParseKind(kind)
		if err != nil {
			return nil, err
		}
		cfg[name] = k
	}
	return cfg, nil
}

func (c Config) String() string {
	var parts []string
	for _, n := range TableNames() {
		k, ok := c[n]
		if !ok {
			k, _ = defaultKind(n)
		}
		parts = append(parts, n+"="+k.String())
	}
	return strings.Join(parts, ",")
}

// Limits in one place.
const (
	// TickPeriod is how often a core ticks its replicated tables while a 2PC
	// round is in flight or a retry waits (one replica tick). The 2PC timers
	// below are counted in these ticks.
	TickPeriod = time.Millisecond
	// PrepareTimeout, ResendInterval and QueryInterval (in ticks) configure
	// every replica.Node. The prepare timeout is 50 ms, well past the Go
	// scheduler's 10 ms time slice: with more cores than CPUs a core that
	// has a message waiting may not run for a slice or two, and a shorter
	// timeout (replica's default, 10 ticks of 200 µs) aborted most writes
	// at 3 and 4 cores on 2 CPUs (docs/tables.md). A core that has really
	// stopped is a kernel bug; 50 ms to notice it is cheap.
	PrepareTimeout = 50
	ResendInterval = 10
	QueryInterval  = 20
	// MaxAttempts is how many times a write is proposed before it is reported
	// Aborted.
	MaxAttempts = 32
)

// Proc is one row of the process table.
type Proc struct {
	PID    int64
	Name   string    // the program
	Core   int       // the core it was spawned on (AnyCore: placed by the machine), or ended on
	Parent int64     // 0: spawned by the embedder
	State  ProcState // running or exited
	Status int       // exit status, once exited
}

// AnyCore in Proc.Core: the machine placed the process and the table does not
// know where yet.
const AnyCore = -1

// ProcState is a process's state in the process table.
type ProcState uint8

// The states.
const (
	Running ProcState = iota + 1
	Exited
)

func (s ProcState) String() string {
	switch s {
	case Running:
		return "running"
	case Exited:
		return "exited"
	}
	return fmt.Sprintf("ProcState(%d)", s)
}

// PIDKey returns the process table's key for pid.
func PIDKey(pid int64) string { return fmt.Sprintf("pid/%d", pid) }

// Tables is a machine's set of kernel tables.
//
// Ownership: cfg, cores, the table list and the tables' kinds are immutable
// after New; each table's per-core state is core-local (see Table).
type Tables struct {
	cfg   Config
	cores int

	procs *Table[Proc]
	all   []Any // every table, for Init and the ticker

	machine atomic.Pointer[kernel.Machine] // set by the first Init
	stopped atomic.Bool
}

// Any is a Table[V] of any V: what Start needs of it.
type Any interface {
	initCore(c *kernel.Core)
	busyOn(c *kernel.Core) bool
	tick(c *kernel.Core) bool
}

// New returns the tables of a machine of cores cores.
func New(cores int, cfg Config) (*Tables, error) {
	if cores < 1 {
		return nil, fmt.Errorf("tables for %d cores", cores)
	}
	c := Config{}
	for _, n := range TableNames() {
		c[n], _ = defaultKind(n)
	}
	for n, k := range cfg {
		if _, ok := defaultKind(n); !ok {
			return nil, fmt.Errorf("no table %q (tables: %s)", n, strings.Join(TableNames(), ", "))
		}
		if k != Replicated && k != Shared {
			return nil, fmt.Errorf("table %s: kind %v", n, k)
		}
		c[n] = k
	}
	t := &Tables{cfg: c, cores: cores}
	t.procs = NewTable[Proc](Procs, c[Procs], cores)
	t.all = []Any{t.procs}
	return t, nil
}

// Config returns the kind of every table (a copy).
func (t *Tables) Config() Config {
	c := Config{}
	for n, k := range t.cfg {
		c[n] = k
	}
	return c
}

// Procs returns the process table.
func (t *Tables) Procs() *Table[Proc] { return t.procs }

// Init sets up core c's replicas and tickers. It must run on c's goroutine
// before its loop: pass it as kernel.Config.Init, or call it from there.
func (t *Tables) Init(c *kernel.Core) {
	t.machine.CompareAndSwap(nil, c.Machine())
	Start(c, t.all...)
}

// Attach names the machine the tables run on before its cores start, so
// that Do works as soon as Boot has returned (else only once the first
// core's Init has run, and a Do before it is ErrNotBooted).
func (t *Tables) Attach(m *kernel.Machine) { t.machine.CompareAndSwap(nil, m) }

// Start sets up core c's state for each table and one ticker that ticks them
// all. It must run on c's goroutine before its loop (kernel.Config.Init).
// Tables.Init calls it; tests and benchmarks that make their own tables call
// it directly.
func Start(c *kernel.Core, ts ...Any) {
	for _, tb := range ts {
		tb.initCore(c)
	}
	c.Every(TickPeriod, func(int64) bool {
		armed := false
		for _, tb := range ts {
			if tb.tick(c) {
				armed = true
			}
		}
		return armed
	})
}

type doFunc func(c *kernel.Core)

func (f doFunc) Deliver(c *kernel.Core) { f(c) }

// ErrNotBooted is returned by Do before the machine's first core has started.
var ErrNotBooted = errors.New("tables: machine not booted")

// ErrStopped is returned by Do and Settle once Stop has been called.
var ErrStopped = errors.New("tables: machine stopped")

// Do runs fn on core's goroutine, from anywhere (the embedding API), and
// returns without waiting for it, by the kernel's controller-to-core
// delivery (kernel.Machine.Deliver).
func (t *Tables) Do(core int, fn func(c *kernel.Core)) error {
	if core < 0 || core >= t.cores {
		return fmt.Errorf("tables: no core %d on a %d-core machine", core, t.cores)
	}
	if t.stopped.Load() {
		return ErrStopped
	}
	m := t.machine.Load()
	if m == nil {
		return ErrNotBooted
	}
	if !m.Deliver(core, doFunc(fn)) {
		return ErrStopped
	}
	return nil
}

// Stop tells the tables that the machine has stopped: the cores' goroutines
// have ended, so the embedder may read a replica directly (Processes).
// Call it after kernel.Machine.Stop has returned.
func (t *Tables) Stop() { t.stopped.Store(true) }

// The process table holds two write-once rows per process, so that the order
// in which a spawn and an exit are recorded (from different cores, perhaps
// concurrently) does not matter: the spawn row under PIDKey, written by the
// embedder through Do when it spawns, and the exit row under ExitKey, written
// by the core that owned the process when it ended (kernel.Config.OnExit).
// Processes merges them.

// ExitKey returns the process table's key for pid's exit row.
func ExitKey(pid int64) string { return fmt.Sprintf("exit/%d", pid) }

// RecordSpawn writes p's spawn row from core c, on c's goroutine. The outcome is not waited for: a write
// that fails after every retry is lost, and counted as Aborted.
func (t *Tables) RecordSpawn(c *kernel.Core, p Proc) {
	p.State = Running
	t.procs.Put(c, PIDKey(p.PID), p, nil)
}

// OnExit records that s ended on core c; it has kernel.Config.OnExit's
// signature and runs on c's goroutine.
func (t *Tables) OnExit(c *kernel.Core, s *kernel.SIP) {
	t.procs.Put(c, ExitKey(s.PID()), Proc{PID: s.PID(), Name: s.Name, Core: c.ID(), State: Exited, Status: s.Result().Status()}, nil)
}

// Processes returns the process table as core reads it, one Proc per pid,
// sorted: on the core's goroutine while the machine runs (waiting at most
// timeout), directly once Stop has been called.
func (t *Tables) Processes(core int, timeout time.Duration) ([]Proc, error) {
	if t.stopped.Load() {
		return merge(t.procs.allOn(core)), nil
	}
	ch := make(chan []Proc, 1)
	if err := t.Do(core, func(c *kernel.Core) { ch <- merge(t.procs.All(c)) }); err != nil {
		return nil, err
	}
	select {
	case ps := <-ch:
		return ps, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("tables: core %d did not answer within %v", core, timeout)
	}
}

// merge turns spawn and exit rows into one Proc per pid, sorted by pid.
func merge(rows iter.Seq2[string, Proc]) []Proc {
	by := map[int64]Proc{}
	for key, r := range rows {
		p, seen := by[r.PID]
		switch {
		case strings.HasPrefix(key, "exit/"):
			if seen {
				p.State, p.Status, p.Core = Exited, r.Status, r.Core
			} else {
				p = r
			}
		default:
			if seen { // the exit row came first
				r.State, r.Status, r.Core = Exited, p.Status, p.Core
			}
			p = r
		}
		by[r.PID] = p
	}
	ps := make([]Proc, 0, len(by))
	for _, p := range by {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].PID < ps[j].PID })
	return ps
}

// Settle waits, at most timeout, until no core has a write of any table in
// flight or waiting for a retry, so that what was written before is visible
// on every core. The embedder calls it before reading a listing it must
// trust, or before Stop.
func (t *Tables) Settle(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		busy := make(chan bool, t.cores)
		for core := range t.cores {
			if err := t.Do(core, func(c *kernel.Core) {
				b := false
				for _, tb := range t.all {
					if tb.busyOn(c) {
						b = true
					}
				}
				busy <- b
			}); err != nil {
				return err
			}
		}
		any := false
		for range t.cores {
			select {
			case b := <-busy:
				any = any || b
			case <-time.After(time.Until(deadline)):
				return fmt.Errorf("tables: not settled within %v", timeout)
			}
		}
		if !any {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("tables: not settled within %v", timeout)
		}
	}
}
