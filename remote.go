package isle

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"isle/internal/cluster/link"
	"isle/internal/sandbox"
	"isle/internal/wasi"
)

// Remote spawn (docs/cluster.md): a node asks another, over their link, to
// spawn a program read from the other node's preopens, or to list its
// SIPs. Frames: a request id (u64, big-endian), then a JSON body.
const (
	kindSpawn    = 0x90 // spawnRequest
	kindSpawned  = 0x91 // spawnReply
	kindProcs    = 0x92 // no body
	kindProcList = 0x93 // procsReply
)

// Limits of remote spawn, in one place.
const (
	// MaxRemoteProgram is the largest program a remote spawn reads: the
	// loader's limit, as for a SIP's spawn.
	MaxRemoteProgram = sandbox.MaxModuleBytes
	// MaxRemoteArgs bounds a remote spawn's arguments, in bytes all told.
	MaxRemoteArgs = 64 << 10
	// MaxRemoteWaits is how many remote requests a node keeps waiting.
	MaxRemoteWaits = 1024
)

type spawnRequest struct {
	Path string   `json:"path"` // a guest path, in one of the serving machine's preopens
	Args []string `json:"args"`
	Nice int      `json:"nice,omitempty"`
	// Watch: a SIP's proc_spawn_on (remotespawn.go): the child's exit is
	// reported (kindExited), a kill frame kills it, and it is killed when
	// the asking node's link is lost. Without it (--spawn-on) the child is
	// the serving machine's alone.
	Watch bool `json:"watch,omitempty"`
}

type spawnReply struct {
	PID   int64  `json:"pid"`
	Err   string `json:"err,omitempty"`
	Errno uint16 `json:"errno,omitempty"` // with Err: the WASI errno a proc_spawn_on returns
}

// RemoteProc is one live SIP of a node.
type RemoteProc struct {
	Node uint64 `json:"node"`
	PID  int64  `json:"pid"`
	Name string `json:"name"`
}

type procsReply struct {
	Procs []RemoteProc `json:"procs"`
	Err   string       `json:"err,omitempty"`
}

// ErrRemote is the error of a request another node refused or could not do.
var ErrRemote = errors.New("remote node")

// serveRemote answers the spawn and listing requests of the other nodes on
// the machine's link. The handlers run on the link's goroutines and hand
// the work to goroutines of their own (a load compiles).
func (m *Machine) serveRemote(ln *link.Node) {
	ln.Handle(kindSpawn, func(from uint64, p []byte) {
		req, body, ok := cutReq(p)
		if !ok {
			return
		}
		var sr spawnRequest
		if err := json.Unmarshal(body, &sr); err != nil {
			sendSpawned(ln, from, req, spawnReply{Err: "a request that does not decode", Errno: uint16(wasi.EINVAL)})
			return
		}
		if sr.Watch && !m.served.reserve(from, req) {
			sendSpawned(ln, from, req, spawnReply{Err: fmt.Sprintf("over %d children for other nodes", MaxRemoteChildren), Errno: uint16(wasi.EAGAIN)})
			return
		}
		go m.serveSpawn(ln, from, req, sr)
	})
	m.serveKills(ln)
	ln.Handle(kindProcs, func(from uint64, p []byte) {
		req, _, ok := cutReq(p)
		if !ok {
			return
		}
		rep := procsReply{Procs: m.liveProcs(ln.ID())}
		b, _ := json.Marshal(rep)
		ln.Send(from, kindProcList, append(binary.BigEndian.AppendUint64(nil, req), b...))
	})
}

// spawnLocal spawns, for another node, the program at a guest path of one
// of the machine's preopens, loaded by the machine's loader as a SIP's
// spawn is: read through an os.Root, so neither ".." nor a symbolic link
// leaves the preopened directory, and compiled once while the file is
// unchanged (a second spawn of it is a hit in the loader's cache).
// The error comes with the WASI errno a proc_spawn_on returns for it.
func (m *Machine) spawnLocal(sr spawnRequest) (*Process, wasi.Errno, error) {
	n := 0
	for _, a := range sr.Args {
		n += len(a)
	}
	if n > MaxRemoteArgs {
		return nil, wasi.E2BIG, fmt.Errorf("arguments over %d bytes", MaxRemoteArgs)
	}
	if sr.Nice < -20 || sr.Nice > 19 {
		return nil, wasi.EINVAL, fmt.Errorf("nice %d is not in -20…19", sr.Nice)
	}
	clean := path.Clean("/" + sr.Path)
	if _, _, ok := m.preopenOf(clean); !ok {
		return nil, wasi.ENOENT, fmt.Errorf("%s: not in a preopened directory of this node", sr.Path)
	}
	mod, errno, err := m.loader.LoadPath(context.Background(), clean)
	if err != nil {
		if errno == wasi.ENOENT && !errors.Is(err, fs.ErrNotExist) {
			errno = wasi.EACCES // a path that escapes its directory (a SIP's own spawn reads it as not there)
		}
		return nil, errno, fmt.Errorf("%s: %v", sr.Path, unwrapPathErr(err))
	}
	// The module is the loader's, shared with every spawn of the file: this
	// Program is never closed.
	prog := &Program{name: path.Base(sr.Path), mod: mod}
	args := append([]string{path.Base(sr.Path)}, sr.Args...)
	p, err := m.SpawnWith(prog, args, SpawnOptions{Nice: sr.Nice})
	if err != nil {
		return nil, wasi.ENOMEM, err
	}
	return p, 0, nil
}

// preopenOf finds the preopen that guest path p lies in: its host
// directory and p relative to it.
func (m *Machine) preopenOf(p string) (host, rel string, ok bool) {
	p = path.Clean("/" + p)
	for _, po := range m.preopens {
		g := path.Clean("/" + po.Guest)
		switch {
		case g == "/":
			return po.Host, strings.TrimPrefix(p, "/"), p != "/"
		case strings.HasPrefix(p, g+"/"):
			return po.Host, strings.TrimPrefix(p, g+"/"), true
		}
	}
	return "", "", false
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// liveProcs lists the machine's live SIPs, as node id.
func (m *Machine) liveProcs(node uint64) []RemoteProc {
	m.procs.mu.Lock()
	defer m.procs.mu.Unlock()
	out := make([]RemoteProc, 0, len(m.procs.sips))
	for pid, s := range m.procs.sips {
		out = append(out, RemoteProc{Node: node, PID: pid, Name: s.Name})
	}
	slices.SortFunc(out, func(a, b RemoteProc) int { return int(a.PID - b.PID) })
	return out
}

func cutReq(p []byte) (uint64, []byte, bool) {
	if len(p) < 8 {
		return 0, nil, false
	}
	return binary.BigEndian.Uint64(p), p[8:], true
}

// RemoteClient sends spawn and listing requests to the other nodes of a
// cluster over a node's link, and waits for their answers.
type RemoteClient struct {
	ln    *link.Node
	mu    sync.Mutex // guards next, waits and kids
	next  uint64
	waits map[uint64]waitReply
	kids  map[uint64]*remoteKid // the SIPs' children on other nodes, by spawn request id (remotespawn.go)
}

// waitReply is a request waiting for the node it was sent to; nil on ch
// says the link to it was lost.
type waitReply struct {
	node uint64
	ch   chan []byte
}

// NewRemoteClient takes over the reply kinds of ln.
func NewRemoteClient(ln *link.Node) *RemoteClient {
	r := &RemoteClient{ln: ln, waits: map[uint64]waitReply{}, kids: map[uint64]*remoteKid{}}
	for _, k := range []byte{kindSpawned, kindProcList} {
		ln.Handle(k, r.reply)
	}
	ln.Handle(kindExited, r.exited)
	ln.OnPeerDown(r.peerDown)
	return r
}

// reply hands a reply to its request; one from another node than the
// request went to is dropped (a node answers for itself only).
func (r *RemoteClient) reply(from uint64, p []byte) {
	req, body, ok := cutReq(p)
	if !ok {
		return
	}
	r.mu.Lock()
	w, ok := r.waits[req]
	if ok && w.node == from {
		delete(r.waits, req)
	}
	r.mu.Unlock()
	if ok && w.node == from {
		w.ch <- append([]byte{}, body...) // not nil: nil says the link was lost
	}
}

// call sends one request to node and waits for its reply's body.
func (r *RemoteClient) call(ctx context.Context, node uint64, kind byte, body []byte) ([]byte, error) {
	r.mu.Lock()
	r.next++
	req := r.next
	r.mu.Unlock()
	return r.callAs(ctx, req, node, kind, body)
}

// callAs is call with a request id taken already (r.next).
func (r *RemoteClient) callAs(ctx context.Context, req, node uint64, kind byte, body []byte) ([]byte, error) {
	ch := make(chan []byte, 1)
	r.mu.Lock()
	if len(r.waits) >= MaxRemoteWaits {
		r.mu.Unlock()
		return nil, fmt.Errorf("%w %d: %w", ErrRemote, node, errTooManyWaits)
	}
	r.waits[req] = waitReply{node: node, ch: ch}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waits, req)
		r.mu.Unlock()
	}()
	if err := r.ln.Send(node, kind, append(binary.BigEndian.AppendUint64(nil, req), body...)); err != nil {
		return nil, fmt.Errorf("%w %d: %w", ErrRemote, node, err)
	}
	select {
	case b := <-ch:
		if b == nil {
			return nil, fmt.Errorf("%w %d: %w", ErrRemote, node, errLinkLost)
		}
		return b, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w %d: no answer (does it run a machine?): %v", ErrRemote, node, ctx.Err())
	}
}

// Spawn asks node to spawn the program at guest path prog (in one of that
// node's preopens) with args (argv[0] is prog's base name), and returns the
// new SIP's pid there.
func (r *RemoteClient) Spawn(ctx context.Context, node uint64, prog string, args []string) (int64, error) {
	body, _ := json.Marshal(spawnRequest{Path: prog, Args: args})
	b, err := r.call(ctx, node, kindSpawn, body)
	if err != nil {
		return 0, err
	}
	var rep spawnReply
	if err := json.Unmarshal(b, &rep); err != nil {
		return 0, fmt.Errorf("%w %d: a reply that does not decode", ErrRemote, node)
	}
	if rep.Err != "" {
		return 0, fmt.Errorf("%w %d: %s", ErrRemote, node, rep.Err)
	}
	return rep.PID, nil
}

// Processes asks node for its live SIPs.
func (r *RemoteClient) Processes(ctx context.Context, node uint64) ([]RemoteProc, error) {
	b, err := r.call(ctx, node, kindProcs, nil)
	if err != nil {
		return nil, err
	}
	var rep procsReply
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%w %d: a reply that does not decode", ErrRemote, node)
	}
	for i := range rep.Procs {
		rep.Procs[i].Node = node // a node speaks for itself only
	}
	return rep.Procs, nil
}

// RefuseRemote answers the other nodes' spawns with an error and their
// listings with no SIPs, for a node that runs no machine (a machine that
// boots on the link later takes the requests over).
func RefuseRemote(ln *link.Node) {
	ln.Handle(kindSpawn, func(from uint64, p []byte) {
		if req, _, ok := cutReq(p); ok {
			sendSpawned(ln, from, req, spawnReply{Err: fmt.Sprintf("node %d runs no machine", ln.ID()), Errno: uint16(wasi.ECONNREFUSED)})
		}
	})
	ln.Handle(kindProcs, func(from uint64, p []byte) {
		if req, _, ok := cutReq(p); ok {
			b, _ := json.Marshal(procsReply{})
			ln.Send(from, kindProcList, append(binary.BigEndian.AppendUint64(nil, req), b...))
		}
	})
}
