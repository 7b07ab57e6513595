package procapi

import (
	"context"
	"sync"

	"isle/internal/kernel"
	"isle/internal/sandbox"
	"isle/internal/wasip1"
)

// Remote spawn (proc_spawn_on, docs/processes.md): a SIP of a machine that is
// a node of a cluster spawns a child on another node. The child is a SIP of
// that node's machine; the parent holds a handle for it, a pid of its own
// machine's sequence (kernel.Core.NewPID), in its children table beside its
// local children, and proc_wait and proc_kill work on it.
//
// The rules:
//
//   - Node 0 and the machine's own node spawn here, as proc_spawn does.
//   - The spawn and the wait go through the remote service: each is a
//     deferred request served on a goroutine of its own, so the parent SIP
//     waits for the other node and neither its core nor the service's worker
//     does. A kill of the parent cancels them (EINTR, never seen); a remote
//     child whose handle reaches a killed parent is killed (Abandon).
//   - proc_kill and the end of the parent send a kill to the child's node
//     (RemoteChild.Kill, which queues a frame and returns: it runs on cores).
//   - A remote child counts toward the parent's live children (maxChildren);
//     the serving node bounds the children it runs for others.

// Remote is the cluster side of proc_spawn_on, which the root package
// supplies for a machine that is a node of a cluster.
type Remote interface {
	// Self is the machine's own node id.
	Self() uint64
	// Spawn spawns the module file at guest path (in one of node's
	// preopens) on node, with args and nice, and returns its handle, or a
	// WASI errno: ENXIO no such node, EHOSTUNREACH node down, ECONNREFUSED
	// the node runs no machine, ENOENT and the rest as proc_spawn's; EINTR
	// when ctx ends. It blocks; it runs on a goroutine of the remote service.
	Spawn(ctx context.Context, node uint64, path string, args []string, nice int) (RemoteChild, wasip1.Errno)
}

// RemoteChild is a child running on another node.
type RemoteChild interface {
	// Wait blocks until the child has ended (its exit status and CPU time
	// in nanoseconds), its node's link is lost (EHOSTUNREACH), or ctx ends
	// (EINTR).
	Wait(ctx context.Context) (status int, cpuNanos int64, errno wasip1.Errno)
	// Kill asks the child's node to kill it. It does not block: it is
	// called on cores.
	Kill()
}

// Remote service operations.
const (
	opSpawnOn    uint32 = 1 // spawnOnReq → RemoteChild (spawnedOn)
	opWaitRemote uint32 = 2 // waitRemoteReq → status, CPU time (waitedRemote)
)

// spawnOnReq is proc_spawn_on's request to the remote service.
type spawnOnReq struct {
	Node uint64
	Path string
	Args []string
	Nice int
}

// Put makes r this request.
func (q spawnOnReq) Put(r *kernel.Request) {
	r.Op, r.Off, r.Str, r.Ref, r.Fd = opSpawnOn, int64(q.Node), q.Path, q.Args, int32(q.Nice)
}

func spawnOnOf(r *kernel.Request) spawnOnReq {
	args, _ := r.Ref.([]string)
	return spawnOnReq{Node: uint64(r.Off), Path: r.Str, Args: args, Nice: int(r.Fd)}
}

// putSpawnedOn answers a remote spawn with the child's handle.
func putSpawnedOn(r *kernel.Request, kid RemoteChild) { r.Ref = kid }

// spawnedOn is a remote spawn's result, taken from the reply: the child's
// handle moves to the caller.
func spawnedOn(r *kernel.Request) RemoteChild {
	kid, _ := r.Ref.(RemoteChild)
	r.Ref = nil
	return kid
}

// waitRemoteReq is proc_wait's request for a remote child.
type waitRemoteReq struct{ Kid RemoteChild }

// Put makes r this request.
func (q waitRemoteReq) Put(r *kernel.Request) { r.Op, r.Ref = opWaitRemote, q.Kid }

func waitRemoteOf(r *kernel.Request) waitRemoteReq {
	kid, _ := r.Ref.(RemoteChild)
	return waitRemoteReq{Kid: kid}
}

// putWaitedRemote answers a remote wait with the child's status and CPU
// time.
func putWaitedRemote(r *kernel.Request, status int, cpu int64) { r.N, r.Off = int64(status), cpu }

// waitedRemote is a remote wait's result: the child's status and CPU time.
func waitedRemote(r *kernel.Request) (status int, cpu int64) { return int(r.N), r.Off }

// SetRemote makes proc_spawn_on reach other nodes through r; without it
// only node 0 (here) is known. Call before Boot, then register
// RemoteService and pass its id to SetRemoteService.
func (a *API) SetRemote(r Remote) { a.remote = r }

// SetRemoteService records the id under which RemoteService was registered.
func (a *API) SetRemoteService(id kernel.ServiceID) { a.remoteSvc = id }

// RemoteService returns the service that carries proc_spawn_on's spawns and
// the waits for remote children.
func (a *API) RemoteService() kernel.Service {
	ctx, cancel := context.WithCancel(context.Background())
	return &remoteService{r: a.remote, waits: map[*kernel.Request]context.CancelFunc{}, ctx: ctx, cancel: cancel}
}

// remoteService is the service of remote spawns and waits.
//
// Ownership: r is immutable; waits is owned by the worker's goroutine (Serve,
// Cancel and the Finish functions run there); ctx is cancelled once, by
// Close; wg counts the request goroutines, waited for by Close.
type remoteService struct {
	r      Remote
	waits  map[*kernel.Request]context.CancelFunc
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Serve implements kernel.Service.
func (rs *remoteService) Serve(req *kernel.Request) {
	if rs.r == nil || (req.Op != opSpawnOn && req.Op != opWaitRemote) || !req.Deferrable() {
		req.Errno = wasip1.ErrnoInval
		return
	}
	op, sp, wr := req.Op, spawnOnOf(req), waitRemoteOf(req)
	if op == opWaitRemote && wr.Kid == nil {
		req.Errno = wasip1.ErrnoInval
		return
	}
	ctx, cancel := context.WithCancel(rs.ctx)
	rs.waits[req] = cancel
	d := req.Defer()
	rs.wg.Add(1)
	go func() {
		defer rs.wg.Done()
		defer cancel()
		var kid RemoteChild
		var status int
		var cpu int64
		var errno wasip1.Errno
		if op == opSpawnOn {
			kid, errno = rs.r.Spawn(ctx, sp.Node, sp.Path, sp.Args, sp.Nice)
		} else {
			status, cpu, errno = wr.Kid.Wait(ctx)
		}
		d.Finish(func() {
			delete(rs.waits, req)
			req.Errno, req.Ref = errno, nil
			switch {
			case errno != 0:
			case op == opSpawnOn:
				putSpawnedOn(req, kid)
			default:
				putWaitedRemote(req, status, cpu)
			}
		})
	}()
}

// Cancel implements kernel.Canceler: the waiting SIP was killed. The
// request's goroutine sees its context end and finishes it (Remote's and
// RemoteChild's waits end with their context).
func (rs *remoteService) Cancel(req *kernel.Request) {
	if cancel := rs.waits[req]; cancel != nil {
		cancel()
	}
}

// Abandon implements kernel.Abandoner: a remote child spawned for a SIP
// that was killed before it saw the handle is killed too.
func (rs *remoteService) Abandon(req *kernel.Request) {
	if kid, ok := req.Ref.(RemoteChild); ok && req.Op == opSpawnOn {
		kid.Kill()
	}
}

// Close implements kernel.Closer: every wait ends (EINTR) and Close waits
// for their goroutines, so that each Finish has run.
func (rs *remoteService) Close() {
	rs.cancel()
	rs.wg.Wait()
}

// spawnOn(node, path, path_len, argv, argv_len, nice, *pid).
func (a *API) spawnOn(c *sandbox.Call, r []uint64) {
	kernel.SIPOf(c).ReleaseHeld() // the parent's output comes before the child's
	node := uint64(uint32(r[0]))
	if node == 0 || a.remote != nil && node == a.remote.Self() {
		r[0] = uint64(a.doSpawn(c, uint32(r[1]), uint32(r[2]), uint32(r[3]), uint32(r[4]), int32(r[5]), uint32(r[6])))
		return
	}
	r[0] = uint64(a.doSpawnRemote(c, node, uint32(r[1]), uint32(r[2]), uint32(r[3]), uint32(r[4]), int32(r[5]), uint32(r[6])))
}

func (a *API) doSpawnRemote(c *sandbox.Call, node uint64, pathPtr, pathLen, argvPtr, argvLen uint32, nice int32, pidPtr uint32) wasip1.Errno {
	s := kernel.SIPOf(c)
	st := stateOf(s)
	if st == nil {
		return wasip1.ErrnoPerm
	}
	if len(st.children) >= maxChildren {
		return wasip1.ErrnoNomem
	}
	name, args, errno := readSpawn(c.Memory(), pathPtr, pathLen, argvPtr, argvLen, nice, pidPtr)
	if errno != 0 {
		return errno
	}
	if a.remote == nil {
		return wasip1.ErrnoNxio // not a node of a cluster: no other node exists
	}
	spawnOnReq{Node: node, Path: name, Args: args, Nice: int(nice)}.Put(s.Request())
	rep := s.Call(a.remoteSvc)
	if rep.Errno != 0 {
		return rep.Errno
	}
	kid := spawnedOn(rep)
	if kid == nil {
		return wasip1.ErrnoIo
	}
	pid := s.Core().NewPID()
	st.children[pid] = &child{remote: kid}
	c.Memory().WriteUint32(pidPtr, uint32(pid))
	return wasip1.ErrnoSuccess
}

// waitRemote waits for a remote child through the remote service; the
// child is reaped whatever the answer (a lost node's child is gone).
func (a *API) waitRemote(s *kernel.SIP, ch *child) (status int, cpu int64, errno wasip1.Errno) {
	waitRemoteReq{Kid: ch.remote}.Put(s.Request())
	rep := s.Call(a.remoteSvc)
	if rep.Errno != 0 {
		return 0, 0, rep.Errno
	}
	status, cpu = waitedRemote(rep)
	return status, cpu, 0
}

// OpNames names the remote service's operations, for a trace
// (kernel.OpNamer).
func (rs *remoteService) OpNames() []string {
	return []string{opSpawnOn: "spawn on", opWaitRemote: "wait remote"}
}
