package cluster

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The history of the name table, checked with porcupine against a
// sequential specification: each name is held by at most one node.

type nameOp struct {
	Op   string // "register", "unregister", "lookup"
	Name string
	Node uint64
}

type nameOut struct {
	Code  string // "ok", "exists", "notfound", "notowner", "unknown" (a write with no answer)
	Owner uint64 // lookup: the holder found (0: none)
}

// nameModel is partitioned by name; a partition's state is the holder's id
// (0: free). A write whose outcome is unknown may take effect or not: its
// return time is infinite, so the checker may place it after every other
// operation, where it changes nothing observed.
var nameModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		for _, op := range h {
			n := op.Input.(nameOp).Name
			by[n] = append(by[n], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range by {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return uint64(0) },
	Step: func(state, input, output any) (bool, any) {
		owner, in, out := state.(uint64), input.(nameOp), output.(nameOut)
		switch in.Op {
		case "register":
			switch out.Code {
			case "ok":
				return owner == 0, in.Node
			case "exists":
				return owner != 0, owner
			case "unknown":
				if owner == 0 {
					return true, in.Node
				}
				return true, owner
			}
		case "unregister":
			switch out.Code {
			case "ok":
				return owner == in.Node, uint64(0)
			case "notfound":
				return owner == 0, owner
			case "notowner":
				return owner != 0 && owner != in.Node, owner
			case "unknown":
				if owner == in.Node {
					return true, uint64(0)
				}
				return true, owner
			}
		case "lookup":
			return owner == out.Owner, owner
		}
		return false, owner
	},
	DescribeOperation: func(in, out any) string { return fmt.Sprintf("%v -> %v", in, out) },
}

// history records operations from many goroutines.
type history struct {
	mu   sync.Mutex
	base time.Time
	ops  []porcupine.Operation
}

func (h *history) now() int64 { return int64(time.Since(h.base)) }

func (h *history) add(client int, in nameOp, call int64, out nameOut) {
	ret := h.now()
	if out.Code == "unknown" {
		ret = math.MaxInt64
	}
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	h.mu.Unlock()
}

func outcome(err error) (string, bool) {
	switch {
	case err == nil:
		return "ok", true
	case errors.Is(err, ErrExists):
		return "exists", true
	case errors.Is(err, ErrNotFound):
		return "notfound", true
	case errors.Is(err, ErrNotOwner):
		return "notowner", true
	}
	return "unknown", false
}

// do runs one random operation of a client against node id's group.
func do(h *history, client int, g *Group, rng *rand.Rand, names []string, timeout time.Duration) {
	ctx, cancel := contextWithTimeout(timeout)
	defer cancel()
	in := nameOp{Name: names[rng.IntN(len(names))], Node: g.cfg.ID}
	call := h.now()
	switch rng.IntN(3) {
	case 0:
		in.Op = "register"
		code, _ := outcome(g.Register(ctx, in.Name, Name{Node: in.Node}))
		h.add(client, in, call, nameOut{Code: code})
	case 1:
		in.Op = "unregister"
		code, _ := outcome(g.Unregister(ctx, in.Name))
		h.add(client, in, call, nameOut{Code: code})
	default:
		in.Op = "lookup"
		v, ok, err := g.Lookup(ctx, in.Name)
		if err != nil {
			return // a read with no answer changed nothing
		}
		out := nameOut{Code: "ok"}
		if ok {
			out.Owner = v.Node
		}
		h.add(client, in, call, out)
	}
}

// faultRun is one randomized run: five nodes, clients on every node, and a
// fault every few ticks (a partition, a heal, a kill, a restart, loss and
// delay), chosen by seed. At the end the network heals, every node
// restarts, and each name is read once more.
func faultRun(t *testing.T, seed uint64, d time.Duration) []porcupine.Operation {
	faults := map[string]int{}
	defer func() { t.Logf("faults: %v", faults) }()
	c := newCluster(t, 5, seed)
	c.startAll()
	rng := rand.New(rand.NewPCG(seed, 1))
	names := []string{"a", "b", "c"}
	h := &history{base: time.Now()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for client := range 5 {
		crng := rand.New(rand.NewPCG(seed, uint64(2+client)))
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ids := c.running()
				if g := c.group(ids[crng.IntN(len(ids))]); g != nil {
					do(h, client, g, crng, names, 400*time.Millisecond)
				}
			}
		})
	}
	deadline := time.Now().Add(d)
	tk := time.NewTicker(8 * testTick)
	for time.Now().Before(deadline) {
		<-tk.C
		faults[fault(c, rng)]++
	}
	tk.Stop()
	close(stop)
	wg.Wait()
	c.net.heal()
	c.net.setLoss(0, 0)
	for id := range c.peers {
		if c.group(id) == nil {
			c.start(id)
		}
	}
	for i, n := range names {
		do2 := func(g *Group) {
			ctx, cancel := contextWithTimeout(5 * time.Second)
			defer cancel()
			call := h.now()
			v, ok, err := g.Lookup(ctx, n)
			if err != nil {
				t.Fatalf("final lookup of %q: %v", n, err)
			}
			out := nameOut{Code: "ok"}
			if ok {
				out.Owner = v.Node
			}
			h.add(100+i, nameOp{Op: "lookup", Name: n}, call, out)
		}
		do2(c.group(uint64(1 + i%5)))
	}
	c.stopAll()
	return h.ops
}

func fault(c *testCluster, rng *rand.Rand) string {
	all := []uint64{1, 2, 3, 4, 5}
	switch rng.IntN(6) {
	case 0: // a random split
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		k := 1 + rng.IntN(len(all)-1)
		c.net.partition(all[:k], all[k:])
		return "partition"
	case 1:
		c.net.heal()
		return "heal"
	case 2: // kill a node, leaving at least three up
		if ids := c.running(); len(ids) > 3 {
			c.kill(ids[rng.IntN(len(ids))])
			return "kill"
		}
		return "none"
	case 3: // restart every dead node from its log
		for _, id := range all {
			if c.group(id) == nil {
				c.start(id)
			}
		}
		return "restart"
	case 4:
		c.net.setLoss(0.2*rng.Float64(), time.Duration(rng.IntN(3))*testTick)
		return "loss"
	default:
		c.net.setLoss(0, 0)
		return "no loss"
	}
}

func TestLinearizableUnderFaults(t *testing.T) {
	runs, d := 20, time.Second
	if testing.Short() {
		runs, d = 5, 600*time.Millisecond
	}
	t.Run("a stale read is flagged", staleRead)
	answered := 0
	for run := range runs {
		seed := uint64(1000 + run)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			ops := faultRun(t, seed, d)
			res := porcupine.CheckOperationsTimeout(nameModel, ops, 20*time.Second)
			writes, unknown := 0, 0
			for _, op := range ops {
				if op.Input.(nameOp).Op != "lookup" {
					writes++
				}
				if op.Output.(nameOut).Code == "unknown" {
					unknown++
				}
			}
			answered += writes - unknown
			t.Logf("%d operations (%d writes, %d with no answer): %s", len(ops), writes, unknown, res)
			if res != porcupine.Ok {
				t.Fatalf("history is %s", res)
			}
		})
	}
	if answered < 10*runs {
		t.Fatalf("%d answered writes in %d runs: the runs checked too little", answered, runs)
	}
}

// staleRead: the checker must be able to fail. An old leader
// cut off from the majority still holds its state machine as it was; a read
// answered from it without a quorum (as a lease-less local read would be)
// misses a registration the majority committed before the read began, and
// porcupine must call that history illegal. The same read through Lookup
// (ReadIndex) on the cut-off node gets no answer at all.
func staleRead(t *testing.T) {
	c := newCluster(t, 3, 9)
	c.startAll()
	c.mustRegister(c.groups[1], "warm-up")
	old := c.leaderOf(5 * time.Second)
	var rest []uint64
	for id := range c.peers {
		if id != old {
			rest = append(rest, id)
		}
	}
	c.net.partition([]uint64{old}, rest)
	h := &history{base: time.Now()}
	g := c.group(rest[0])
	call := h.now()
	ctx := ctxFor(t, 10*time.Second)
	if err := g.Register(ctx, "x", Name{Node: g.cfg.ID}); err != nil {
		t.Fatalf("register on the majority: %v", err)
	}
	h.add(0, nameOp{Op: "register", Name: "x", Node: g.cfg.ID}, call, nameOut{Code: "ok"})

	call = h.now()
	local := c.group(old).localState()
	out := nameOut{Code: "ok", Owner: local.Names["x"].Node}
	stale := append(append([]porcupine.Operation(nil), h.ops...),
		porcupine.Operation{ClientId: 1, Input: nameOp{Op: "lookup", Name: "x"}, Call: call, Output: out, Return: h.now()})
	if out.Owner != 0 {
		t.Fatalf("the cut-off leader already holds x: no stale read to check")
	}
	if res := porcupine.CheckOperationsTimeout(nameModel, stale, 5*time.Second); res != porcupine.Illegal {
		t.Fatalf("a stale read checked as %s, want Illegal", res)
	}
	if _, _, err := c.group(old).Lookup(ctxFor(t, 300*time.Millisecond), "x"); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Lookup on the cut-off node: %v, want ErrTimeout", err)
	}
	call = h.now()
	v, ok, err := c.group(rest[1]).Lookup(ctx, "x")
	if err != nil || !ok {
		t.Fatalf("lookup on the majority: %v %v", ok, err)
	}
	h.add(2, nameOp{Op: "lookup", Name: "x"}, call, nameOut{Code: "ok", Owner: v.Node})
	if res := porcupine.CheckOperationsTimeout(nameModel, h.ops, 5*time.Second); res != porcupine.Ok {
		t.Fatalf("the honest history checked as %s", res)
	}
}
