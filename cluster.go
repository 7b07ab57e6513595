package isle

import (
	"context"
	"fmt"

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
	// look up.
	Remote []RemoteName
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

// WithCluster makes the machine a node of a cluster.
func (c Config) WithCluster(cl ClusterConfig) Config { c.cluster = &cl; return c }

// newGateway makes the gateway of a machine configured as a node, or nil.
func newGateway(cfg Config) *gateway.Gateway {
	cl := cfg.cluster
	if cl == nil {
		return nil
	}
	var imps []gateway.Import
	for _, r := range cl.Remote {
		imps = append(imps, gateway.Import{Name: r.Name, Node: r.Node, Source: r.Source, Contract: r.Contract})
	}
	logf := cl.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return gateway.New(cl.Link, imps, logf)
}

// startGateway spawns the gateway's SIP on core 0 of a booted machine.
func (m *Machine) startGateway(ctx context.Context) error {
	prog, err := m.LoadBytes(ctx, "isle-gateway", gateway.Module())
	if err != nil {
		return fmt.Errorf("cluster gateway: %v", err)
	}
	s := m.newSIP(prog.mod, "isle-gateway", []string{"isle-gateway"}, 0)
	m.gw.Attach(m.k, s)
	return m.k.Spawn(s, 0)
}
