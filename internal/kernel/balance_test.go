package kernel

import (
	"math/bits"
	"testing"

	"isle/internal/sched"
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
