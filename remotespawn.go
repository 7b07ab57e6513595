package isle

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"isle/internal/cluster/link"
	"isle/internal/procapi"
	"isle/internal/wasi"
)

// A SIP's spawn on another node (proc_spawn_on, docs/processes.md): the
// request is remote.go's spawn with Watch set; the serving machine then
// reports the child's end (kindExited: the request id, then a JSON
// exitReport), kills it on a kill frame (kindKill: the request id) and
// kills it when the asking node's link is lost, as a SIP's children end
// with it.
const (
	kindExited = 0x94 // serving node → asker: a watched child ended
	kindKill   = 0x95 // asker → serving node: kill a watched child
)

// Limits and timings of proc_spawn_on, in one place (with remote.go's).
const (
	// MaxRemoteChildren bounds the watched children a machine runs for the
	// other nodes at once, and those a node's SIPs have on other nodes: each
	// is a tree's root on its machine, so this bounds a spawn bomb that
	// crosses nodes.
	MaxRemoteChildren = 1024
	// RemoteSpawnWait bounds a proc_spawn_on to a linked node: reading and
	// compiling the program there included.
	RemoteSpawnWait = 60 * time.Second
	// RemoteLinkWait bounds a proc_spawn_on to a known node that has no
	// link up when it is asked (down, or not linked yet): past it,
	// EHOSTUNREACH.
	RemoteLinkWait = 2 * time.Second
)

var (
	errLinkLost     = errors.New("the link to it was lost")
	errTooManyWaits = errors.New("too many requests waiting")
)

type exitReport struct {
	Status int   `json:"status"`
	CPU    int64 `json:"cpu_ns"`
}

// servedKids are the watched children a machine runs for other nodes, by
// (asking node, request id). An entry is reserved when the request
// arrives (p nil), filled when the spawn is done, and dropped when the
// child ends, is killed for a lost link, or its spawn fails.
//
// Ownership: the link's handlers and the spawn and wait goroutines, behind
// mu.
type servedKids struct {
	mu   sync.Mutex
	kids map[servedKey]*servedKid
}

type servedKey struct{ node, req uint64 }

type servedKid struct {
	p      *Process // nil until spawned
	killed bool     // a kill came before the spawn was done
}

func (sk *servedKids) reserve(node, req uint64) bool {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if sk.kids == nil {
		sk.kids = map[servedKey]*servedKid{}
	}
	if len(sk.kids) >= MaxRemoteChildren {
		return false
	}
	sk.kids[servedKey{node, req}] = &servedKid{}
	return true
}

// started records the spawned child; false: it must be killed (a kill or
// the loss of the asker's link came first).
func (sk *servedKids) started(node, req uint64, p *Process) bool {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	k := sk.kids[servedKey{node, req}]
	if k == nil || k.killed {
		delete(sk.kids, servedKey{node, req})
		return false
	}
	k.p = p
	return true
}

func (sk *servedKids) drop(node, req uint64) {
	sk.mu.Lock()
	delete(sk.kids, servedKey{node, req})
	sk.mu.Unlock()
}

// kill kills the child of (node, req), or marks it to be killed once
// spawned.
func (sk *servedKids) kill(node, req uint64) {
	sk.mu.Lock()
	k := sk.kids[servedKey{node, req}]
	var p *Process
	if k != nil {
		k.killed, p = true, k.p
	}
	sk.mu.Unlock()
	if p != nil {
		p.Kill()
	}
}

// lost kills every child of node: its parents' node is gone.
func (sk *servedKids) lost(node uint64) {
	sk.mu.Lock()
	var ps []*Process
	for key, k := range sk.kids {
		if key.node == node {
			delete(sk.kids, key)
			if k.p != nil {
				ps = append(ps, k.p)
			}
		}
	}
	sk.mu.Unlock()
	for _, p := range ps {
		p.Kill()
	}
}

// serveSpawn spawns a requested program and answers; a watched child's end
// is then reported to the asker.
func (m *Machine) serveSpawn(ln *link.Node, from, req uint64, sr spawnRequest) {
	p, errno, err := m.spawnLocal(sr)
	if err != nil {
		if sr.Watch {
			m.served.drop(from, req)
		}
		sendSpawned(ln, from, req, spawnReply{Err: err.Error(), Errno: uint16(errno)})
		return
	}
	sendSpawned(ln, from, req, spawnReply{PID: p.PID()})
	if !sr.Watch {
		return
	}
	if !m.served.started(from, req, p) {
		p.Kill()
	}
	st := p.Wait()
	m.served.drop(from, req)
	b, _ := json.Marshal(exitReport{Status: st.Status(), CPU: int64(p.CPUTime())})
	ln.Send(from, kindExited, append(binary.BigEndian.AppendUint64(nil, req), b...))
}

// serveKills takes the kill frames of the askers, and kills the watched
// children of a node whose link is lost.
func (m *Machine) serveKills(ln *link.Node) {
	ln.Handle(kindKill, func(from uint64, p []byte) {
		if req, _, ok := cutReq(p); ok {
			m.served.kill(from, req)
		}
	})
	ln.OnPeerDown(m.served.lost)
}

func sendSpawned(ln *link.Node, to, req uint64, rep spawnReply) {
	b, _ := json.Marshal(rep)
	ln.Send(to, kindSpawned, append(binary.BigEndian.AppendUint64(nil, req), b...))
}

// remoteKid is a SIP's child on another node, as the asking node holds it
// (procapi.RemoteChild).
type remoteKid struct {
	c         *RemoteClient
	node, req uint64
	done      chan struct{} // closed when it ended or its node's link was lost
	// Written before done is closed, read after.
	status int
	cpu    int64
	lost   bool
}

// Wait implements procapi.RemoteChild.
func (k *remoteKid) Wait(ctx context.Context) (int, int64, wasi.Errno) {
	select {
	case <-k.done:
		if k.lost {
			return 0, 0, wasi.EHOSTUNREACH
		}
		return k.status, k.cpu, 0
	case <-ctx.Done():
		return 0, 0, wasi.EINTR
	}
}

// Kill implements procapi.RemoteChild: it queues a kill frame.
func (k *remoteKid) Kill() {
	k.c.ln.Send(k.node, kindKill, binary.BigEndian.AppendUint64(nil, k.req))
}

// spawnChild spawns a watched child on node for a SIP.
func (r *RemoteClient) spawnChild(ctx context.Context, node uint64, prog string, args []string, nice int) (*remoteKid, wasi.Errno) {
	wait := RemoteSpawnWait
	if !r.ln.Linked(node) {
		wait = RemoteLinkWait
	}
	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	r.mu.Lock()
	if len(r.kids) >= MaxRemoteChildren {
		r.mu.Unlock()
		return nil, wasi.EAGAIN
	}
	r.next++
	k := &remoteKid{c: r, node: node, req: r.next, done: make(chan struct{})}
	r.kids[k.req] = k
	r.mu.Unlock()
	// args[0] is the program's name there (its base name), as --spawn-on's.
	if len(args) > 0 {
		args = args[1:]
	}
	body, _ := json.Marshal(spawnRequest{Path: prog, Args: args, Nice: nice, Watch: true})
	b, err := r.callAs(cctx, k.req, node, kindSpawn, body)
	var rep spawnReply
	errno := wasi.ESUCCESS
	switch {
	case errors.Is(err, link.ErrUnknownPeer):
		errno = wasi.ENXIO
	case errors.Is(err, errTooManyWaits), errors.Is(err, link.ErrQueueFull):
		errno = wasi.EAGAIN
	case err != nil:
		// A spawn that is done there meanwhile, or once the node is linked
		// again (the request waits in the link's queue), is undone by the
		// kill queued behind it.
		k.Kill()
		errno = wasi.EHOSTUNREACH
		if ctx.Err() != nil {
			errno = wasi.EINTR // the asking SIP was killed
		}
	case json.Unmarshal(b, &rep) != nil:
		errno = wasi.EIO
	case rep.Err != "":
		errno = wasi.Errno(rep.Errno)
		if errno == 0 {
			errno = wasi.EIO
		}
	}
	if errno != 0 {
		r.mu.Lock()
		delete(r.kids, k.req)
		r.mu.Unlock()
		return nil, errno
	}
	return k, 0
}

// exited takes a watched child's exit report; one from another node than
// the child's is dropped.
func (r *RemoteClient) exited(from uint64, p []byte) {
	req, body, ok := cutReq(p)
	if !ok {
		return
	}
	var rep exitReport
	if json.Unmarshal(body, &rep) != nil {
		return
	}
	r.mu.Lock()
	k := r.kids[req]
	if k == nil || k.node != from {
		r.mu.Unlock()
		return
	}
	delete(r.kids, req)
	r.mu.Unlock()
	k.status, k.cpu = rep.Status, rep.CPU
	close(k.done)
}

// peerDown ends, with the link to peer, the requests waiting for it and
// the SIPs' children there (their waits get EHOSTUNREACH).
func (r *RemoteClient) peerDown(peer uint64) {
	r.mu.Lock()
	var lost []*remoteKid
	for req, k := range r.kids {
		if k.node == peer {
			delete(r.kids, req)
			lost = append(lost, k)
		}
	}
	for req, w := range r.waits {
		if w.node == peer {
			delete(r.waits, req)
			w.ch <- nil
		}
	}
	r.mu.Unlock()
	for _, k := range lost {
		k.lost = true
		close(k.done)
	}
}

// clusterRemote is the machine's procapi.Remote: its SIPs' spawns on other
// nodes go through the node's RemoteClient.
type clusterRemote struct{ c *RemoteClient }

func (cr clusterRemote) Self() uint64 { return cr.c.ln.ID() }

func (cr clusterRemote) Spawn(ctx context.Context, node uint64, prog string, args []string, nice int) (procapi.RemoteChild, wasi.Errno) {
	k, errno := cr.c.spawnChild(ctx, node, prog, args, nice)
	if errno != 0 {
		return nil, errno
	}
	return k, 0
}
