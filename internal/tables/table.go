package tables

import (
	"fmt"
	"iter"

	"isle/internal/kernel"
	"isle/internal/percpu"
	"isle/internal/replica"
)

// Table is one kernel table on a machine: replicated (a replica.Node on every
// core, writes by 2PC carried as Deliverables) or shared (one replica.Shared).
//
// Ownership: name, kind, shared and the slices are immutable after NewTable;
// cores[i] is core-local to core i (created by its Init, then touched only on
// its goroutine); the counters follow percpu's rules (slot i written by core i).
type Table[V any] struct {
	name   string
	kind   Kind
	shared *replica.Shared[V]
	cores  []*coreTable[V]

	sent      *percpu.Counter // 2PC messages sent, by sending core
	committed *percpu.Counter // writes committed, by writing core
	aborted   *percpu.Counter // writes reported Aborted after every attempt
	retries   *percpu.Counter // proposals after the first
	timeouts  *percpu.Counter // attempts aborted because a vote came too late
	timerSent *percpu.Counter // of sent, those a tick sent (re-sends, queries, timeouts' aborts)
}

// coreTable is one core's state of a replicated table: its replica, the
// writes it coordinates that are undecided, and aborted writes waiting for
// their retry tick. Core-local.
type coreTable[V any] struct {
	node    *replica.Node[V]
	now     int64 // ticks so far
	waiting map[replica.TxID]*write[V]
	retry   []*write[V]
}

// write is one write a core's caller made, across its attempts. Core-local.
type write[V any] struct {
	op      replica.Op[V]
	attempt int   // proposals so far
	at      int64 // tick of the next proposal, while waiting for a retry
	done    func(replica.Outcome)
}

// delivery carries one 2PC message to its core; the receiving core steps its
// node with it. The message is owned by the delivery and moves with it.
type delivery[V any] struct {
	t *Table[V]
	m replica.Message[V]
}

func (d *delivery[V]) Deliver(c *kernel.Core) { d.t.step(c, d.m) }

// NewTable returns an empty table of the given kind for a machine of cores
// cores. A replicated table gets its replicas when each core runs Start.
func NewTable[V any](name string, kind Kind, cores int) *Table[V] {
	t := &Table[V]{
		name:      name,
		kind:      kind,
		cores:     make([]*coreTable[V], cores),
		sent:      percpu.NewCounter(cores),
		committed: percpu.NewCounter(cores),
		aborted:   percpu.NewCounter(cores),
		retries:   percpu.NewCounter(cores),
		timeouts:  percpu.NewCounter(cores),
		timerSent: percpu.NewCounter(cores),
	}
	if kind == Shared {
		t.shared = replica.NewShared[V]()
	}
	return t
}

// Name returns the table's name.
func (t *Table[V]) Name() string { return t.name }

// Kind returns how the table is kept.
func (t *Table[V]) Kind() Kind { return t.kind }

func (t *Table[V]) initCore(c *kernel.Core) {
	if t.kind != Replicated {
		return
	}
	n, err := replica.NewNode[V](replica.Config{ID: replica.CoreID(c.ID()), Cores: len(t.cores), PrepareTimeout: PrepareTimeout, ResendInterval: ResendInterval, QueryInterval: QueryInterval})
	if err != nil {
		panic(fmt.Sprintf("tables: %s: core %d: %v", t.name, c.ID(), err))
	}
	t.cores[c.ID()] = &coreTable[V]{node: n, waiting: map[replica.TxID]*write[V]{}}
}

// local returns core c's state, asserting it exists.
func (t *Table[V]) local(c *kernel.Core) *coreTable[V] {
	ct := t.cores[c.ID()]
	if ct == nil {
		panic(fmt.Sprintf("tables: %s: core %d has no replica (Init not run)", t.name, c.ID()))
	}
	return ct
}

// Get returns the value under key as core c sees it: its own replica (no
// message, no lock) or the shared copy. Call it on c's goroutine.
func (t *Table[V]) Get(c *kernel.Core, key string) (V, bool) {
	if t.kind == Shared {
		return t.shared.Get(key)
	}
	return t.local(c).node.Get(key)
}

// All yields every key and value as core c sees it. The table must not be
// written during the iteration. Call it on c's goroutine.
func (t *Table[V]) All(c *kernel.Core) iter.Seq2[string, V] {
	if t.kind == Shared {
		return t.shared.All()
	}
	return t.local(c).node.All()
}

// Len returns the number of keys as core c sees them.
func (t *Table[V]) Len(c *kernel.Core) int {
	if t.kind == Shared {
		return t.shared.Len()
	}
	return t.local(c).node.Len()
}

// allOn yields core's replica (or the shared copy) from any goroutine; only
// valid once the machine's cores have stopped.
func (t *Table[V]) allOn(core int) iter.Seq2[string, V] {
	if t.kind == Shared {
		return t.shared.All()
	}
	return t.cores[core].node.All()
}

// Put stores v under key from core c (on c's goroutine). It returns the final
// outcome when it is known at once (a shared table, a single core), or
// Pending: then done runs exactly once, later, on c's goroutine, with the
// final outcome. Aborted writes are retried after replica.Backoff, up to
// MaxAttempts proposals. done may be nil.
func (t *Table[V]) Put(c *kernel.Core, key string, v V, done func(replica.Outcome)) replica.Outcome {
	return t.write(c, replica.Op[V]{Kind: replica.OpPut, Key: key, Value: v}, done)
}

// Delete removes key from core c, as Put does.
func (t *Table[V]) Delete(c *kernel.Core, key string, done func(replica.Outcome)) replica.Outcome {
	return t.write(c, replica.Op[V]{Kind: replica.OpDelete, Key: key}, done)
}

func (t *Table[V]) write(c *kernel.Core, op replica.Op[V], done func(replica.Outcome)) replica.Outcome {
	if t.kind == Shared {
		var r replica.Result
		if op.Kind == replica.OpPut {
			r = t.shared.Put(op.Key, op.Value)
		} else {
			r = t.shared.Delete(op.Key)
		}
		t.count(c, r.Outcome)
		return r.Outcome
	}
	ct := t.local(c)
	w := &write[V]{op: op, done: done}
	o := t.propose(c, ct, w)
	if o == replica.Pending {
		t.process(c, ct)
		c.Arm()
	}
	return o
}

// traceTx records a step of a 2PC round in core c's trace (kernel.TraceMark).
func traceTx(c *kernel.Core, what, table string, tx replica.TxID, to int) {
	if c.Traced() {
		c.TraceMark(what, table, int64(tx.Core)<<40|int64(tx.Seq&(1<<40-1)), to)
	}
}

// stepName names a 2PC message for a trace.
func stepName(t replica.MsgType, yes bool) string {
	switch {
	case t == replica.MsgVote && yes:
		return "vote yes"
	case t == replica.MsgVote:
		return "vote no"
	}
	return t.String()
}

// propose makes one attempt of w. It returns Pending while w is in flight or
// waiting for a retry, else the final outcome (reported by the caller).
func (t *Table[V]) propose(c *kernel.Core, ct *coreTable[V], w *write[V]) replica.Outcome {
	w.attempt++
	if w.attempt > 1 {
		t.retries.Inc(c.ID())
	}
	r := ct.node.Propose(w.op)
	traceTx(c, "propose", t.name, r.Tx, -1)
	switch r.Outcome {
	case replica.Pending:
		ct.waiting[r.Tx] = w
		return replica.Pending
	case replica.Committed:
		t.count(c, replica.Committed)
		return replica.Committed
	}
	// Aborted at once: a local conflict.
	if w.attempt < MaxAttempts {
		w.at = ct.now + int64(replica.Backoff(replica.CoreID(c.ID()), w.attempt))
		ct.retry = append(ct.retry, w)
		return replica.Pending
	}
	t.count(c, replica.Aborted)
	return replica.Aborted
}

func (t *Table[V]) count(c *kernel.Core, o replica.Outcome) {
	switch o {
	case replica.Committed:
		t.committed.Inc(c.ID())
	case replica.Aborted:
		t.aborted.Inc(c.ID())
	}
}

// step hands core c's node a message from another core.
func (t *Table[V]) step(c *kernel.Core, m replica.Message[V]) {
	ct := t.local(c)
	if err := ct.node.Step(m); err != nil {
		panic(fmt.Sprintf("tables: %s: core %d: %v", t.name, c.ID(), err)) // a kernel bug
	}
	t.process(c, ct)
	if t.busy(ct) {
		c.Arm()
	}
}

// tick advances core c's node by one tick and starts the retries that are due.
// It reports whether the table needs the next tick.
func (t *Table[V]) tick(c *kernel.Core) bool {
	if t.kind != Replicated {
		return false
	}
	ct := t.local(c)
	ct.now++
	ct.node.Tick()
	if len(ct.retry) > 0 {
		due := ct.retry
		ct.retry = nil
		for _, w := range due {
			if w.at > ct.now {
				ct.retry = append(ct.retry, w)
				continue
			}
			if o := t.propose(c, ct, w); o != replica.Pending {
				// Final at once: the write's caller already got Pending.
				t.finish(w, o)
			}
		}
	}
	t.process(c, ct)
	return t.busy(ct)
}

// busyOn reports whether core c has a write of t in flight or waiting.
func (t *Table[V]) busyOn(c *kernel.Core) bool {
	return t.kind == Replicated && t.busy(t.local(c))
}

func (t *Table[V]) busy(ct *coreTable[V]) bool {
	coord, prepared := ct.node.InFlight()
	return coord > 0 || prepared > 0 || len(ct.retry) > 0
}

// decided is a write whose attempt the node decided, kept until Advance.
type decided[V any] struct {
	w *write[V]
	o replica.Outcome
}

// process does the duties of the node's Ready (replica.Ready): sends its
// messages as Deliverables, then, after Advance, reports or retries decided
// writes. Callbacks run after Advance, so they may write again.
func (t *Table[V]) process(c *kernel.Core, ct *coreTable[V]) {
	for ct.node.HasReady() {
		rd := ct.node.Ready()
		for _, m := range rd.Messages {
			t.sent.Inc(c.ID())
			if m.Timer {
				t.timerSent.Inc(c.ID())
			}
			if c.Traced() {
				traceTx(c, stepName(m.Type, m.Yes), t.name, m.Tx, int(m.To))
			}
			c.SendTo(int(m.To), &delivery[V]{t: t, m: m})
		}
		var ds []decided[V]
		for _, d := range rd.Decisions {
			w := ct.waiting[d.Tx]
			if w == nil {
				panic(fmt.Sprintf("tables: %s: core %d: decision for unknown %v", t.name, c.ID(), d.Tx))
			}
			delete(ct.waiting, d.Tx)
			if d.Reason == replica.ReasonTimeout {
				t.timeouts.Inc(c.ID())
			}
			if d.Outcome == replica.Committed {
				traceTx(c, "decided commit", t.name, d.Tx, -1)
			} else {
				traceTx(c, "decided abort", t.name, d.Tx, -1)
			}
			ds = append(ds, decided[V]{w, d.Outcome})
		}
		ct.node.Advance()
		for _, d := range ds {
			if d.o == replica.Committed {
				t.count(c, replica.Committed)
				t.finish(d.w, replica.Committed)
				continue
			}
			if d.w.attempt < MaxAttempts {
				d.w.at = ct.now + int64(replica.Backoff(replica.CoreID(c.ID()), d.w.attempt))
				ct.retry = append(ct.retry, d.w)
				continue
			}
			t.count(c, replica.Aborted)
			t.finish(d.w, replica.Aborted)
		}
	}
}

func (t *Table[V]) finish(w *write[V], o replica.Outcome) {
	if w.done != nil {
		w.done(o)
	}
}

// Counts are a table's counters summed over the cores.
type Counts struct {
	Committed uint64 // writes committed
	Aborted   uint64 // writes reported Aborted after MaxAttempts
	Retries   uint64 // proposals after a write's first
	Messages  uint64 // 2PC messages sent between cores
	ByTimer   uint64 // of Messages, those sent on a tick: re-sent Prepares and Commits, queries, a timeout's aborts
	Timeouts  uint64 // attempts aborted because a vote came too late (the rest of the retries were conflicts)
}

// Counts returns the table's counters (exact once the writers are idle).
func (t *Table[V]) Counts() Counts {
	return Counts{
		Committed: uint64(t.committed.Sum()),
		Aborted:   uint64(t.aborted.Sum()),
		Retries:   uint64(t.retries.Sum()),
		Messages:  uint64(t.sent.Sum()),
		ByTimer:   uint64(t.timerSent.Sum()),
		Timeouts:  uint64(t.timeouts.Sum()),
	}
}
