package kernel

import (
	"sync/atomic"
	"unsafe"

	"isle/internal/sandbox"
	"isle/internal/sched"
)

// sipOf returns the SIP whose run-queue entity e is.
func sipOf(e *sched.Entity) *SIP { return (*SIP)(unsafe.Pointer(e)) }

// Why a SIP's coroutine handed control back to its core.
const (
	suspendYield    uint32 = iota + 1 // still runnable: back on the run queue
	suspendRequest                    // waiting for a service's reply
	suspendSleep                      // waiting for a timer
	suspendBlock                      // waiting for Core.Wake
	suspendPreempt                    // its slice is spent: back on the run queue
	suspendRequeued                   // a yield already accounted for and requeued (yield.go)
)

// SIP is a software-isolated process: a sandboxed WebAssembly instance and
// the kernel's record of it.
//
// Ownership: Name, Args, Env and Ext are set by the creator before Spawn and
// are then owned by the SIP's personality (they are read only on the SIP's
// coroutine). home is immutable after Spawn, and ended is written once, by
// the core the SIP ends on, and read by any core (atomic). Every other field
// is owned by the core that owns the SIP and moves with it; done is closed
// once, by that core, when the SIP ends.
type SIP struct {
	ent sched.Entity // first: sipOf turns the run queue's *Entity back into its SIP

	Name string
	Args []string
	Nice int // -20 (most CPU) … 19 (least), as Linux; read at Spawn
	Env  []string
	// Ext is the SIP's state in the layers above the kernel (its fd table,
	// its channels, its children): one record, made and owned by the
	// embedder, that each layer reads its own part of (Ext). Set before
	// Spawn; nil for a SIP that has none (the kernel's tests).
	Ext Ext
	// Parent is the SIP that spawned this one, nil for a SIP the embedder
	// spawned. Immutable.
	Parent *SIP

	group   *Group           // its process tree's (group.go); immutable after Spawn
	counted bool             // its weight is in group.load: it is runnable (or migrating)
	proc    *sandbox.Process // nil once the SIP has ended: its instance is released
	machine *Machine
	pid     int64
	core    *Core
	home    int          // the core it was spawned on; immutable after Spawn
	ended   atomic.Int32 // 0 while it lives; then 1 + the core it ended on
	// trail: the cores that hold a forwarding entry for the SIP (one bit a
	// core), so that its exit can have them drop it (docs/kernel.md).
	trail []uint64

	req         Request  // the SIP's own request record (Request, Call)
	cur         *Request // the request with a service now: &req, or the personality's (CallWith)
	svc         ServiceID
	wakeAt      int64        // for suspendSleep: machine time to wake at
	sliceStart  int64        // machine time the SIP was last resumed
	sliceEnd    int64        // machine time its current slice ends
	blocked     bool         // suspended in Block, waiting for Wake
	waiting     bool         // its request is with a service
	unseen      bool         // the reply came back and the SIP has not run since
	killPending bool         // killed while waiting: ends when the reply comes
	wakePending bool         // a Wake came while the SIP was not blocked
	moveTo      int          // MoveTo: the core to hand the SIP to when it yields, plus one; 0 for none
	cpuTime     int64        // nanoseconds spent running
	cpuSeen     atomic.Int64 // cpuTime as of the last slice's end, for other goroutines (CPUTimeSeen)
	burst       int64        // nanoseconds run since it last woke (Core.wait)
	waitWeight  int64        // its weight when it sent its request (Core.svcWeight)
	msgs        uint64       // channel messages sent and received (CountMessage)
	result      sandbox.Result
	done        chan struct{}
}

// NewSIP returns a SIP that will run mod; the embedder fills in Name,
// Args, Env and Ext before Spawn.
func NewSIP(mod *sandbox.Module) *SIP {
	s := &SIP{}
	s.proc = mod.NewProcess(s)
	return s
}

// SIPOf returns the SIP a host function is running for.
func SIPOf(c *sandbox.Call) *SIP { return c.Owner().(*SIP) }

// PID returns the SIP's process id (set by Spawn).
func (s *SIP) PID() int64 { return s.pid }

// Home returns the core the SIP was spawned on. That core knows where the
// SIP is for as long as it lives (it owns it, or forwards to where it sent
// it), so it is where a message for the SIP can always be addressed.
func (s *SIP) Home() int { return s.home }

// Machine returns the machine the SIP was spawned on.
func (s *SIP) Machine() *Machine { return s.machine }

// CPUTime returns the nanoseconds the SIP has run so far. Called from the
// SIP's own host functions, it is exact up to the current slice.
func (s *SIP) CPUTime() int64 { return s.cpuTime }

// CPUTimeSeen returns the nanoseconds the SIP had run when its last slice
// ended. Any goroutine may call it (the embedder's Process.CPUTime): it
// reads a copy the core publishes at each slice's end.
func (s *SIP) CPUTimeSeen() int64 { return s.cpuSeen.Load() }

// CPUTimeNow returns the nanoseconds the SIP has run, counting its current
// slice up to now: what CPUTime says plus the time since the slice began,
// less what its core spent polling in it (that is the core's idle time).
// Only the SIP's own host functions may call it, on its coroutine, while
// its core runs it: the fields it reads are then its core's, and still.
func (s *SIP) CPUTimeNow() int64 {
	return s.cpuTime + s.machine.Now() - s.sliceStart - s.core.polled
}

// Done is closed when the SIP has ended.
func (s *SIP) Done() <-chan struct{} { return s.done }

// Result returns how the SIP ended; valid after Done is closed.
func (s *SIP) Result() sandbox.Result { return s.result }

// The calls below are made by host functions, on the SIP's coroutine.

// Yield gives up the core; the SIP stays runnable. The yield is served on
// the SIP's own coroutine when the loop has nothing else to do
// (yield.go): it returns at once if the scheduler picks the SIP again, and
// switches straight to the SIP it picks otherwise.
func (s *SIP) Yield() {
	s.sendHeld()
	s.core.stats.Yields++
	if s.core.yieldHere(s) {
		return
	}
	s.proc.Suspend(suspendYield)
}

// Ext is a SIP's record in the layers above the kernel. The kernel knows
// only the output the record holds back (Holder); each layer defines the
// small interface that hands it its own part (wasi.Owner, abi.Owner,
// procapi.Owner), and the embedder's record implements them all (the root
// package's sipExt), so that one record with typed fields replaces a slot
// of type any per layer.
type Ext interface {
	Holder
}

// ExitHook is a layer above the kernel that is told when a SIP ends
// (Config.OnExit), on the goroutine of the core the SIP ends on, before its
// Done channel closes: it releases what the SIP held in that layer.
type ExitHook interface {
	OnExit(c *Core, s *SIP)
}

// ExitFunc is a function as an ExitHook.
type ExitFunc func(c *Core, s *SIP)

// OnExit calls f.
func (f ExitFunc) OnExit(c *Core, s *SIP) { f(c, s) }

// Holder is output that a personality holds back while its SIP runs, to
// send it in fewer requests (the console's buffered writes). The kernel
// calls ReleaseHeld on the SIP's coroutine before every suspension (a call
// to a service, a block, a sleep, a yield, a preemption), so that nothing
// held waits while the SIP does not run, and output keeps its order with
// what the SIP does next. ReleaseHeld sends what is held with CallWith
// (never Call, which would release again) and must be cheap when nothing
// is held.
type Holder interface {
	ReleaseHeld(s *SIP)
	// Holding reports whether anything is held.
	Holding() bool
}

// ReleaseHeld sends what the SIP's personality holds back (Holder) now, on
// the SIP's coroutine: before an act another SIP can see (a channel send or
// close, a spawn), so that output the SIP wrote before it comes out before
// anything the other SIP writes in answer, as where each write reaches the
// host at once (wasmtime's fd_write). Cheap when nothing is held.
func (s *SIP) ReleaseHeld() {
	if s.Ext != nil && s.Ext.Holding() {
		s.Ext.ReleaseHeld(s)
	}
}

func (s *SIP) sendHeld() {
	if s.Ext != nil {
		s.Ext.ReleaseHeld(s)
	}
}

// Request returns the SIP's request record, to be filled in before Call.
// Its Buf is reused from one call to the next.
func (s *SIP) Request() *Request {
	r := &s.req
	buf := r.Buf[:0]
	*r = Request{Buf: buf}
	return r
}

// Call sends the SIP's request to a service and suspends the SIP until the
// reply has come back to its core; the reply is in the request record.
func (s *SIP) Call(svc ServiceID) *Request {
	s.sendHeld()
	return s.CallWith(svc, &s.req)
}

// Post sends req to a service on behalf of no one and does not wait, as
// Core.Post: no reply comes. Called on the SIP's coroutine, which runs
// while its core's goroutine waits for it, so the core's rings are the
// SIP's to use; requests the SIP sends later to the same service come after
// it. req must be a record of its own (not Request's), as it stays with the
// service until it is served.
func (s *SIP) Post(svc ServiceID, req *Request) { s.core.Post(svc, req) }

// PostLazy is Post of a request that need not be served soon (Core.PostLazy).
func (s *SIP) PostLazy(svc ServiceID, req *Request) { s.core.PostLazy(svc, req) }

// CallWith is Call with a request record of the caller's own (owned by the
// SIP's personality, lent to the service until the reply, as the SIP's own
// record is); it releases nothing held (Holder).
func (s *SIP) CallWith(svc ServiceID, r *Request) *Request {
	s.svc = svc
	r.sip = s
	s.cur = r
	s.proc.Suspend(suspendRequest)
	return r
}

// Preempt is the sandbox's preemption hook (sandbox.Config.Preempt), called
// on a SIP's coroutine every few thousand function entries and loop
// iterations: a SIP that has run for its slice goes back on the run queue, so
// that no SIP keeps a core to itself, with or without system calls.
//
// It is also the core's wake-up preemption (Linux's check_preempt_wakeup):
// a SIP that has run at least wakePreemptAfter goes back on the run queue
// as soon as a message waits in one of its core's rings (a service's reply,
// a channel message, a steal request), so that the core handles it and
// picks again: a SIP woken by it runs at once if EEVDF prefers it, instead
// of waiting for the end of the running SIP's slice. Without it, a SIP that
// makes many short host calls beside a spinner waited up to a slice (3 ms)
// for each reply. The pick usually resumes the same SIP: the cost is a
// coroutine switch (about 0.3 µs) per message batch.
func Preempt(c *sandbox.Call) {
	s := SIPOf(c)
	now := s.machine.Now()
	if now >= s.sliceEnd || now-s.sliceStart >= wakePreemptAfter && s.core.messageWaiting() {
		s.sendHeld()
		s.proc.Suspend(suspendPreempt)
	}
}

// AtEnd is the sandbox's end hook (sandbox.Config.AtEnd): what the SIP's
// personality still holds (Holder) is released before the SIP ends, so its
// output has been written when Done is closed.
func AtEnd(c *sandbox.Call) {
	SIPOf(c).sendHeld()
}

// SleepUntil suspends the SIP until the machine's clock reaches t (Now()).
// A sleeping SIP frees its core.
func (s *SIP) SleepUntil(t int64) {
	s.sendHeld()
	s.wakeAt = t
	s.proc.Suspend(suspendSleep)
}

// leftTrail records that core id now forwards deliveries for the SIP.
// Called by the core that owns it, as it gives it away.
func (s *SIP) leftTrail(id int) {
	w := id / 64
	if w >= len(s.trail) {
		s.trail = append(s.trail, make([]uint64, w+1-len(s.trail))...)
	}
	s.trail[w] |= 1 << (id % 64)
}

// backOnTrail records that core id, which had given the SIP away, owns it
// again and forwards nothing for it.
func (s *SIP) backOnTrail(id int) {
	if w := id / 64; w < len(s.trail) {
		s.trail[w] &^= 1 << (id % 64)
	}
}
