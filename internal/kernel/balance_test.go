package kernel

import (
	"math/bits"
	"testing"
	"time"

	"isle/internal/sched"
	"isle/internal/urpc"
)

// TestPeersOf: up to balanceAll cores every core balances with every
// other; beyond, with at most log₂ n + 2 peers, symmetrically (a core
// answers the steal requests of the cores it sends summaries to), and every
// core is reached from core 0 in at most log₂ n hops.
func TestPeersOf(t *testing.T) {
	for _, n := range []int{1, 2, 3, 16, 17, 64, 100, 1000, MaxCores} {
		peers := make([]map[int]bool, n)
		for i := range peers {
			peers[i] = map[int]bool{}
			for _, j := range peersOf(i, n) {
				if j == i || j < 0 || j >= n || peers[i][j] {
					t.Fatalf("n=%d: core %d has peer %d (self, out of range or twice)", n, i, j)
				}
				peers[i][j] = true
			}
			if n <= balanceAll && len(peers[i]) != n-1 {
				t.Errorf("n=%d: core %d has %d peers, want all %d others", n, i, len(peers[i]), n-1)
			}
			if most := bits.Len(uint(n-1)) + 2; n > balanceAll && len(peers[i]) > most {
				t.Errorf("n=%d: core %d has %d peers, want at most %d", n, i, len(peers[i]), most)
			}
		}
		for i := range peers {
			for j := range peers[i] {
				if !peers[j][i] {
					t.Errorf("n=%d: %d is a peer of %d but not the reverse", n, j, i)
				}
			}
		}
		dist := map[int]int{0: 0}
		for frontier := []int{0}; len(frontier) > 0; {
			var next []int
			for _, i := range frontier {
				for j := range peers[i] {
					if _, ok := dist[j]; !ok {
						dist[j] = dist[i] + 1
						next = append(next, j)
					}
				}
			}
			frontier = next
		}
		far := 0
		for _, d := range dist {
			far = max(far, d)
		}
		if len(dist) != n || far > max(bits.Len(uint(n-1)), 1) {
			t.Errorf("n=%d: %d cores reached from core 0, the farthest in %d hops", n, len(dist), far)
		}
	}
}

// TestPickCoreWeighsCapacity: a new SIP goes where it makes the lowest load
// for the core's capacity (sched.Place), not to the core with fewest SIPs:
// beside one SIP on a full core, a quarter-speed idle core would give it a
// quarter of a core, the full one half.
func TestPickCoreWeighsCapacity(t *testing.T) {
	m := &Machine{cores: []*Core{{capacity: sched.FullCapacity}, {capacity: sched.FullCapacity / 4}}}
	for _, tc := range []struct{ live0, live1, want int }{
		{0, 0, 0}, // a tie: the lower id
		{1, 0, 0}, // 2 on the full core beats 1 on the quarter core
		{3, 0, 0}, // 4 at 1024 equal 1 at 256: the tie goes to core 0
		{4, 0, 1},
		{4, 1, 0},
	} {
		m.cores[0].live.Store(int64(tc.live0))
		m.cores[1].live.Store(int64(tc.live1))
		if got := m.pickCore(0); got != tc.want {
			t.Errorf("live %d and %d: pickCore = %d, want %d", tc.live0, tc.live1, got, tc.want)
		}
	}
}

// TestWakeUpIsPlaced: a SIP that a timer or a service's reply wakes on a
// busy core is handed to a core that its latest summary shows idle
// (sched.Place through the core's Balancer), and counted there so that the
// next one does not follow it; with that core busy too, it stays.
func TestWakeUpIsPlaced(t *testing.T) {
	m, err := New(Config{Cores: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Two cores, not started: this test plays core 0's loop.
	m.epoch = time.Now()
	m.cores = []*Core{newCore(m, 0), newCore(m, 1)}
	for _, c := range m.cores {
		c.toCore = make([]*urpc.Ring, 2)
		c.inbox = urpc.NewInbox(2, 64, c.bell)
	}
	c := m.cores[0]
	newSIP := func() *SIP {
		s := &SIP{group: &Group{weight: sched.NiceZeroWeight}, core: c, machine: m}
		c.owned[s] = struct{}{}
		return s
	}
	running := newSIP()
	c.enqueue(running) // the core is busy
	c.bal.summary(1, sched.LoadSummary{Core: 1, Capacity: sched.FullCapacity, At: sched.Time(m.Now())})
	woken := newSIP()
	c.wakeUp(woken)
	if woken.core != nil || c.forward[woken] != 1 || woken.ent.Queued() {
		t.Fatalf("a SIP woken on a busy core beside an idle one stayed (still here: %v, forwarded: %v)", woken.core == c, c.forward)
	}
	if got := c.bal.sm.Seen(1); got.Runnable != 1 || got.Weight != sched.NiceZeroWeight {
		t.Errorf("core 1 seen as %+v after the placement, want the SIP counted", got)
	}
	second := newSIP()
	c.wakeUp(second)
	if second.core != c || !second.ent.Queued() {
		t.Errorf("a second SIP followed the first to core 1, seen %+v", c.bal.sm.Seen(1))
	}
}
