package main

import (
	"context"
	"maps"
	"slices"
)

// remote spawns args (a guest path on node on, and its arguments) there,
// when on is not 0, and prints the cluster's process table when ps is set:
// the live SIPs of every member, asked over the links.
func (n *nodeCmd) remote(on uint64, args []string, ps bool) int {
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	defer cancel()
	if on != 0 {
		if len(args) == 0 {
			n.logf("--spawn-on %d: no program given (after --: a path in one of node %d's preopens)", on, on)
			return exitUsage
		}
		pid, err := n.client.Spawn(ctx, on, args[0], args[1:])
		if err != nil {
			n.logf("--spawn-on %d: %s: %v", on, args[0], err)
			return exitError
		}
		n.logf("spawned %s on node %d: pid %d", args[0], on, pid)
	}
	if !ps {
		return 0
	}
	members, err := n.g.Members(ctx)
	if err != nil {
		n.logf("--ps: %v", err)
		return exitError
	}
	for _, id := range slices.Sorted(maps.Keys(members)) {
		if id == n.id {
			n.logf("ps: node %d: no SIPs", id) // it runs no machine while it asks
			continue
		}
		procs, err := n.client.Processes(ctx, id)
		switch {
		case err != nil:
			n.logf("ps: node %d: %v", id, err)
		case len(procs) == 0:
			n.logf("ps: node %d: no SIPs", id)
		}
		for _, p := range procs {
			n.logf("ps: node %d pid %d %s", p.Node, p.PID, p.Name)
		}
	}
	return 0
}
