package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeNet is an in-memory network for the groups of one test: it can cut
// links (partitions), drop and delay frames, and take a node down. Its
// random choices come from one seeded source, so a seed fixes the faults
// (not the goroutines' interleaving).
type fakeNet struct {
	mu    sync.Mutex
	rng   *rand.Rand
	ends  map[uint64]*fakeEnd
	cut   map[[2]uint64]bool
	drop  float64       // probability that a frame is lost
	delay time.Duration // frames wait up to this long (0: delivered at once)
}

type fakeEnd struct {
	net      *fakeNet
	id       uint64
	up       bool
	handlers map[byte]func(uint64, []byte)
	down     []func(uint64)
}

var errPeerDown = errors.New("fake: peer down")

func newFakeNet(seed uint64) *fakeNet {
	return &fakeNet{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), ends: map[uint64]*fakeEnd{}, cut: map[[2]uint64]bool{}}
}

// end returns a fresh endpoint for node id (a restart gets a new one).
func (n *fakeNet) end(id uint64) *fakeEnd {
	n.mu.Lock()
	defer n.mu.Unlock()
	e := &fakeEnd{net: n, id: id, up: true, handlers: map[byte]func(uint64, []byte){}}
	n.ends[id] = e
	return e
}

// crash takes node id off the network; the others' OnPeerDown hears of it.
func (n *fakeNet) crash(id uint64) {
	n.mu.Lock()
	e := n.ends[id]
	var downs []func(uint64)
	if e != nil && e.up {
		e.up = false
		for _, o := range n.ends {
			if o.up {
				downs = append(downs, o.down...)
			}
		}
	}
	n.mu.Unlock()
	for _, fn := range downs {
		fn(id)
	}
}

// partition cuts every link between nodes of different sides.
func (n *fakeNet) partition(sides ...[]uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.cut)
	for i, a := range sides {
		for j, b := range sides {
			if i == j {
				continue
			}
			for _, x := range a {
				for _, y := range b {
					n.cut[[2]uint64{x, y}] = true
				}
			}
		}
	}
}

func (n *fakeNet) heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.cut)
}

func (n *fakeNet) setLoss(drop float64, delay time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.drop, n.delay = drop, delay
}

func (e *fakeEnd) Send(to uint64, kind byte, p []byte) error {
	n := e.net
	n.mu.Lock()
	dst := n.ends[to]
	if !e.up || dst == nil || !dst.up {
		n.mu.Unlock()
		return errPeerDown
	}
	if n.cut[[2]uint64{e.id, to}] || (n.drop > 0 && n.rng.Float64() < n.drop) {
		n.mu.Unlock()
		return nil
	}
	var d time.Duration
	if n.delay > 0 {
		d = time.Duration(n.rng.Int64N(int64(n.delay)))
	}
	fn := dst.handlers[kind]
	n.mu.Unlock()
	if fn == nil {
		return nil
	}
	from, cp := e.id, bytes.Clone(p)
	if d == 0 {
		fn(from, cp)
		return nil
	}
	time.AfterFunc(d, func() {
		n.mu.Lock()
		ok := dst.up && !n.cut[[2]uint64{from, to}]
		n.mu.Unlock()
		if ok {
			fn(from, cp)
		}
	})
	return nil
}

func (e *fakeEnd) Handle(kind byte, fn func(uint64, []byte)) {
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	e.handlers[kind] = fn
}

func (e *fakeEnd) OnPeerDown(fn func(uint64)) {
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	e.down = append(e.down, fn)
}

// testCluster is a set of groups over one fakeNet, each with its log in the
// test's directory.
type testCluster struct {
	mu     sync.Mutex // groups, for tests whose clients run beside the faults
	t      testing.TB
	net    *fakeNet
	dir    string
	peers  map[uint64]string
	groups map[uint64]*Group
	snap   uint64 // SnapshotEvery for the groups (0: the default)
}

const testTick = 5 * time.Millisecond

func newCluster(t testing.TB, n int, seed uint64) *testCluster {
	c := &testCluster{t: t, net: newFakeNet(seed), dir: t.TempDir(), peers: map[uint64]string{}, groups: map[uint64]*Group{}}
	for id := uint64(1); id <= uint64(n); id++ {
		c.peers[id] = addrOf(id)
	}
	t.Cleanup(c.stopAll)
	return c
}

func addrOf(id uint64) string { return fmt.Sprintf("127.0.0.1:%d", 7000+id) }

func (c *testCluster) startAll() {
	for id := range c.peers {
		c.start(id)
	}
}

func (c *testCluster) config(id uint64) Config {
	return Config{ID: id, Addr: addrOf(id), Path: c.path(id), Transport: c.net.end(id), Peers: c.peers,
		Tick: testTick, SnapshotEvery: c.snap}
}

func (c *testCluster) path(id uint64) string {
	return filepath.Join(c.dir, fmt.Sprintf("node-%d.db", id))
}

func (c *testCluster) start(id uint64) *Group {
	c.t.Helper()
	g, err := Start(c.config(id))
	if err != nil {
		c.t.Fatalf("start node %d: %v", id, err)
	}
	c.mu.Lock()
	c.groups[id] = g
	c.mu.Unlock()
	return g
}

// kill crashes node id: off the network, its loop ended, its log closed as
// it was after its last Ready (every Ready is committed to the file first).
func (c *testCluster) kill(id uint64) {
	c.net.crash(id)
	c.mu.Lock()
	g := c.groups[id]
	delete(c.groups, id)
	c.mu.Unlock()
	if g != nil {
		g.Stop()
	}
}

func (c *testCluster) stopAll() {
	for _, id := range c.running() {
		c.kill(id)
	}
}

// group returns node id's running group, or nil.
func (c *testCluster) group(id uint64) *Group {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.groups[id]
}

func (c *testCluster) running() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]uint64, 0, len(c.groups))
	for id := range c.groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
