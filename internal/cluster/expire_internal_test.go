package cluster

import (
	"encoding/json"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// TestNamesExpire: the names of a node that the leader stops hearing from
// are dropped from the table on every node that remains, after NameExpiry;
// a live node's names stay.
func TestNamesExpire(t *testing.T) {
	c := newCluster(t, 3, 7)
	c.startAll()
	lead := c.leaderOf(5 * time.Second)
	victim := lead%3 + 1 // a follower
	c.mustRegister(c.groups[victim], "svc")
	c.mustRegister(c.groups[lead], "stays")
	for _, g := range c.groups {
		c.mustFind(g, "svc")
	}
	c.kill(victim)
	start := time.Now()
	for _, id := range c.running() {
		g := c.group(id)
		waitFor(t, 10*time.Second, "the dead node's name dropped", func() bool {
			ctx, cancel := contextWithTimeout(time.Second)
			defer cancel()
			_, ok, err := g.Lookup(ctx, "svc")
			return err == nil && !ok
		})
		c.mustFind(g, "stays")
	}
	if d := time.Since(start); d < DefaultNameExpiry/2 {
		t.Fatalf("names dropped after %v, before the expiry (%v)", d, DefaultNameExpiry)
	}
}

// TestForgedExpireRefused: a follower cannot drop another node's names by
// forwarding an expiry to the leader: only the leader proposes one.
func TestForgedExpireRefused(t *testing.T) {
	c := newCluster(t, 3, 8)
	c.startAll()
	lead := c.leaderOf(5 * time.Second)
	other := lead%3 + 1
	liar := other%3 + 1
	if liar == lead {
		liar = liar%3 + 1
	}
	data, _ := json.Marshal(command{Op: opExpire, By: liar, Val: Name{Node: other}})
	m := &pb.Message{Type: pb.MsgProp.Enum(), From: new(liar), To: new(lead), Entries: []*pb.Entry{{Type: pb.EntryNormal.Enum(), Data: data}}}
	b, _ := proto.Marshal(m)
	before := c.group(lead).Stats().DroppedForged
	c.group(lead).postNet(func() { c.group(lead).step(liar, b) })
	waitFor(t, 5*time.Second, "the forged expiry dropped", func() bool { return c.group(lead).Stats().DroppedForged > before })
}
