package sandbox

import (
	"context"
	"errors"
	"reflect"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

type processKey struct{}

// procCtx is the context a Process's guest runs under. A host function finds
// its Process with one type check (processOf) rather than a walk of the
// context's values, which was a tenth of a no-op host call.
type procCtx struct {
	context.Context
	p *Process
}

func (c *procCtx) Value(key any) any {
	if _, ok := key.(processKey); ok {
		return c.p
	}
	return c.Context.Value(key)
}

// processOf returns the Process whose guest made a host call under ctx.
// wazero hands host functions the context the guest was called with; the
// walk is for a context wrapped on the way (a function listener's).
func processOf(ctx context.Context) *Process {
	if c, ok := ctx.(*procCtx); ok {
		return c.p
	}
	return ctx.Value(processKey{}).(*Process)
}

// Process is one running instance of a Module: a SIP's body.
//
// Ownership: a Process is owned by one core at a time, which alone calls
// Resume and Kill; the fields below are touched only on the owner's goroutine
// or on the Process's own coroutine while the owner waits in Resume.
type Process struct {
	mod   *Module
	owner any // the kernel's SIP; immutable

	co    *coro // the coroutine it runs on, from the runtime's pool (coro.go); nil before the first Resume and once ended
	yield func(uint32) bool

	call   Call
	mem    linearMemory      // the linear memory, and its allocator
	fuel   api.MutableGlobal // the instrumented module's fuel, found at the first preemption
	view   api.Memory        // the instance's memory as wazero shows it, found at the first host call that needs it
	noMem  bool              // the instance has no memory
	result Result
	killed bool
	done   bool
}

// Result is how a Process ended.
type Result struct {
	ExitCode uint32 // valid when Trap and Link are empty and Killed is false
	Trap     string // the trap's reason, e.g. "unreachable"; empty if none
	Link     string // why the module could not be instantiated (e.g. a data segment out of bounds); no guest code ran
	// Stack is the guest's call stack when it trapped, innermost frame
	// first, one frame a line ("inner(i32)"), named from the module's
	// "name" section (wazero's "$3" where a function has no name), at most
	// wazero's 30 frames; empty if the Process did not trap.
	Stack  string
	Killed bool // stopped by its owner
}

// Status is the exit status a command reports for r: the exit code, 134 for a
// trap (128+SIGABRT, as wasmtime does), 137 for a kill (128+SIGKILL), 1 when
// the module could not be instantiated (an error, as a load error is).
func (r Result) Status() int {
	switch {
	case r.Killed:
		return 137
	case r.Trap != "":
		return 134
	case r.Link != "":
		return 1
	}
	return int(r.ExitCode)
}

// NewProcess returns a Process of m that has not started yet. owner is handed
// back to host functions by Call.Owner.
func (m *Module) NewProcess(owner any) *Process {
	p := &Process{mod: m, owner: owner}
	p.call.p = p
	p.mem.pool, p.mem.budget, p.mem.img = &m.rt.mems, m.rt.cfg.Budget, m.img
	return p
}

// Resume runs the Process until it suspends, reporting the reason given to
// Call.Suspend, or until it ends (done). The first Resume instantiates the
// module and calls _start. The coroutine is created by the first Resume, on
// the resuming goroutine, which must not be locked to its OS thread.
func (p *Process) Resume() (reason uint32, done bool) {
	if p.done {
		return 0, true
	}
	if p.co == nil {
		p.co = p.mod.rt.coros.get(p)
	}
	r, ok := p.co.next()
	if !ok || p.co.ended {
		p.done = true
		if ok {
			p.mod.rt.coros.put(p.co) // ended by itself: the coroutine runs the next
		}
		p.co = nil
		return 0, true
	}
	return r, false
}

// Kill ends a Process that is suspended or not yet started; it unwinds the
// guest's stack and releases its instance.
func (p *Process) Kill() {
	if p.done {
		return
	}
	p.killed = true
	if p.co != nil {
		p.co.stop() // unwinds the guest; the coroutine ends with it
		p.co = nil
	}
	p.done = true
	p.result = Result{Killed: true}
}

// Done reports whether the Process has ended.
func (p *Process) Done() bool { return p.done }

// Result returns how the Process ended; valid once Done.
func (p *Process) Result() Result { return p.result }

func (p *Process) run(yield func(uint32) bool) {
	p.yield = yield
	var ctx context.Context = &procCtx{experimental.WithMemoryAllocator(context.Background(), &p.mem), p}
	defer p.mem.Free() // after a failed instantiation too; Free is idempotent
	if ok, budget := p.mem.reserve(p.mod.memMin, p.mod.memMax); !ok {
		p.result = Result{Trap: errReserve}
		if budget {
			p.result = Result{Trap: errBudget}
		}
		return
	}
	inst, err := p.mod.rt.rt.InstantiateModule(ctx, p.mod.compiled, p.mod.rt.modConfig)
	if err != nil {
		// No guest code has run: wazero instantiates without start
		// functions. This is a link error (an out-of-bounds data or element
		// segment), not a trap.
		p.result = p.classify(err)
		if !p.result.Killed {
			p.result = Result{Link: "cannot instantiate: " + p.result.Trap}
		}
		return
	}
	_, err = inst.ExportedFunction("_start").Call(ctx)
	p.result = p.classify(err)
	inst.Close(ctx)
	p.call.mod = nil
	if at := p.mod.rt.cfg.AtEnd; at != nil && !p.killed {
		p.atEnd(at)
	}
}

// atEnd runs the AtEnd hook; a kill while it is suspended ends it (the
// Process is ending anyway).
func (p *Process) atEnd(at func(c *Call)) {
	defer func() {
		if r := recover(); r != nil && r != errKilled {
			panic(r)
		}
	}()
	at(&p.call)
}

func (p *Process) classify(err error) Result {
	if p.killed {
		return Result{Killed: true}
	}
	if err == nil {
		return Result{}
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return Result{ExitCode: exit.ExitCode()}
	}
	msg := firstLine(err.Error())
	msg = strings.TrimPrefix(msg, "wasm error: ")
	msg = strings.TrimSuffix(msg, " (recovered by wazero)")
	if msg == "" {
		msg = "unknown trap"
	}
	return Result{Trap: msg, Stack: trapStack(err.Error(), p.mod.funcShift)}
}

// The traps of a process whose memory cannot be made: its initial size does
// not fit in what is left of the machine's budget, or its address space
// cannot be reserved.
const (
	errBudget  = "out of memory: the module's initial memory does not fit in the machine's memory budget"
	errReserve = "out of memory: cannot reserve address space for the module's memory"
)

// Call is what a host function knows of its caller.
type Call struct {
	p   *Process
	mod api.Module
}

// Owner returns the owner given to NewProcess.
func (c *Call) Owner() any { return c.p.owner }

// errNoMemory ends a Process whose module has no memory when a host call
// needs one, as wasmtime traps with "missing required memory export".
var errNoMemory = errors.New("missing required memory: the module has none, and a host call needs it")

// Memory returns the caller's linear memory. A module without one traps
// (errNoMemory): no host call can take pointers from it.
func (c *Call) Memory() Memory {
	p := c.p
	if p.view == nil && !p.noMem {
		// wazero returns a typed nil (*MemoryInstance) for a module
		// without memory, which a nil check would let through.
		m := c.mod.Memory()
		p.noMem = m == nil || reflect.ValueOf(m).IsNil()
		if !p.noMem {
			p.view = m
		}
	}
	if p.noMem {
		panic(errNoMemory)
	}
	return Memory{m: p.view}
}

// Suspend hands control back to the Process's owner, which sees reason as
// Resume's result, and returns when the owner resumes the Process. If the
// owner kills the Process instead, Suspend unwinds the guest and never returns.
func (c *Call) Suspend(reason uint32) { c.p.Suspend(reason) }

// Suspend is Call.Suspend for code that holds the Process rather than the
// Call. It may be called only on the Process's own coroutine, that is, from
// inside a host function.
func (p *Process) Suspend(reason uint32) {
	if p.yield == nil || !p.yield(reason) {
		panic(errKilled)
	}
}

// Exit ends the Process with an exit code; it never returns.
func (c *Call) Exit(code uint32) {
	panic(sys.NewExitError(code))
}

// Memory is a guest's linear memory, seen from a host function. Every access
// is bounds-checked: an out-of-range pointer or length reports false.
type Memory struct {
	m api.Memory
}

// Size returns the memory's size in bytes.
func (m Memory) Size() uint32 {
	if m.m == nil {
		return 0
	}
	return m.m.Size()
}

// Read returns a view of n bytes at off; it aliases guest memory and is valid
// only until the guest runs again.
func (m Memory) Read(off, n uint32) ([]byte, bool) {
	if m.m == nil {
		return nil, n == 0
	}
	return m.m.Read(off, n)
}

// Write copies b into guest memory at off.
func (m Memory) Write(off uint32, b []byte) bool {
	if m.m == nil {
		return len(b) == 0
	}
	return m.m.Write(off, b)
}

// ReadUint32 reads a little-endian uint32 at off.
func (m Memory) ReadUint32(off uint32) (uint32, bool) {
	if m.m == nil {
		return 0, false
	}
	return m.m.ReadUint32Le(off)
}

// WriteUint32 writes a little-endian uint32 at off.
func (m Memory) WriteUint32(off, v uint32) bool {
	if m.m == nil {
		return false
	}
	return m.m.WriteUint32Le(off, v)
}

// WriteUint64 writes a little-endian uint64 at off.
func (m Memory) WriteUint64(off uint32, v uint64) bool {
	if m.m == nil {
		return false
	}
	return m.m.WriteUint64Le(off, v)
}
