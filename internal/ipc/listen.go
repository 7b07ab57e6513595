package ipc

import (
	"sort"
	"strings"

	"isle/internal/contract"
)

// ListenerContractName is the contract of a listener's messages: the name
// service delivers each connection to a registered service as a Connect
// message carrying the exporter's end of a fresh channel.
const ListenerContractName = "isle_Listener"

// ListenerContract compiles the listener contract for channels of contract
// c: c's source, the contracts c reaches, and
//
//	contract isle_Listener {
//	  msg Connect(client exp<C>)
//	  initial final state Open { imp Connect -> Open }
//	}
//
// The listener's end is the exporter's: it only receives.
func ListenerContract(c *contract.Contract) (*contract.Contract, error) {
	var b strings.Builder
	for _, r := range reachable(c) {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	b.WriteString("contract " + ListenerContractName + " {\n  msg Connect(client exp<" + c.Name() + ">)\n  initial final state Open { imp Connect -> Open }\n}\n")
	set, diags := contract.CompileSource("listener", []byte(b.String()))
	if len(diags) > 0 {
		return nil, ErrInvalid
	}
	return set.Lookup(ListenerContractName), nil
}

// reachable returns c and every contract reachable from it through endpoint
// fields, sorted by name.
func reachable(c *contract.Contract) []*contract.Contract {
	seen := map[string]*contract.Contract{}
	var walk func(*contract.Contract)
	walk = func(c *contract.Contract) {
		if _, ok := seen[c.Name()]; ok {
			return
		}
		seen[c.Name()] = c
		for i := 0; i < c.NumMessages(); i++ {
			m := c.Message(contract.MsgID(i))
			for j := 0; j < m.NumFields(); j++ {
				if f := m.Field(j); f.Kind == contract.KindEndpoint {
					walk(f.Contract)
				}
			}
		}
	}
	walk(c)
	out := make([]*contract.Contract, 0, len(seen))
	for _, c := range seen {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Listen makes a listener in t: an endpoint of the listener contract lc
// (from ListenerContract) that receives Connect messages. It returns the
// listener's handle and the endpoint, which the name service records with
// the core it lives on.
func (t *Table) Listen(p Port, lc *contract.Contract) (Handle, *Endpoint, error) {
	if t.dead || !t.room(1, 0) {
		return 0, nil, ErrQuota
	}
	l := &Endpoint{sys: t.sys, c: lc, side: contract.Exporter, state: lc.Initial()}
	return t.put(l, nil), l, nil
}

// Connect creates a channel for the service listening on l (made in table
// home, on core), keeps the importer's end in t and sends the exporter's end
// to l as a Connect message. If the listener is closed, the importer's end
// sees Closed.
//
// The queued exporter's end is charged to t (quota.go) as if the importer's
// end had sent it as its message 0: it counts as one of t's handles until
// the service accepts it and the exporter's end acknowledges message 0, so
// a client that connects again and again to a service that does not accept
// fills its own quota, not the listener's queue without limit.
func (t *Table) Connect(p Port, l *Endpoint, home *Table, core int) (Handle, error) {
	if t.dead || !t.room(2, 0) {
		return 0, ErrQuota
	}
	f := l.c.Message(0).Field(0)
	imp, exp := newPair(t.sys, f.Contract, t, p.Core())
	imp.peerAt = hop{table: home, core: core}
	exp.told = imp.peerAt
	imp.sendSeq, exp.recvSeq = 1, 1 // message 0 is the connection
	h := t.put(imp, nil)
	imp.charge(0, 0, 1)
	pkt := &Packet{to: l, kind: pktConnect, msg: 0, eps: []*Endpoint{exp}, refs: []contract.EndpointRef{{Field: 0, Offset: 0}}}
	pkt.payload = pkt.inline[:4]
	route(p, nil, hop{table: home, core: core}, pkt) // exp never lived in t: nothing to forward from t
	return h, nil
}
