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
	m := twoIdleCores(t)
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

// twoIdleCores returns a machine of two cores that are not started: the
// test plays core 0's loop.
func twoIdleCores(t *testing.T) *Machine {
	t.Helper()
	m, err := New(Config{Cores: 2})
	if err != nil {
		t.Fatal(err)
	}
	m.epoch = time.Now()
	m.cores = []*Core{newCore(m, 0), newCore(m, 1)}
	for _, c := range m.cores {
		c.toCore = make([]*urpc.Ring, 2)
		c.inbox = urpc.NewInbox(2, 64, c.bell)
	}
	return m
}

// TestStealRefused: a core asked for work that it cannot give (its only SIP
// is polling in a Block) answers with a refusal carrying its fresh summary
// (msgStealNack), and the thief, its steal no longer pending, does not ask
// that core again before its next summary.
func TestStealRefused(t *testing.T) {
	m := twoIdleCores(t)
	victim, thief := m.cores[0], m.cores[1]
	s := &SIP{group: &Group{weight: sched.NiceZeroWeight}, core: victim, machine: m}
	victim.owned[s] = struct{}{}
	victim.enqueue(s)
	victim.enqueue(&SIP{group: s.group, core: victim, machine: m})
	victim.polling = s
	now := sched.Time(m.Now())
	thief.bal.summary(0, victim.bal.self(int64(now), true))
	thief.bal.idle(int64(now))
	if !thief.bal.sm.Stealing() {
		t.Fatal("the idle core did not ask the busy one for work")
	}
	var msg urpc.Msg
	for victim.inbox.Ring(1).Recv(&msg) && msg.Type == msgSummary {
		// the thief said it is idle, then asked
	}
	if msg.Type != msgSteal {
		t.Fatalf("no steal request came (type %d)", msg.Type)
	}
	victim.handle(1, &urpc.View{Type: msg.Type, Len: msg.Len, Data: &msg.Data, Ref: msg.Ref})
	if !thief.inbox.Ring(0).Recv(&msg) || msg.Type != msgStealNack {
		t.Fatalf("the victim sent %d, want a refusal", msg.Type)
	}
	if got := decodeSummary(msg.Payload()); got.Runnable != 2 || got.Core != 0 {
		t.Errorf("the refusal carried %+v, want the victim's summary", got)
	}
	if !victim.Owns(s) || victim.rq.Len() != 2 {
		t.Error("the victim gave a SIP away while it polled")
	}
	thief.handle(0, &urpc.View{Type: msg.Type, Len: msg.Len, Data: &msg.Data, Ref: msg.Ref})
	if thief.bal.sm.Stealing() {
		t.Error("the refusal did not end the pending steal")
	}
	thief.bal.sm.Tick(now+1, thief.rq, thief.bal.self(int64(now)+1, true))
	if rd := thief.bal.sm.Ready(); len(rd.Steals) != 0 {
		t.Errorf("the thief asked the core that refused again: %+v", rd.Steals)
	}
}
