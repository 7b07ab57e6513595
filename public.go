package isle

import (
	"isle/internal/kernel"
	"isle/internal/tables"
)

// The root package's own types for what the machine reports and is
// configured with, so that an embedder outside the module can name every
// field's type and every constant (an alias of an internal type could not
// offer its constants). Each mirrors an internal type field for field;
// TestPublicTypesMirrorInternal keeps them in step.

// TableKind is how a kernel table is kept.
type TableKind uint8

// The kinds of a kernel table.
const (
	TableReplicated = TableKind(tables.Replicated) // a copy on every core, written by two-phase commit
	TableShared     = TableKind(tables.Shared)     // one copy for every core, behind its shards' locks
)

func (k TableKind) String() string { return tables.Kind(k).String() }

// The kernel tables a machine keeps (WithTables).
const (
	TableNames = tables.Names // the name service's registry
	TableProcs = tables.Procs // the process table (Machine.Processes)
)

// TablesConfig is the kind of each kernel table, by name (TableNames,
// TableProcs). A table it does not name is replicated; the zero value (nil)
// leaves every table replicated.
type TablesConfig map[string]TableKind

// ParseTables parses NAME=replicated|shared,... (tables: names, procs).
func ParseTables(s string) (TablesConfig, error) {
	tc, err := tables.ParseConfig(s)
	if err != nil {
		return nil, err
	}
	out := TablesConfig{}
	for n, k := range tc {
		out[n] = TableKind(k)
	}
	return out, nil
}

// internal returns the tables package's copy of c.
func (c TablesConfig) internal() tables.Config {
	out := tables.Config{}
	for n, k := range c {
		out[n] = tables.Kind(k)
	}
	return out
}

// ProcState is a process's state in the process table.
type ProcState uint8

// The states of a process.
const (
	ProcRunning = ProcState(tables.Running)
	ProcExited  = ProcState(tables.Exited)
)

func (s ProcState) String() string { return tables.ProcState(s).String() }

// Proc is one row of the process table (Machine.Processes).
type Proc struct {
	PID    int64
	Name   string    // the program
	Core   int       // the core it was spawned on (AnyCore: placed by the machine), or ended on
	Parent int64     // 0: spawned by the embedder
	State  ProcState // ProcRunning or ProcExited
	Status int       // exit status, once exited
}

func procsOf(ps []tables.Proc) []Proc {
	if ps == nil {
		return nil
	}
	out := make([]Proc, len(ps))
	for i, p := range ps {
		out[i] = Proc{PID: p.PID, Name: p.Name, Core: p.Core, Parent: p.Parent, State: ProcState(p.State), Status: p.Status}
	}
	return out
}

// CoreStats are one core's counters (Machine.Stats, after Stop).
type CoreStats struct {
	Core        int
	CPUs        []int  // host CPUs the core's goroutine was seen on (getcpu samples)
	Moves       uint64 // samples that found the core on another CPU than the last
	Samples     uint64 // getcpu samples taken
	SIPs        uint64 // SIPs the core received to run
	Exits       uint64 // SIPs that ended on the core
	Switches    uint64 // context switches into a SIP
	Preemptions uint64 // SIPs suspended because their slice was spent
	Capacity    int64  // the core's capacity (1024 = full)
	MigratedIn  uint64 // runnable SIPs received from other cores
	MigratedOut uint64 // runnable SIPs given to other cores
	StealsAsked uint64 // steal requests sent while idle
	Forwarded   uint64 // deliveries passed on after a SIP that had moved
	// WastedIntervals counts intervals longer than the bound during which
	// this core was idle while another had SIPs waiting the whole time.
	WastedIntervals uint64
	// Wasted lists the first of those intervals.
	Wasted   []WastedInterval
	Sleeps   uint64 // times the core slept on its doorbell
	MsgsSent uint64 // urpc messages sent to cores and services
	MsgsRecv uint64 // urpc messages received

	// DirectSwitches counts the switches (among Switches) made straight
	// from a sender to the SIP on its core that it woke, with no turn of
	// the kernel loop (docs/kernel.md, "A send to a blocked SIP on the
	// same core switches to it directly"), and from a yielder to the SIP
	// the scheduler picked (docs/kernel.md, "A yield is served on the
	// yielder's coroutine").
	DirectSwitches uint64
	// Yields counts the yields of the core's SIPs (sched_yield and the
	// kernel's own), whether they switched or the scheduler kept the
	// yielder running.
	Yields uint64
	Busy   int64 // ns spent running SIPs (polling in a SIP's Block is idle time)
	// ServiceRequests counts the requests the core's SIPs sent to services
	// and waited for; calls served on the core add nothing.
	ServiceRequests uint64
}

// WastedInterval is one violation of the no-wasted-cores invariant seen by
// a core: it was idle from Start to End (machine time, nanoseconds since
// boot) while core Busy had SIPs waiting.
type WastedInterval struct {
	Busy       int
	Start, End int64
}

func coreStatsOf(ks []kernel.CoreStats) []CoreStats {
	if ks == nil {
		return nil
	}
	out := make([]CoreStats, len(ks))
	for i, k := range ks {
		var wasted []WastedInterval
		for _, w := range k.Wasted {
			wasted = append(wasted, WastedInterval(w))
		}
		out[i] = CoreStats{Core: k.Core, CPUs: k.CPUs, Moves: k.Moves, Samples: k.Samples, SIPs: k.SIPs,
			Exits: k.Exits, Switches: k.Switches, DirectSwitches: k.DirectSwitches, Yields: k.Yields, Preemptions: k.Preemptions, Capacity: k.Capacity,
			MigratedIn: k.MigratedIn, MigratedOut: k.MigratedOut, StealsAsked: k.StealsAsked,
			Forwarded: k.Forwarded, WastedIntervals: k.WastedIntervals, Wasted: wasted,
			Sleeps: k.Sleeps, MsgsSent: k.MsgsSent, MsgsRecv: k.MsgsRecv, Busy: k.Busy, ServiceRequests: k.ServiceRequests}
	}
	return out
}
