package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// leaderOf returns the leader that a majority of the running nodes name,
// waiting for one (a condition, polled on the groups' own tick).
func (c *testCluster) leaderOf(d time.Duration) uint64 {
	c.t.Helper()
	var lead uint64
	waitFor(c.t, d, "a leader", func() bool {
		votes := map[uint64]int{}
		for _, g := range c.groups {
			if l := g.Stats().Lead; l != 0 {
				votes[l]++
			}
		}
		for l, n := range votes {
			if _, up := c.groups[l]; up && n > len(c.groups)/2 {
				lead = l
				return true
			}
		}
		return false
	})
	return lead
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	tk := time.NewTicker(testTick)
	defer tk.Stop()
	deadline := time.After(d)
	for !cond() {
		select {
		case <-tk.C:
		case <-deadline:
			t.Fatalf("no %s within %v", what, d)
		}
	}
}

func (c *testCluster) mustRegister(g *Group, names ...string) {
	c.t.Helper()
	ctx := ctxFor(c.t, 10*time.Second)
	for _, n := range names {
		if err := g.Register(ctx, n, Name{Node: g.cfg.ID, Contract: "C"}); err != nil {
			c.t.Fatalf("node %d register %q: %v", g.cfg.ID, n, err)
		}
	}
}

func (c *testCluster) mustFind(g *Group, names ...string) {
	c.t.Helper()
	ctx := ctxFor(c.t, 10*time.Second)
	for _, n := range names {
		if _, ok, err := g.Lookup(ctx, n); err != nil || !ok {
			c.t.Fatalf("node %d lookup %q: found=%v err=%v", g.cfg.ID, n, ok, err)
		}
	}
}

func TestMajoritySurvivesKill(t *testing.T) {
	c := newCluster(t, 3, 2)
	c.startAll()
	c.mustRegister(c.groups[1], "before")
	lead := c.leaderOf(5 * time.Second)
	c.kill(lead)
	for id, g := range c.groups {
		c.mustRegister(g, fmt.Sprintf("after-%d", id))
	}
	for _, g := range c.groups {
		c.mustFind(g, "before")
		for id := range c.groups {
			c.mustFind(g, fmt.Sprintf("after-%d", id))
		}
	}
}

func TestRestartCatchesUp(t *testing.T) {
	c := newCluster(t, 3, 3)
	c.startAll()
	c.mustRegister(c.groups[1], "a")
	c.kill(3)
	c.mustRegister(c.groups[2], "b", "c", "d")
	g3 := c.start(3) // from its log: it had "a"
	c.mustFind(g3, "a", "b", "c", "d")
	// The whole cluster stops and restarts from its logs.
	c.stopAll()
	c.startAll()
	c.mustFind(c.groups[2], "a", "b", "c", "d")
	c.mustRegister(c.groups[3], "e")
}

// TestSnapshotCompacts: past SnapshotEvery entries the state machine is
// snapshotted and the log compacted; a node that was down since before the
// compaction catches up from the leader's snapshot; a restart of every node
// rebuilds the table from snapshot plus log.
func TestSnapshotCompacts(t *testing.T) {
	c := newCluster(t, 3, 4)
	c.snap = 40
	c.startAll()
	c.mustRegister(c.groups[1], "first")
	c.kill(3)
	const writers, each = 8, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			g := c.groups[uint64(1+w%2)]
			ctx := ctxFor(t, 20*time.Second)
			for i := range each {
				if err := g.Register(ctx, fmt.Sprintf("w%d-%d", w, i), Name{Node: g.cfg.ID}); err != nil {
					t.Errorf("register: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	lead := c.groups[c.leaderOf(5*time.Second)]
	st := lead.Stats()
	if st.Snapshots == 0 || st.LogFirst <= 2 {
		t.Fatalf("leader after %d entries: %d snapshots, log starts at %d; want a snapshot and a compacted log", st.Applied, st.Snapshots, st.LogFirst)
	}
	g3 := c.start(3)
	c.mustFind(g3, "first", "w0-0", fmt.Sprintf("w%d-%d", writers-1, each-1))
	if n := len(g3.localState().Names); n != 1+writers*each {
		t.Fatalf("restarted node holds %d names, want %d", n, 1+writers*each)
	}
	c.stopAll()
	c.startAll()
	for id, g := range c.groups {
		c.mustFind(g, "first")
		if n := len(g.localState().Names); n != 1+writers*each {
			t.Fatalf("node %d after a full restart holds %d names, want %d", id, n, 1+writers*each)
		}
	}
}

func TestRemovedNodeDropped(t *testing.T) {
	c := newCluster(t, 4, 5)
	c.startAll()
	c.mustRegister(c.groups[4], "on-4")
	c.mustRegister(c.groups[1], "on-1")
	c.net.partition([]uint64{1, 2, 3}, []uint64{4})
	ctx := ctxFor(t, 10*time.Second)
	if err := c.groups[1].RemoveMember(ctx, 4); err != nil {
		t.Fatalf("remove node 4: %v", err)
	}
	c.net.heal()
	g2 := c.groups[2]
	if _, ok, _ := g2.Lookup(ctx, "on-4"); ok {
		t.Fatalf("a removed node's name is still registered")
	}
	members, err := g2.Members(ctx)
	if err != nil || len(members) != 3 || members[4] != "" {
		t.Fatalf("members after removal: %v %v", members, err)
	}
	// Node 4, never told, speaks as a leader of a later term; node 2 must
	// neither follow it nor change term.
	before := g2.Stats()
	app := &pb.Message{Type: pb.MsgHeartbeat.Enum(), From: new(uint64(4)), To: new(uint64(2)), Term: new(before.Term + 10)}
	b, _ := proto.Marshal(app)
	c.groups[4].cfg.Transport.Send(2, KindRaft, b)
	// A message claiming another sender than the transport's is forged.
	app.From = new(uint64(1))
	b, _ = proto.Marshal(app)
	c.groups[4].cfg.Transport.Send(2, KindRaft, b)
	after := g2.Stats()
	if after.Term != before.Term || after.Lead == 4 {
		t.Fatalf("node 2 went from term %d (leader %d) to term %d (leader %d) on a removed node's message", before.Term, before.Lead, after.Term, after.Lead)
	}
	if after.DroppedRemoved == 0 || after.DroppedForged == 0 {
		t.Fatalf("dropped: %d from removed nodes, %d forged; want both counted", after.DroppedRemoved, after.DroppedForged)
	}
	c.mustRegister(g2, "still-works")
	// A removed id is never admitted again.
	c.kill(4)
	cfg := c.config(4)
	cfg.Path, cfg.Peers = c.path(40), nil
	g4, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.groups[4] = g4
	err = g4.Join(ctxFor(t, 5*time.Second), []uint64{1, 2, 3})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "removed") {
		t.Fatalf("rejoin of a removed id: %v, want ErrRefused (removed)", err)
	}
}

func TestJoin(t *testing.T) {
	c := newCluster(t, 3, 6)
	c.startAll()
	c.mustRegister(c.groups[1], "a")
	cfg := c.config(4)
	cfg.Peers = nil
	g4, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.groups[4] = g4
	if err := g4.Join(ctxFor(t, 10*time.Second), []uint64{1}); err != nil {
		t.Fatalf("join: %v", err)
	}
	c.mustFind(g4, "a")
	c.mustRegister(g4, "from-4")
	c.mustFind(c.groups[2], "from-4")
	members, err := c.groups[3].Members(ctxFor(t, 5*time.Second))
	if err != nil || len(members) != 4 || members[4] != addrOf(4) {
		t.Fatalf("members: %v %v", members, err)
	}
	// Node 4 restarts from its log and is a member at once.
	c.kill(4)
	c.mustFind(c.start(4), "from-4")

	t.Run("duplicate id", func(t *testing.T) {
		c.kill(3)
		cfg := c.config(3)
		cfg.Path, cfg.Peers, cfg.Addr = c.path(30), nil, "10.9.9.9:1"
		g, err := Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.groups[3] = g
		err = g.Join(ctxFor(t, 5*time.Second), []uint64{1, 2})
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "duplicate node id 3") {
			t.Fatalf("join with a member's id: %v", err)
		}
		c.kill(3)
	})
	t.Run("no quorum", func(t *testing.T) {
		c.kill(2)
		c.kill(4) // of 1, 2, 3, 4 only 1 is up
		cfg := c.config(5)
		cfg.Peers = nil
		g, err := Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.groups[5] = g
		start := time.Now()
		err = g.Join(ctxFor(t, 500*time.Millisecond), []uint64{1})
		if !errors.Is(err, ErrNoQuorum) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("join without quorum: %v, want one line of ErrNoQuorum", err)
		}
		if time.Since(start) < 400*time.Millisecond {
			t.Fatalf("gave up after %v, before its deadline", time.Since(start))
		}
		t.Log(err)
	})
}

// TestConfChangeRefused: a conf change that reaches the log but breaks the
// membership's rules (a member's id at another address, a removed id, a
// removal of a stranger) is refused by every node alike, and the group goes on.
func TestConfChangeRefused(t *testing.T) {
	c := newCluster(t, 3, 8)
	c.startAll()
	g := c.groups[1]
	ctx := ctxFor(t, 10*time.Second)
	if err := g.AddMember(ctx, 2, "10.0.0.2:1"); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "duplicate node id 2") {
		t.Fatalf("add of a member's id elsewhere: %v", err)
	}
	if err := g.RemoveMember(ctx, 9); !errors.Is(err, ErrInvalid) {
		t.Fatalf("removal of a stranger: %v", err)
	}
	if err := g.RemoveMember(ctx, 3); err != nil {
		t.Fatalf("remove node 3: %v", err)
	}
	if err := g.AddMember(ctx, 3, addrOf(3)); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "removed") {
		t.Fatalf("add of a removed id: %v", err)
	}
	for _, id := range []uint64{1, 2} {
		if err := c.groups[id].Err(); err != nil {
			t.Fatalf("node %d stopped: %v", id, err)
		}
		c.mustRegister(c.groups[id], fmt.Sprintf("after-%d", id))
	}
	members, err := c.groups[2].Members(ctx)
	if err != nil || len(members) != 2 || members[2] != addrOf(2) {
		t.Fatalf("members: %v %v", members, err)
	}
}

// TestForgedProposalDropped: a node forwards to the leader a proposal made
// in another node's name (unregister node 1's name); the leader drops it,
// and node 1's name stays.
func TestForgedProposalDropped(t *testing.T) {
	c := newCluster(t, 3, 10)
	c.startAll()
	c.mustRegister(c.groups[1], "mine")
	lead := c.leaderOf(5 * time.Second)
	var from uint64 = 1
	for from == lead || from == 1 {
		from++
	}
	data, _ := json.Marshal(command{Op: opUnregister, Req: 42, By: 1, Name: "mine", Val: Name{Node: 1}})
	prop := &pb.Message{Type: pb.MsgProp.Enum(), From: new(from), To: new(lead), Entries: []*pb.Entry{{Data: data}}}
	b, _ := proto.Marshal(prop)
	c.groups[from].cfg.Transport.Send(lead, KindRaft, b)
	c.mustRegister(c.groups[lead], "after") // committed after the forged entry would have been
	c.mustFind(c.groups[from], "mine", "after")
	if n := c.groups[lead].Stats().DroppedForged; n != 1 {
		t.Fatalf("leader dropped %d forged messages, want 1", n)
	}
}
