// Package procapi is the process part of isle's host ABI (import module
// "isle"): a SIP spawns a child SIP from a module file, waits for it and
// kills it.
//
// The rules of the interface:
//
//   - A module file is named by a path in the parent's own namespace: it must
//     lie under one of the machine's preopened directories (by guest name),
//     and is opened through os.Root, so no "..", absolute path or symlink
//     reaches outside. Reading and compiling happen in the loader service's
//     worker, never on a core; the parent SIP waits, its core does not. A
//     program the loader has loaded, and that nothing has changed since (an
//     inotify watch on its directories says), is taken from the loader's
//     published table on the parent's core, with no request (fastload.go).
//   - A child starts on its parent's core (balancing moves it as it moves any
//     SIP), with its own arguments, the machine's environment and preopens,
//     and a nice value.
//   - Only a parent may wait for or kill its children (ECHILD otherwise); a
//     kill is carried by message to whichever core owns the child, wherever
//     the balancer has moved either of them, and takes effect when that core
//     next runs its loop, within one slice.
//   - A SIP's children end with it: when a SIP ends (exit, trap or kill),
//     every child it has not reaped and that still runs is killed, and so on
//     down its subtree, as a process group is hung up or a Linux child with
//     PR_SET_PDEATHSIG is signalled. isle has no init SIP that could reap
//     orphans, so none is left running (docs/processes.md).
//   - A SIP tree (a SIP the embedder spawned and everything below it) has at
//     most MaxDescendants live SIPs below its root; a spawn past that fails
//     with EAGAIN, as fork does past RLIMIT_NPROC. The count is one atomic
//     counter per tree, shared by its SIPs on every core.
//   - Errors are WASI errno values, as for wasi_snapshot_preview1.
package procapi

import (
	"isle/internal/abi/spec"
	"strings"
	"sync/atomic"

	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/wasip1"
)

// ModuleName is the import module of isle's host ABI.
const ModuleName = spec.ModuleName

// Limits in one place.
const (
	maxModuleBytes = sandbox.MaxModuleBytes // a module file larger than this is refused (ENOMEM)
	maxArgBytes    = 1 << 20                // the argument buffer of a spawn
	maxChildren    = 1024                   // live children per SIP
	compileNice    = 19                     // the host priority (nice) of a module's compile

	// DefaultMaxDescendants is the default bound on the live SIPs below a
	// tree's root: a spawn bomb stops there, far below what exhausts a host.
	DefaultMaxDescendants = 4096
)

// Preopen maps a guest directory name to a host directory.
type Preopen struct {
	Guest string
	Host  string
}

// NewChild builds a child SIP of parent for mod (personality state
// included) without starting it; the root package supplies it.
type NewChild func(parent *kernel.SIP, mod *sandbox.Module, name string, args []string, nice int) *kernel.SIP

// API is one machine's process API: its host functions, its loader service
// and each SIP's children. Create it with New, register Loader as a kernel
// service, then pass the returned ServiceID to SetLoader before Boot.
type API struct {
	rt        *sandbox.Runtime
	preopens  []Preopen
	newChild  NewChild
	loader    kernel.ServiceID
	onSpawn   func(c *kernel.Core, child *kernel.SIP) // optional: the process table
	maxDesc   int64                                   // live SIPs below a tree's root; immutable after Boot
	ld        *Loader                                 // the loader service, whose published table spawns read (fastload.go); immutable after Boot
	remote    Remote                                  // the cluster, for proc_spawn_on (remote.go); nil on a machine that is no node; immutable after Boot
	remoteSvc kernel.ServiceID                        // the remote service's id; immutable after Boot
}

// New returns the process API of a machine. Its host module may be built
// before the runtime exists; SetRuntime and SetNewChild complete it before
// the machine boots.
func New(preopens []Preopen) *API {
	return &API{preopens: preopens, maxDesc: DefaultMaxDescendants}
}

// SetMaxDescendants bounds the live SIPs below the root of each SIP tree
// (n ≥ 1); call before the machine boots.
func (a *API) SetMaxDescendants(n int) { a.maxDesc = int64(n) }

// SetRuntime gives the API the runtime that compiles children's modules.
func (a *API) SetRuntime(rt *sandbox.Runtime) { a.rt = rt }

// SetOnSpawn registers a function run on the parent's core after each
// spawn, with the child started (the machine records it in its process table).
func (a *API) SetOnSpawn(f func(c *kernel.Core, child *kernel.SIP)) { a.onSpawn = f }

// SetNewChild gives the API the root package's SIP builder.
func (a *API) SetNewChild(f NewChild) { a.newChild = f }

// SetLoader records the id under which the loader service was registered.
func (a *API) SetLoader(id kernel.ServiceID) { a.loader = id }

// State is a SIP's process-API state: its children. It is touched only on
// the goroutine of the core that owns the SIP (its host functions and the
// Deliverables sent to it), except tree, which is shared (atomically) by
// the SIP's whole tree.
type State struct {
	children   map[int64]*child
	waiting    int64 // pid the SIP is blocked waiting for; 0 none
	parentCore int   // the core the parent was on when it spawned this SIP
	tree       *tree // immutable after Attach
	counted    bool  // counted in tree.live (a descendant, not the root); immutable
}

// tree counts the live SIPs below a tree's root. Ownership: shared by every
// SIP of the tree, on whatever cores they run; changed only by atomic adds
// at spawn and exit. It is a budget, not state that a core must own: an
// exact count on every core needs one shared counter, and spawns and exits
// are not hot paths.
type tree struct {
	live atomic.Int64
	_    [56]byte // its own cache line: not beside another tree's counter
}

type child struct {
	s      *kernel.SIP // nil for a remote child
	remote RemoteChild // a child on another node (remote.go), or nil
	ended  bool
	status int
	cpu    int64
}

// Attach gives a SIP that the embedder spawns its process-API state (the
// root of a new tree); call before spawning it.
func Attach(s *kernel.SIP) {
	*s.Ext.(Owner).Procs() = State{children: map[int64]*child{}, tree: &tree{}}
}

// Owner is the embedder's per-SIP record (kernel.SIP.Ext) as the process
// API sees it: it holds the SIP's State, the zero State until Attach or a
// spawn fills it in.
type Owner interface {
	Procs() *State
}

// stateOf returns the process-API state of s, nil when it has none (no
// Owner, or a State that was never filled in).
func stateOf(s *kernel.SIP) *State {
	if o, ok := s.Ext.(Owner); ok {
		if st := o.Procs(); st.tree != nil {
			return st
		}
	}
	return nil
}

// OnExit is the kernel exit hook: it kills the children the SIP leaves
// running (they end with it), gives its place in its tree back and tells
// its parent, wherever it is, that it has ended.
func OnExit(c *kernel.Core, s *kernel.SIP) {
	st := stateOf(s)
	if st != nil {
		endChildren(c, st)
		if st.counted {
			st.tree.live.Add(-1)
		}
	}
	parent := s.Parent
	if parent == nil {
		return
	}
	r := s.Result()
	// The message goes to the core the parent was on when it spawned the
	// child; the kernel forwards it along the parent's moves since.
	to := c.ID()
	if st != nil {
		to = st.parentCore
	}
	c.SendTo(to, childEnded{parent: parent, pid: s.PID(), status: r.Status(), cpu: s.CPUTime()})
}

// endChildren kills every child of an ending SIP that has not ended yet. A
// kill goes to the child's home (the core it was spawned on), which knows
// where it is for as long as it lives, as proc_kill's does; a child that
// ended meanwhile ignores it. Each
// killed child's own exit ends its children in turn. Reports of children
// ending that arrive after this are dropped (the SIP has no children left).
func endChildren(c *kernel.Core, st *State) {
	kids := st.children
	st.children, st.waiting = nil, 0
	for _, ch := range kids {
		if ch.remote != nil {
			ch.remote.Kill()
			continue
		}
		if !ch.ended {
			c.SendTo(ch.s.Home(), kernel.KillSIP{S: ch.s})
		}
	}
}

type childEnded struct {
	parent *kernel.SIP
	pid    int64
	status int
	cpu    int64
}

func (e childEnded) Target() *kernel.SIP { return e.parent }

func (e childEnded) Deliver(c *kernel.Core) {
	st := stateOf(e.parent)
	if st == nil || !c.Owns(e.parent) {
		return // the parent has ended
	}
	ch := st.children[e.pid]
	if ch == nil {
		return
	}
	ch.ended, ch.status, ch.cpu = true, e.status, e.cpu
	if st.waiting == e.pid {
		c.Wake(e.parent)
	}
}

// HostModule returns the process functions of module "isle", in the order
// and with the signatures internal/abi/spec declares.
func (a *API) HostModule() sandbox.HostModule {
	h := a.handlers()
	hm := sandbox.HostModule{Name: ModuleName}
	for _, f := range spec.Funcs() {
		if f.Part != spec.Proc {
			continue
		}
		params := make([]sandbox.ValType, len(f.Params))
		for i := range params {
			params[i] = sandbox.I32
		}
		hm.Funcs = append(hm.Funcs, sandbox.HostFunc{Name: f.Name, Params: params, Results: []sandbox.ValType{sandbox.I32}, Fn: h[f.Name]})
	}
	return hm
}

// handlers binds each process function of the spec to its handler, by
// name; TestHandlersBindSpec checks it against the spec both ways.
func (a *API) handlers() map[string]func(*sandbox.Call, []uint64) {
	return map[string]func(*sandbox.Call, []uint64){
		"proc_spawn":    a.spawn,
		"proc_spawn_on": a.spawnOn,
		"proc_wait":     a.wait,
		"proc_kill":     a.kill,
	}
}

// spawn(path, path_len, argv, argv_len, nice, *pid): argv is argv_len bytes
// of NUL-terminated strings (argv[0] first).
func (a *API) spawn(c *sandbox.Call, r []uint64) {
	kernel.SIPOf(c).ReleaseHeld() // the parent's output comes before the child's
	r[0] = uint64(a.doSpawn(c, uint32(r[0]), uint32(r[1]), uint32(r[2]), uint32(r[3]), int32(r[4]), uint32(r[5])))
}

func (a *API) doSpawn(c *sandbox.Call, pathPtr, pathLen, argvPtr, argvLen uint32, nice int32, pidPtr uint32) wasip1.Errno {
	s := kernel.SIPOf(c)
	st := stateOf(s)
	mem := c.Memory()
	if st == nil {
		return wasip1.ErrnoPerm
	}
	if len(st.children) >= maxChildren {
		return wasip1.ErrnoNomem
	}
	name, args, errno := readSpawn(mem, pathPtr, pathLen, argvPtr, argvLen, nice, pidPtr)
	if errno != 0 {
		return errno
	}
	// The child's place in the tree is taken before the module is loaded,
	// so that a bomb's spawns fail at once, and given back if the spawn
	// fails, or if the parent is killed while the loader works (the kill
	// unwinds this call).
	if st.tree.live.Add(1) > a.maxDesc {
		st.tree.live.Add(-1)
		return wasip1.ErrnoAgain
	}
	var kid *kernel.SIP
	errno = wasip1.ErrnoIo
	defer func() {
		if kid == nil {
			st.tree.live.Add(-1)
		}
	}()
	kid, errno = a.start(s, name, args, int(nice))
	if kid == nil {
		return errno
	}
	mem.WriteUint32(pidPtr, uint32(kid.PID()))
	return wasip1.ErrnoSuccess
}

// readSpawn reads and checks a spawn's path, arguments, nice value and
// pid pointer from the guest's memory.
func readSpawn(mem sandbox.Memory, pathPtr, pathLen, argvPtr, argvLen uint32, nice int32, pidPtr uint32) (string, []string, wasip1.Errno) {
	if argvLen > maxArgBytes || pathLen > 4096 {
		return "", nil, wasip1.ErrnoInval
	}
	p, ok := mem.Read(pathPtr, pathLen)
	if !ok {
		return "", nil, wasip1.ErrnoFault
	}
	b, ok := mem.Read(argvPtr, argvLen)
	if !ok {
		return "", nil, wasip1.ErrnoFault
	}
	if _, ok := mem.Read(pidPtr, 4); !ok {
		return "", nil, wasip1.ErrnoFault
	}
	if nice < -20 || nice > 19 {
		return "", nil, wasip1.ErrnoInval
	}
	name := string(p)
	var args []string
	if len(b) > 0 {
		if b[len(b)-1] != 0 {
			return "", nil, wasip1.ErrnoInval
		}
		args = strings.Split(string(b[:len(b)-1]), "\x00")
	}
	if len(args) == 0 {
		args = []string{name}
	}
	return name, args, 0
}

// start loads the module and starts the child on the parent's core.
func (a *API) start(s *kernel.SIP, name string, args []string, nice int) (*kernel.SIP, wasip1.Errno) {
	st := stateOf(s)
	mod := a.published(name)
	if mod == nil {
		loadReq{Path: name}.Put(s.Request())
		rep := s.Call(a.loader)
		if rep.Errno != 0 {
			return nil, rep.Errno
		}
		if mod = loaded(rep); mod == nil {
			return nil, wasip1.ErrnoIo
		}
	}
	if !mod.Fits() {
		return nil, wasip1.ErrnoNomem // its initial memory does not fit in the machine's budget
	}
	kid := a.newChild(s, mod, name, args, nice)
	core := s.Core().ID()
	*kid.Ext.(Owner).Procs() = State{children: map[int64]*child{}, tree: st.tree, counted: true, parentCore: core}
	kid.Parent = s
	if err := s.Core().SpawnHere(kid); err != nil {
		return nil, wasip1.ErrnoIo
	}
	st.children[kid.PID()] = &child{s: kid}
	if a.onSpawn != nil {
		a.onSpawn(s.Core(), kid)
	}
	return kid, wasip1.ErrnoSuccess
}

// published returns the module of a program the loader has loaded and
// published, unchanged since (fastload.go), or nil: then the loader must
// load it.
func (a *API) published(name string) *sandbox.Module {
	if a.ld == nil {
		return nil
	}
	pre, rel, errno := resolve(a.preopens, name)
	if errno != 0 {
		return nil
	}
	return a.ld.fast.lookup(cacheKey(pre, rel))
}

// wait(pid, *status, *cputime_ns): blocks until the child ends; the child
// is then reaped.
func (a *API) wait(c *sandbox.Call, r []uint64) {
	s := kernel.SIPOf(c)
	st := stateOf(s)
	pid := int64(uint32(r[0]))
	mem := c.Memory()
	if st == nil || st.children[pid] == nil {
		r[0] = uint64(wasip1.ErrnoChild)
		return
	}
	if _, ok := mem.Read(uint32(r[1]), 4); !ok {
		r[0] = uint64(wasip1.ErrnoFault)
		return
	}
	if _, ok := mem.Read(uint32(r[2]), 8); !ok {
		r[0] = uint64(wasip1.ErrnoFault)
		return
	}
	ch := st.children[pid]
	if ch.remote != nil {
		status, cpu, errno := a.waitRemote(s, ch)
		delete(st.children, pid)
		if errno != 0 {
			r[0] = uint64(errno)
			return
		}
		ch.ended, ch.status, ch.cpu = true, status, cpu
	}
	for !ch.ended {
		st.waiting = pid
		s.Block()
		st.waiting = 0
	}
	delete(st.children, pid)
	mem.WriteUint32(uint32(r[1]), uint32(ch.status))
	mem.WriteUint64(uint32(r[2]), uint64(ch.cpu))
	r[0] = uint64(wasip1.ErrnoSuccess)
}

// kill(pid): ends a child; its status becomes 137.
func (a *API) kill(c *sandbox.Call, r []uint64) {
	s := kernel.SIPOf(c)
	st := stateOf(s)
	pid := int64(uint32(r[0]))
	if st == nil || st.children[pid] == nil {
		r[0] = uint64(wasip1.ErrnoChild)
		return
	}
	ch := st.children[pid]
	if ch.remote != nil {
		ch.remote.Kill() // to the child's node; its status comes back to proc_wait
	} else if !ch.ended {
		// To the core the child was spawned on, which knows where it is
		// for as long as it lives; the kernel carries the kill from there
		// (a kill of a child that has just ended does nothing).
		s.Core().SendTo(ch.s.Home(), kernel.KillSIP{S: ch.s})
	}
	r[0] = uint64(wasip1.ErrnoSuccess)
}
