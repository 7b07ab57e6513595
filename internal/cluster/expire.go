package cluster

import (
	"encoding/json"

	"go.etcd.io/raft/v3"
)

// expireNames is the leader's check, each tick, that every node holding
// names is still heard from: a node that sent no Raft message for
// NameExpiry (its process died, or its link is down) has its names dropped
// by an opExpire entry, so that lookups elsewhere stop finding services
// that no longer answer. Proposed again every ElectionTicks until applied;
// a node that comes back registers its names again as its SIPs do.
func (g *Group) expireNames() {
	if g.rn.BasicStatus().RaftState != raft.StateLeader {
		g.leadSince = 0
		return
	}
	if g.leadSince == 0 {
		g.leadSince = g.ticks // a new leader gives every node a full NameExpiry
	}
	limit := uint64(g.cfg.NameExpiry / g.cfg.Tick)
	for _, v := range g.state.Names {
		id := v.Node
		if id == g.cfg.ID {
			continue
		}
		last := max(g.heard[id], g.leadSince)
		if g.ticks-last < limit || g.ticks-g.expiring[id] < uint64(g.cfg.ElectionTicks) && g.expiring[id] != 0 {
			continue
		}
		g.expiring[id] = g.ticks
		data, _ := json.Marshal(command{Op: opExpire, By: g.cfg.ID, Val: Name{Node: id}})
		g.submit(queued{data: data})
	}
}
