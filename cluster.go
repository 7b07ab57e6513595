package isle

import (
	"context"
	"fmt"
	"sync"

	"isle/internal/cluster/gateway"
	"isle/internal/cluster/link"
)

// ClusterConfig makes a machine a node of a cluster (docs/cluster.md): its
// gateway carries channels over the node's links to the other nodes.
type ClusterConfig struct {
	// Link is this node's end of the links, started (link.Start) and, after
	// Stop, closed by the caller.
	Link *link.Node
	// Remote are names served on other nodes that this machine's SIPs may
	// look up, fixed at boot.
	Remote []RemoteName
	// Names, when set, replaces Remote with a set that changes while the
	// machine runs: isle node sets it from the cluster's name table.
	Names *RemoteNames
	// Client carries the machine's SIPs' spawns on other nodes
	// (proc_spawn_on) when the embedder has one on Link already (it owns
	// the link's reply kinds); nil: the machine makes its own.
	Client *RemoteClient
	// Logf receives the gateway's log lines (refusals, lost links); nil: none.
	Logf func(format string, args ...any)
}

// RemoteName is a service of another node, with the contract it speaks.
type RemoteName struct {
	Name     string // the name it is registered under, there and here
	Node     uint64 // the node that serves it
	Source   []byte // the source of its contract
	Contract string // the contract's name in Source
}

// RemoteNames is a changing set of names served on other nodes, for a
// node's gateway: a lookup here of one of them connects through the gateway
// to the node that serves it. Safe for concurrent use; the zero value is an
// empty set.
type RemoteNames struct {
	mu    sync.Mutex // guards names and gw
	names []RemoteName
	gw    *gateway.Gateway
}

// Set replaces the set. A name no longer in it is unregistered from the
// machine (channels already open stay open until their node is lost).
func (r *RemoteNames) Set(names []RemoteName) {
	r.mu.Lock()
	r.names = append([]RemoteName(nil), names...)
	gw := r.gw
	r.mu.Unlock()
	if gw != nil {
		gw.SetImports(imports(names))
	}
}

// attach makes gw serve the set, now and at each Set.
func (r *RemoteNames) attach(gw *gateway.Gateway) {
	r.mu.Lock()
	r.gw = gw
	names := r.names
	r.mu.Unlock()
	gw.SetImports(imports(names))
}

func imports(names []RemoteName) []gateway.Import {
	imps := make([]gateway.Import, 0, len(names))
	for _, r := range names {
		imps = append(imps, gateway.Import{Name: r.Name, Node: r.Node, Source: r.Source, Contract: r.Contract})
	}
	return imps
}

// WithCluster makes the machine a node of a cluster.
func (c Config) WithCluster(cl ClusterConfig) Config { c.cluster = &cl; return c }

// newGateway makes the gateway of a machine configured as a node, or nil.
func newGateway(cfg Config) *gateway.Gateway {
	cl := cfg.cluster
	if cl == nil {
		return nil
	}
	logf := cl.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	gw := gateway.New(cl.Link, imports(cl.Remote), logf)
	if cl.Names != nil {
		cl.Names.attach(gw)
	}
	return gw
}

// startGateway spawns the gateway's SIP on core 0 of a booted machine.
func (m *Machine) startGateway(ctx context.Context) error {
	prog, err := m.LoadBytes(ctx, "isle-gateway", m.seams.gateway())
	if err != nil {
		return fmt.Errorf("cluster gateway: %v", err)
	}
	s := m.newSIP(prog.mod, "isle-gateway", []string{"isle-gateway"}, 0)
	m.gw.Attach(m.k, s)
	if err := m.k.Spawn(s, 0); err != nil {
		return err
	}
	m.serveRemote(m.cfg.cluster.Link)
	return nil
}
